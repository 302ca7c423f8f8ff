//! What a follow-up is and the rules of opening one: what the customer asks, the admins'
//! window and price, and the premium flag that makes it free. Pure rules: the service reads
//! the parent booking, the settings and the flag, and writes the child booking through the
//! purchase flow.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookings::model::Booking;
use crate::domain::{BookingId, UserId};
use crate::error::Error;

/// The follow-up window when the admins set none: 14 days after the parent completed.
pub const DEFAULT_WINDOW_DAYS: u32 = 14;
/// The longest window admins may set.
pub const MAX_WINDOW_DAYS: u32 = 90;
/// A follow-up's price when the admins set none, in minor units of the parent's currency.
pub const DEFAULT_PRICE: i64 = 900;
/// The smallest paid price: under Stripe's minimum charge in every listed currency (50
/// minor units) a payment cannot be made.
pub const MIN_PRICE: i64 = 100;
/// The largest price: a follow-up is a small addition, not a new purchase.
pub const MAX_PRICE: i64 = 50_000;
/// The longest question.
pub const QUESTION_TEXT: usize = 2_000;

/// What the customer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// A quick question about the work done.
    QuickQuestion,
    /// A little more of the same work.
    MiniExtension,
    /// A new problem since.
    NewIssue,
}

/// What makes a booking a follow-up: its parent and what the customer asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    /// The completed booking it follows (same customer, provider and chat thread).
    pub parent_id: BookingId,
    /// What is asked.
    pub kind: FollowUpKind,
    /// The customer's question, as the provider is told it.
    pub question: String,
    /// Free for a premium customer (no payment; accepted at once).
    pub free: bool,
}

/// `POST /bookings/{id}/follow-ups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpRequest {
    /// What is asked.
    pub kind: FollowUpKind,
    /// 1–2,000 characters, not blank, no control characters but new lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 2000
    )]
    pub question: String,
    /// The client's key for this follow-up (1–64 letters, digits, `-` or `_`): retrying with
    /// the same key returns the same booking and payment instead of opening two.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "follow-up-7f3a")]
    pub idempotency_key: String,
}

/// The admins' follow-up settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpSettings {
    /// Days after the parent's completion during which its customer may open follow-ups.
    pub window_days: u32,
    /// What a follow-up costs a customer who is not premium, in minor units of the parent
    /// booking's currency.
    pub price_amount: i64,
    /// Last changed (absent while the defaults apply).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for FollowUpSettings {
    fn default() -> Self {
        Self {
            window_days: DEFAULT_WINDOW_DAYS,
            price_amount: DEFAULT_PRICE,
            updated_at: None,
        }
    }
}

/// `PUT /admin/follow-up-settings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpSettingsRequest {
    /// Days after the parent's completion: 1 to 90.
    #[schema(minimum = 1, maximum = 90)]
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    pub window_days: u32,
    /// Minor units of the parent's currency: 100 to 50,000.
    #[schema(minimum = 100, maximum = 50_000)]
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    pub price_amount: u32,
}

impl FollowUpSettingsRequest {
    /// The settings it sets at `now`, or the field to fix.
    pub fn settings(self, now: DateTime<Utc>) -> Result<FollowUpSettings, Error> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(Error::field(
                "windowDays",
                format!("from 1 to {MAX_WINDOW_DAYS} days"),
            ));
        }
        let price = i64::from(self.price_amount);
        if !(MIN_PRICE..=MAX_PRICE).contains(&price) {
            return Err(Error::field(
                "priceAmount",
                format!("from {MIN_PRICE} to {MAX_PRICE} minor units"),
            ));
        }
        Ok(FollowUpSettings {
            window_days: self.window_days,
            price_amount: price,
            updated_at: Some(now),
        })
    }
}

/// `PUT /admin/users/{id}/premium`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PremiumRequest {
    /// Whether the customer's follow-ups are free.
    pub premium: bool,
}

/// A customer's premium flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Premium {
    /// The customer.
    pub user_id: UserId,
    /// Whether their follow-ups are free.
    pub premium: bool,
    /// Last changed (absent while never set).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// What the parent's customer may open now: when the window closes, and the price.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpTerms {
    /// Whether a follow-up may be opened now.
    pub can_open: bool,
    /// When the window closes (absent while the booking has not completed).
    pub window_closes_at: Option<DateTime<Utc>>,
    /// Whether it would be free (the customer is premium).
    pub free: bool,
    /// What it would cost, in the parent's currency (0 when free).
    pub price: crate::offers::model::Money,
}

impl FollowUpSettings {
    /// The follow-up window.
    pub fn window(&self) -> Duration {
        Duration::days(i64::from(self.window_days))
    }

    /// What `parent`'s customer may open at `now`, premium or not.
    pub fn terms(&self, parent: &Booking, premium: bool, now: DateTime<Utc>) -> FollowUpTerms {
        let closes = parent.completion().map(|at| at + self.window());
        FollowUpTerms {
            can_open: closes.is_some_and(|c| now < c),
            window_closes_at: closes,
            free: premium,
            price: crate::offers::model::Money {
                amount: if premium { 0 } else { self.price_amount },
                currency: parent.price.currency.clone(),
            },
        }
    }
}

impl FollowUpRequest {
    /// The checked follow-up of `parent` at `now` under these `terms` (a `Conflict` when the
    /// parent has not completed or its window closed).
    pub fn follow_up(&self, parent: &Booking, terms: &FollowUpTerms) -> Result<FollowUp, Error> {
        let question = crate::offers::model::text(&self.question, "question", 1, QUESTION_TEXT)?;
        match terms.window_closes_at {
            None => Err(Error::Conflict(format!(
                "the booking is {}: a follow-up opens once it is completed",
                parent.state
            ))),
            Some(_) if !terms.can_open => Err(Error::Conflict(
                "the follow-up window of this booking has closed".into(),
            )),
            Some(_) => Ok(FollowUp {
                parent_id: parent.id,
                kind: self.kind,
                question,
                free: terms.free,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::model::{Actor, BookingState, Event, sample};

    fn completed_at(at: DateTime<Utc>) -> Booking {
        Booking {
            state: BookingState::Completed,
            completed_at: Some(at),
            room_id: Some(BookingId::at(at).into()),
            ..sample(at)
        }
    }

    fn request(question: &str) -> FollowUpRequest {
        FollowUpRequest {
            kind: FollowUpKind::QuickQuestion,
            question: question.into(),
            idempotency_key: "k".into(),
        }
    }

    #[test]
    fn a_follow_up_opens_only_within_the_window_after_completion() {
        let at = Utc::now();
        let settings = FollowUpSettings::default();
        let parent = completed_at(at);
        let inside = settings.terms(&parent, false, at + Duration::days(13));
        assert!(inside.can_open);
        assert_eq!(inside.price.amount, DEFAULT_PRICE);
        assert_eq!(inside.price.currency, parent.price.currency);
        assert!(request("why?").follow_up(&parent, &inside).is_ok());
        let after = settings.terms(&parent, false, at + Duration::days(14));
        assert!(!after.can_open);
        let err = request("why?").follow_up(&parent, &after).unwrap_err();
        assert!(matches!(err, Error::Conflict(ref m) if m.contains("closed")));
        let open = sample(at);
        let terms = settings.terms(&open, false, at);
        assert_eq!(terms.window_closes_at, None);
        let err = request("why?").follow_up(&open, &terms).unwrap_err();
        assert!(matches!(err, Error::Conflict(ref m) if m.contains("pending_payment")));
    }

    #[test]
    fn a_premium_customer_s_follow_up_is_free() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, true, at);
        assert!(terms.free);
        assert_eq!(terms.price.amount, 0);
        let follow_up = request("why?").follow_up(&parent, &terms).unwrap();
        assert!(follow_up.free);
        let child = Booking::for_follow_up(&parent, follow_up, &terms.price, 1000, at);
        assert_eq!(child.state, BookingState::Accepted);
        assert_eq!(child.room(), parent.room());
        assert_eq!(child.room_id, Some(parent.room()));
        assert_eq!(child.timer, None);
        assert_eq!(child.provider_id, parent.provider_id);
        // Nothing to pay, nothing to release: its completion moves no money.
        let done = child
            .moved(Event::Start, Actor::Provider, at)
            .and_then(|b| b.moved(Event::Deliver, Actor::Provider, at))
            .and_then(|b| b.moved(Event::Confirm, Actor::Customer, at))
            .unwrap();
        assert!(!done.release_due());
    }

    #[test]
    fn a_paid_follow_up_waits_for_its_payment_and_is_accepted_when_paid() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, false, at);
        let follow_up = request("why?").follow_up(&parent, &terms).unwrap();
        let child = Booking::for_follow_up(&parent, follow_up, &terms.price, 1000, at);
        assert_eq!(child.state, BookingState::PendingPayment);
        assert_eq!(child.price.amount, DEFAULT_PRICE);
        assert!(child.timer.is_some());
        let paid = child
            .moved(Event::PaymentSucceeded, Actor::System, at)
            .unwrap();
        assert_eq!(paid.state, BookingState::Accepted);
    }

    #[test]
    fn questions_and_settings_are_checked_with_the_field_named() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, false, at);
        let err = request(" \u{7}").follow_up(&parent, &terms).unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "question"));
        for (days, price, field) in [
            (0, 900, "windowDays"),
            (91, 900, "windowDays"),
            (14, 99, "priceAmount"),
            (14, 50_001, "priceAmount"),
        ] {
            let err = FollowUpSettingsRequest {
                window_days: days,
                price_amount: price,
            }
            .settings(at)
            .unwrap_err();
            assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == field));
        }
        // JSON Schema's integers may be written with a zero fraction.
        let read: FollowUpSettingsRequest =
            serde_json::from_str(r#"{"windowDays": 75.0, "priceAmount": 1115.0}"#).unwrap();
        assert_eq!(read.settings(at).unwrap().price_amount, 1115);
    }
}
