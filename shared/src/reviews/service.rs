//! Review use cases. Who may do what:
//! - a booking's parties write one review each of the other, once it completed and within
//!   its window; anyone else (admins included) gets 404, as for the booking itself;
//! - a review is published when both parties have reviewed (the second review publishes
//!   both in one transaction) or when the window closes (the sweep), never earlier;
//! - the parties see their own review and the other's once published; admins see both;
//!   every signed-in user sees a provider's published, visible reviews;
//! - any signed-in user but its author may mark a visible review helpful, once;
//! - the reviewed provider may answer a visible review once; admins may hide one.

use chrono::{DateTime, Utc};
use tracing::{info, instrument, warn};

use super::model::{
    BookingReviews, HideRequest, ReplyRequest, Review, ReviewPage, ReviewRequest, other,
    window_closes,
};
use super::response::{Responder, ResponseState, Step, responder, step};
use super::store::{ResponseStore, ReviewStore, Written};
use crate::auth::Caller;
use crate::bookings::model::{Booking, PartyRole};
use crate::chat::model::{Message, MessageKind};
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, Role, UserId};
use crate::error::{Error, Result};

/// Windows one sweep closes at most (the rest stay due for the next run).
pub const SWEEP_BATCH: u32 = 50;

/// The review service.
pub struct Reviews<'a> {
    /// Reviews and the bookings they are about.
    pub store: &'a dyn ReviewStore,
    /// Page cursors.
    pub cursors: &'a CursorCodec,
}

fn published(review: &Review, at: DateTime<Utc>) -> Review {
    Review {
        published_at: Some(at),
        ..review.clone()
    }
}

fn no_review() -> Error {
    Error::NotFound("review")
}

impl Reviews<'_> {
    /// A booking and the caller's side of it; 404 for anyone but its parties (and admins
    /// when `admins` is set).
    async fn booking_of(
        &self,
        caller: &Caller,
        id: &BookingId,
        admins: bool,
    ) -> Result<(Booking, Option<PartyRole>)> {
        let booking = self
            .store
            .booking(id)
            .await?
            .ok_or(Error::NotFound("booking"))?;
        let role = booking.role_of(&caller.user_id);
        if role.is_none() && !(admins && caller.roles.contains(&Role::Admin)) {
            return Err(Error::NotFound("booking"));
        }
        Ok((booking, role))
    }

    /// `POST /bookings/{id}/reviews`: the caller's review of the other party; published at
    /// once with the other's when that one is already written.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn submit(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: ReviewRequest,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        // The booking and its reviews are read together: two round trips with the write.
        let ((booking, role), mut reviews) = futures::try_join!(
            self.booking_of(caller, id, false),
            self.store.reviews_of(id)
        )?;
        let author = role.ok_or(Error::NotFound("booking"))?;
        let review = request.review(&booking, author, now)?;
        let closes = window_closes(&booking).unwrap_or(now);
        // A second pass only when the other party's review landed between the read and the
        // write (the write's condition says so): then both are published.
        for pass in 0..2 {
            if pass > 0 {
                reviews = self.store.reviews_of(id).await?;
            }
            if reviews.iter().any(|r| r.author == author) {
                return Err(Error::Conflict(
                    "you have already reviewed this booking".into(),
                ));
            }
            let waiting: Vec<Review> = reviews
                .iter()
                .filter(|r| r.author == other(author) && r.published_at.is_none())
                .map(|r| published(r, now))
                .collect();
            if waiting.is_empty() {
                match self.store.write_unpublished(&review, closes).await? {
                    Written::Stored => {
                        info!(author = ?author, "review written; published with the other or at the window's close");
                        return Ok(review);
                    }
                    Written::Exists => {
                        return Err(Error::Conflict(
                            "you have already reviewed this booking".into(),
                        ));
                    }
                    Written::OtherArrived => continue,
                }
            }
            let mine = published(&review, now);
            if self.store.publish(&booking, Some(&mine), &waiting).await? {
                info!(author = ?author, "both reviews published");
                return Ok(mine);
            }
        }
        Err(Error::Conflict(
            "the booking's reviews changed meanwhile; read them and retry".into(),
        ))
    }

    /// `GET /bookings/{id}/reviews`.
    pub async fn of_booking(
        &self,
        caller: &Caller,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<BookingReviews> {
        let ((booking, role), reviews) =
            futures::try_join!(self.booking_of(caller, id, true), self.store.reviews_of(id))?;
        let closes = window_closes(&booking);
        let can_review = role.is_some_and(|role| {
            closes.is_some_and(|c| now < c) && !reviews.iter().any(|r| r.author == role)
        });
        let items = reviews
            .into_iter()
            .filter(|r| role.is_none_or(|role| r.author == role || r.published_at.is_some()))
            .collect();
        Ok(BookingReviews {
            items,
            window_closes_at: closes,
            can_review,
        })
    }

    /// `GET /providers/{id}/reviews`: a provider's published, visible reviews by their
    /// customers, newest first.
    pub async fn of_provider(
        &self,
        provider: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ReviewPage> {
        let scope = format!("reviews:{provider}");
        let after = cursor.map(|c| self.cursors.decode(&scope, c)).transpose()?;
        let page = self
            .store
            .published_of(provider, PartyRole::Provider, limit, after)
            .await?;
        Ok(ReviewPage {
            items: page.items,
            next_cursor: page.next.map(|p| self.cursors.encode(&scope, &p)),
        })
    }

    /// A booking's review by `author`'s side, as the caller may address it: published and
    /// visible, or (for admins) any.
    async fn visible_review(
        &self,
        caller: &Caller,
        id: &BookingId,
        author: PartyRole,
    ) -> Result<Review> {
        let review = self
            .store
            .reviews_of(id)
            .await?
            .into_iter()
            .find(|r| r.author == author)
            .ok_or_else(no_review)?;
        if review.visible() || caller.roles.contains(&Role::Admin) {
            Ok(review)
        } else {
            Err(no_review())
        }
    }

    /// `PUT /bookings/{id}/reviews/{author}/helpful`: idempotent, one vote per user.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn vote(
        &self,
        caller: &Caller,
        id: &BookingId,
        author: PartyRole,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        let mut review = self.visible_review(caller, id, author).await?;
        if !review.visible() {
            return Err(no_review());
        }
        if review.author_id == caller.user_id {
            return Err(Error::Forbidden(
                "you cannot vote for your own review".into(),
            ));
        }
        if self.store.vote(&review, &caller.user_id, now).await? {
            review.helpful += 1;
        }
        Ok(review)
    }

    /// `PUT /bookings/{id}/reviews/{author}/reply`: the reviewed provider's one answer.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn reply(
        &self,
        caller: &Caller,
        id: &BookingId,
        author: PartyRole,
        request: ReplyRequest,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        let mut review = self.visible_review(caller, id, author).await?;
        if !review.visible() {
            return Err(no_review());
        }
        if review.subject_id != caller.user_id || review.subject_role() != PartyRole::Provider {
            return Err(Error::Forbidden(
                "only the reviewed provider may reply to a review".into(),
            ));
        }
        let reply = request.reply(now)?;
        if !self.store.reply(&review, &reply).await? {
            return Err(Error::Conflict(
                "you have already replied to this review".into(),
            ));
        }
        review.reply = Some(reply);
        Ok(review)
    }

    /// `POST /bookings/{id}/reviews/{author}/hide` (admins): hiding twice answers the
    /// hidden review.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn hide(
        &self,
        caller: &Caller,
        id: &BookingId,
        author: PartyRole,
        request: HideRequest,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        caller.admin_only()?;
        let hidden = request.hidden(now)?;
        let mut review = self.visible_review(caller, id, author).await?;
        if review.hidden.is_some() {
            return Ok(review);
        }
        if review.published_at.is_none() {
            return Err(Error::Conflict(
                "the review is not published yet: only a published review can be hidden".into(),
            ));
        }
        if !self.store.hide(&review, &hidden).await? {
            return self.visible_review(caller, id, author).await;
        }
        info!(author = ?author, "review hidden");
        review.hidden = Some(hidden);
        Ok(review)
    }

    /// The scheduled sweep: publishes the reviews whose window closed unanswered and removes
    /// the windows. Each booking on its own: one failing stays due for the next run.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = self.store.due_windows(now, SWEEP_BATCH).await?;
        let mut published = 0;
        for id in due {
            match self.close(&id, now).await {
                Ok(n) => published += n,
                Err(err) => {
                    warn!(error = ?err, booking_id = %id, "review window not closed; retried later")
                }
            }
        }
        info!(published, "review windows swept");
        Ok(published)
    }

    async fn close(&self, id: &BookingId, now: DateTime<Utc>) -> Result<usize> {
        let (booking, reviews) =
            futures::try_join!(self.store.booking(id), self.store.reviews_of(id))?;
        let waiting: Vec<Review> = reviews
            .iter()
            .filter(|r| r.published_at.is_none())
            .map(|r| published(r, now))
            .collect();
        match booking {
            Some(booking) if !waiting.is_empty() => {
                // Lost only to a submission that published them first: nothing is left.
                if self.store.publish(&booking, None, &waiting).await? {
                    return Ok(waiting.len());
                }
                self.store.close_window(id).await?;
                Ok(0)
            }
            _ => {
                self.store.close_window(id).await?;
                Ok(0)
            }
        }
    }
}

/// Takes a stream batch of new chat messages into their threads' first-response measures
/// (in order: a thread's question comes before its answer). Each message on its own: a
/// redelivered batch changes nothing twice (every write is conditional).
pub async fn measure(store: &dyn ResponseStore, messages: &[Message]) -> Result<()> {
    for message in messages {
        if message.kind == MessageKind::System {
            continue;
        }
        let state = match store.response_state(&message.room_id).await? {
            Some(state) => state,
            None => {
                let responder =
                    match responder(store.room_subject(&message.room_id).await?.as_ref()) {
                        Responder::OfBooking(booking) => store.booking_provider(&booking).await?,
                        Responder::Known(provider) => Some(provider),
                        Responder::Nobody => None,
                    };
                let state = ResponseState {
                    room_id: message.room_id,
                    responder,
                    asked_at: None,
                    answered_at: None,
                };
                store.start_measure(&state).await?;
                state
            }
        };
        match step(&state, &message.sender_id, message.created_at) {
            Step::Ask(asked) => store.ask(&asked).await?,
            Step::Answer(answered, bucket) => {
                store.answer(&answered, bucket).await?;
                info!(room_id = %message.room_id, bucket, "first response measured");
            }
            Step::Nothing => {}
        }
    }
    Ok(())
}
