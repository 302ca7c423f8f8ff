//! Storage and payment ports of bookings. A transition is one call: the booking, its party
//! rows, its timer, the ledger step, the room it opens, the files it shares and the Stripe
//! event it consumes are written in one transaction conditioned on the version read.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gigwire_payments::cards::{SavedCardPayment, Setup};
use gigwire_payments::connect::{Dispute, NewTransfer, Transfer};
use gigwire_payments::{NewPayment, Payment, RefundRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Booking, BookingState, Entry, PartyRole, SessionSettings, Source};
use crate::chat::model::{Member, Room};
use crate::cursor::Position;
use crate::domain::{BookingId, FileId, RoomId, UserId};
use crate::error::Result;
use crate::me::store::UserStore;
use crate::notifications::model::Kind;
use crate::notifications::service::{Notifications, NotifyRequest};
use crate::payouts::model::CommissionTally;
use crate::realtime::service::{self as realtime, RoomChange, ServerEvent};
use crate::store::Page;
use crate::store::RateLimit;

/// One step of a booking's ledger: its lines sum to zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerStep {
    /// `charge`, `completion`, `release` or `refund`.
    pub step: String,
    /// The lines.
    pub entries: Vec<Entry>,
    /// Stripe's object behind it (`pi_…`, `re_…`), when there is one.
    pub stripe_ref: Option<String>,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// Who an announcement is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// These users.
    Users(Vec<UserId>),
    /// The admins who follow the operators' topic.
    Operations,
}

/// A notification a transition implies, written in its transaction (the booking's outbox)
/// and sent from the table's stream, so a function that stops right after its commit still
/// tells everyone — once: its key is the booking and `step`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    /// What about.
    pub kind: Kind,
    /// To whom.
    pub to: Audience,
    /// Who caused it: never notified of it, and whom the texts call `actor` unless `data`
    /// names someone.
    pub actor: Option<UserId>,
    /// The facts for the texts.
    pub data: serde_json::Value,
    /// The notification's key within the booking (`confirmed`, `cancelled`, …).
    pub step: String,
}

/// A booking's outbox item: what one committed transition announces. Its insertion on the
/// table's stream is what sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outbox {
    /// The booking.
    pub booking_id: BookingId,
    /// Its version after the transition.
    pub version: u32,
    /// Its room, when it has one (the notifications' room and digest group).
    pub room_id: Option<RoomId>,
    /// The room the transition opened, announced on the parties' open connections.
    pub opened: Option<Room>,
    /// The booking's parties.
    pub parties: Vec<UserId>,
    /// The notifications.
    pub announcements: Vec<Announcement>,
}

impl Outbox {
    /// What the transition to `after` with `effects` announces, if anything.
    pub fn of(after: &Booking, effects: &Effects<'_>) -> Option<Self> {
        (!effects.announcements.is_empty() || effects.room.is_some()).then(|| Self {
            booking_id: after.id,
            version: after.version,
            room_id: after.room_id,
            opened: effects.room.map(|(room, _)| room.clone()),
            parties: after.parties().to_vec(),
            announcements: effects.announcements.clone(),
        })
    }
}

/// What a transition writes besides the booking.
#[derive(Default)]
pub struct Effects<'a> {
    /// The ledger steps it implies (each written once: a second write of a step fails the
    /// whole transaction).
    pub ledger: Vec<LedgerStep>,
    /// The chat room it opens for the two parties, with its members.
    pub room: Option<(&'a Room, &'a [Member])>,
    /// The Stripe event it consumes (recorded once).
    pub stripe_event: Option<&'a str>,
    /// Proof-of-work files shared with the booking's room: each must be a ready
    /// `proof_of_work` file of `owner`.
    pub files: Option<(&'a UserId, &'a [FileId])>,
    /// What the completion adds to the commission report (counted once, with the step).
    pub tally: Option<CommissionTally>,
    /// The release waits for the provider's payout account: the booking is listed among
    /// their waiting releases, only while their account cannot be paid (so an
    /// `account.updated` that enabled it meanwhile fails the transaction instead of
    /// leaving the booking waiting for nothing).
    pub park: Option<UserId>,
    /// The booking leaves its provider's waiting releases.
    pub unpark: Option<UserId>,
    /// What it announces (sent from the outbox item it writes, with the room it opens).
    pub announcements: Vec<Announcement>,
}

/// Which of a user's bookings to list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only as customer or as provider.
    pub role: Option<PartyRole>,
    /// Only in this state.
    pub state: Option<BookingState>,
    /// Only of this category.
    pub category: Option<String>,
    /// Only from this source.
    pub source: Option<Source>,
}

/// Bookings on the table.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// A booking by id.
    async fn get_booking(&self, id: &BookingId) -> Result<Option<Booking>>;
    /// The booking a buyer's purchase key created.
    async fn purchase_of(&self, buyer: &UserId, key: &str) -> Result<Option<BookingId>>;
    /// Stores a new booking, its party rows and the buyer's purchase key, counting one hit
    /// of each of `limits` in the same transaction (so only a booking really created counts,
    /// however often its key is retried).
    async fn create_booking(
        &self,
        booking: &Booking,
        key: &str,
        limits: &[RateLimit<'_>],
        news: &[Announcement],
        now: DateTime<Utc>,
    ) -> Result<Creation>;
    /// Replaces `before` by `after` with `effects`, all or nothing; `false` when the stored
    /// booking is no longer `before`, the ledger step or the event is already written, or a
    /// file is not shareable.
    async fn transition(
        &self,
        before: &Booking,
        after: &Booking,
        effects: Effects<'_>,
    ) -> Result<bool>;
    /// Records a Stripe event that changes no booking; `false` when it was recorded before.
    async fn record_event(&self, event_id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// A booking's ledger, step by step.
    async fn ledger(&self, id: &BookingId) -> Result<Vec<LedgerStep>>;
    /// A page of a user's bookings, newest first, filtered.
    async fn bookings_of(
        &self,
        user: &UserId,
        filter: &ListFilter,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Booking>>;
    /// Bookings whose timer is due at `now`, soonest first.
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Booking>>;
    /// The completed bookings of a provider whose release waits for their payout account.
    async fn waiting_releases(&self, provider: &UserId) -> Result<Vec<BookingId>>;
    /// A user's Stripe Customer (`cus_…`), once made.
    async fn payment_customer(&self, user: &UserId) -> Result<Option<String>>;
    /// Records `customer` as a user's Stripe Customer unless one is recorded already; the one
    /// recorded (a concurrent first booking's, when it won).
    async fn save_payment_customer(&self, user: &UserId, customer: &str) -> Result<String>;
    /// The admins' session settings (the defaults until set).
    async fn session_settings(&self) -> Result<SessionSettings>;
    /// Replaces the session settings.
    async fn put_session_settings(&self, settings: &SessionSettings) -> Result<()>;
}

/// What bookings tell people: the parties' notifications (keyed, so a repeat is a no-op), the
/// names in their texts, and a newly opened room on the parties' open connections.
#[async_trait]
pub trait BookingNews: Send + Sync {
    /// Notifies (inbox, live, push; SMS/email escalation when unread).
    async fn notify(&self, request: &NotifyRequest, now: DateTime<Utc>) -> Result<()>;
    /// A user's display name for the texts ("Someone" without one).
    async fn display_name(&self, user: &UserId) -> String;
    /// Tells `parties`' open connections that `room` exists (`room.updated`, `created`).
    async fn room_opened(&self, room: &Room, parties: &[UserId]) -> Result<()>;
}

#[async_trait]
impl BookingNews for Notifications<'_> {
    async fn notify(&self, request: &NotifyRequest, now: DateTime<Utc>) -> Result<()> {
        Notifications::notify(self, request, now).await.map(|_| ())
    }

    async fn display_name(&self, user: &UserId) -> String {
        name_of(self.users, user).await
    }

    async fn room_opened(&self, room: &Room, parties: &[UserId]) -> Result<()> {
        let opened = ServerEvent::RoomUpdated {
            room: room.clone(),
            change: RoomChange::Created,
            user_ids: parties.to_vec(),
        };
        realtime::send_to_users(self.connections, self.pusher, parties, &opened)
            .await
            .map(|_| ())
    }
}

/// A user's display name for the texts ("Someone" without one, or when it cannot be read).
async fn name_of(users: &dyn UserStore, user: &UserId) -> String {
    match users.get_user(user).await {
        Ok(Some(u)) => u.display_name.unwrap_or_else(|| "Someone".into()),
        _ => "Someone".into(),
    }
}

/// The news of the parties' booking routes: only names for the texts. Those routes announce
/// through the outbox (written with each transition, sent by `send-booking-news`) and never
/// notify or post to connections themselves, so their binary links neither the notification
/// texts nor the push and connection clients: a call that would is an internal error.
pub struct NamesOnly<'a>(pub &'a dyn UserStore);

#[async_trait]
impl BookingNews for NamesOnly<'_> {
    async fn notify(&self, request: &NotifyRequest, _: DateTime<Utc>) -> Result<()> {
        Err(crate::error::Error::unexpected(anyhow::anyhow!(
            "{} notified from a booking route: announce it through the outbox",
            request.idempotency_key
        )))
    }

    async fn display_name(&self, user: &UserId) -> String {
        name_of(self.0, user).await
    }

    async fn room_opened(&self, room: &Room, _: &[UserId]) -> Result<()> {
        Err(crate::error::Error::unexpected(anyhow::anyhow!(
            "room {} opened from a booking route: announce it through the outbox",
            room.id
        )))
    }
}

/// How creating a booking ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Creation {
    /// Written.
    Created,
    /// The buyer's key is taken (a concurrent purchase with the same key won).
    KeyTaken,
    /// A limit is reached: nothing written.
    Limited {
        /// Seconds until the fullest window ends.
        retry_after_secs: u64,
    },
    /// Some of the provider's time it would hold is another booking's: nothing written.
    TimeTaken,
}

/// Stripe, as the booking flows call it.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates a PaymentIntent (idempotently under its key).
    async fn create_payment(&self, new: &NewPayment<'_>) -> Result<Payment>;
    /// Reads a PaymentIntent again.
    async fn payment(&self, id: &str) -> Result<Payment>;
    /// Cancels a PaymentIntent that has not succeeded.
    async fn cancel_payment(&self, id: &str, key: &str) -> Result<Payment>;
    /// Captures an authorized PaymentIntent.
    async fn capture_payment(&self, id: &str, key: &str) -> Result<Payment>;
    /// Refunds `amount` of a payment; Stripe's refund id.
    async fn refund(&self, payment_intent: &str, amount: i64, key: &str) -> Result<String>;
    /// The refunds a payment has at Stripe.
    async fn refunds(&self, payment_intent: &str) -> Result<Vec<RefundRecord>>;
    /// Transfers to a connected account (idempotently under `key`).
    async fn create_transfer(&self, new: &NewTransfer<'_>, key: &str) -> Result<Transfer>;
    /// The transfers of a booking (its transfer group).
    async fn transfers(&self, transfer_group: &str) -> Result<Vec<Transfer>>;
    /// A transfer as Stripe has it now.
    async fn transfer(&self, id: &str) -> Result<Transfer>;
    /// Takes `amount` of a transfer back (idempotently under `key`); the reversal's id.
    async fn reverse_transfer(&self, transfer: &str, amount: i64, key: &str) -> Result<String>;
    /// A dispute as Stripe has it now.
    async fn dispute(&self, id: &str) -> Result<Dispute>;
    /// Creates a Stripe Customer for a user (idempotently under `key`); its id.
    async fn create_customer(&self, user: &UserId, key: &str) -> Result<String>;
    /// Creates a SetupIntent saving a card of `customer` for off-session use.
    async fn create_setup(
        &self,
        customer: &str,
        metadata: &HashMap<String, String>,
        key: &str,
    ) -> Result<Setup>;
    /// A SetupIntent as Stripe has it now.
    async fn setup(&self, id: &str) -> Result<Setup>;
    /// Creates (not confirmed) the PaymentIntent of a saved card's payment.
    async fn create_saved_card_payment(&self, new: &SavedCardPayment<'_>) -> Result<Payment>;
    /// Confirms a saved card's payment without the customer; a refusing bank answers the
    /// payment waiting for the customer.
    async fn confirm_off_session(&self, id: &str, key: &str) -> Result<Payment>;
}

#[async_trait]
impl PaymentGateway for gigwire_payments::StripePayments {
    async fn create_payment(&self, new: &NewPayment<'_>) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::create_payment(self, new).await?)
    }
    async fn payment(&self, id: &str) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::payment(self, id).await?)
    }
    async fn cancel_payment(&self, id: &str, key: &str) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::cancel_payment(self, id, key).await?)
    }
    async fn capture_payment(&self, id: &str, key: &str) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::capture_payment(self, id, key).await?)
    }
    async fn refund(&self, payment_intent: &str, amount: i64, key: &str) -> Result<String> {
        Ok(
            gigwire_payments::StripePayments::refund(self, payment_intent, Some(amount), key)
                .await?,
        )
    }
    async fn refunds(&self, payment_intent: &str) -> Result<Vec<RefundRecord>> {
        Ok(gigwire_payments::StripePayments::refunds(self, payment_intent).await?)
    }
    async fn create_transfer(&self, new: &NewTransfer<'_>, key: &str) -> Result<Transfer> {
        Ok(gigwire_payments::StripePayments::create_transfer(self, new, key).await?)
    }
    async fn transfers(&self, transfer_group: &str) -> Result<Vec<Transfer>> {
        Ok(gigwire_payments::StripePayments::transfers(self, transfer_group).await?)
    }
    async fn transfer(&self, id: &str) -> Result<Transfer> {
        Ok(gigwire_payments::StripePayments::transfer(self, id).await?)
    }
    async fn reverse_transfer(&self, transfer: &str, amount: i64, key: &str) -> Result<String> {
        Ok(gigwire_payments::StripePayments::reverse_transfer(self, transfer, amount, key).await?)
    }
    async fn dispute(&self, id: &str) -> Result<Dispute> {
        Ok(gigwire_payments::StripePayments::dispute(self, id).await?)
    }
    async fn create_customer(&self, user: &UserId, key: &str) -> Result<String> {
        let metadata = HashMap::from([("user_id".to_owned(), user.to_string())]);
        Ok(gigwire_payments::StripePayments::create_customer(self, None, &metadata, key).await?)
    }
    async fn create_setup(
        &self,
        customer: &str,
        metadata: &HashMap<String, String>,
        key: &str,
    ) -> Result<Setup> {
        Ok(gigwire_payments::StripePayments::create_setup(self, customer, metadata, key).await?)
    }
    async fn setup(&self, id: &str) -> Result<Setup> {
        Ok(gigwire_payments::StripePayments::setup(self, id).await?)
    }
    async fn create_saved_card_payment(&self, new: &SavedCardPayment<'_>) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::create_saved_card_payment(self, new).await?)
    }
    async fn confirm_off_session(&self, id: &str, key: &str) -> Result<Payment> {
        Ok(gigwire_payments::StripePayments::confirm_off_session(self, id, key).await?)
    }
}
