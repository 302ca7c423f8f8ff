//! What a review is, what a party may send, when a booking's reviews may be written and
//! published, and the rating aggregates a publication moves. Pure rules: no AWS types.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookings::model::{Booking, PartyRole};
use crate::domain::{BookingId, UserId};
use crate::error::Error;
use crate::offers::model::text;

/// How long after a booking completes its parties may review each other; a review the other
/// party has not answered by then is published when the window closes.
pub const REVIEW_WINDOW: Duration = Duration::days(7);
/// A review's text: 1–2,000 characters.
const REVIEW_TEXT: usize = 2000;
/// The provider's reply: 1–1,000 characters.
const REPLY_TEXT: usize = 1000;
/// Why an admin hid a review: 1–500 characters.
const HIDE_REASON: usize = 500;

/// The other side of a booking.
pub fn other(role: PartyRole) -> PartyRole {
    match role {
        PartyRole::Customer => PartyRole::Provider,
        PartyRole::Provider => PartyRole::Customer,
    }
}

/// What one party of a completed booking wrote about the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// The booking reviewed.
    pub booking_id: BookingId,
    /// Which side wrote it (the review's address under its booking, with the booking id).
    pub author: PartyRole,
    /// Who wrote it.
    pub author_id: UserId,
    /// Who it is about (the other party).
    pub subject_id: UserId,
    /// The booking's title.
    pub title: String,
    /// The booking's category.
    pub category: String,
    /// 1–5 stars.
    pub rating: u32,
    /// What the author wrote.
    pub text: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Published: when both parties had reviewed, or the window closed. Until then only its
    /// author (and admins) see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// How many users found it helpful.
    #[serde(default)]
    pub helpful: u32,
    /// The reviewed provider's public answer (one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// Set when an admin hid it: it leaves the listings and the aggregates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
}

impl Review {
    /// The side the reviewed user was on (whose aggregates it moves).
    pub fn subject_role(&self) -> PartyRole {
        other(self.author)
    }

    /// Whether it counts: published and not hidden.
    pub fn visible(&self) -> bool {
        self.published_at.is_some() && self.hidden.is_none()
    }
}

/// The reviewed provider's public answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    /// What they answered.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why and when an admin hid a review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hidden {
    /// Why (the author is told).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// `POST /bookings/{id}/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewRequest {
    /// 1–5 stars.
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u32,
    /// 1–2,000 characters, not blank, no control characters but new lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 2000
    )]
    pub text: String,
}

/// `PUT /bookings/{id}/reviews/{author}/reply`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyRequest {
    /// 1–1,000 characters, not blank, no control characters but new lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 1000
    )]
    pub text: String,
}

impl ReplyRequest {
    /// The checked reply, written at `now`.
    pub fn reply(self, now: DateTime<Utc>) -> Result<Reply, Error> {
        Ok(Reply {
            text: text(&self.text, "text", 1, REPLY_TEXT)?,
            at: now,
        })
    }
}

/// `POST /bookings/{id}/reviews/{author}/hide` (admins).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HideRequest {
    /// Why, for the author: 1–500 characters, not blank, no control characters but new
    /// lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

impl HideRequest {
    /// The checked hiding, at `now`.
    pub fn hidden(self, now: DateTime<Utc>) -> Result<Hidden, Error> {
        Ok(Hidden {
            reason: text(&self.reason, "reason", 1, HIDE_REASON)?,
            at: now,
        })
    }
}

/// When a booking's review window closes: [`REVIEW_WINDOW`] after it completed (a booking
/// completed before completion times were recorded counts from its last change). `None`
/// while it has not completed.
pub fn window_closes(booking: &Booking) -> Option<DateTime<Utc>> {
    booking.completion().map(|at| at + REVIEW_WINDOW)
}

impl ReviewRequest {
    /// `author`'s review of `booking`'s other party, written at `now`: only a party of a
    /// completed booking, within its window (`Conflict` otherwise; the caller has already
    /// answered 404 to anyone else).
    pub fn review(
        self,
        booking: &Booking,
        author: PartyRole,
        now: DateTime<Utc>,
    ) -> Result<Review, Error> {
        if !(1..=5).contains(&self.rating) {
            return Err(Error::field("rating", "a whole number from 1 to 5"));
        }
        let text = text(&self.text, "text", 1, REVIEW_TEXT)?;
        match window_closes(booking) {
            None => {
                return Err(Error::Conflict(
                    "the booking is not completed: it can be reviewed once it is".into(),
                ));
            }
            Some(closes) if now >= closes => {
                return Err(Error::Conflict(
                    "the review window of this booking has closed".into(),
                ));
            }
            Some(_) => {}
        }
        let (author_id, subject_id) = match author {
            PartyRole::Customer => (booking.customer_id, booking.provider_id),
            PartyRole::Provider => (booking.provider_id, booking.customer_id),
        };
        Ok(Review {
            booking_id: booking.id,
            author,
            author_id,
            subject_id,
            title: booking.title.clone(),
            category: booking.category.clone(),
            rating: self.rating,
            text,
            created_at: now,
            published_at: None,
            helpful: 0,
            reply: None,
            hidden: None,
        })
    }
}

/// A user's rating as one side of their bookings, from their published, visible reviews.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    /// How many reviews count.
    pub count: u32,
    /// Their mean, rounded to two decimals; absent without reviews.
    pub average: Option<f64>,
    /// How many have 1, 2, 3, 4 and 5 stars.
    pub distribution: [u32; 5],
}

/// The stored aggregates: counters only, each moved by `ADD` in the transaction that
/// publishes or hides a review, so concurrent publications add up exactly.
#[derive(Debug, Default, Deserialize)]
pub struct RatingCounters {
    /// Reviews counted.
    #[serde(default)]
    pub count: i64,
    /// Sum of their stars.
    #[serde(default)]
    pub total: i64,
    /// Reviews with 1 star.
    #[serde(default)]
    pub stars_1: i64,
    /// With 2.
    #[serde(default)]
    pub stars_2: i64,
    /// With 3.
    #[serde(default)]
    pub stars_3: i64,
    /// With 4.
    #[serde(default)]
    pub stars_4: i64,
    /// With 5.
    #[serde(default)]
    pub stars_5: i64,
}

/// The counter attribute of `stars`.
pub fn stars_attribute(stars: u32) -> &'static str {
    match stars {
        1 => "stars_1",
        2 => "stars_2",
        3 => "stars_3",
        4 => "stars_4",
        _ => "stars_5",
    }
}

impl From<RatingCounters> for Rating {
    fn from(c: RatingCounters) -> Self {
        let whole = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let count = whole(c.count);
        #[allow(clippy::cast_precision_loss)]
        let average =
            (count > 0).then(|| (c.total as f64 / f64::from(count) * 100.0).round() / 100.0);
        Self {
            count,
            average,
            distribution: [
                whole(c.stars_1),
                whole(c.stars_2),
                whole(c.stars_3),
                whole(c.stars_4),
                whole(c.stars_5),
            ],
        }
    }
}

/// `GET /bookings/{id}/reviews`: what the caller may see of a booking's reviews.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingReviews {
    /// The caller's own review (published or not) and the other party's once published
    /// (admins see both).
    pub items: Vec<Review>,
    /// When the window closes (absent while the booking has not completed).
    pub window_closes_at: Option<DateTime<Utc>>,
    /// Whether the caller may still write their review.
    pub can_review: bool,
}

/// A page of published reviews.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPage {
    /// Newest publication first.
    pub items: Vec<Review>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// Which review of a booking a path names: `customer` or `provider` (its author's side).
pub fn author(raw: &str) -> Result<PartyRole, Error> {
    match raw {
        "customer" => Ok(PartyRole::Customer),
        "provider" => Ok(PartyRole::Provider),
        _ => Err(Error::field("author", "customer or provider")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::model::{BookingState, sample};

    fn completed(at: DateTime<Utc>) -> Booking {
        Booking {
            state: BookingState::Completed,
            completed_at: Some(at),
            ..sample(at)
        }
    }

    fn request(rating: u32) -> ReviewRequest {
        ReviewRequest {
            rating,
            text: " Quick and tidy. ".into(),
        }
    }

    #[test]
    fn a_party_reviews_the_other_within_the_window_only() {
        let at = Utc::now();
        let booking = completed(at);
        let review = request(4)
            .review(&booking, PartyRole::Customer, at + Duration::days(6))
            .unwrap();
        assert_eq!(review.subject_id, booking.provider_id);
        assert_eq!(review.subject_role(), PartyRole::Provider);
        assert_eq!(review.text, "Quick and tidy.");
        assert!(!review.visible(), "unpublished until both or the window");
        let late = request(4).review(&booking, PartyRole::Provider, at + REVIEW_WINDOW);
        assert!(matches!(late, Err(Error::Conflict(_))));
        let open = Booking {
            state: BookingState::Delivered,
            ..booking.clone()
        };
        let early = request(4).review(&open, PartyRole::Customer, at);
        assert!(matches!(early, Err(Error::Conflict(_))));
    }

    #[test]
    fn ratings_and_texts_out_of_range_name_their_field() {
        let booking = completed(Utc::now());
        for rating in [0, 6] {
            let err = request(rating)
                .review(&booking, PartyRole::Customer, Utc::now())
                .unwrap_err();
            assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "rating"));
        }
        let blank = ReviewRequest {
            rating: 3,
            text: "\u{7}".into(),
        };
        let err = blank
            .review(&booking, PartyRole::Customer, Utc::now())
            .unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "text"));
    }

    #[test]
    fn an_old_completed_booking_counts_its_window_from_its_last_change() {
        let at = Utc::now();
        let booking = Booking {
            completed_at: None,
            ..completed(at)
        };
        assert_eq!(
            window_closes(&booking),
            Some(booking.updated_at + REVIEW_WINDOW)
        );
    }

    #[test]
    fn the_average_is_rounded_to_two_decimals() {
        let rating = Rating::from(RatingCounters {
            count: 3,
            total: 13,
            stars_4: 2,
            stars_5: 1,
            ..RatingCounters::default()
        });
        assert_eq!(rating.average, Some(4.33));
        assert_eq!(rating.distribution, [0, 0, 0, 2, 1]);
        assert_eq!(Rating::from(RatingCounters::default()).average, None);
    }
}
