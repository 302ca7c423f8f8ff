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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Duration;

    use super::*;
    use crate::bookings::model::{BookingState, sample};
    use crate::cursor::Position;
    use crate::domain::SessionId;
    use crate::reviews::model::{Hidden, Rating, Reply};
    use crate::store::Page;

    /// The store's rules in memory: one review per side, conditional publication, counters.
    #[derive(Default)]
    struct Table {
        booking: Option<Booking>,
        reviews: Mutex<Vec<Review>>,
        windows: Mutex<BTreeMap<BookingId, DateTime<Utc>>>,
        votes: Mutex<Vec<(PartyRole, UserId)>>,
        ratings: Mutex<BTreeMap<UserId, (u32, u32)>>,
        /// A review the other party writes between the service's read and its write.
        lands_meanwhile: Mutex<Option<Review>>,
    }

    #[async_trait]
    impl ReviewStore for Table {
        async fn booking(&self, _: &BookingId) -> Result<Option<Booking>> {
            Ok(self.booking.clone())
        }
        async fn reviews_of(&self, _: &BookingId) -> Result<Vec<Review>> {
            Ok(self.reviews.lock().unwrap().clone())
        }
        async fn write_unpublished(
            &self,
            review: &Review,
            closes: DateTime<Utc>,
        ) -> Result<Written> {
            if let Some(other) = self.lands_meanwhile.lock().unwrap().take() {
                self.reviews.lock().unwrap().push(other);
            }
            let mut reviews = self.reviews.lock().unwrap();
            if reviews.iter().any(|r| r.author == review.author) {
                return Ok(Written::Exists);
            }
            if reviews.iter().any(|r| r.author != review.author) {
                return Ok(Written::OtherArrived);
            }
            reviews.push(review.clone());
            self.windows
                .lock()
                .unwrap()
                .insert(review.booking_id, closes);
            Ok(Written::Stored)
        }
        async fn publish(
            &self,
            booking: &Booking,
            written: Option<&Review>,
            existing: &[Review],
        ) -> Result<bool> {
            let mut reviews = self.reviews.lock().unwrap();
            let fresh = |r: &Review| {
                reviews
                    .iter()
                    .any(|s| s.author == r.author && s.published_at.is_none())
            };
            if written.is_some_and(|w| reviews.iter().any(|r| r.author == w.author))
                || !existing.iter().all(fresh)
            {
                return Ok(false);
            }
            reviews.retain(|r| !existing.iter().any(|e| e.author == r.author));
            for review in written.into_iter().chain(existing) {
                reviews.push(review.clone());
                let mut ratings = self.ratings.lock().unwrap();
                let entry = ratings.entry(review.subject_id).or_default();
                entry.0 += 1;
                entry.1 += review.rating;
            }
            self.windows.lock().unwrap().remove(&booking.id);
            Ok(true)
        }
        async fn close_window(&self, booking: &BookingId) -> Result<()> {
            self.windows.lock().unwrap().remove(booking);
            Ok(())
        }
        async fn due_windows(&self, now: DateTime<Utc>, _: u32) -> Result<Vec<BookingId>> {
            let windows = self.windows.lock().unwrap();
            Ok(windows
                .iter()
                .filter(|(_, c)| **c <= now)
                .map(|(b, _)| *b)
                .collect())
        }
        async fn vote(&self, review: &Review, voter: &UserId, _: DateTime<Utc>) -> Result<bool> {
            let mut votes = self.votes.lock().unwrap();
            let new = !votes.contains(&(review.author, *voter));
            votes.push((review.author, *voter));
            if new {
                let mut reviews = self.reviews.lock().unwrap();
                for stored in reviews.iter_mut().filter(|r| r.author == review.author) {
                    stored.helpful += 1;
                }
            }
            Ok(new)
        }
        async fn reply(&self, _: &Review, _: &Reply) -> Result<bool> {
            Ok(true)
        }
        async fn hide(&self, _: &Review, _: &Hidden) -> Result<bool> {
            Ok(true)
        }
        async fn rating(&self, user: &UserId, _: PartyRole) -> Result<Rating> {
            let (count, _) = self
                .ratings
                .lock()
                .unwrap()
                .get(user)
                .copied()
                .unwrap_or_default();
            Ok(Rating {
                count,
                ..Rating::default()
            })
        }
        async fn published_of(
            &self,
            _: &UserId,
            _: PartyRole,
            _: u32,
            _: Option<Position>,
        ) -> Result<Page<Review>> {
            Ok(Page {
                items: Vec::new(),
                next: None,
            })
        }
    }

    fn completed(at: DateTime<Utc>) -> Booking {
        Booking {
            state: BookingState::Completed,
            completed_at: Some(at),
            ..sample(at)
        }
    }

    fn caller(user: UserId, roles: &[Role]) -> Caller {
        Caller {
            user_id: user,
            session_id: SessionId::new(),
            roles: roles.iter().copied().collect(),
        }
    }

    fn stars(rating: u32) -> ReviewRequest {
        ReviewRequest {
            rating,
            text: "Fine.".into(),
        }
    }

    /// A booking completed now, a store holding it, and a cursor codec.
    fn world() -> (DateTime<Utc>, Booking, Table, CursorCodec) {
        let now = Utc::now();
        let booking = completed(now);
        let table = Table {
            booking: Some(booking.clone()),
            ..Table::default()
        };
        (
            now,
            booking,
            table,
            CursorCodec::new(b"0123456789abcdef0123456789abcdef"),
        )
    }

    fn service<'a>(table: &'a Table, cursors: &'a CursorCodec) -> Reviews<'a> {
        Reviews {
            store: table,
            cursors,
        }
    }

    #[tokio::test]
    async fn the_first_review_waits_and_the_second_publishes_both() {
        let (now, booking, table, cursors) = world();
        let reviews = service(&table, &cursors);
        let (ana, bruno) = (
            caller(booking.customer_id, &[Role::Customer]),
            caller(booking.provider_id, &[Role::Provider]),
        );

        let first = reviews
            .submit(&ana, &booking.id, stars(4), now)
            .await
            .unwrap();
        assert!(first.published_at.is_none());
        assert_eq!(
            table.windows.lock().unwrap().get(&booking.id),
            Some(&(now + crate::reviews::model::REVIEW_WINDOW))
        );
        let seen = reviews.of_booking(&bruno, &booking.id, now).await.unwrap();
        assert!(seen.items.is_empty(), "blind until both");
        assert!(seen.can_review);
        let again = reviews.submit(&ana, &booking.id, stars(5), now).await;
        assert!(matches!(again, Err(Error::Conflict(_))));

        let second = reviews
            .submit(&bruno, &booking.id, stars(5), now)
            .await
            .unwrap();
        assert_eq!(second.published_at, Some(now));
        let stored = table.reviews.lock().unwrap().clone();
        assert!(
            stored.iter().all(|r| r.published_at == Some(now)),
            "{stored:?}"
        );
        assert!(table.windows.lock().unwrap().is_empty());
        assert_eq!(table.ratings.lock().unwrap()[&booking.provider_id], (1, 4));
    }

    #[tokio::test]
    async fn a_review_landing_between_the_read_and_the_write_publishes_both() {
        let now = Utc::now();
        let booking = completed(now);
        let theirs = stars(2).review(&booking, PartyRole::Provider, now).unwrap();
        let table = Table {
            booking: Some(booking.clone()),
            lands_meanwhile: Mutex::new(Some(theirs)),
            ..Table::default()
        };
        let cursors = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let ana = caller(booking.customer_id, &[Role::Customer]);
        let mine = service(&table, &cursors)
            .submit(&ana, &booking.id, stars(5), now)
            .await
            .unwrap();
        assert_eq!(mine.published_at, Some(now));
        assert_eq!(
            table
                .reviews
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.published_at.is_some())
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn only_the_parties_review_and_admins_only_read() {
        let (now, booking, table, cursors) = world();
        let reviews = service(&table, &cursors);
        let admin = caller(UserId::new(), &[Role::Admin]);
        let stranger = caller(UserId::new(), &[Role::Customer]);
        for who in [&admin, &stranger] {
            let refused = reviews.submit(who, &booking.id, stars(3), now).await;
            assert!(matches!(refused, Err(Error::NotFound("booking"))));
        }
        assert!(matches!(
            reviews.of_booking(&stranger, &booking.id, now).await,
            Err(Error::NotFound(_))
        ));
        let read = reviews.of_booking(&admin, &booking.id, now).await.unwrap();
        assert!(!read.can_review);
    }

    #[tokio::test]
    async fn the_sweep_publishes_a_lone_review_once_its_window_closed() {
        let (now, booking, table, cursors) = world();
        let reviews = service(&table, &cursors);
        let ana = caller(booking.customer_id, &[Role::Customer]);
        reviews
            .submit(&ana, &booking.id, stars(3), now)
            .await
            .unwrap();
        assert_eq!(reviews.sweep(now + Duration::days(6)).await.unwrap(), 0);
        let closed = now + crate::reviews::model::REVIEW_WINDOW;
        assert_eq!(reviews.sweep(closed).await.unwrap(), 1);
        assert_eq!(reviews.sweep(closed).await.unwrap(), 0, "published once");
        assert_eq!(table.reviews.lock().unwrap()[0].published_at, Some(closed));
        assert_eq!(table.ratings.lock().unwrap()[&booking.provider_id], (1, 3));
    }

    #[tokio::test]
    async fn a_vote_counts_once_and_never_the_authors_own() {
        let (now, booking, table, cursors) = world();
        let reviews = service(&table, &cursors);
        let (ana, bruno) = (
            caller(booking.customer_id, &[Role::Customer]),
            caller(booking.provider_id, &[Role::Provider]),
        );
        reviews
            .submit(&ana, &booking.id, stars(4), now)
            .await
            .unwrap();
        let eve = caller(UserId::new(), &[Role::Customer]);
        let unpublished = reviews
            .vote(&eve, &booking.id, PartyRole::Customer, now)
            .await;
        assert!(matches!(unpublished, Err(Error::NotFound("review"))));
        reviews
            .submit(&bruno, &booking.id, stars(5), now)
            .await
            .unwrap();
        for _ in 0..2 {
            let voted = reviews
                .vote(&eve, &booking.id, PartyRole::Customer, now)
                .await
                .unwrap();
            assert_eq!(
                voted.helpful, 1,
                "the stored count moves once; the fake does not store it"
            );
        }
        let own = reviews
            .vote(&ana, &booking.id, PartyRole::Customer, now)
            .await;
        assert!(matches!(own, Err(Error::Forbidden(_))));
        let reply = ReplyRequest {
            text: "Thanks".into(),
        };
        let by_customer = reviews
            .reply(&ana, &booking.id, PartyRole::Provider, reply, now)
            .await;
        assert!(
            matches!(by_customer, Err(Error::Forbidden(_))),
            "only a provider replies"
        );
    }
}
