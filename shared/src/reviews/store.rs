//! Storage port of reviews, their windows, votes and the rating aggregates.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{Hidden, Rating, Reply, Review};
use super::response::ResponseState;
use crate::bookings::model::{Booking, PartyRole};
use crate::chat::model::Subject;
use crate::cursor::Position;
use crate::domain::{BookingId, RoomId, UserId};
use crate::error::Result;
use crate::store::Page;

/// How writing an unpublished review ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Stored, and the booking's window timer set.
    Stored,
    /// The author had already reviewed the booking.
    Exists,
    /// The other party's review arrived meanwhile: publish both instead.
    OtherArrived,
}

/// Reviews, their windows, votes and aggregates.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// A booking (whose parties, state and completion the rules read).
    async fn booking(&self, id: &BookingId) -> Result<Option<Booking>>;
    /// A booking's reviews (at most one per party), read consistently.
    async fn reviews_of(&self, booking: &BookingId) -> Result<Vec<Review>>;
    /// Stores `review` unpublished and sets the booking's window timer to `closes`, unless
    /// its author already reviewed or the other party's review exists.
    async fn write_unpublished(&self, review: &Review, closes: DateTime<Utc>) -> Result<Written>;
    /// In one transaction: stores `written` (a new review) and publishes it with
    /// `existing` (stored unpublished so far), each given as published; moves each
    /// subject's aggregates; removes the booking's window timer; writes what tells each
    /// reviewed party. `false` when a review was written or published meanwhile.
    async fn publish(
        &self,
        booking: &Booking,
        written: Option<&Review>,
        existing: &[Review],
    ) -> Result<bool>;
    /// Removes a booking's window timer.
    async fn close_window(&self, booking: &BookingId) -> Result<()>;
    /// The bookings whose review window closed by `now`, soonest first.
    async fn due_windows(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<BookingId>>;
    /// Counts `voter`'s helpful vote on a visible review: `false` when they had voted.
    async fn vote(&self, review: &Review, voter: &UserId, now: DateTime<Utc>) -> Result<bool>;
    /// Stores the reviewed provider's reply on a visible review: `false` when there is one.
    async fn reply(&self, review: &Review, reply: &Reply) -> Result<bool>;
    /// Hides a visible review, takes it out of its subject's aggregates and listing, and
    /// writes what tells its author: `false` when it was hidden (or changed) meanwhile.
    async fn hide(&self, review: &Review, hidden: &Hidden) -> Result<bool>;
    /// A user's aggregates as one side.
    async fn rating(&self, user: &UserId, as_role: PartyRole) -> Result<Rating>;
    /// A page of a user's published, visible reviews as one side, newest first.
    async fn published_of(
        &self,
        user: &UserId,
        as_role: PartyRole,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Review>>;
}

/// Threads' first-response measures and providers' histograms.
#[async_trait]
pub trait ResponseStore: Send + Sync {
    /// The subject of a room, if the room exists and has one.
    async fn room_subject(&self, room: &RoomId) -> Result<Option<Subject>>;
    /// A booking's provider.
    async fn booking_provider(&self, booking: &BookingId) -> Result<Option<UserId>>;
    /// Where a thread's measure stands.
    async fn response_state(&self, room: &RoomId) -> Result<Option<ResponseState>>;
    /// Stores a thread's first state (whose answers count), unless one exists.
    async fn start_measure(&self, state: &ResponseState) -> Result<()>;
    /// Starts the clock (`state.asked_at`), unless it was started.
    async fn ask(&self, state: &ResponseState) -> Result<()>;
    /// Records the answer (`state.answered_at`) and counts it in the responder's histogram
    /// bucket, in one transaction, unless the thread was measured already.
    async fn answer(&self, state: &ResponseState, bucket: usize) -> Result<()>;
    /// A provider's histogram's counts, by bucket.
    async fn first_responses(&self, user: &UserId) -> Result<Vec<u64>>;
}
