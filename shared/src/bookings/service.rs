//! Booking use cases: buying an offer, the Stripe webhook, the parties' steps (start, deliver,
//! confirm, cancel), listings and the timer sweep. Every change goes through
//! [`Booking::moved`] (the one state machine) and one conditioned transaction; what follows a
//! transition (Stripe calls after a cancellation, notifications) is keyed per transition, so a
//! retry or a duplicate delivery repeats it harmlessly.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use gigwire_payments::cards::{SavedCardPayment, Setup};
use gigwire_payments::connect::{Dispute, NewTransfer};
use gigwire_payments::webhook::{self, WebhookEvent};
use gigwire_payments::{NewPayment, Payment};
use serde::Serialize;
use serde_json::json;
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use super::model::{
    Account, Actor, Booking, BookingState, BookingView, CHARGE_BEFORE, CancelRequest,
    DeclineRequest, DeliverRequest, DisputeInfo, DisputeStatus, Event, PAY_BY_BEFORE, PartyRole,
    PaymentState, PurchaseRequest, RefundInfo, RefundRequest, SavedCard, SessionSettings, Summary,
    SummaryRequest, Timer, TimerKind, TransferInfo, amount_of, charge_entries, completion_entries,
    dispute_entries, dispute_lost_entries, dispute_won_entries, idempotency_key, refund,
    refund_earned_entries, refund_entries, release_entries, reversal_entries,
};
use super::store::{
    Announcement, Audience, BookingNews, BookingStore, Creation, Effects, LedgerStep, ListFilter,
    Outbox, PaymentGateway,
};
use crate::auth::Caller;
use crate::chat::model::{Member, Room, Subject, SubjectType};
use crate::crm::model::UpsellRef;
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, FileId, OfferId, Role, UserId};
use crate::error::{Error, Result};
use crate::files::model::{FileStatus, Purpose};
use crate::files::store::FileStore;
use crate::followups::store::FollowUpStore;
use crate::notifications::model::{Kind, OPERATIONS_TOPIC, Target};
use crate::notifications::service::{NotifyRequest, Recipients};
use crate::offers::model::OfferStatus;
use crate::offers::store::OfferStore;
use crate::payouts::model::{CommissionTally, PayoutAccount, PayoutRecord, period_of};
use crate::payouts::store::{ConnectGateway, PayoutStore};
use crate::store::RateLimit;

/// Metadata key naming the booking on Stripe's objects.
pub const BOOKING_METADATA: &str = "booking_id";
/// Metadata key naming the provider on their Connect account.
pub const PROVIDER_METADATA: &str = "user_id";
/// How soon a refund Stripe did not take is tried again by the sweep.
const REFUND_RETRY: Duration = Duration::minutes(1);
/// Timers one sweep run handles (the rest are due on the next run).
const SWEEP_BATCH: u32 = 100;
/// How long a timer that failed waits before it is tried again, so timers that keep failing
/// (Stripe refusing, a payment it no longer knows) never crowd out the rest of a batch.
const RETRY_FAILED_TIMER: Duration = Duration::minutes(5);
/// Failures after which a timer alerts the operators (about 50 minutes of retries), and is
/// tried hourly from then on: money must still move, but not silently.
pub const TIMER_ALERT_AFTER: u32 = 10;
/// How long a timer past the alert waits between attempts.
const RETRY_STUCK_TIMER: Duration = Duration::hours(1);
/// Times a payment is applied against a booking that keeps moving before the webhook gives up
/// (and Stripe delivers again).
const PAID_ATTEMPTS: usize = 3;
/// How soon the payment of a cancelled unpaid booking is read again (until it is cancelled
/// at Stripe, or refunded if it went through after all).
const VOID_CHECK: Duration = Duration::minutes(1);
/// The least time a customer gets to pay a saved card's refused charge.
const PAY_AT_LEAST: Duration = Duration::hours(1);
/// Purchases a buyer may start per window (a retry with the same key is not one).
pub const PURCHASES_PER_BUYER: u32 = 10;
/// Purchases a buyer may start of one offer per window.
pub const PURCHASES_PER_OFFER: u32 = 3;
/// The purchase limits' window, in seconds.
pub const PURCHASE_WINDOW_SECS: i64 = 600;

/// The idempotency key of a Stripe call about `booking` whose outcome depends on state (a
/// payment's creation, cancellation, a refund): one per version of the booking. Concurrent
/// calls about the same stored booking share it, so Stripe runs one; a retry after a failure
/// comes after the booking's version moved on (every failure path writes a new version), so
/// it is a new request rather than the replay of a stored failure, which Stripe keeps for a
/// day. What a lost answer may have done is read back from Stripe before asking again.
fn stripe_key(booking: &Booking, what: &str) -> String {
    format!("booking-{}-{what}-v{}", booking.id, booking.version)
}

/// What a purchase answers: the booking and what the client needs to pay.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Purchase {
    /// The booking (`pending_payment` until Stripe reports the payment).
    pub booking: BookingView,
    /// Stripe's PaymentIntent.
    pub payment_intent_id: Option<String>,
    /// Stripe's SetupIntent, when the card is saved to be charged later (a slot booked more
    /// than six days ahead): `clientSecret` is then the SetupIntent's, for the client SDK's
    /// `confirmSetup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_intent_id: Option<String>,
    /// For Stripe's client SDK to confirm the payment, or the card's setup (only while the
    /// booking is payable).
    pub client_secret: Option<String>,
}

impl Purchase {
    /// What the client needs to confirm `payment` of `booking`, while it is payable.
    fn of_payment(booking: Booking, payment: Payment, payable: bool) -> Self {
        Self {
            booking: booking.into(),
            payment_intent_id: Some(payment.id),
            setup_intent_id: None,
            client_secret: payment.client_secret.filter(|_| payable),
        }
    }
}

/// A booking as its parties (and operators) see it, with its ledger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingDetail {
    /// The booking.
    pub booking: BookingView,
    /// Its ledger, step by step (each step sums to zero).
    pub ledger: Vec<LedgerStep>,
}

/// A page of bookings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingPage {
    /// Newest first.
    pub items: Vec<BookingView>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// What the webhook did with an event.
#[derive(Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// The event moved a booking.
    Applied,
    /// The event was seen before, or its booking already moved on: nothing changed.
    Duplicate,
    /// Not an event we act on.
    Ignored,
}

/// The webhook's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    /// What was done with the event.
    pub outcome: WebhookOutcome,
}

/// What the booking functions need.
pub struct Bookings<'a> {
    /// Bookings.
    pub store: &'a dyn BookingStore,
    /// Offers (what is bought).
    pub offers: &'a dyn OfferStore,
    /// Proof-of-work files.
    pub files: &'a dyn FileStore,
    /// Stripe.
    pub payments: &'a dyn PaymentGateway,
    /// Tells the parties.
    pub news: &'a dyn BookingNews,
    /// Page cursors.
    pub cursors: &'a CursorCodec,
    /// Providers' payout accounts and the commission rates.
    pub accounts: &'a dyn PayoutStore,
    /// Stripe Connect (providers' accounts, as `account.updated` is read again).
    pub connect: &'a dyn ConnectGateway,
    /// Premium upgrades (their payments' events) and flags.
    pub followups: &'a dyn FollowUpStore,
}

/// How `caller` acts on `booking`, if they may see it at all. The provider becomes a party
/// once the booking is paid (it then has its room) or its payment authorized (a request they
/// answer): an unpaid checkout is the customer's alone.
fn actor_of(caller: &Caller, booking: &Booking) -> Option<Actor> {
    match booking.role_of(&caller.user_id) {
        Some(PartyRole::Customer) => Some(Actor::Customer),
        Some(PartyRole::Provider) if booking.provider_party() => Some(Actor::Provider),
        _ if caller.roles.contains(&Role::Admin) => Some(Actor::Operator),
        _ => None,
    }
}

/// The limits of a buyer's new checkouts (purchases and slot requests): per buyer, and per
/// buyer and offer (`"{buyer}:{offer}"`). They count bookings created, in the creating
/// transaction: concurrent retries of one key count once.
pub(crate) fn purchase_limits<'a>(buyer: &'a str, buyer_and_offer: &'a str) -> [RateLimit<'a>; 2] {
    [
        RateLimit {
            scope: "purchase",
            subject: buyer,
            limit: PURCHASES_PER_BUYER,
            window_secs: PURCHASE_WINDOW_SECS,
        },
        RateLimit {
            scope: "purchase-offer",
            subject: buyer_and_offer,
            limit: PURCHASES_PER_OFFER,
            window_secs: PURCHASE_WINDOW_SECS,
        },
    ]
}

/// A request for time another booking got first.
pub(crate) fn time_taken() -> Error {
    Error::Conflict("this time was just booked by someone else: read the slots again".into())
}

fn lost_race() -> Error {
    Error::Conflict("the booking changed meanwhile; read it and retry".into())
}

/// `4500` `eur` → `45.00 EUR` (every listed currency has two decimals).
pub fn format_money(amount: i64, currency: &str) -> String {
    format!(
        "{}.{:02} {}",
        amount / 100,
        amount % 100,
        currency.to_uppercase()
    )
}

impl Bookings<'_> {
    /// `POST /offers/{id}/purchase`: a booking waiting for payment and its PaymentIntent.
    /// `true` when created now; the same key again answers the same booking and payment.
    #[instrument(skip_all, fields(user_id = %caller.user_id, offer_id = %offer_id))]
    pub async fn purchase(
        &self,
        caller: &Caller,
        offer_id: &OfferId,
        request: PurchaseRequest,
        now: DateTime<Utc>,
    ) -> Result<(Purchase, bool)> {
        self.purchase_through(caller, offer_id, request, None, now)
            .await
    }

    /// [`Self::purchase`], through `upsell` when the customer bought it from a
    /// recommendation (the booking records it).
    pub(crate) async fn purchase_through(
        &self,
        caller: &Caller,
        offer_id: &OfferId,
        request: PurchaseRequest,
        upsell: Option<UpsellRef>,
        now: DateTime<Utc>,
    ) -> Result<(Purchase, bool)> {
        let key = request.key()?;
        let me = caller.user_id;
        let (offer, earlier, rates) = futures::try_join!(
            self.offers.get_offer(offer_id),
            self.store.purchase_of(&me, key),
            self.accounts.commission_rates()
        )?;
        // A retry with the same key answers its booking whatever the limits say.
        if let Some(id) = earlier {
            return Ok((
                self.resume(&me, &id, &offer_id.to_string(), now).await?,
                false,
            ));
        }
        let offer = offer
            .filter(|o| o.status == OfferStatus::Active || o.provider_id == me)
            .ok_or(Error::NotFound("offer"))?;
        if offer.provider_id == me {
            return Err(Error::BadRequest("you cannot buy your own offer".into()));
        }
        if offer.status != OfferStatus::Active {
            return Err(Error::NotFound("offer"));
        }
        let rate = rates.rate(&offer.category);
        let booking = Booking {
            upsell,
            ..Booking::for_offer(offer, me, rate, now)
        };
        self.checkout(booking, key, lost_race, now).await
    }

    /// Writes a new checkout (a purchase or a slot request of an offer, a follow-up of a
    /// booking: [`Booking::checkout_of`]) under the client's `key`, counted against the
    /// buyer's limits, and answers with its payment (`true`). A booking created accepted (a
    /// free follow-up) announces it in the same transaction. A concurrent request with the
    /// same key that won is answered instead (`false`); `missing` is the error when its
    /// booking cannot be read.
    pub(crate) async fn checkout(
        &self,
        booking: Booking,
        key: &str,
        missing: fn() -> Error,
        now: DateTime<Utc>,
    ) -> Result<(Purchase, bool)> {
        let me = booking.customer_id;
        let bought = booking.checkout_of().unwrap_or_default();
        let (buyer, buyer_and_offer) = (me.to_string(), format!("{me}:{bought}"));
        let limits = purchase_limits(&buyer, &buyer_and_offer);
        let news = if booking.state == BookingState::Accepted {
            accepted_news(&booking)
        } else {
            Vec::new()
        };
        match self
            .store
            .create_booking(&booking, key, &limits, &news, now)
            .await?
        {
            Creation::Created => {}
            Creation::Limited { retry_after_secs } => {
                return Err(Error::RateLimited { retry_after_secs });
            }
            Creation::TimeTaken => return Err(time_taken()),
            Creation::KeyTaken => {
                // A concurrent request with the same key won: answer with its booking.
                let id = self
                    .store
                    .purchase_of(&me, key)
                    .await?
                    .ok_or_else(missing)?;
                return Ok((self.resume(&me, &id, &bought, now).await?, false));
            }
        }
        info!(booking_id = %booking.id, source = ?booking.source, "booking created");
        Ok((self.with_payment(booking, now).await?, true))
    }

    /// The booking an earlier checkout with the same key created (of `bought`, see
    /// [`Booking::checkout_of`]), paid for as then.
    pub(crate) async fn resume(
        &self,
        me: &UserId,
        id: &BookingId,
        bought: &str,
        now: DateTime<Utc>,
    ) -> Result<Purchase> {
        let booking = self.customers(me, id).await?;
        if booking.checkout_of().as_deref() != Some(bought) {
            return Err(Error::Conflict(
                "this idempotency key was used for another purchase".into(),
            ));
        }
        self.with_payment(booking, now).await
    }

    /// Booking `id` as stored now (a 409 to retry when it is not, yet).
    async fn stored(&self, id: &BookingId) -> Result<Booking> {
        self.store.get_booking(id).await?.ok_or_else(lost_race)
    }

    /// The booking `id` of customer `me`, stored (a 409 to retry when it is not yet).
    pub(crate) async fn customers(&self, me: &UserId, id: &BookingId) -> Result<Booking> {
        self.store
            .get_booking(id)
            .await?
            .filter(|b| b.customer_id == *me)
            .ok_or_else(lost_race)
    }

    /// Makes sure a booking has its PaymentIntent (created under a key derived from the
    /// booking's version, so concurrent retries make one, and a retry after a failure is a
    /// new request) and answers with what the client needs to pay it.
    pub(crate) async fn with_payment(
        &self,
        booking: Booking,
        now: DateTime<Utc>,
    ) -> Result<Purchase> {
        if booking.state != BookingState::PendingPayment {
            return Ok(Purchase {
                payment_intent_id: booking.payment_intent_id.clone(),
                setup_intent_id: booking.card.as_ref().map(|c| c.setup_intent_id.clone()),
                booking: booking.into(),
                client_secret: None,
            });
        }
        if booking.saves_card() {
            return self.with_setup(booking, now).await;
        }
        let payment = match &booking.payment_intent_id {
            Some(id) => self.payments.payment(id).await?,
            None => {
                let id = booking.id.to_string();
                let created = self
                    .payments
                    .create_payment(&NewPayment {
                        amount: booking.price.amount,
                        currency: &booking.price.currency,
                        manual_capture: !booking.source.is_instant(),
                        transfer_group: &id,
                        metadata: HashMap::from([(BOOKING_METADATA.to_owned(), id.clone())]),
                        idempotency_key: &stripe_key(&booking, "payment"),
                    })
                    .await;
                let payment = match created {
                    Ok(payment) => payment,
                    Err(err) => {
                        // The retry (with the same purchase key) must not replay this failure.
                        self.bump(&booking, None, now).await;
                        return Err(err);
                    }
                };
                let mut after = booking.clone();
                after.payment_intent_id = Some(payment.id.clone());
                after.version += 1;
                if self
                    .store
                    .transition(&booking, &after, Effects::default())
                    .await?
                {
                    return Ok(Purchase::of_payment(after, payment, true));
                }
                // The webhook or a cancellation moved it first: answer with what is stored.
                let stored = self.stored(&booking.id).await?;
                let payable = stored.state == BookingState::PendingPayment;
                return Ok(Purchase::of_payment(stored, payment, payable));
            }
        };
        Ok(Purchase::of_payment(booking, payment, true))
    }

    /// [`Self::with_payment`] for a booking that saves its card: its SetupIntent (created
    /// under a key of the booking's version, as a payment is, on the customer's Stripe
    /// Customer) and what the client needs to confirm it. The card is charged later by a
    /// timer.
    async fn with_setup(&self, booking: Booking, now: DateTime<Utc>) -> Result<Purchase> {
        let answer = |booking: Booking, setup: Setup| {
            let payable = booking.state == BookingState::PendingPayment
                && booking
                    .card
                    .as_ref()
                    .is_some_and(|c| c.setup_intent_id == setup.id);
            Purchase {
                booking: booking.into(),
                payment_intent_id: None,
                setup_intent_id: Some(setup.id),
                client_secret: setup.client_secret.filter(|_| payable),
            }
        };
        if let Some(card) = &booking.card {
            let setup = self.payments.setup(&card.setup_intent_id).await?;
            return Ok(answer(booking, setup));
        }
        let schedule = booking.schedule.clone().ok_or_else(lost_race)?;
        let customer = self.payment_customer(&booking).await?;
        let metadata = HashMap::from([(BOOKING_METADATA.to_owned(), booking.id.to_string())]);
        let created = self
            .payments
            .create_setup(&customer, &metadata, &stripe_key(&booking, "setup"))
            .await;
        let setup = match created {
            Ok(setup) => setup,
            Err(err) => {
                // The retry (with the same purchase key) must not replay this failure.
                self.bump(&booking, None, now).await;
                return Err(err);
            }
        };
        let mut after = booking.clone();
        after.card = Some(SavedCard {
            customer,
            setup_intent_id: setup.id.clone(),
            payment_method: None,
            charge_at: schedule.start - CHARGE_BEFORE,
            pay_by: schedule.start - PAY_BY_BEFORE,
            charged_at: None,
        });
        after.version += 1;
        if self
            .store
            .transition(&booking, &after, Effects::default())
            .await?
        {
            return Ok(answer(after, setup));
        }
        // A concurrent retry or a cancellation moved it first: answer with what is stored.
        let stored = self.stored(&booking.id).await?;
        Ok(answer(stored, setup))
    }

    /// The Stripe Customer of `booking`'s customer, made at their first booking that saves a
    /// card (under a key of that booking's version, as every state-dependent call: a stored
    /// failure is never replayed). Concurrent first bookings may make two at Stripe; the
    /// conditional record keeps one, and the other stays unused.
    async fn payment_customer(&self, booking: &Booking) -> Result<String> {
        let user = &booking.customer_id;
        if let Some(customer) = self.store.payment_customer(user).await? {
            return Ok(customer);
        }
        let created = self
            .payments
            .create_customer(user, &stripe_key(booking, "customer"))
            .await?;
        self.store.save_payment_customer(user, &created).await
    }

    async fn visible(&self, caller: &Caller, id: &BookingId) -> Result<(Booking, Actor)> {
        visible(self.store, caller, id).await
    }

    /// `POST /bookings/{id}/start` (the provider).
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn start(
        &self,
        caller: &Caller,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(actor, Actor::Provider, "only the provider starts the work")?;
        let after = booking.moved(Event::Start, actor, now)?;
        if booking.awaiting_charge() {
            return Err(Error::Conflict(
                "the session's payment is not taken yet: it cannot start".into(),
            ));
        }
        self.apply(&booking, &after, Effects::default()).await?;
        Ok(after)
    }

    /// `POST /bookings/{id}/deliver` (the provider), with proof-of-work images.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn deliver(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: DeliverRequest,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(actor, Actor::Provider, "only the provider delivers")?;
        let note = request
            .note
            .as_deref()
            .map(|n| crate::offers::model::text(n, "note", 1, 2000))
            .transpose()?;
        let mut files = request.proof_file_ids;
        files.sort();
        files.dedup();
        if files.len() > 10 {
            return Err(Error::field("proofFileIds", "at most 10 files"));
        }
        self.check_proof(caller, &files, "proofFileIds").await?;
        let mut after = booking.moved(Event::Deliver, actor, now)?;
        after.proof_file_ids = files.clone();
        after.delivery_note = note;
        let effects = Effects {
            files: Some((&caller.user_id, &files)),
            announcements: vec![delivered(&after)],
            ..Effects::default()
        };
        self.apply(&booking, &after, effects).await?;
        Ok(after)
    }

    /// Each of `files` must be one of the caller's ready `proof_of_work` uploads (a delivery's
    /// or a summary's images, shared with the booking's parties).
    async fn check_proof(&self, caller: &Caller, files: &[FileId], field: &str) -> Result<()> {
        let records =
            futures::future::try_join_all(files.iter().map(|f| self.files.get_file(f))).await?;
        let shareable = records.iter().all(|r| {
            r.as_ref().is_some_and(|f| {
                f.owner_id == caller.user_id
                    && f.purpose == Purpose::ProofOfWork
                    && f.status == FileStatus::Ready
            })
        });
        if !shareable {
            return Err(Error::field(
                field,
                "each must be one of your ready proof_of_work uploads",
            ));
        }
        Ok(())
    }

    /// `POST /bookings/{id}/summary` (the provider): the session's summary, once, from its
    /// start on; its photos are shared with the customer, who is told (in-app, and by email
    /// while unread).
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn summarize(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: SummaryRequest,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(
            actor,
            Actor::Provider,
            "only the provider writes the summary",
        )?;
        let summary = request.summary(now)?;
        if !matches!(
            booking.state,
            BookingState::InProgress | BookingState::Delivered | BookingState::Completed
        ) {
            return Err(Error::Conflict(format!(
                "the booking is {}: a summary follows the session's start",
                booking.state
            )));
        }
        if booking.summary.is_some() {
            return Err(Error::Conflict("the summary was already submitted".into()));
        }
        self.check_proof(caller, &summary.photo_file_ids, "photoFileIds")
            .await?;
        let mut after = booking.clone();
        after.summary = Some(summary);
        after.updated_at = now;
        after.version += 1;
        let photos = after
            .summary
            .as_ref()
            .map(|s| s.photo_file_ids.clone())
            .unwrap_or_default();
        let effects = Effects {
            files: Some((&caller.user_id, &photos)),
            announcements: vec![announce(
                Kind::SessionSummary,
                vec![after.customer_id],
                Some(after.provider_id),
                json!({ "title": after.title, "when": when_of(&after) }),
                "summary",
            )],
            ..Effects::default()
        };
        self.apply(&booking, &after, effects).await?;
        Ok(after)
    }

    /// `GET /bookings/{id}/summary` (the parties, admins): the summary; the customer's first
    /// read records `viewedAt` (once: a later read, or a concurrent one, keeps the first).
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn summary(
        &self,
        caller: &Caller,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<Summary> {
        let (mut booking, actor) = self.visible(caller, id).await?;
        for _ in 0..PAID_ATTEMPTS {
            let summary = booking.summary.clone().ok_or(Error::NotFound("summary"))?;
            if actor != Actor::Customer || summary.viewed_at.is_some() {
                return Ok(summary);
            }
            let mut after = booking.clone();
            let viewed = Summary {
                viewed_at: Some(now),
                ..summary
            };
            after.summary = Some(viewed.clone());
            // The read is this write's change (the CRM log tells it by this).
            after.updated_at = now;
            after.version += 1;
            if self
                .store
                .transition(&booking, &after, Effects::default())
                .await?
            {
                return Ok(viewed);
            }
            // Another change came first (a timer, another read): read it again.
            booking = self
                .store
                .get_booking(id)
                .await?
                .ok_or(Error::NotFound("booking"))?;
        }
        Err(lost_race())
    }

    /// `POST /bookings/{id}/confirm` (the customer).
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn confirm(
        &self,
        caller: &Caller,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(
            actor,
            Actor::Customer,
            "only the customer confirms completion",
        )?;
        self.complete(&booking, Event::Confirm, actor, now).await
    }

    async fn complete(
        &self,
        booking: &Booking,
        event: Event,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        // The completion writes its release timer (`moved`), so the earnings go to the
        // provider even if this function stops right after the commit.
        let after = booking.moved(event, actor, now)?;
        let (commission, net) = booking.split();
        let effects = Effects {
            ledger: vec![LedgerStep {
                step: "completion".into(),
                entries: completion_entries(booking.price.amount, booking.commission_basis_points),
                stripe_ref: None,
                at: now,
            }],
            tally: Some(tally_of(
                booking,
                now,
                1,
                booking.price.amount,
                commission,
                net,
            )),
            ..Effects::default()
        };
        self.apply(booking, &after, effects).await?;
        info!(booking_id = %after.id, "booking completed");
        // Released at once when it can be; otherwise the sweep fires the timer.
        Ok(self.release_now(after, now).await)
    }

    /// Releases a completed booking's earnings (its price less the commission written on it)
    /// to the provider's Stripe account: one transfer per booking, whatever is retried. What
    /// Stripe already has for the booking (a transfer in its group, made by an attempt whose
    /// answer was lost) is recorded rather than asked again; a new request uses a key of this
    /// version, so a failure Stripe stored is never replayed. The provider is told before the
    /// commit that ends the timer (keyed: a retry tells nobody twice), so a function that
    /// stops in between still leaves the timer to finish both. A provider whose account cannot
    /// be paid yet has the booking parked until `account.updated` enables it.
    async fn release(&self, booking: Booking, now: DateTime<Utc>) -> Result<Booking> {
        // A dispute freezes the release (a won one releases again through this timer); a
        // refund of everything earned leaves nothing to release.
        if !booking.release_due() {
            self.drop_timer(&booking).await?;
            return Ok(booking);
        }
        let account = self.accounts.payout_account(&booking.provider_id).await?;
        let Some(account) = account.filter(|a| a.can_be_paid) else {
            return self.park(booking, now).await;
        };
        let (_, earning) = booking.earned_split();
        let transfer_id = if earning > 0 {
            Some(self.transfer(&booking, &account, earning, now).await?)
        } else {
            None
        };
        let mut after = booking.clone();
        after.transfer = Some(TransferInfo {
            stripe_transfer_id: transfer_id.clone(),
            amount: earning,
            account_id: account.account_id.clone(),
            reversed: false,
        });
        after.timer = None;
        after.updated_at = now;
        after.version += 1;
        // Released again after a won dispute reversed the first transfer.
        let step = if booking.transfer.is_some() {
            "release_again"
        } else {
            "release"
        };
        let effects = Effects {
            ledger: vec![LedgerStep {
                step: step.into(),
                entries: release_entries(earning),
                stripe_ref: transfer_id,
                at: now,
            }],
            unpark: Some(booking.provider_id),
            announcements: vec![announce(
                Kind::PaymentReleased,
                vec![booking.provider_id],
                None,
                json!({ "title": booking.title,
                    "amount": format_money(earning, &booking.price.currency) }),
                step,
            )],
            ..Effects::default()
        };
        if self.store.transition(&booking, &after, effects).await? {
            info!(booking_id = %after.id, amount = earning, "earnings released");
            return Ok(after);
        }
        // Another run (the sweep, a retry) moved it first: it records the same transfer.
        self.store
            .get_booking(&booking.id)
            .await?
            .ok_or_else(lost_race)
    }

    /// The transfer of a booking's earnings: the one Stripe has for the booking, or a new one.
    /// One Stripe has that pays more than `earning` (made before a refund that raced it) has
    /// the excess reversed first, so the provider keeps exactly their share.
    async fn transfer(
        &self,
        booking: &Booking,
        account: &PayoutAccount,
        earning: i64,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let group = booking.id.to_string();
        // A transfer a dispute took back in full is not the one to record.
        let existing = self.payments.transfers(&group).await?;
        if let Some(transfer) = existing.into_iter().find(|t| t.amount_reversed < t.amount) {
            let left = transfer.amount - transfer.amount_reversed;
            if left > earning {
                self.payments
                    .reverse_transfer(&transfer.id, left - earning, &stripe_key(booking, "trim"))
                    .await?;
            }
            return Ok(transfer.id);
        }
        let charge = match &booking.charge_id {
            Some(charge) => charge.clone(),
            None => {
                let pi = booking.payment_intent_id.as_deref().ok_or_else(|| {
                    Error::unexpected(anyhow::anyhow!("a completed booking without a payment"))
                })?;
                self.payments
                    .payment(pi)
                    .await?
                    .latest_charge
                    .ok_or_else(|| {
                        Error::unexpected(anyhow::anyhow!("a succeeded payment without a charge"))
                    })?
            }
        };
        let new = NewTransfer {
            amount: earning,
            currency: &booking.price.currency,
            destination: &account.account_id,
            source_transaction: &charge,
            transfer_group: &group,
            metadata: HashMap::from([(BOOKING_METADATA.to_owned(), group.clone())]),
        };
        match self
            .payments
            .create_transfer(&new, &stripe_key(booking, "release"))
            .await
        {
            Ok(transfer) => Ok(transfer.id),
            Err(err) => {
                self.failed(booking, &err, now).await;
                Err(err)
            }
        }
    }

    /// The release waits for the provider's payout account: the timer ends and the booking is
    /// listed among the provider's waiting releases, in one transaction that holds only while
    /// their account still cannot be paid. When it fails (the account was enabled meanwhile,
    /// or the booking moved), the release is decided again on what is stored now.
    async fn park(&self, booking: Booking, now: DateTime<Utc>) -> Result<Booking> {
        let mut after = booking.clone();
        after.timer = None;
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            park: Some(booking.provider_id),
            ..Effects::default()
        };
        if self.store.transition(&booking, &after, effects).await? {
            info!(booking_id = %after.id, "release waits for the provider's payout account");
            return Ok(after);
        }
        let stored = self.stored(&booking.id).await?;
        if stored.version != booking.version {
            return Ok(stored);
        }
        // Same booking, so the account became payable since it was read: release now.
        Box::pin(self.release(stored, now)).await
    }

    /// A dispute event: the dispute as Stripe has it now (read again, whatever the delivery
    /// order) decides. Opened: the booking is marked disputed and its money frozen (a pending
    /// release waits; a done one is reversed by a timer written in the same transaction).
    /// Closed: won releases again; lost stays reversed (and an unfinished booking is
    /// cancelled: its money is gone). Both parties and the operators are told.
    async fn dispute_event(
        &self,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let Some(id) = event.data.object_id() else {
            return Ok(WebhookOutcome::Ignored);
        };
        let dispute = self.payments.dispute(id).await?;
        let Some(pi) = dispute.payment_intent.clone() else {
            return Ok(WebhookOutcome::Ignored);
        };
        let payment = self.payments.payment(&pi).await?;
        let Some(booking_id) = payment
            .metadata
            .get(BOOKING_METADATA)
            .and_then(|b| BookingId::parse(b, BOOKING_METADATA).ok())
        else {
            return Ok(WebhookOutcome::Ignored);
        };
        let Some(booking) = self.store.get_booking(&booking_id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        if booking.payment_intent_id.as_deref() != Some(pi.as_str()) {
            warn!(booking_id = %booking.id, dispute = %dispute.id, "dispute of another payment");
            return Ok(WebhookOutcome::Ignored);
        }
        let booking = match booking.dispute {
            Some(_) => booking,
            None => self.dispute_opened(booking, &dispute, now).await?,
        };
        if dispute.is_closed() {
            return self.dispute_closed(booking, &dispute, now).await;
        }
        Ok(WebhookOutcome::Applied)
    }

    async fn dispute_opened(
        &self,
        booking: Booking,
        dispute: &Dispute,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let mut after = booking.clone();
        after.dispute = Some(DisputeInfo {
            id: dispute.id.clone(),
            amount: dispute.amount,
            status: DisputeStatus::Open,
            reversal_id: None,
        });
        if booking.released() {
            after.timer = Some(Timer::due(TimerKind::ReverseTransfer, now));
        } else if booking.timer.is_some_and(|t| t.kind == TimerKind::Release) {
            // Frozen: a won dispute gives the release its timer back.
            after.timer = None;
        }
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            ledger: vec![LedgerStep {
                step: "dispute".into(),
                entries: dispute_entries(dispute.amount),
                stripe_ref: Some(dispute.id.clone()),
                at: now,
            }],
            announcements: dispute_news(&after, None),
            ..Effects::default()
        };
        if !self.store.transition(&booking, &after, effects).await? {
            return Err(lost_race());
        }
        warn!(booking_id = %after.id, dispute = %dispute.id, "payment disputed");
        if after
            .timer
            .is_some_and(|t| t.kind == TimerKind::ReverseTransfer)
        {
            if let Err(err) = self.reverse(after.clone(), now).await {
                warn!(error = ?err, booking_id = %after.id, "reversal deferred to the sweep");
            }
            return Ok(self.store.get_booking(&after.id).await?.unwrap_or(after));
        }
        Ok(after)
    }

    async fn dispute_closed(
        &self,
        booking: Booking,
        dispute: &Dispute,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let Some(info) = booking.dispute.clone() else {
            return Err(lost_race());
        };
        if info.status != DisputeStatus::Open {
            return Ok(WebhookOutcome::Duplicate);
        }
        let won = dispute.is_won();
        let mut after = booking.clone();
        after.dispute = Some(DisputeInfo {
            status: if won {
                DisputeStatus::Won
            } else {
                DisputeStatus::Lost
            },
            ..info.clone()
        });
        after.updated_at = now;
        after.version += 1;
        let (_, earning) = booking.earned_split();
        let mut ledger = Vec::new();
        let mut tally = None;
        let completed = booking.earned() > 0;
        if won {
            ledger.push(LedgerStep {
                step: "dispute_won".into(),
                entries: dispute_won_entries(info.amount),
                stripe_ref: Some(dispute.id.clone()),
                at: now,
            });
            // Released again (or for the first time) — unless the reversal never happened.
            after.timer = if completed && !booking.released() {
                Some(Timer::due(TimerKind::Release, now))
            } else if booking
                .timer
                .is_some_and(|t| t.kind == TimerKind::ReverseTransfer)
            {
                None
            } else {
                booking.timer
            };
        } else {
            if completed {
                let entries = dispute_lost_entries(info.amount, earning);
                // The report and the provider's earnings count the write-off back.
                let written_off = |account| amount_of(&entries, account);
                tally = Some(tally_of(
                    &booking,
                    now,
                    0,
                    -info.amount,
                    written_off(Account::Commission),
                    written_off(Account::ProviderPayable),
                ));
                ledger.push(LedgerStep {
                    step: "dispute_lost".into(),
                    entries,
                    stripe_ref: Some(dispute.id.clone()),
                    at: now,
                });
            } else if let Ok(cancelled) = booking.moved(Event::Cancel, Actor::Operator, now) {
                // The work cannot be paid for any more: the booking ends.
                after.state = cancelled.state;
                after.cancel_reason = Some("the payment dispute was lost".into());
                after.timer = None;
            }
            // A reversal still to do stays due: the money stays taken back.
        }
        let effects = Effects {
            ledger,
            tally,
            announcements: dispute_news(&after, Some(if won { "won" } else { "lost" })),
            ..Effects::default()
        };
        if !self.store.transition(&booking, &after, effects).await? {
            return Err(lost_race());
        }
        info!(booking_id = %after.id, won, "dispute closed");
        self.release_now(after, now).await;
        Ok(WebhookOutcome::Applied)
    }

    /// Takes a released booking's transfer back from the provider (a dispute): what Stripe
    /// already reversed (an answer lost) is recorded, not reversed again.
    async fn reverse(&self, booking: Booking, now: DateTime<Utc>) -> Result<()> {
        let (Some(transfer), Some(info)) = (booking.transfer.clone(), booking.dispute.clone())
        else {
            return self.drop_timer(&booking).await;
        };
        if transfer.reversed || info.status == DisputeStatus::Won {
            return self.drop_timer(&booking).await;
        }
        let reversal_id = match &transfer.stripe_transfer_id {
            None => None,
            Some(id) => {
                let current = self.payments.transfer(id).await?;
                let left = current.amount - current.amount_reversed;
                if left == 0 {
                    Some(format!("{id}:reversed"))
                } else {
                    match self
                        .payments
                        .reverse_transfer(id, left, &stripe_key(&booking, "reversal"))
                        .await
                    {
                        Ok(reversal) => Some(reversal),
                        Err(err) => {
                            self.failed(&booking, &err, now).await;
                            return Err(err);
                        }
                    }
                }
            }
        };
        let mut after = booking.clone();
        after.transfer = Some(TransferInfo {
            reversed: true,
            ..transfer.clone()
        });
        after.dispute = Some(DisputeInfo {
            reversal_id: reversal_id.clone(),
            ..info
        });
        after.timer = None;
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            ledger: vec![LedgerStep {
                step: "reversal".into(),
                entries: reversal_entries(transfer.amount),
                stripe_ref: reversal_id,
                at: now,
            }],
            ..Effects::default()
        };
        if self.store.transition(&booking, &after, effects).await? {
            warn!(booking_id = %after.id, "released earnings reversed for a dispute");
        }
        Ok(())
    }

    /// A payout of a provider's connected account: recorded in their payout history as
    /// Stripe has it now (read again, whatever the delivery order); `paid` and `failed` tell
    /// the provider, once each.
    async fn payout_event(
        &self,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let (Some(account), Some(id)) = (event.account.as_deref(), event.data.object_id()) else {
            return Ok(WebhookOutcome::Ignored);
        };
        let Some(provider) = self.provider_of(account).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        let payout = self.connect.payout(account, id).await?;
        let record = PayoutRecord::reported(&payout, now);
        self.accounts.save_payout(&provider, &record).await?;
        let kind = match record.status.as_str() {
            "paid" => Kind::PayoutPaid,
            "failed" => Kind::PayoutFailed,
            _ => return Ok(WebhookOutcome::Applied),
        };
        let request = NotifyRequest {
            recipients: Recipients::Users(vec![provider]),
            kind,
            actor: None,
            room: None,
            data: json!({ "payoutId": record.payout_id,
                "amount": format_money(record.amount, &record.currency),
                "reason": record.failure_message }),
            idempotency_key: format!("payout:{}:{}", record.payout_id, record.status),
        };
        if let Err(err) = self.news.notify(&request, now).await {
            warn!(error = ?err, payout = %record.payout_id, "payout notification failed");
        }
        Ok(WebhookOutcome::Applied)
    }

    /// The provider a connected account belongs to: named in its metadata (read from Stripe)
    /// and recorded as theirs.
    async fn provider_of(&self, account: &str) -> Result<Option<UserId>> {
        let found = self.connect.account(account).await?;
        let Some(provider) = found
            .metadata
            .get(PROVIDER_METADATA)
            .and_then(|p| UserId::parse(p, PROVIDER_METADATA).ok())
        else {
            return Ok(None);
        };
        let recorded = self.accounts.payout_account(&provider).await?;
        Ok(recorded
            .filter(|r| r.account_id == account)
            .map(|_| provider))
    }

    /// `account.updated`: the provider's account as Stripe has it now (read again, whatever
    /// the delivery order) is recorded; once it can be paid, every release that waited for it
    /// gets its timer back, one transaction each, and is tried at once (the sweep finishes
    /// what this run does not). A failure answers non-2xx, so Stripe delivers the event again.
    async fn account_event(
        &self,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let Some(id) = event.data.object_id() else {
            return Ok(WebhookOutcome::Ignored);
        };
        let account = self.connect.account(id).await?;
        let Some(provider) = account
            .metadata
            .get(PROVIDER_METADATA)
            .and_then(|p| UserId::parse(p, PROVIDER_METADATA).ok())
        else {
            return Ok(WebhookOutcome::Ignored);
        };
        let Some(stored) = self.accounts.payout_account(&provider).await? else {
            warn!(account = %account.id, "account.updated for an account we did not record");
            return Ok(WebhookOutcome::Ignored);
        };
        if stored.account_id != account.id {
            warn!(account = %account.id, "account.updated for another account of the provider");
            return Ok(WebhookOutcome::Ignored);
        }
        let record = PayoutAccount::reported(provider, &account, stored.created_at, now);
        let unchanged = PayoutAccount {
            updated_at: stored.updated_at,
            ..record.clone()
        } == stored;
        if !unchanged {
            self.accounts.save_payout_account(&record).await?;
            info!(provider_id = %provider, state = ?record.state, "payout account updated");
        }
        if !record.can_be_paid {
            return Ok(WebhookOutcome::Applied);
        }
        for id in self.store.waiting_releases(&provider).await? {
            let Some(booking) = self.store.get_booking(&id).await? else {
                continue;
            };
            let mut after = booking.clone();
            after.timer = Some(Timer::due(TimerKind::Release, now));
            after.updated_at = now;
            after.version += 1;
            let effects = Effects {
                unpark: Some(provider),
                ..Effects::default()
            };
            if !self.store.transition(&booking, &after, effects).await? {
                return Err(lost_race());
            }
            self.release_now(after, now).await;
        }
        Ok(WebhookOutcome::Applied)
    }

    /// `POST /bookings/{id}/cancel`: by either party (or an operator), with the refund the
    /// policy gives, through Stripe; both parties are told why.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: CancelRequest,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let reason = crate::offers::model::text(&request.reason, "reason", 1, 500)?;
        // The canceller's name (for the notification) is read alongside the booking.
        let ((booking, actor), name) = futures::try_join!(self.visible(caller, id), async {
            Ok(self.news.display_name(&caller.user_id).await)
        })?;
        let mut after = booking.moved(Event::Cancel, actor, now)?;
        if booking.disputed() {
            // The card issuer decides where the money goes; a refund now could pay it twice.
            return Err(Error::Conflict(
                "the payment is disputed: the booking cannot be cancelled until it is decided"
                    .into(),
            ));
        }
        // Money was taken only once the payment was captured: before that (an unpaid
        // checkout, an authorization awaiting the provider, a saved card not charged yet) the
        // payment is cancelled, never refunded.
        let captured = booking.captured();
        let amount = if captured {
            let start = booking.schedule.as_ref().map(|s| s.start);
            refund(booking.price.amount, booking.state, start, actor, now)
        } else {
            0
        };
        after.cancel_reason = Some(reason.clone());
        let mut ledger = Vec::new();
        let mut tally = None;
        if amount > 0 {
            after.refund = Some(RefundInfo {
                amount,
                stripe_refund_id: None,
            });
            // Until Stripe takes the refund, the sweep retries it.
            after.timer = Some(Timer::due(TimerKind::RefundRetry, now + REFUND_RETRY));
            ledger.push(LedgerStep {
                step: "refund".into(),
                entries: refund_entries(amount),
                stripe_ref: booking.payment_intent_id.clone(),
                at: now,
            });
        }
        if captured && amount < booking.price.amount {
            // What the customer does not get back was earned: it is settled as if the
            // booking had completed (commission and the provider's share of that part, which
            // is released to them once the refund is with Stripe), so the platform never
            // keeps a cancelled booking's money unassigned.
            after.settled = true;
            let kept = booking.price.amount - amount;
            let (commission, net) = after.earned_split();
            ledger.push(LedgerStep {
                step: "settlement".into(),
                entries: completion_entries(kept, booking.commission_basis_points),
                stripe_ref: None,
                at: now,
            });
            tally = Some(tally_of(&booking, now, 0, kept, commission, net));
            if amount == 0 {
                after.timer = Some(Timer::due(TimerKind::Release, now));
            }
        }
        if !captured && booking.payment_intent_id.is_some() {
            // Until Stripe says the payment can no longer go through, a timer reads it again
            // (and refunds it if it went through after all).
            after.timer = Some(Timer::due(TimerKind::VoidPayment, now + VOID_CHECK));
        }
        // Both parties learn why, and what comes back (an unpaid checkout was the customer's
        // alone: the provider never had it).
        let told = if booking.state == BookingState::PendingPayment {
            vec![after.customer_id]
        } else {
            after.parties().to_vec()
        };
        let refund_text = (amount > 0).then(|| format_money(amount, &after.price.currency));
        // The canceller is told too (it confirms the refund): named in the data, not as the
        // notification's actor, whom notifications skip.
        let canceller = match actor {
            Actor::Operator => "Support".to_owned(),
            _ => name,
        };
        let effects = Effects {
            ledger,
            tally,
            announcements: vec![announce(
                Kind::BookingCancelled,
                told,
                None,
                json!({ "actor": canceller, "title": after.title, "reason": reason,
                    "refund": refund_text }),
                "cancelled",
            )],
            ..Effects::default()
        };
        self.apply(&booking, &after, effects).await?;
        info!(booking_id = %after.id, refund = amount, "booking cancelled");
        let after = if amount > 0 {
            match self.send_refund(&after, now).await {
                Ok(refunded) => refunded,
                Err(err) => {
                    warn!(error = %err, booking_id = %after.id, "refund not taken yet; the sweep retries");
                    self.bump(&after, Some(now + REFUND_RETRY), now).await
                }
            }
        } else if !captured && let Some(pi) = &booking.payment_intent_id {
            // The payment must not go through later; if it already did, the webhook or the
            // timer refunds it.
            match self
                .payments
                .cancel_payment(pi, &stripe_key(&after, "void"))
                .await
            {
                Ok(_) => after,
                Err(err) => {
                    warn!(error = %err, booking_id = %after.id, "payment not cancelled yet; the sweep retries");
                    self.bump(&after, Some(now + VOID_CHECK), now).await
                }
            }
        } else {
            after
        };
        Ok(self.release_now(after, now).await)
    }

    /// `POST /bookings/{id}/refund` (admins): gives back `amount` (all the booking still keeps
    /// when absent) of a completed booking, or of what a cancellation settled. The commission
    /// and the provider's earning shrink to the split of what remains; a released transfer
    /// loses the provider's part of the refund (reversed at Stripe before the refund is
    /// asked), an unreleased one is released smaller. One transaction records the decision,
    /// its ledger step and both parties' news, with a retry timer, so the money moves even if
    /// this function stops right after; a retry with the same key changes nothing.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn refund_earned(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: RefundRequest,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let reason = crate::offers::model::text(&request.reason, "reason", 1, 500)?;
        let key = idempotency_key(&request.idempotency_key)?.to_owned();
        let (booking, actor) = self.visible(caller, id).await?;
        only(
            actor,
            Actor::Operator,
            "only support refunds after completion",
        )?;
        if booking.refund_keys.contains(&key) {
            return Ok(booking);
        }
        let earned = booking.earned();
        if earned == 0 {
            return Err(Error::Conflict(format!(
                "the booking keeps nothing to refund (it is {}, and {} went back already)",
                booking.state,
                format_money(booking.refunded(), &booking.price.currency)
            )));
        }
        if booking.disputed() {
            return Err(Error::Conflict(
                "the payment is disputed: the card issuer decides where the money goes".into(),
            ));
        }
        if booking
            .refund
            .as_ref()
            .is_some_and(|r| r.stripe_refund_id.is_none())
        {
            return Err(Error::Conflict(
                "an earlier refund of this booking is still on its way to Stripe; try again once it is recorded".into(),
            ));
        }
        let amount = request.amount.unwrap_or(earned);
        if !(1..=earned).contains(&amount) {
            return Err(Error::field(
                "amount",
                format!(
                    "must be between 1 and {earned} (what the booking still keeps, in minor units)"
                ),
            ));
        }
        let remains = earned - amount;
        let mut after = booking.clone();
        after.refund = Some(RefundInfo {
            amount: booking.refunded() + amount,
            stripe_refund_id: None,
        });
        after.refund_keys.push(key);
        after.timer = Some(Timer::due(TimerKind::RefundRetry, now + REFUND_RETRY));
        after.updated_at = now;
        after.version += 1;
        let entries = refund_earned_entries(earned, remains, booking.commission_basis_points);
        let change = |account| amount_of(&entries, account);
        let clawback = -change(Account::ProviderPayable);
        let tally = tally_of(
            &booking,
            now,
            0,
            -amount,
            change(Account::Commission),
            -clawback,
        );
        let money = |value| format_money(value, &booking.price.currency);
        let step = format!("refund:{}", after.version);
        let effects = Effects {
            ledger: vec![LedgerStep {
                step: "refund_after_completion".into(),
                entries,
                stripe_ref: booking.payment_intent_id.clone(),
                at: now,
            }],
            tally: Some(tally),
            announcements: vec![
                announce(
                    Kind::PaymentRefunded,
                    vec![booking.customer_id],
                    None,
                    json!({ "title": booking.title, "amount": money(amount), "reason": reason }),
                    &format!("{step}:customer"),
                ),
                announce(
                    Kind::PaymentRefunded,
                    vec![booking.provider_id],
                    None,
                    json!({ "title": booking.title, "amount": money(amount), "reason": reason,
                        "provider": true, "clawback": (clawback > 0).then(|| money(clawback)) }),
                    &format!("{step}:provider"),
                ),
            ],
            ..Effects::default()
        };
        self.apply(&booking, &after, effects).await?;
        info!(booking_id = %after.id, amount, "refund after completion decided");
        let after = match self.send_refund(&after, now).await {
            Ok(refunded) => refunded,
            Err(err) => {
                warn!(error = %err, booking_id = %after.id, "refund not taken yet; the sweep retries");
                self.bump(&after, Some(now + REFUND_RETRY), now).await
            }
        };
        Ok(self.release_now(after, now).await)
    }

    /// Releases at once what a transition left due (its `release` timer written in the same
    /// transaction); on failure the sweep fires the timer.
    async fn release_now(&self, booking: Booking, now: DateTime<Utc>) -> Booking {
        if !booking.timer.is_some_and(|t| t.kind == TimerKind::Release) {
            return booking;
        }
        match self.release(booking.clone(), now).await {
            Ok(released) => released,
            Err(err) => {
                warn!(error = ?err, booking_id = %booking.id, "release deferred to the sweep");
                booking
            }
        }
    }

    /// Writes a new version of `booking` (its timer due at `due`, when given) after a Stripe
    /// call failed, so the retry uses a new idempotency key instead of replaying the failure
    /// Stripe stored. Best effort: a booking that moved on meanwhile has a new version anyway.
    async fn bump(
        &self,
        booking: &Booking,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Booking {
        let mut after = booking.clone();
        if let (Some(due_at), Some(timer)) = (due, booking.timer) {
            after.timer = Some(Timer { due_at, ..timer });
        }
        after.updated_at = now;
        after.version += 1;
        match self
            .store
            .transition(booking, &after, Effects::default())
            .await
        {
            Ok(true) => after,
            Ok(false) => booking.clone(),
            Err(err) => {
                warn!(error = ?err, booking_id = %booking.id, "new version not written");
                booking.clone()
            }
        }
    }

    /// Asks Stripe for what the booking owes its customer and records it; on failure the
    /// booking keeps its retry timer. What Stripe already did decides first, so money goes
    /// back once whatever is retried: the refunds the payment has at Stripe are summed, and
    /// only what they lack is asked for (a refund asked before, its answer lost, however long
    /// ago, is recorded, not asked again). Released earnings beyond what the provider still
    /// earns are reversed first. Then the provider's share of what the booking keeps, if not
    /// released yet, gets its release timer.
    async fn send_refund(&self, booking: &Booking, now: DateTime<Utc>) -> Result<Booking> {
        let (Some(info), Some(pi)) = (&booking.refund, &booking.payment_intent_id) else {
            return Ok(booking.clone());
        };
        let (transfer, reversal) = self.trim(booking, now).await?;
        let refunds: Vec<_> = self
            .payments
            .refunds(pi)
            .await?
            .into_iter()
            .filter(|r| r.counts())
            .collect();
        let done: i64 = refunds.iter().map(|r| r.amount).sum();
        let refund_id = match refunds.first() {
            Some(newest) if done >= info.amount => newest.id.clone(),
            _ => {
                self.payments
                    .refund(pi, info.amount - done, &stripe_key(booking, "refund"))
                    .await?
            }
        };
        let mut after = booking.clone();
        after.refund = Some(RefundInfo {
            amount: info.amount,
            stripe_refund_id: Some(refund_id),
        });
        after.transfer = transfer;
        after.timer = after
            .release_due()
            .then(|| Timer::due(TimerKind::Release, now));
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            ledger: reversal.into_iter().collect(),
            ..Effects::default()
        };
        // Lost to a concurrent change: the timer stays, and the next sweep finds the refund
        // (and the reversal) at Stripe instead of asking again.
        Ok(if self.store.transition(booking, &after, effects).await? {
            after
        } else {
            booking.clone()
        })
    }

    /// A released transfer that pays more than the provider still earns (a refund after
    /// release) loses the excess: reversed at Stripe unless Stripe already has it reversed
    /// (an answer lost), and written to the ledger once, from the recorded amount. Answers
    /// the transfer as it is to be recorded and the ledger's `reversal` step, if any.
    async fn trim(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
    ) -> Result<(Option<TransferInfo>, Option<LedgerStep>)> {
        let (_, earning) = booking.earned_split();
        let Some(transfer) = booking
            .transfer
            .clone()
            .filter(|t| !t.reversed && t.amount > earning)
        else {
            return Ok((booking.transfer.clone(), None));
        };
        let mut reversal_id = None;
        if let Some(id) = &transfer.stripe_transfer_id {
            let current = self.payments.transfer(id).await?;
            let left = current.amount - current.amount_reversed;
            if left > earning {
                reversal_id = Some(
                    self.payments
                        .reverse_transfer(id, left - earning, &stripe_key(booking, "trim"))
                        .await?,
                );
            }
        }
        let step = LedgerStep {
            step: "reversal".into(),
            entries: reversal_entries(transfer.amount - earning),
            stripe_ref: reversal_id,
            at: now,
        };
        Ok((
            Some(TransferInfo {
                amount: earning,
                ..transfer
            }),
            Some(step),
        ))
    }

    /// The refund a payment already has at Stripe (one that moves or moved money back).
    async fn refund_of(&self, payment_intent: &str) -> Result<Option<String>> {
        Ok(self
            .payments
            .refunds(payment_intent)
            .await?
            .into_iter()
            .find(|r| r.counts())
            .map(|r| r.id))
    }

    async fn apply(&self, before: &Booking, after: &Booking, effects: Effects<'_>) -> Result<()> {
        if self.store.transition(before, after, effects).await? {
            Ok(())
        } else {
            Err(lost_race())
        }
    }

    /// `POST /webhooks/stripe`: verifies the signature, then applies what the payment's
    /// current state (read again from Stripe, whatever the delivery order) means for its
    /// booking.
    #[instrument(skip_all)]
    pub async fn webhook(
        &self,
        payload: &[u8],
        signature: Option<&str>,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let event = webhook::verify(payload, signature, secret, now.timestamp())
            .map_err(|err| Error::BadRequest(format!("webhook refused: {err}")))?;
        info!(event_id = %event.id, kind = %event.kind, "stripe event");
        match event.kind.as_str() {
            "payment_intent.succeeded"
            | "payment_intent.amount_capturable_updated"
            | "payment_intent.payment_failed"
            | "payment_intent.canceled" => {
                if crate::followups::service::is_upgrade_event(&event) {
                    let upgrade = crate::followups::service::upgrade_event;
                    return upgrade(self.payments, self.followups, &event, now).await;
                }
                self.payment_event(&event, now).await
            }
            "setup_intent.succeeded" | "setup_intent.setup_failed" => {
                self.setup_event(&event, now).await
            }
            "account.updated" => self.account_event(&event, now).await,
            "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed" => {
                self.dispute_event(&event, now).await
            }
            "payout.created" | "payout.updated" | "payout.paid" | "payout.failed"
            | "payout.canceled" => self.payout_event(&event, now).await,
            _ => Ok(WebhookOutcome::Ignored),
        }
    }

    async fn payment_event(
        &self,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let Some((object_id, id)) = booking_object(event) else {
            return Ok(WebhookOutcome::Ignored);
        };
        let (payment, booking) = futures::try_join!(
            self.payments.payment(object_id),
            self.store.get_booking(&id)
        )?;
        let Some(booking) = booking else {
            warn!(booking_id = %id, "stripe event for an unknown booking");
            return Ok(WebhookOutcome::Ignored);
        };
        // The payment must be this booking's in every respect Stripe reports: its
        // metadata, amount and currency, and the PaymentIntent the booking recorded.
        if payment.metadata.get(BOOKING_METADATA) != Some(&id.to_string())
            || payment.amount != booking.price.amount
            || payment.currency != booking.price.currency
            || booking
                .payment_intent_id
                .as_ref()
                .is_some_and(|recorded| *recorded != payment.id)
        {
            warn!(booking_id = %id, payment = %payment.id, "payment does not match its booking");
            return Ok(WebhookOutcome::Ignored);
        }
        match payment.status.as_str() {
            "succeeded" => self.paid(booking, &payment, Some(&event.id), now).await,
            "requires_capture" => {
                self.authorized(booking, Hold::Authorization(&payment), Some(&event.id), now)
                    .await
            }
            "canceled" => {
                self.expire(booking, Event::PaymentCanceled, Some(&event.id), now)
                    .await
            }
            _ if event.kind == "payment_intent.payment_failed" => {
                let reason = payment.last_error.clone();
                self.payment_failed(booking, reason, Some(&payment.id), &event.id, now)
                    .await
            }
            _ => Ok(WebhookOutcome::Ignored),
        }
    }

    /// A SetupIntent saving a booking's card succeeded or failed: re-read from Stripe, checked
    /// against the booking, applied as an authorization (the request goes to the provider)
    /// or as a failed payment.
    async fn setup_event(
        &self,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        let Some((object_id, id)) = booking_object(event) else {
            return Ok(WebhookOutcome::Ignored);
        };
        let (setup, booking) =
            futures::try_join!(self.payments.setup(object_id), self.store.get_booking(&id))?;
        let Some(booking) = booking else {
            warn!(booking_id = %id, "stripe event for an unknown booking");
            return Ok(WebhookOutcome::Ignored);
        };
        let ours = booking.card.as_ref().is_some_and(|card| {
            card.setup_intent_id == setup.id && setup.customer.as_ref() == Some(&card.customer)
        });
        if setup.metadata.get(BOOKING_METADATA) != Some(&id.to_string()) || !ours {
            warn!(booking_id = %id, setup = %setup.id, "setup does not match its booking");
            return Ok(WebhookOutcome::Ignored);
        }
        match setup.status.as_str() {
            "succeeded" => {
                self.authorized(booking, Hold::SavedCard(&setup), Some(&event.id), now)
                    .await
            }
            _ if event.kind == "setup_intent.setup_failed" => {
                let reason = setup.last_error.clone();
                self.payment_failed(booking, reason, None, &event.id, now)
                    .await
            }
            _ => Ok(WebhookOutcome::Ignored),
        }
    }

    /// The payment succeeded: the booking is accepted and assigned, its room opened and its
    /// charge written, in one transaction; then both parties are told.
    async fn paid(
        &self,
        mut booking: Booking,
        payment: &Payment,
        event: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        for _ in 0..PAID_ATTEMPTS {
            let charge = captured_step(payment, &booking, now);
            if booking.state == BookingState::Requested {
                // Captured: only an acceptance captures, and it stopped (or has not yet
                // written) before its transition: finish it.
                return self.accepted(booking, Some(payment), event, now).await;
            }
            if booking.awaiting_charge() && !booking.state.is_final() {
                // A saved card's charge went through (off-session, or paid by the customer
                // after it failed).
                return self.card_charged(booking, payment, event, now).await;
            }
            if booking.state != BookingState::PendingPayment {
                // A booking that was paid has its room: this is a duplicate or reordered
                // delivery (whatever happened since, a cancellation's refund included, is not
                // redone; what the winning delivery announced is in its outbox).
                if booking.room_id.is_some() && !booking.awaiting_charge() {
                    return Ok(WebhookOutcome::Duplicate);
                }
                // Never paid before: it expired or was cancelled while the payment went
                // through.
                return self.refund_late(booking, payment, charge, now).await;
            }
            let mut after = booking.moved(Event::PaymentSucceeded, Actor::System, now)?;
            after.payment_intent_id = Some(payment.id.clone());
            after.charge_id = payment.latest_charge.clone();
            after.payment_error = None;
            after.room_id = Some(booking.room());
            let (room, members) = room_of(&booking, now);
            // The parties' open chat screens learn of the room (from the outbox, as of any
            // other new room), the customer that it is confirmed, the provider that it is
            // theirs (or, of a follow-up, what its customer asks).
            let effects = Effects {
                ledger: vec![charge],
                // A booking that continues a thread (a job's application, a follow-up's
                // parent) has its room, with both parties in it, already.
                room: booking.thread_id.is_none().then_some((&room, &members[..])),
                stripe_event: event,
                announcements: accepted_news(&booking),
                ..Effects::default()
            };
            if self.store.transition(&booking, &after, effects).await? {
                info!(booking_id = %after.id, "booking paid and accepted");
                return Ok(WebhookOutcome::Applied);
            }
            // Something else moved the booking first (another delivery, the purchase
            // attaching its payment, a cancellation): decide again on what is stored now.
            booking = self.stored(&booking.id).await?;
        }
        // Still losing: a non-2xx answer has Stripe deliver the event again later.
        Err(lost_race())
    }

    /// A payment that succeeded after its booking expired or was cancelled: the money goes
    /// straight back (one refund, keyed by the payment), and the ledger shows both steps.
    async fn refund_late(
        &self,
        booking: Booking,
        payment: &Payment,
        charge: LedgerStep,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        if booking.refund.is_some() {
            // Refunded on an earlier delivery (Stripe keeps idempotency keys for a day only:
            // a redelivery days later must not ask again).
            return Ok(WebhookOutcome::Duplicate);
        }
        let refund_id = match self.refund_of(&payment.id).await? {
            Some(existing) => existing,
            None => match self
                .payments
                .refund(
                    &payment.id,
                    payment.amount_received,
                    &stripe_key(&booking, "late"),
                )
                .await
            {
                Ok(id) => id,
                Err(err) => {
                    self.bump(&booking, None, now).await;
                    return Err(err);
                }
            },
        };
        let mut after = booking.clone();
        // Nothing is left to watch: the money is on its way back.
        after.timer = None;
        after.refund = Some(RefundInfo {
            amount: payment.amount_received,
            stripe_refund_id: Some(refund_id.clone()),
        });
        after.payment_intent_id = Some(payment.id.clone());
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            ledger: vec![
                charge,
                LedgerStep {
                    step: "refund".into(),
                    entries: refund_entries(payment.amount_received),
                    stripe_ref: Some(refund_id),
                    at: now,
                },
            ],
            ..Effects::default()
        };
        if self.store.transition(&booking, &after, effects).await? {
            warn!(booking_id = %booking.id, "late payment refunded");
            Ok(WebhookOutcome::Applied)
        } else {
            // Lost to another change: decided again on the next delivery (or the timer),
            // which finds this refund at Stripe rather than asking for another.
            Err(lost_race())
        }
    }

    /// A checkout's payment (or card setup) failed: it stays payable, with the reason, and
    /// the customer is told.
    async fn payment_failed(
        &self,
        booking: Booking,
        reason: Option<String>,
        payment_intent: Option<&str>,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        if booking.state != BookingState::PendingPayment {
            return Ok(WebhookOutcome::Duplicate);
        }
        let mut after = booking.moved(Event::PaymentFailed, Actor::System, now)?;
        after.payment_error = reason.or(Some("declined".into()));
        if let Some(pi) = payment_intent {
            after.payment_intent_id = Some(pi.to_owned());
        }
        let effects = Effects {
            stripe_event: Some(event),
            announcements: vec![announce(
                Kind::PaymentFailed,
                vec![after.customer_id],
                None,
                json!({ "title": after.title, "reason": after.payment_error }),
                &format!("payment-failed:{event}"),
            )],
            ..Effects::default()
        };
        if !self.store.transition(&booking, &after, effects).await? {
            // Lost a race (another delivery, a cancellation): a non-2xx answer has Stripe
            // deliver it again, and the next delivery decides on what is stored then.
            return Err(lost_race());
        }
        Ok(WebhookOutcome::Applied)
    }

    /// The card was authorized (or saved, for a session far ahead) for a request to book:
    /// the booking is `requested`; the provider sees it and is told, and a timer expires it
    /// if they do not answer in time.
    async fn authorized(
        &self,
        booking: Booking,
        hold: Hold<'_>,
        event: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        if booking.state != BookingState::PendingPayment {
            return Ok(WebhookOutcome::Duplicate);
        }
        let mut after = booking.moved(Event::PaymentAuthorized, Actor::System, now)?;
        match hold {
            Hold::Authorization(payment) => after.payment_intent_id = Some(payment.id.clone()),
            Hold::SavedCard(setup) => {
                let card = after.card.as_mut().ok_or_else(lost_race)?;
                card.payment_method = setup.payment_method.clone();
            }
        }
        after.payment_error = None;
        after.authorized_at = Some(now);
        let effects = Effects {
            stripe_event: event,
            announcements: vec![announce(
                Kind::ProviderAssigned,
                vec![after.provider_id],
                Some(after.customer_id),
                json!({ "title": after.title, "assignee": true, "requested": true,
                    "when": when_of(&after) }),
                "requested",
            )],
            ..Effects::default()
        };
        if !self.store.transition(&booking, &after, effects).await? {
            // Decided again on the next delivery, on what is stored then.
            return Err(lost_race());
        }
        info!(booking_id = %after.id, "booking requested");
        Ok(WebhookOutcome::Applied)
    }

    /// `POST /bookings/{id}/accept` (the provider): captures the authorized payment, then
    /// accepts the request (its room opens, its charge is written, the customer is told).
    /// The capture's key is the booking's version: a retry captures once; an acceptance that
    /// stops after capturing is finished by the payment's webhook or the request's timer.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn accept(
        &self,
        caller: &Caller,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(
            actor,
            Actor::Provider,
            "only the provider answers a request",
        )?;
        booking.moved(Event::Accept, actor, now)?;
        if booking.awaiting_charge() {
            // A saved card: nothing to capture; it is charged before the start.
            self.accepted(booking, None, None, now).await?;
            return self.stored(id).await;
        }
        let pi = booking.payment_intent_id.clone().ok_or_else(lost_race)?;
        let payment = self
            .payments
            .capture_payment(&pi, &stripe_key(&booking, "capture"))
            .await?;
        if payment.status != "succeeded" {
            return Err(Error::Conflict(format!(
                "the payment could not be captured ({}): the request cannot be accepted",
                payment.status
            )));
        }
        self.accepted(booking, Some(&payment), None, now).await?;
        self.stored(id).await
    }

    /// A request whose payment was captured (`payment`; none for a saved card, charged
    /// later) becomes `accepted`, as a paid purchase does: its room opens, its charge is
    /// written and the customer is told, in one transaction.
    async fn accepted(
        &self,
        mut booking: Booking,
        payment: Option<&Payment>,
        event: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        for _ in 0..PAID_ATTEMPTS {
            if booking.state != BookingState::Requested {
                return Ok(WebhookOutcome::Duplicate);
            }
            let mut after = booking.moved(Event::Accept, Actor::Provider, now)?;
            after.charge_id = payment.and_then(|p| p.latest_charge.clone());
            after.room_id = Some(booking.room());
            let (room, members) = room_of(&booking, now);
            let effects = Effects {
                ledger: payment
                    .map(|p| captured_step(p, &booking, now))
                    .into_iter()
                    .collect(),
                room: Some((&room, &members[..])),
                stripe_event: event,
                announcements: vec![announce(
                    Kind::BookingConfirmed,
                    vec![booking.customer_id],
                    Some(booking.provider_id),
                    json!({ "title": booking.title, "when": when_of(&booking) }),
                    "confirmed",
                )],
                ..Effects::default()
            };
            if self.store.transition(&booking, &after, effects).await? {
                info!(booking_id = %after.id, "request accepted");
                return Ok(WebhookOutcome::Applied);
            }
            booking = self.stored(&booking.id).await?;
        }
        Err(lost_race())
    }

    /// `POST /bookings/{id}/decline` (the provider): the request is `declined`, its
    /// authorization voided (a timer makes sure), its time free again; the customer is told.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn decline(
        &self,
        caller: &Caller,
        id: &BookingId,
        request: DeclineRequest,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        let reason = request.reason()?;
        let (booking, actor) = self.visible(caller, id).await?;
        only(
            actor,
            Actor::Provider,
            "only the provider answers a request",
        )?;
        let after = booking.moved(Event::Decline, actor, now)?;
        self.unanswered(booking, after, reason, now).await
    }

    /// A request that ends unaccepted (declined, or expired): its authorization is voided
    /// (a timer reads the payment again until Stripe has cancelled it) and the customer told.
    async fn unanswered(
        &self,
        booking: Booking,
        mut after: Booking,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Booking> {
        after.timer = Some(Timer::due(TimerKind::VoidPayment, now + VOID_CHECK));
        after.cancel_reason = reason.clone();
        let step = crate::domain::wire_name(&after.state);
        let effects = Effects {
            announcements: vec![announce(
                Kind::BookingDeclined,
                vec![after.customer_id],
                Some(after.provider_id),
                json!({ "title": after.title, "when": when_of(&after), "reason": reason,
                    "expired": after.state == BookingState::Expired }),
                &step,
            )],
            ..Effects::default()
        };
        self.apply(&booking, &after, effects).await?;
        info!(booking_id = %after.id, state = %after.state, "request ended unanswered");
        if let Some(pi) = &after.payment_intent_id
            && let Err(err) = self
                .payments
                .cancel_payment(pi, &stripe_key(&after, "void"))
                .await
        {
            warn!(error = %err, booking_id = %after.id, "authorization not voided yet; the sweep retries");
        }
        Ok(after)
    }

    /// The payment was cancelled or its window ran out: the booking can no longer be paid.
    async fn expire(
        &self,
        booking: Booking,
        event: Event,
        stripe_event: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        if booking.state != BookingState::PendingPayment {
            return Ok(WebhookOutcome::Duplicate);
        }
        let after = booking.moved(event, Actor::System, now)?;
        let effects = Effects {
            stripe_event,
            ..Effects::default()
        };
        if !self.store.transition(&booking, &after, effects).await? {
            // As for a failed payment: decided again on the next delivery or timer run.
            return Err(lost_race());
        }
        info!(booking_id = %after.id, "payment expired");
        Ok(WebhookOutcome::Applied)
    }

    /// The scheduled sweep: every due timer, each on its own (one failing does not stop the
    /// others; it stays due and is tried on the next run).
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = self.store.due(now, SWEEP_BATCH).await?;
        let mut done = 0;
        for booking in due {
            match self.fire(booking.clone(), now).await {
                Ok(()) => done += 1,
                Err(err) => {
                    warn!(error = ?err, booking_id = %booking.id, "booking timer failed; retried later");
                    self.failed(&booking, &err, now).await;
                }
            }
        }
        info!(done, "booking timers swept");
        Ok(done)
    }

    /// A timer failed: it is due again a little later with one more attempt counted (a new
    /// version, so a Stripe call it retries gets a new key). At the alert threshold the
    /// operators are told, once, in the same transaction, and it is tried hourly from then
    /// on. Best effort: a booking that moved on meanwhile decides again on the next run.
    async fn failed(&self, booking: &Booking, error: &Error, now: DateTime<Utc>) {
        let Some(timer) = booking.timer else {
            return;
        };
        let attempts = timer.attempts + 1;
        let wait = if attempts >= TIMER_ALERT_AFTER {
            RETRY_STUCK_TIMER
        } else {
            RETRY_FAILED_TIMER
        };
        let mut after = booking.clone();
        after.timer = Some(Timer {
            due_at: now + wait,
            attempts,
            ..timer
        });
        after.updated_at = now;
        after.version += 1;
        let mut effects = Effects::default();
        if attempts == TIMER_ALERT_AFTER {
            let kind = crate::domain::wire_name(&timer.kind);
            effects.announcements.push(Announcement {
                kind: Kind::System,
                to: Audience::Operations,
                actor: None,
                data: json!({
                    "title": format!("Booking timer failing: {}", booking.title),
                    "preview": format!(
                        "The {kind} timer of booking {} failed {attempts} times ({error}); it is retried every hour.",
                        booking.id
                    ),
                }),
                step: format!("timer-failing:{kind}:{}", timer.due_at.timestamp()),
            });
            warn!(booking_id = %booking.id, kind, attempts, "booking timer keeps failing: operators alerted");
        }
        if let Err(err) = self.store.transition(booking, &after, effects).await {
            warn!(error = ?err, booking_id = %booking.id, "failed timer not rescheduled");
        }
    }

    async fn fire(&self, booking: Booking, now: DateTime<Utc>) -> Result<()> {
        let Some(timer) = booking.timer else {
            return Ok(());
        };
        match (timer.kind, booking.state) {
            (TimerKind::PaymentExpiry, BookingState::PendingPayment) => {
                if let Some(card) = &booking.card {
                    let setup = self.payments.setup(&card.setup_intent_id).await?;
                    if setup.status == "succeeded" {
                        // Saved at the last moment, its webhook not here yet.
                        self.authorized(booking, Hold::SavedCard(&setup), None, now)
                            .await?;
                        return Ok(());
                    }
                }
                if let Some(pi) = booking.payment_intent_id.clone() {
                    let payment = self.payments.payment(&pi).await?;
                    if payment.status == "succeeded" {
                        // Paid at the last moment; the webhook may still be on its way.
                        self.paid(booking, &payment, None, now).await?;
                        return Ok(());
                    }
                    if payment.status == "requires_capture" {
                        // Authorized (a request), its webhook not here yet: the provider
                        // answers it, the payment window no longer applies.
                        self.authorized(booking, Hold::Authorization(&payment), None, now)
                            .await?;
                        return Ok(());
                    }
                    if payment.status != "canceled" {
                        self.payments
                            .cancel_payment(&pi, &stripe_key(&booking, "expire"))
                            .await?;
                    }
                }
                self.expire(booking, Event::PaymentTimerExpired, None, now)
                    .await?;
            }
            (TimerKind::RequestExpiry, BookingState::Requested) => {
                let payment = match &booking.payment_intent_id {
                    Some(pi) => Some(self.payments.payment(pi).await?),
                    None => None,
                };
                if let Some(payment) = payment.filter(|p| p.status == "succeeded") {
                    // Captured by an acceptance that stopped before its transition.
                    self.accepted(booking, Some(&payment), None, now).await?;
                } else {
                    let after = booking.moved(Event::RequestTimerExpired, Actor::System, now)?;
                    let reason = Some("the provider did not answer in time".to_owned());
                    self.unanswered(booking, after, reason, now).await?;
                }
            }
            (TimerKind::AutoComplete, BookingState::Delivered) => {
                self.complete(&booking, Event::AutoComplete, Actor::System, now)
                    .await?;
            }
            (TimerKind::RefundRetry, _) => {
                let refunded = self.send_refund(&booking, now).await?;
                self.release_now(refunded, now).await;
            }
            (TimerKind::VoidPayment, _) => self.void_payment(booking, now).await?,
            (TimerKind::Release, _) => drop(self.release(booking, now).await?),
            (TimerKind::ReverseTransfer, _) => self.reverse(booking, now).await?,
            (
                TimerKind::SessionReminder | TimerKind::StartNudge | TimerKind::SupportAlert,
                BookingState::Accepted,
            ) => self.not_started(&booking, timer.kind, now).await?,
            (TimerKind::SessionEnd, BookingState::InProgress) => {
                self.session_ended(&booking, now).await?;
            }
            (TimerKind::SavedCardCharge, BookingState::Accepted) if booking.awaiting_charge() => {
                // A charge still failing at the deadline (Stripe refusing our request, a card
                // gone) ends as an unpaid one does, instead of being retried into the start.
                if booking.card.as_ref().is_some_and(|c| now >= c.pay_by) {
                    self.payment_deadline(booking, now).await?;
                } else {
                    self.charge_saved_card(booking, now).await?;
                }
            }
            (TimerKind::PaymentDeadline, BookingState::Accepted) if booking.awaiting_charge() => {
                self.payment_deadline(booking, now).await?;
            }
            _ => self.drop_timer(&booking).await?,
        }
        Ok(())
    }

    /// An accepted session's timer while it has not started: tells whom `fired` is for and
    /// sets the next one, in one transaction (its announcements are keyed by the step, so a
    /// timer that runs twice tells nobody twice).
    async fn not_started(
        &self,
        booking: &Booking,
        fired: TimerKind,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(schedule) = &booking.schedule else {
            return self.drop_timer(booking).await;
        };
        let when = when_of(booking);
        let announcements = match fired {
            TimerKind::SessionReminder => vec![
                announce(
                    Kind::SessionStartingSoon,
                    vec![booking.customer_id],
                    Some(booking.provider_id),
                    json!({ "title": booking.title, "when": when }),
                    "starting-soon",
                ),
                announce(
                    Kind::SessionStartingSoon,
                    vec![booking.provider_id],
                    Some(booking.customer_id),
                    json!({ "title": booking.title, "when": when }),
                    "starting-soon-provider",
                ),
            ],
            TimerKind::StartNudge => vec![announce(
                Kind::SessionStartingSoon,
                vec![booking.provider_id],
                Some(booking.customer_id),
                json!({ "title": booking.title, "when": when, "late": true }),
                "not-started",
            )],
            _ => vec![Announcement {
                kind: Kind::System,
                to: Audience::Operations,
                actor: None,
                data: json!({
                    "title": format!("Session not started: {}", booking.title),
                    "preview": format!(
                        "Booking {} ({when}) was accepted but its provider has not started it {} minutes after its start.",
                        booking.id,
                        (now - schedule.start).num_minutes()
                    ),
                }),
                step: "not-started-alert".to_owned(),
            }],
        };
        // The support alert's delay is the admins' (read only when it is set).
        let settings = match fired {
            TimerKind::StartNudge => self.store.session_settings().await?,
            _ => SessionSettings::default(),
        };
        let mut after = booking.clone();
        after.timer = schedule.not_started_after(fired, &settings);
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            announcements,
            ..Effects::default()
        };
        // Lost to a start or a cancellation: that transition set its own timer.
        if self.store.transition(booking, &after, effects).await? {
            info!(booking_id = %booking.id, timer = ?fired, "session not started");
        }
        Ok(())
    }

    /// A started session whose scheduled end (and grace) passed: delivered, as if the provider
    /// had delivered it without proof; the customer is told as for a delivery, once.
    async fn session_ended(&self, booking: &Booking, now: DateTime<Utc>) -> Result<()> {
        let after = booking.moved(Event::SessionEnded, Actor::System, now)?;
        let effects = Effects {
            announcements: vec![delivered(&after)],
            ..Effects::default()
        };
        if self.store.transition(booking, &after, effects).await? {
            info!(booking_id = %booking.id, "session ended by its schedule");
        }
        Ok(())
    }

    /// A timer its booking has moved past, or whose work is done: dropped.
    async fn drop_timer(&self, booking: &Booking) -> Result<()> {
        let mut after = booking.clone();
        after.timer = None;
        after.version += 1;
        self.store
            .transition(booking, &after, Effects::default())
            .await?;
        Ok(())
    }

    /// The payment of a cancelled unpaid booking, as Stripe has it now: cancelled is the
    /// end; succeeded after all is refunded; anything else is cancelled again (under a key
    /// of this version: a refusal while it was `processing` is not replayed) and read again
    /// on the next run.
    async fn void_payment(&self, booking: Booking, now: DateTime<Utc>) -> Result<()> {
        let Some(pi) = booking.payment_intent_id.clone() else {
            return self.drop_timer(&booking).await;
        };
        let payment = self.payments.payment(&pi).await?;
        match payment.status.as_str() {
            "canceled" => self.drop_timer(&booking).await,
            "succeeded" => {
                let charge = charge_step(&payment, payment.amount_received, now);
                self.refund_late(booking, &payment, charge, now)
                    .await
                    .map(drop)
            }
            _ => {
                let cancelled = self
                    .payments
                    .cancel_payment(&pi, &stripe_key(&booking, "void"))
                    .await?;
                if cancelled.status == "canceled" {
                    self.drop_timer(&booking).await
                } else {
                    self.bump(&booking, Some(now + VOID_CHECK), now).await;
                    Ok(())
                }
            }
        }
    }

    /// An accepted session's saved card is charged without the customer: its PaymentIntent
    /// is created and recorded first (so whatever the bank answers, the booking knows the
    /// payment), then confirmed off-session. Succeeded, the charge is written; refused, the
    /// customer is asked to pay it themselves before the deadline. A run that stops midway
    /// is resumed by the next from what Stripe has.
    async fn charge_saved_card(&self, booking: Booking, now: DateTime<Utc>) -> Result<()> {
        let card = booking.card.clone().ok_or_else(lost_race)?;
        let (booking, payment) = match booking.payment_intent_id.clone() {
            Some(pi) => {
                let payment = self.payments.payment(&pi).await?;
                (booking, payment)
            }
            None => {
                let method = card.payment_method.as_deref().ok_or_else(|| {
                    Error::unexpected(anyhow::anyhow!(
                        "an accepted booking without its saved card"
                    ))
                })?;
                let id = booking.id.to_string();
                let payment = self
                    .payments
                    .create_saved_card_payment(&SavedCardPayment {
                        amount: booking.price.amount,
                        currency: &booking.price.currency,
                        customer: &card.customer,
                        payment_method: method,
                        transfer_group: &id,
                        metadata: HashMap::from([(BOOKING_METADATA.to_owned(), id.clone())]),
                        idempotency_key: &stripe_key(&booking, "charge"),
                    })
                    .await?;
                let mut after = booking.clone();
                after.payment_intent_id = Some(payment.id.clone());
                after.version += 1;
                if !self
                    .store
                    .transition(&booking, &after, Effects::default())
                    .await?
                {
                    // Moved meanwhile (cancelled, or a concurrent run): decided again later.
                    return Err(lost_race());
                }
                (after, payment)
            }
        };
        let payment = if payment.status == "requires_confirmation" {
            self.payments
                .confirm_off_session(&payment.id, &stripe_key(&booking, "confirm"))
                .await?
        } else {
            payment
        };
        match payment.status.as_str() {
            "succeeded" => self
                .card_charged(booking, &payment, None, now)
                .await
                .map(drop),
            "requires_payment_method" | "requires_action" => {
                self.card_refused(&booking, &payment, now).await
            }
            other => Err(Error::unexpected(anyhow::anyhow!(
                "the saved card's payment is {other}; read again later"
            ))),
        }
    }

    /// A saved card's charge went through: the charge is written and the session's reminders
    /// are set, in one transaction.
    async fn card_charged(
        &self,
        mut booking: Booking,
        payment: &Payment,
        event: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome> {
        for _ in 0..PAID_ATTEMPTS {
            if !booking.awaiting_charge() || booking.state.is_final() {
                return Ok(WebhookOutcome::Duplicate);
            }
            let mut after = booking.clone();
            if let Some(card) = after.card.as_mut() {
                card.charged_at = Some(now);
            }
            after.payment_intent_id = Some(payment.id.clone());
            after.charge_id = payment.latest_charge.clone();
            after.payment_error = None;
            after.timer = after.reminder();
            after.updated_at = now;
            after.version += 1;
            let effects = Effects {
                ledger: vec![captured_step(payment, &booking, now)],
                stripe_event: event,
                ..Effects::default()
            };
            if self.store.transition(&booking, &after, effects).await? {
                info!(booking_id = %after.id, "saved card charged");
                return Ok(WebhookOutcome::Applied);
            }
            booking = self.stored(&booking.id).await?;
        }
        Err(lost_race())
    }

    /// The bank refused a saved card's charge without the customer (declined, or it wants
    /// them to authenticate): the booking keeps the reason, the customer is asked to pay
    /// (`POST /bookings/{id}/pay`) before the deadline, when a timer cancels it unpaid.
    async fn card_refused(
        &self,
        booking: &Booking,
        payment: &Payment,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let card = booking.card.as_ref().ok_or_else(lost_race)?;
        let mut after = booking.clone();
        after.payment_error = payment.last_error.clone().or(Some("declined".into()));
        // A charge that ran late (retried) still leaves the customer an hour.
        let pay_by = card.pay_by.max(now + PAY_AT_LEAST);
        after.timer = Some(Timer::due(TimerKind::PaymentDeadline, pay_by));
        after.updated_at = now;
        after.version += 1;
        let effects = Effects {
            announcements: vec![announce(
                Kind::PaymentFailed,
                vec![after.customer_id],
                None,
                json!({ "title": after.title, "reason": after.payment_error,
                    "when": when_of(&after), "payBy": pay_by }),
                "saved-card-refused",
            )],
            ..Effects::default()
        };
        // Lost to a cancellation or the customer paying: that transition decided.
        if self.store.transition(booking, &after, effects).await? {
            info!(booking_id = %booking.id, "saved card refused; the customer is asked to pay");
        }
        Ok(())
    }

    /// A saved card's charge failed and the customer did not pay by the deadline: the
    /// booking is cancelled (by the platform, nothing to refund), both parties told, and its
    /// payment voided so it cannot go through later (a timer makes sure; one that went
    /// through after all is refunded).
    async fn payment_deadline(&self, booking: Booking, now: DateTime<Utc>) -> Result<()> {
        if let Some(pi) = &booking.payment_intent_id {
            let payment = self.payments.payment(pi).await?;
            if payment.status == "succeeded" {
                // Paid at the last moment; its webhook may still be on its way.
                return self
                    .card_charged(booking, &payment, None, now)
                    .await
                    .map(drop);
            }
        }
        let mut after = booking.moved(Event::Cancel, Actor::Operator, now)?;
        let reason = "the payment was not completed in time".to_owned();
        after.cancel_reason = Some(reason.clone());
        after.timer = after
            .payment_intent_id
            .is_some()
            .then(|| Timer::due(TimerKind::VoidPayment, now));
        let effects = Effects {
            announcements: vec![announce(
                Kind::BookingCancelled,
                after.parties().to_vec(),
                None,
                json!({ "actor": "Support", "title": after.title, "reason": reason,
                    "refund": null }),
                "cancelled",
            )],
            ..Effects::default()
        };
        if self.store.transition(&booking, &after, effects).await? {
            info!(booking_id = %booking.id, "unpaid session cancelled at its payment deadline");
        }
        Ok(())
    }

    /// `POST /bookings/{id}/pay` (the customer): what the client needs to pay a saved card's
    /// charge the bank refused — the PaymentIntent left waiting for the customer, to confirm
    /// with Stripe's client SDK (another card, or the same with authentication). The
    /// payment's webhook then writes the charge.
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %id))]
    pub async fn pay(&self, caller: &Caller, id: &BookingId) -> Result<Purchase> {
        let (booking, actor) = self.visible(caller, id).await?;
        only(actor, Actor::Customer, "only the customer pays")?;
        let pi = booking
            .payment_intent_id
            .clone()
            .filter(|_| booking.awaiting_charge() && !booking.state.is_final())
            .filter(|_| booking.payment_error.is_some())
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "nothing to pay: the booking is {} and its payment {}",
                    booking.state,
                    crate::domain::wire_name(&booking.payment_state())
                ))
            })?;
        let payment = self.payments.payment(&pi).await?;
        let payable = matches!(
            payment.status.as_str(),
            "requires_payment_method" | "requires_confirmation" | "requires_action"
        );
        Ok(Purchase::of_payment(booking, payment, payable))
    }
}

/// The Stripe object an event is about and the booking its metadata names, when it names one.
fn booking_object(event: &WebhookEvent) -> Option<(&str, BookingId)> {
    let id = event
        .data
        .metadata(BOOKING_METADATA)
        .and_then(|id| BookingId::parse(id, BOOKING_METADATA).ok())?;
    Some((event.data.object_id()?, id))
}

/// What holds a request's money while the provider answers: an authorization on the card,
/// or the card saved to be charged before the start (a session far ahead).
enum Hold<'a> {
    Authorization(&'a Payment),
    SavedCard(&'a Setup),
}

/// What a booking's money movement adds to the commission report and to its provider's
/// earnings for the month of `now`: `bookings` completed, and `gross`, `commission`, `net`
/// (negative when money went back).
fn tally_of(
    booking: &Booking,
    now: DateTime<Utc>,
    bookings: i64,
    gross: i64,
    commission: i64,
    net: i64,
) -> CommissionTally {
    CommissionTally {
        provider: booking.provider_id,
        bookings,
        period: period_of(now),
        category: booking.category.clone(),
        currency: booking.price.currency.clone(),
        gross,
        commission,
        net,
    }
}

/// A notification of `kind` to `to` that a transition implies, keyed by the booking and
/// `step`; `actor` (never notified) is whom the texts name, unless `data` names someone.
fn announce(
    kind: Kind,
    to: Vec<UserId>,
    actor: Option<UserId>,
    data: serde_json::Value,
    step: &str,
) -> Announcement {
    Announcement {
        kind,
        to: Audience::Users(to),
        actor,
        data,
        step: step.to_owned(),
    }
}

/// What an instant booking's acceptance (its payment, or the opening of a free follow-up)
/// announces: the customer that it is confirmed, the provider that it is theirs — or, for a
/// follow-up, the customer's question.
fn accepted_news(booking: &Booking) -> Vec<Announcement> {
    let quoted = format!("'{}'", booking.title);
    let confirmed = announce(
        Kind::BookingConfirmed,
        vec![booking.customer_id],
        Some(booking.provider_id),
        json!({ "title": booking.title, "when": quoted }),
        "confirmed",
    );
    let assigned = match &booking.follow_up {
        Some(follow_up) => announce(
            Kind::FollowUpQuestion,
            vec![booking.provider_id],
            Some(booking.customer_id),
            json!({ "title": booking.title, "preview": preview(&follow_up.question),
                "kind": crate::domain::wire_name(&follow_up.kind) }),
            "follow_up_question",
        ),
        None => announce(
            Kind::ProviderAssigned,
            vec![booking.provider_id],
            Some(booking.customer_id),
            json!({ "title": booking.title, "assignee": true }),
            "assigned",
        ),
    };
    vec![confirmed, assigned]
}

/// The start of a question as a notification shows it: 140 characters at most.
fn preview(text: &str) -> String {
    match text.char_indices().nth(140) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The customer is told the work was delivered (by the provider, or by the session's end).
fn delivered(booking: &Booking) -> Announcement {
    announce(
        Kind::JobCompleted,
        vec![booking.customer_id],
        Some(booking.provider_id),
        json!({ "title": booking.title }),
        "delivered",
    )
}

/// The chat room a booking's payment opens for its two parties (the same id as the booking),
/// with both as plain members: nobody adds a third person to a booking's room.
fn room_of(booking: &Booking, now: DateTime<Utc>) -> (Room, [Member; 2]) {
    let subject = Subject {
        kind: SubjectType::Booking,
        id: booking.id.to_string(),
    };
    let people = [booking.customer_id, booking.provider_id];
    Room::pair(booking.room(), subject, &booking.title, people, now)
}

/// When a booking takes place, for the texts: `'Fix a tap' on 2027-03-28 09:00 (+02:00)`
/// in the provider's time, or just its title when it has no time.
fn when_of(booking: &Booking) -> String {
    let title = format!("'{}'", booking.title);
    match &booking.schedule {
        Some(s) => {
            let local = s.time_zone.rules().local(s.start);
            format!("{title} on {}", local.format("%Y-%m-%d %H:%M (%:z)"))
        }
        None => title,
    }
}

/// A dispute opened (`outcome` none) or decided: both parties and the operators are told.
fn dispute_news(booking: &Booking, outcome: Option<&str>) -> Vec<Announcement> {
    let amount = booking.dispute.as_ref().map_or(0, |d| d.amount);
    let data = json!({ "title": booking.title, "outcome": outcome,
        "amount": format_money(amount, &booking.price.currency) });
    let step = format!("dispute:{}", outcome.unwrap_or("opened"));
    let parties = announce(
        Kind::PaymentDisputed,
        booking.parties().to_vec(),
        None,
        data,
        &step,
    );
    let operators = Announcement {
        to: Audience::Operations,
        ..parties.clone()
    };
    vec![parties, operators]
}

/// Sends what one committed transition announced (the table's stream calls this for each
/// outbox item inserted): the room it opened to the parties' open connections, then each
/// notification under its key, so a batch the stream retries tells nobody twice. A failed
/// notification fails the batch (the stream retries it); a room announcement is best effort
/// (the parties' next room listing shows the room anyway).
pub async fn send_outbox(
    news: &dyn BookingNews,
    outbox: &Outbox,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(room) = &outbox.opened
        && let Err(err) = news.room_opened(room, &outbox.parties).await
    {
        warn!(error = ?err, booking_id = %outbox.booking_id, "room.updated not delivered");
    }
    for announcement in &outbox.announcements {
        let mut data = announcement.data.clone();
        if let (Some(actor), None) = (announcement.actor, data.get("actor")) {
            data["actor"] = json!(news.display_name(&actor).await);
        }
        data["bookingId"] = json!(outbox.booking_id);
        let key = format!("booking:{}:{}", outbox.booking_id, announcement.step);
        let (recipients, room, key) = match &announcement.to {
            Audience::Users(users) => (Recipients::Users(users.clone()), outbox.room_id, key),
            Audience::Operations => (
                Recipients::Subscribers(Target::Topic(OPERATIONS_TOPIC.into())),
                None,
                format!("{key}:operations"),
            ),
        };
        let request = NotifyRequest {
            recipients,
            kind: announcement.kind,
            actor: announcement.actor,
            room,
            data,
            idempotency_key: key,
        };
        news.notify(&request, now).await?;
    }
    Ok(())
}

/// The ledger step of `amount` charged through `payment`.
/// The charge step of `booking`'s captured `payment`: what Stripe received, at least the
/// booking's price.
fn captured_step(payment: &Payment, booking: &Booking, now: DateTime<Utc>) -> LedgerStep {
    charge_step(
        payment,
        payment.amount_received.max(booking.price.amount),
        now,
    )
}

fn charge_step(payment: &Payment, amount: i64, now: DateTime<Utc>) -> LedgerStep {
    LedgerStep {
        step: "charge".into(),
        entries: charge_entries(amount),
        stripe_ref: Some(payment.id.clone()),
        at: now,
    }
}

/// A booking `caller` may see: its parties and admins; anyone else gets 404.
async fn visible(
    store: &dyn BookingStore,
    caller: &Caller,
    id: &BookingId,
) -> Result<(Booking, Actor)> {
    let booking = store
        .get_booking(id)
        .await?
        .ok_or(Error::NotFound("booking"))?;
    let actor = actor_of(caller, &booking).ok_or(Error::NotFound("booking"))?;
    Ok((booking, actor))
}

/// `GET /bookings/{id}` (reads only the table: no Stripe key needed).
pub async fn detail(
    store: &dyn BookingStore,
    caller: &Caller,
    id: &BookingId,
) -> Result<BookingDetail> {
    let ((booking, _), ledger) = futures::try_join!(visible(store, caller, id), store.ledger(id))?;
    Ok(BookingDetail {
        booking: booking.into(),
        ledger,
    })
}

/// `GET /bookings`: the caller's bookings, newest first (reads only the table).
pub async fn list(
    store: &dyn BookingStore,
    cursors: &CursorCodec,
    caller: &Caller,
    filter: ListFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<BookingPage> {
    // A cursor belongs to its user and filters: reused elsewhere it is refused.
    let scope = format!(
        "bookings:{}:{:?}:{:?}:{:?}:{:?}",
        caller.user_id, filter.role, filter.state, filter.category, filter.source
    );
    let after = cursor.map(|c| cursors.decode(&scope, c)).transpose()?;
    let page = store
        .bookings_of(&caller.user_id, &filter, limit, after)
        .await?;
    Ok(BookingPage {
        items: page.items.into_iter().map(BookingView::from).collect(),
        next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
    })
}

/// One booking's money as its customer sees it in their payment history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLine {
    /// The booking.
    pub booking_id: BookingId,
    /// What was bought.
    pub title: String,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Charged to the card, minor units.
    pub charged: i64,
    /// Given back (a refund, or a dispute the customer won), minor units.
    pub refunded: i64,
    /// Where the money is.
    pub payment_state: PaymentState,
    /// Stripe's PaymentIntent (`pi_…`), for receipts and support.
    pub payment_intent_id: Option<String>,
    /// When the booking last changed.
    pub updated_at: DateTime<Utc>,
}

/// A page of the caller's payment history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPage {
    /// Newest first; a page may hold fewer than `limit` (bookings never paid are skipped).
    pub items: Vec<PaymentLine>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `GET /me/payments`: the caller's payments as a customer — what each paid booking charged
/// and gave back — newest first (reads only the table).
pub async fn payments(
    store: &dyn BookingStore,
    cursors: &CursorCodec,
    caller: &Caller,
    limit: u32,
    cursor: Option<&str>,
) -> Result<PaymentPage> {
    let filter = ListFilter {
        role: Some(PartyRole::Customer),
        ..ListFilter::default()
    };
    let scope = format!("payments:{}", caller.user_id);
    let after = cursor.map(|c| cursors.decode(&scope, c)).transpose()?;
    let page = store
        .bookings_of(&caller.user_id, &filter, limit, after)
        .await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|booking| {
            let state = booking.payment_state();
            let paid = !matches!(
                state,
                PaymentState::Pending | PaymentState::Failed | PaymentState::Unpaid
            );
            paid.then(|| PaymentLine {
                refunded: booking.refund.as_ref().map_or(0, |r| r.amount)
                    + booking
                        .dispute
                        .as_ref()
                        .filter(|d| d.status == DisputeStatus::Lost)
                        .map_or(0, |d| d.amount),
                booking_id: booking.id,
                currency: booking.price.currency.clone(),
                charged: booking.price.amount,
                payment_state: state,
                payment_intent_id: booking.payment_intent_id.clone(),
                updated_at: booking.updated_at,
                title: booking.title,
            })
        })
        .collect();
    Ok(PaymentPage {
        items,
        next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
    })
}

fn only(actor: Actor, wanted: Actor, message: &str) -> Result<()> {
    if actor == wanted {
        Ok(())
    } else {
        Err(Error::Forbidden(message.into()))
    }
}

#[cfg(test)]
mod tests {
    //! The webhook's, the sweep's and cancellation's decisions against fakes of the narrow
    //! ports: the races and failures an end-to-end run cannot stage on demand.

    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::bookings::model::{PaymentState, Source};
    use crate::cursor::Position;
    use crate::domain::{FileId, SessionId};
    use crate::files::model::FileRecord;
    use crate::followups::model::{FollowUpSettings, Premium, PremiumUpgrade, UpgradeState};
    use crate::offers::model::{Offer, ProviderProfile};
    use crate::store::Page;
    use gigwire_payments::connect::{AccountLink, ConnectAccount, Dispute, Transfer};

    const SECRET: &str = "whsec_unit";

    #[test]
    fn money_prints_with_two_decimals_and_the_code() {
        assert_eq!(format_money(4_500, "eur"), "45.00 EUR");
        assert_eq!(format_money(105, "usd"), "1.05 USD");
        assert_eq!(format_money(100, "gbp"), "1.00 GBP");
    }

    /// Bookings, ledger steps and events written all or nothing, conditioned like the real
    /// transaction; `interfere` is what another writer stores just before the next transition.
    #[derive(Default)]
    struct Table {
        bookings: Mutex<HashMap<BookingId, Booking>>,
        ledger: Mutex<Vec<(BookingId, LedgerStep)>>,
        events: Mutex<Vec<String>>,
        interfere: Mutex<Option<Booking>>,
        /// The provider's payout account and their parked releases.
        account: Mutex<Option<PayoutAccount>>,
        waiting: Mutex<Vec<BookingId>>,
        /// Outbox items written, not yet sent.
        outboxes: Mutex<Vec<Outbox>>,
    }

    impl Table {
        fn with(booking: &Booking) -> Self {
            let table = Self::default();
            table.put(booking);
            table
        }
        fn put(&self, booking: &Booking) {
            self.bookings
                .lock()
                .unwrap()
                .insert(booking.id, booking.clone());
        }
        fn stored(&self, id: &BookingId) -> Booking {
            self.bookings.lock().unwrap()[id].clone()
        }
        fn steps(&self) -> Vec<String> {
            let ledger = self.ledger.lock().unwrap();
            ledger.iter().map(|(_, s)| s.step.clone()).collect()
        }
    }

    #[async_trait]
    impl BookingStore for Table {
        async fn get_booking(&self, id: &BookingId) -> Result<Option<Booking>> {
            Ok(self.bookings.lock().unwrap().get(id).cloned())
        }
        async fn purchase_of(&self, _: &UserId, _: &str) -> Result<Option<BookingId>> {
            Ok(None)
        }
        async fn create_booking(
            &self,
            booking: &Booking,
            _: &str,
            _: &[RateLimit<'_>],
            _: &[Announcement],
            _: DateTime<Utc>,
        ) -> Result<Creation> {
            self.put(booking);
            Ok(Creation::Created)
        }
        async fn transition(
            &self,
            before: &Booking,
            after: &Booking,
            effects: Effects<'_>,
        ) -> Result<bool> {
            if let Some(other) = self.interfere.lock().unwrap().take() {
                self.put(&other);
            }
            let mut bookings = self.bookings.lock().unwrap();
            let mut ledger = self.ledger.lock().unwrap();
            let mut events = self.events.lock().unwrap();
            let current = bookings.get(&before.id).map(|b| b.version) == Some(before.version);
            let step_taken = effects.ledger.iter().any(|step| {
                ledger
                    .iter()
                    .any(|(id, s)| *id == after.id && s.step == step.step)
            });
            let event_seen = effects
                .stripe_event
                .is_some_and(|e| events.iter().any(|seen| seen == e));
            if !current || step_taken || event_seen {
                return Ok(false);
            }
            let payable = self
                .account
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|a| a.can_be_paid);
            if effects.park.is_some() && payable {
                return Ok(false);
            }
            let mut waiting = self.waiting.lock().unwrap();
            if effects.park.is_some() {
                waiting.push(after.id);
            }
            if effects.unpark.is_some() {
                waiting.retain(|id| *id != after.id);
            }
            self.outboxes
                .lock()
                .unwrap()
                .extend(Outbox::of(after, &effects));
            bookings.insert(after.id, after.clone());
            ledger.extend(effects.ledger.into_iter().map(|s| (after.id, s)));
            events.extend(effects.stripe_event.map(str::to_owned));
            Ok(true)
        }
        async fn record_event(&self, event: &str, _: DateTime<Utc>) -> Result<bool> {
            let mut events = self.events.lock().unwrap();
            let new = !events.iter().any(|e| e == event);
            events.push(event.to_owned());
            Ok(new)
        }
        async fn ledger(&self, id: &BookingId) -> Result<Vec<LedgerStep>> {
            let ledger = self.ledger.lock().unwrap();
            Ok(ledger
                .iter()
                .filter(|(b, _)| b == id)
                .map(|(_, s)| s.clone())
                .collect())
        }
        async fn bookings_of(
            &self,
            _: &UserId,
            _: &ListFilter,
            _: u32,
            _: Option<Position>,
        ) -> Result<Page<Booking>> {
            unimplemented!("listings are not exercised here")
        }
        async fn waiting_releases(&self, _: &UserId) -> Result<Vec<BookingId>> {
            Ok(self.waiting.lock().unwrap().clone())
        }
        async fn payment_customer(&self, _: &UserId) -> Result<Option<String>> {
            Ok(None)
        }
        async fn save_payment_customer(&self, _: &UserId, customer: &str) -> Result<String> {
            Ok(customer.to_owned())
        }
        async fn session_settings(&self) -> Result<SessionSettings> {
            Ok(SessionSettings::default())
        }
        async fn put_session_settings(&self, _: &SessionSettings) -> Result<()> {
            unimplemented!()
        }
        async fn due(&self, now: DateTime<Utc>, _: u32) -> Result<Vec<Booking>> {
            let bookings = self.bookings.lock().unwrap();
            Ok(bookings
                .values()
                .filter(|b| b.timer.is_some_and(|t| t.due_at <= now))
                .cloned()
                .collect())
        }
    }

    #[async_trait]
    impl PayoutStore for Table {
        async fn payout_account(&self, _: &UserId) -> Result<Option<PayoutAccount>> {
            Ok(self.account.lock().unwrap().clone())
        }
        async fn create_payout_account(&self, _: &PayoutAccount) -> Result<bool> {
            unimplemented!("onboarding is not exercised here")
        }
        async fn save_payout_account(&self, account: &PayoutAccount) -> Result<()> {
            *self.account.lock().unwrap() = Some(account.clone());
            Ok(())
        }
        async fn commission_rates(&self) -> Result<crate::payouts::model::CommissionRates> {
            Ok(Default::default())
        }
        async fn put_commission_rates(
            &self,
            _: &crate::payouts::model::CommissionRates,
        ) -> Result<()> {
            unimplemented!()
        }
        async fn commission_report(
            &self,
            _: &str,
        ) -> Result<Vec<crate::payouts::model::ReportLine>> {
            unimplemented!()
        }
        async fn save_payout(
            &self,
            _: &UserId,
            _: &crate::payouts::model::PayoutRecord,
        ) -> Result<()> {
            unimplemented!("payouts are not exercised here")
        }
        async fn withdrawal(
            &self,
            _: &UserId,
            _: &str,
        ) -> Result<Option<crate::payouts::model::PayoutRecord>> {
            unimplemented!()
        }
        async fn save_withdrawal(
            &self,
            _: &UserId,
            _: &str,
            _: &crate::payouts::model::PayoutRecord,
        ) -> Result<()> {
            unimplemented!()
        }
        async fn payouts_of(
            &self,
            _: &UserId,
            _: u32,
            _: Option<Position>,
        ) -> Result<Page<crate::payouts::model::PayoutRecord>> {
            unimplemented!()
        }
        async fn earnings_of(
            &self,
            _: &UserId,
        ) -> Result<Vec<crate::payouts::model::EarningsLine>> {
            unimplemented!()
        }
    }

    /// Stripe: one payment as it stands, refunds keyed like Stripe's idempotency keys (the
    /// same key answers the same refund), and a switch that makes refunds fail.
    struct Stripe {
        payment: Payment,
        reads: Mutex<usize>,
        refunds: Mutex<Vec<(String, i64)>>,
        cancels: Mutex<Vec<String>>,
        down: Mutex<bool>,
        /// Transfers made, with the key of the request that made each.
        transfers: Mutex<Vec<(String, Transfer)>>,
        /// The next transfer is made but its answer is lost.
        lose_transfer_answer: Mutex<bool>,
        /// The provider's connected account as Stripe has it.
        account: Mutex<ConnectAccount>,
        /// Reversals made: (transfer, amount, key).
        reversals: Mutex<Vec<(String, i64, String)>>,
        /// The booking's SetupIntent's status.
        setup: Mutex<&'static str>,
        /// What an off-session confirmation makes of the saved card's payment.
        off_session: Mutex<&'static str>,
        /// Saved-card payments created and confirmed (by key).
        saved_card_calls: Mutex<Vec<String>>,
        /// The payment's dispute as Stripe has it.
        dispute: Mutex<Option<Dispute>>,
    }

    impl Stripe {
        fn with(status: &str, booking: &Booking) -> Self {
            Self {
                payment: Payment {
                    id: "pi_1".into(),
                    status: status.into(),
                    amount: booking.price.amount,
                    currency: booking.price.currency.clone(),
                    amount_received: if status == "succeeded" {
                        booking.price.amount
                    } else {
                        0
                    },
                    client_secret: Some("pi_1_secret_x".into()),
                    transfer_group: Some(booking.id.to_string()),
                    metadata: HashMap::from([(BOOKING_METADATA.into(), booking.id.to_string())]),
                    last_error: None,
                    latest_charge: Some("ch_1".into()),
                },
                reads: Mutex::new(0),
                refunds: Mutex::default(),
                cancels: Mutex::default(),
                down: Mutex::new(false),
                transfers: Mutex::default(),
                lose_transfer_answer: Mutex::new(false),
                account: Mutex::new(connected(booking, false)),
                reversals: Mutex::default(),
                dispute: Mutex::default(),
                setup: Mutex::new("requires_payment_method"),
                off_session: Mutex::new("succeeded"),
                saved_card_calls: Mutex::default(),
            }
        }
    }

    use gigwire_payments::RefundRecord;

    #[async_trait]
    impl PaymentGateway for Stripe {
        async fn create_payment(&self, _: &NewPayment<'_>) -> Result<Payment> {
            Ok(self.payment.clone())
        }
        async fn payment(&self, id: &str) -> Result<Payment> {
            *self.reads.lock().unwrap() += 1;
            // The saved card's payment is made by the charge's timer.
            if id == "pi_saved" {
                let status = *self.off_session.lock().unwrap();
                return Ok(Payment {
                    id: id.to_owned(),
                    status: status.into(),
                    ..self.payment.clone()
                });
            }
            Ok(self.payment.clone())
        }
        async fn cancel_payment(&self, id: &str, _: &str) -> Result<Payment> {
            self.cancels.lock().unwrap().push(id.to_owned());
            Ok(self.payment.clone())
        }
        async fn capture_payment(&self, _: &str, _: &str) -> Result<Payment> {
            Ok(Payment {
                status: "succeeded".into(),
                ..self.payment.clone()
            })
        }
        async fn refunds(&self, _: &str) -> Result<Vec<RefundRecord>> {
            Ok(self
                .refunds
                .lock()
                .unwrap()
                .iter()
                .map(|(key, amount)| RefundRecord {
                    id: format!("re_{key}"),
                    amount: *amount,
                    status: "succeeded".into(),
                })
                .collect())
        }
        async fn create_transfer(&self, new: &NewTransfer<'_>, key: &str) -> Result<Transfer> {
            if *self.down.lock().unwrap() {
                return Err(Error::PaymentUnavailable("down".into()));
            }
            let mut transfers = self.transfers.lock().unwrap();
            if let Some((_, same)) = transfers.iter().find(|(k, _)| k == key) {
                return Ok(same.clone());
            }
            let transfer = Transfer {
                id: format!("tr_{}", transfers.len() + 1),
                amount: new.amount,
                amount_reversed: 0,
                currency: new.currency.to_owned(),
                destination: Some(new.destination.to_owned()),
                transfer_group: Some(new.transfer_group.to_owned()),
            };
            transfers.push((key.to_owned(), transfer.clone()));
            let mut lose = self.lose_transfer_answer.lock().unwrap();
            if *lose {
                *lose = false;
                return Err(Error::PaymentUnavailable("connection reset".into()));
            }
            Ok(transfer)
        }
        async fn transfers(&self, group: &str) -> Result<Vec<Transfer>> {
            let transfers = self.transfers.lock().unwrap();
            Ok(transfers
                .iter()
                .filter(|(_, t)| t.transfer_group.as_deref() == Some(group))
                .map(|(_, t)| t.clone())
                .collect())
        }
        async fn transfer(&self, id: &str) -> Result<Transfer> {
            let transfers = self.transfers.lock().unwrap();
            let (_, transfer) = transfers.iter().find(|(_, t)| t.id == id).unwrap();
            Ok(transfer.clone())
        }
        async fn reverse_transfer(&self, id: &str, amount: i64, key: &str) -> Result<String> {
            let mut reversals = self.reversals.lock().unwrap();
            if !reversals.iter().any(|(_, _, k)| k == key) {
                reversals.push((id.to_owned(), amount, key.to_owned()));
                let mut transfers = self.transfers.lock().unwrap();
                let (_, transfer) = transfers.iter_mut().find(|(_, t)| t.id == id).unwrap();
                transfer.amount_reversed += amount;
            }
            Ok(format!("trr_{key}"))
        }
        async fn dispute(&self, _: &str) -> Result<Dispute> {
            Ok(self.dispute.lock().unwrap().clone().unwrap())
        }
        async fn create_customer(&self, _: &UserId, _: &str) -> Result<String> {
            Ok("cus_1".into())
        }
        async fn create_setup(
            &self,
            customer: &str,
            metadata: &HashMap<String, String>,
            _: &str,
        ) -> Result<Setup> {
            Ok(Setup {
                id: "seti_1".into(),
                status: "requires_payment_method".into(),
                client_secret: Some("seti_1_secret_x".into()),
                customer: Some(customer.to_owned()),
                payment_method: None,
                metadata: metadata.clone(),
                last_error: None,
            })
        }
        async fn setup(&self, id: &str) -> Result<Setup> {
            let status = *self.setup.lock().unwrap();
            Ok(Setup {
                id: id.to_owned(),
                status: status.into(),
                client_secret: Some("seti_1_secret_x".into()),
                customer: Some("cus_1".into()),
                payment_method: (status == "succeeded").then(|| "pm_saved".into()),
                metadata: HashMap::new(),
                last_error: None,
            })
        }
        async fn create_saved_card_payment(&self, new: &SavedCardPayment<'_>) -> Result<Payment> {
            assert_eq!((new.customer, new.payment_method), ("cus_1", "pm_saved"));
            let mut calls = self.saved_card_calls.lock().unwrap();
            calls.push(format!("create {}", new.idempotency_key));
            Ok(Payment {
                id: "pi_saved".into(),
                status: "requires_confirmation".into(),
                amount_received: 0,
                ..self.payment.clone()
            })
        }
        async fn confirm_off_session(&self, id: &str, key: &str) -> Result<Payment> {
            self.saved_card_calls
                .lock()
                .unwrap()
                .push(format!("confirm {key}"));
            let status = *self.off_session.lock().unwrap();
            let paid = status == "succeeded";
            Ok(Payment {
                id: id.to_owned(),
                status: status.into(),
                amount_received: if paid { self.payment.amount } else { 0 },
                last_error: (!paid).then(|| "authentication_required".into()),
                ..self.payment.clone()
            })
        }
        async fn refund(&self, _: &str, amount: i64, key: &str) -> Result<String> {
            if *self.down.lock().unwrap() {
                return Err(Error::PaymentUnavailable("down".into()));
            }
            let mut refunds = self.refunds.lock().unwrap();
            if !refunds.iter().any(|(k, _)| k == key) {
                refunds.push((key.to_owned(), amount));
            }
            Ok(format!("re_{key}"))
        }
    }

    #[async_trait]
    impl ConnectGateway for Stripe {
        async fn create_account(
            &self,
            _: Option<&str>,
            _: HashMap<String, String>,
            _: &str,
        ) -> Result<ConnectAccount> {
            unimplemented!("onboarding is not exercised here")
        }
        async fn account(&self, _: &str) -> Result<ConnectAccount> {
            Ok(self.account.lock().unwrap().clone())
        }
        async fn account_link(&self, _: &str, _: &str, _: &str) -> Result<AccountLink> {
            unimplemented!("onboarding is not exercised here")
        }
        async fn balance(&self, _: &str) -> Result<gigwire_payments::connect::Balance> {
            unimplemented!("payouts are not exercised here")
        }
        async fn create_payout(
            &self,
            _: &str,
            _: i64,
            _: &str,
            _: &str,
        ) -> Result<gigwire_payments::connect::Payout> {
            unimplemented!()
        }
        async fn payout(&self, _: &str, _: &str) -> Result<gigwire_payments::connect::Payout> {
            unimplemented!()
        }
    }

    /// The provider's connected account, enabled or not.
    fn connected(booking: &Booking, enabled: bool) -> ConnectAccount {
        let status = if enabled { "active" } else { "inactive" };
        serde_json::from_value(json!({ "id": "acct_1", "details_submitted": enabled,
            "charges_enabled": enabled, "payouts_enabled": enabled,
            "capabilities": { "transfers": status },
            "metadata": { PROVIDER_METADATA: booking.provider_id } }))
        .unwrap()
    }

    /// Records what the parties were told.
    #[derive(Default)]
    struct News {
        notified: Mutex<Vec<(Kind, String)>>,
        rooms: Mutex<usize>,
    }

    #[async_trait]
    impl BookingNews for News {
        async fn notify(&self, request: &NotifyRequest, _: DateTime<Utc>) -> Result<()> {
            // As the notification service does: a key seen before notifies nobody again.
            let mut notified = self.notified.lock().unwrap();
            if !notified.iter().any(|(_, k)| *k == request.idempotency_key) {
                notified.push((request.kind, request.idempotency_key.clone()));
            }
            Ok(())
        }
        async fn display_name(&self, _: &UserId) -> String {
            "Ana".into()
        }
        async fn room_opened(&self, _: &Room, _: &[UserId]) -> Result<()> {
            *self.rooms.lock().unwrap() += 1;
            Ok(())
        }
    }

    /// Offers and files: not used by the flows tested here.
    struct Unused;

    #[async_trait]
    impl OfferStore for Unused {
        async fn put_profile(&self, _: &ProviderProfile) -> Result<()> {
            unimplemented!()
        }
        async fn get_profile(&self, _: &UserId) -> Result<Option<ProviderProfile>> {
            unimplemented!()
        }
        async fn create_offer(&self, _: &Offer) -> Result<()> {
            unimplemented!()
        }
        async fn get_offer(&self, _: &OfferId) -> Result<Option<Offer>> {
            unimplemented!()
        }
        async fn replace_offer(&self, _: &Offer, _: &Offer) -> Result<bool> {
            unimplemented!()
        }
        async fn delete_offer(&self, _: &Offer) -> Result<bool> {
            unimplemented!()
        }
        async fn listed_offers(&self, _: &str, _: u32, _: Option<Position>) -> Result<Page<Offer>> {
            unimplemented!()
        }
        async fn offers_of(&self, _: &UserId, _: u32, _: Option<Position>) -> Result<Page<Offer>> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl FileStore for Unused {
        async fn create_file(&self, _: &FileRecord) -> Result<()> {
            unimplemented!()
        }
        async fn get_file(&self, _: &FileId) -> Result<Option<FileRecord>> {
            unimplemented!()
        }
        async fn mark_ready(&self, _: &FileId, _: DateTime<Utc>) -> Result<bool> {
            unimplemented!()
        }
        async fn delete_file(&self, _: &FileId) -> Result<()> {
            unimplemented!()
        }
        async fn stale_uploads(&self, _: DateTime<Utc>, _: u32) -> Result<Vec<FileRecord>> {
            unimplemented!()
        }
    }

    /// Premium upgrades and flags in memory. A paid upgrade's write is refused as the table's
    /// transaction is: over another version than the one read, or with its event consumed.
    #[derive(Default)]
    struct Upgrades {
        upgrades: Mutex<HashMap<String, PremiumUpgrade>>,
        premium: Mutex<Option<Premium>>,
        events: Mutex<Vec<String>>,
    }

    impl Upgrades {
        fn put(&self, upgrade: &PremiumUpgrade) {
            let key = upgrade.idempotency_key.clone();
            self.upgrades.lock().unwrap().insert(key, upgrade.clone());
        }
        fn stored(&self, key: &str) -> PremiumUpgrade {
            self.upgrades.lock().unwrap()[key].clone()
        }
    }

    #[async_trait]
    impl FollowUpStore for Upgrades {
        async fn follow_up_settings(&self) -> Result<FollowUpSettings> {
            Ok(FollowUpSettings::default())
        }
        async fn put_follow_up_settings(&self, _: &FollowUpSettings) -> Result<()> {
            unimplemented!()
        }
        async fn premium(&self, user: &UserId) -> Result<Premium> {
            let stored = self.premium.lock().unwrap().clone();
            Ok(stored.unwrap_or_else(|| Premium::never_set(user)))
        }
        async fn put_premium(&self, premium: &Premium) -> Result<()> {
            *self.premium.lock().unwrap() = Some(premium.clone());
            Ok(())
        }
        async fn upgrade(&self, _: &UserId, key: &str) -> Result<Option<PremiumUpgrade>> {
            Ok(self.upgrades.lock().unwrap().get(key).cloned())
        }
        async fn create_upgrade(
            &self,
            _: &PremiumUpgrade,
            _: &[RateLimit<'_>],
            _: DateTime<Utc>,
        ) -> Result<Creation> {
            unimplemented!()
        }
        async fn save_upgrade(&self, before: u32, after: &PremiumUpgrade) -> Result<bool> {
            let current = self.stored(&after.idempotency_key).version == before;
            if current {
                self.put(after);
            }
            Ok(current)
        }
        async fn upgrade_paid(
            &self,
            before: u32,
            after: &PremiumUpgrade,
            premium: &Premium,
            event: &str,
        ) -> Result<bool> {
            let consumed = self.events.lock().unwrap().iter().any(|e| e == event);
            if consumed || self.stored(&after.idempotency_key).version != before {
                return Ok(false);
            }
            self.put(after);
            self.put_premium(premium).await?;
            self.events.lock().unwrap().push(event.to_owned());
            Ok(true)
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-06-10T10:00:00Z".parse().unwrap()
    }

    /// A booking bought at `now()`, with its PaymentIntent attached (version 2).
    fn pending() -> Booking {
        Booking {
            payment_intent_id: Some("pi_1".into()),
            version: 2,
            ..crate::bookings::model::sample(now())
        }
    }

    /// `booking` moved as the service would, without any effect.
    fn moved(booking: &Booking, event: Event, actor: Actor) -> Booking {
        booking.moved(event, actor, now()).unwrap()
    }

    fn signed(kind: &str, booking: &Booking, event: &str) -> (Vec<u8>, String) {
        let payload = json!({ "id": event, "object": "event", "type": kind,
            "data": { "object": { "id": "pi_1", "object": "payment_intent",
            "metadata": { BOOKING_METADATA: booking.id } } } })
        .to_string()
        .into_bytes();
        let header = webhook::sign(&payload, SECRET, now().timestamp());
        (payload, header)
    }

    struct World {
        table: Table,
        stripe: Stripe,
        news: News,
        cursors: CursorCodec,
        upgrades: Upgrades,
    }

    impl World {
        fn new(table: Table, stripe: Stripe) -> Self {
            Self {
                table,
                stripe,
                news: News::default(),
                cursors: CursorCodec::new(&[7; 32]),
                upgrades: Upgrades::default(),
            }
        }
        fn bookings(&self) -> Bookings<'_> {
            Bookings {
                store: &self.table,
                offers: &Unused,
                files: &Unused,
                payments: &self.stripe,
                news: &self.news,
                cursors: &self.cursors,
                accounts: &self.table,
                connect: &self.stripe,
                followups: &self.upgrades,
            }
        }
        /// Sends the outbox items written so far, as the table's stream would.
        async fn flush(&self) {
            let outboxes: Vec<Outbox> = self.table.outboxes.lock().unwrap().drain(..).collect();
            for outbox in &outboxes {
                send_outbox(&self.news, outbox, now()).await.unwrap();
            }
        }
        async fn deliver(&self, kind: &str, booking: &Booking, event: &str) -> WebhookOutcome {
            let (payload, header) = signed(kind, booking, event);
            self.bookings()
                .webhook(&payload, Some(&header), SECRET, now())
                .await
                .unwrap()
        }
        /// Delivers Stripe's event `event` of `kind` about `upgrade`'s PaymentIntent.
        async fn deliver_upgrade(
            &self,
            kind: &str,
            upgrade: &PremiumUpgrade,
            event: &str,
        ) -> WebhookOutcome {
            let payload = json!({ "id": event, "object": "event", "type": kind,
                "data": { "object": { "id": "pi_1", "object": "payment_intent",
                "metadata": upgrade.metadata() } } })
            .to_string()
            .into_bytes();
            let header = webhook::sign(&payload, SECRET, now().timestamp());
            self.bookings()
                .webhook(&payload, Some(&header), SECRET, now())
                .await
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_payment_is_applied_once_however_often_it_is_delivered() {
        let booking = pending();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        let kind = "payment_intent.succeeded";
        assert_eq!(
            world.deliver(kind, &booking, "evt_1").await,
            WebhookOutcome::Applied
        );
        for _ in 0..3 {
            assert_eq!(
                world.deliver(kind, &booking, "evt_1").await,
                WebhookOutcome::Duplicate
            );
        }
        let stored = world.table.stored(&booking.id);
        assert_eq!((stored.state, stored.version), (BookingState::Accepted, 3));
        assert_eq!(stored.room_id, Some(booking.room()));
        assert_eq!(world.table.steps(), ["charge"]);
        // One outbox item, sent by the stream (twice: a retried batch tells nobody twice).
        assert_eq!(world.table.outboxes.lock().unwrap().len(), 1);
        let outbox = world.table.outboxes.lock().unwrap()[0].clone();
        world.flush().await;
        send_outbox(&world.news, &outbox, now()).await.unwrap();
        assert_eq!(
            *world.news.rooms.lock().unwrap(),
            2,
            "a duplicate room.updated is harmless"
        );
        let kinds: Vec<Kind> = world
            .news
            .notified
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(kinds, [Kind::BookingConfirmed, Kind::ProviderAssigned]);
    }

    /// An upgrade of `booking`'s customer, its PaymentIntent `pi_1` attached, and Stripe's
    /// `pi_1` in `status`, made for it (or not: `amount` differs when not its own).
    fn upgrade_world(status: &str, amount: i64) -> (World, PremiumUpgrade) {
        let booking = pending();
        let settings = FollowUpSettings::default();
        let terms = settings.terms(&booking, false, now());
        let price = settings.premium_price(&booking, false);
        let upsell = crate::crm::model::recommended(&booking, terms, price, None, now())
            .pop()
            .unwrap();
        let upgrade = PremiumUpgrade::new("gold-1", &upsell, now()).next(Some("pi_1"), now());
        let mut stripe = Stripe::with(status, &booking);
        stripe.payment.metadata = upgrade.metadata();
        stripe.payment.amount = amount;
        let world = World::new(Table::with(&booking), stripe);
        world.upgrades.put(&upgrade);
        (world, upgrade)
    }

    #[tokio::test]
    async fn a_premium_upgrade_is_paid_once_and_only_by_its_own_succeeded_payment() {
        let price = crate::followups::model::DEFAULT_PREMIUM_PRICE;
        let succeeded = "payment_intent.succeeded";
        // Not paid yet at Stripe, whatever the event says; or not its amount.
        for (status, amount) in [("requires_payment_method", price), ("succeeded", 100)] {
            let (world, upgrade) = upgrade_world(status, amount);
            assert_eq!(
                world.deliver_upgrade(succeeded, &upgrade, "evt_1").await,
                WebhookOutcome::Ignored
            );
            assert_eq!(world.upgrades.stored("gold-1"), upgrade);
            assert_eq!(*world.upgrades.premium.lock().unwrap(), None);
        }
        // Paid: once, however often and in whatever order Stripe's events come.
        let (world, upgrade) = upgrade_world("succeeded", price);
        assert_eq!(
            world.deliver_upgrade(succeeded, &upgrade, "evt_1").await,
            WebhookOutcome::Applied
        );
        for (kind, event) in [
            (succeeded, "evt_1"),
            ("payment_intent.payment_failed", "evt_0"),
            (succeeded, "evt_2"),
        ] {
            assert_eq!(
                world.deliver_upgrade(kind, &upgrade, event).await,
                WebhookOutcome::Duplicate,
                "{kind} {event}"
            );
        }
        let paid = world.upgrades.stored("gold-1");
        assert_eq!(
            (paid.state, paid.version, paid.paid_at),
            (UpgradeState::Paid, upgrade.version + 1, Some(now()))
        );
        let premium = world.upgrades.premium.lock().unwrap().clone().unwrap();
        assert_eq!(
            (premium.user_id, premium.premium),
            (upgrade.customer_id, true)
        );
        assert_eq!(*world.upgrades.events.lock().unwrap(), ["evt_1"]);
        assert_eq!(
            world.table.steps(),
            Vec::<String>::new(),
            "no booking moved"
        );
    }

    #[tokio::test]
    async fn losing_to_another_delivery_announces_nothing_of_its_own() {
        let booking = pending();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        // Another delivery accepted it between our read and our write.
        let mut theirs = moved(&booking, Event::PaymentSucceeded, Actor::System);
        theirs.room_id = Some(booking.room());
        *world.table.interfere.lock().unwrap() = Some(theirs);
        let outcome = world
            .deliver("payment_intent.succeeded", &booking, "evt_2")
            .await;
        assert_eq!(outcome, WebhookOutcome::Duplicate);
        assert!(
            world.table.steps().is_empty(),
            "the winner wrote the charge, not us"
        );
        // The winner's transaction wrote its announcements; the loser writes none.
        assert!(world.table.outboxes.lock().unwrap().is_empty());
        world.flush().await;
        assert_eq!(*world.news.rooms.lock().unwrap(), 0);
        assert!(world.news.notified.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_payment_that_races_a_cancellation_is_refunded_not_kept() {
        let booking = pending();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        // The buyer cancelled between our read and our write.
        *world.table.interfere.lock().unwrap() =
            Some(moved(&booking, Event::Cancel, Actor::Customer));
        let outcome = world
            .deliver("payment_intent.succeeded", &booking, "evt_3")
            .await;
        assert_eq!(outcome, WebhookOutcome::Applied);
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.state, BookingState::CancelledByCustomer);
        assert_eq!(stored.refund.map(|r| r.amount), Some(4_500));
        assert_eq!(world.table.steps(), ["charge", "refund"]);
        assert_eq!(world.stripe.refunds.lock().unwrap().len(), 1);
        // Delivered again days later (Stripe no longer knows the key): no second refund asked.
        let outcome = world
            .deliver("payment_intent.succeeded", &booking, "evt_3")
            .await;
        assert_eq!(outcome, WebhookOutcome::Duplicate);
        world.stripe.refunds.lock().unwrap().clear();
        let outcome = world
            .deliver("payment_intent.succeeded", &booking, "evt_3")
            .await;
        assert_eq!(outcome, WebhookOutcome::Duplicate);
        assert!(world.stripe.refunds.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_forged_delivery_reads_and_writes_nothing() {
        let booking = pending();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        let (payload, _) = signed("payment_intent.succeeded", &booking, "evt_4");
        let forged = webhook::sign(&payload, "whsec_other", now().timestamp());
        let err = world
            .bookings()
            .webhook(&payload, Some(&forged), SECRET, now())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(*world.stripe.reads.lock().unwrap(), 0);
        assert_eq!(world.table.stored(&booking.id), booking);
    }

    #[tokio::test]
    async fn a_failing_timer_waits_its_turn_and_the_others_still_fire() {
        let booking = pending();
        // A: cancelled by the provider, its refund not taken yet; B: delivered two days ago.
        let mut refunding = moved(&booking, Event::PaymentSucceeded, Actor::System);
        refunding.room_id = Some(booking.room());
        let mut refunding = moved(&refunding, Event::Cancel, Actor::Provider);
        refunding.refund = Some(RefundInfo {
            amount: 4_500,
            stripe_refund_id: None,
        });
        refunding.timer = Some(Timer::due(TimerKind::RefundRetry, now()));
        let mut delivered = pending();
        delivered.id = BookingId::new();
        delivered.room_id = Some(delivered.room());
        delivered.state = BookingState::Delivered;
        delivered.timer = Some(Timer::due(TimerKind::AutoComplete, now()));
        let table = Table::with(&refunding);
        table.put(&delivered);
        let world = World::new(table, Stripe::with("succeeded", &booking));
        *world.stripe.down.lock().unwrap() = true;

        assert_eq!(world.bookings().sweep(now()).await.unwrap(), 1);
        assert_eq!(
            world.table.stored(&delivered.id).state,
            BookingState::Completed
        );
        let waiting = world.table.stored(&refunding.id);
        assert_eq!(
            waiting.timer.map(|t| (t.kind, t.due_at)),
            Some((TimerKind::RefundRetry, now() + RETRY_FAILED_TIMER))
        );
        // Not due again at once; taken once Stripe is back.
        assert_eq!(world.bookings().sweep(now()).await.unwrap(), 0);
        *world.stripe.down.lock().unwrap() = false;
        let later = now() + RETRY_FAILED_TIMER;
        assert_eq!(world.bookings().sweep(later).await.unwrap(), 1);
        let refunded = world.table.stored(&refunding.id);
        assert!(refunded.refund.unwrap().stripe_refund_id.is_some());
        assert_eq!(refunded.timer, None);
    }

    #[tokio::test]
    async fn cancelling_work_in_progress_refunds_nothing_and_leaves_the_payment_alone() {
        let mut started = moved(&pending(), Event::PaymentSucceeded, Actor::System);
        started.room_id = Some(started.room());
        let started = moved(&started, Event::Start, Actor::Provider);
        let world = World::new(Table::with(&started), Stripe::with("succeeded", &started));
        let caller = Caller {
            user_id: started.customer_id,
            session_id: SessionId::new(),
            roles: [Role::Customer].into(),
        };
        let request = CancelRequest {
            reason: "Changed my mind".into(),
        };
        let after = world
            .bookings()
            .cancel(&caller, &started.id, request, now())
            .await
            .unwrap();
        assert_eq!(
            (after.state, after.refund),
            (BookingState::CancelledByCustomer, None)
        );
        assert!(world.stripe.cancels.lock().unwrap().is_empty());
        assert!(world.stripe.refunds.lock().unwrap().is_empty());
        // The price kept is settled as earned: commission and the provider's share.
        assert_eq!(world.table.steps(), ["settlement"]);
    }

    fn customer_of(booking: &Booking) -> Caller {
        Caller {
            user_id: booking.customer_id,
            session_id: SessionId::new(),
            roles: [Role::Customer].into(),
        }
    }

    #[tokio::test]
    async fn cancelling_an_authorized_request_cancels_the_authorization_and_never_refunds() {
        let mut requested = pending();
        requested.state = BookingState::Requested;
        requested.payment_intent_id = Some("pi_1".into());
        let world = World::new(
            Table::with(&requested),
            Stripe::with("requires_capture", &requested),
        );
        let request = CancelRequest {
            reason: "Changed my mind".into(),
        };
        let after = world
            .bookings()
            .cancel(&customer_of(&requested), &requested.id, request, now())
            .await
            .unwrap();
        assert_eq!(
            (after.state, after.refund),
            (BookingState::CancelledByCustomer, None)
        );
        assert_eq!(*world.stripe.cancels.lock().unwrap(), ["pi_1"]);
        assert!(world.stripe.refunds.lock().unwrap().is_empty());
        assert!(world.table.steps().is_empty(), "nothing was captured");
        // Watched until Stripe confirms the cancellation.
        assert_eq!(after.timer.map(|t| t.kind), Some(TimerKind::VoidPayment));
    }

    #[tokio::test]
    async fn a_request_whose_authorization_the_payment_timer_finds_is_asked_not_voided() {
        // A slot request: authorized on the card, its webhook not delivered yet when the
        // payment window's timer fires.
        let booking = Booking {
            source: Source::Slot,
            ..pending()
        };
        let world = World::new(
            Table::with(&booking),
            Stripe::with("requires_capture", &booking),
        );
        let due = booking.timer.unwrap().due_at;
        world.bookings().sweep(due).await.unwrap();
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.state, BookingState::Requested);
        assert!(stored.provider_party(), "the provider answers it now");
        assert_eq!(stored.timer.map(|t| t.kind), Some(TimerKind::RequestExpiry));
        assert!(
            world.stripe.cancels.lock().unwrap().is_empty(),
            "not voided"
        );
        // The provider accepts: captured, accepted, its charge written, once.
        let provider = Caller {
            user_id: booking.provider_id,
            session_id: crate::domain::SessionId::new(),
            roles: [Role::Provider].into(),
        };
        let accepted = world
            .bookings()
            .accept(&provider, &booking.id, now())
            .await
            .unwrap();
        assert_eq!(accepted.state, BookingState::Accepted);
        assert_eq!(world.table.steps(), ["charge"]);
        let again = world.bookings().accept(&provider, &booking.id, now()).await;
        assert_eq!(again.unwrap_err().status(), 409);
    }

    #[tokio::test]
    async fn a_failed_payment_that_loses_a_race_is_answered_409_so_stripe_delivers_it_again() {
        let booking = pending();
        let world = World::new(
            Table::with(&booking),
            Stripe::with("requires_payment_method", &booking),
        );
        // The customer cancelled between our read and our write.
        *world.table.interfere.lock().unwrap() =
            Some(moved(&booking, Event::Cancel, Actor::Customer));
        let (payload, header) = signed("payment_intent.payment_failed", &booking, "evt_f");
        let err = world
            .bookings()
            .webhook(&payload, Some(&header), SECRET, now())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 409);
        assert!(world.news.notified.lock().unwrap().is_empty());
        // Delivered again, it finds the booking cancelled: answered, nothing to do.
        let outcome = world
            .deliver("payment_intent.payment_failed", &booking, "evt_f")
            .await;
        assert_eq!(outcome, WebhookOutcome::Duplicate);
    }

    #[tokio::test]
    async fn a_payment_in_another_currency_or_not_the_recorded_one_moves_nothing() {
        let mut booking = pending();
        booking.payment_intent_id = Some("pi_1".into());
        let mut stripe = Stripe::with("succeeded", &booking);
        stripe.payment.currency = "usd".into();
        let world = World::new(Table::with(&booking), stripe);
        let outcome = world
            .deliver("payment_intent.succeeded", &booking, "evt_c")
            .await;
        assert_eq!(outcome, WebhookOutcome::Ignored);
        assert_eq!(
            world.table.stored(&booking.id).state,
            BookingState::PendingPayment
        );

        let mut recorded = pending();
        recorded.payment_intent_id = Some("pi_recorded".into());
        let world = World::new(Table::with(&recorded), Stripe::with("succeeded", &recorded));
        let outcome = world
            .deliver("payment_intent.succeeded", &recorded, "evt_p")
            .await;
        assert_eq!(outcome, WebhookOutcome::Ignored);
        assert!(world.table.steps().is_empty());
    }

    #[tokio::test]
    async fn a_refund_retry_records_the_refund_stripe_already_made_instead_of_asking_again() {
        let mut paid = moved(&pending(), Event::PaymentSucceeded, Actor::System);
        paid.room_id = Some(paid.room());
        paid.payment_intent_id = Some("pi_1".into());
        let world = World::new(Table::with(&paid), Stripe::with("succeeded", &paid));
        // The first refund was made, but its answer never arrived.
        world
            .stripe
            .refunds
            .lock()
            .unwrap()
            .push(("lost".into(), 4500));
        let mut cancelled = moved(&paid, Event::Cancel, Actor::Provider);
        cancelled.refund = Some(RefundInfo {
            amount: 4500,
            stripe_refund_id: None,
        });
        cancelled.timer = Some(Timer::due(TimerKind::RefundRetry, now()));
        world.table.put(&cancelled);
        world.bookings().sweep(now()).await.unwrap();
        let stored = world.table.stored(&paid.id);
        assert_eq!(
            stored.refund.and_then(|r| r.stripe_refund_id).as_deref(),
            Some("re_lost")
        );
        assert_eq!(world.stripe.refunds.lock().unwrap().len(), 1, "asked once");
        assert_eq!(stored.timer, None);
    }

    /// A paid booking the provider delivered, as the webhook and the provider left it.
    fn delivered() -> Booking {
        let paid = moved(&pending(), Event::PaymentSucceeded, Actor::System);
        let paid = Booking {
            room_id: Some(paid.room()),
            charge_id: Some("ch_1".into()),
            ..paid
        };
        let started = moved(&paid, Event::Start, Actor::Provider);
        moved(&started, Event::Deliver, Actor::Provider)
    }

    /// The provider finished onboarding: Stripe and the stored record say so.
    fn onboarded(world: &World, booking: &Booking) {
        let account = connected(booking, true);
        *world.stripe.account.lock().unwrap() = account.clone();
        *world.table.account.lock().unwrap() = Some(PayoutAccount::reported(
            booking.provider_id,
            &account,
            now(),
            now(),
        ));
    }

    async fn released(world: &World) -> usize {
        world.flush().await;
        let notified = world.news.notified.lock().unwrap();
        let mut keys: Vec<&String> = notified
            .iter()
            .filter(|(kind, _)| *kind == Kind::PaymentReleased)
            .map(|(_, key)| key)
            .collect();
        keys.dedup();
        keys.len()
    }

    #[tokio::test]
    async fn a_completion_releases_the_earnings_once_however_often_the_timer_fires() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        onboarded(&world, &booking);
        let done = world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        assert_eq!(done.payment_state(), PaymentState::Released);
        // A sweep that read the booking before the release committed fires its timer again.
        let stale = moved(&booking, Event::Confirm, Actor::Customer);
        world.bookings().fire(stale, now()).await.unwrap();
        world.bookings().sweep(now()).await.unwrap();
        let transfers = world.stripe.transfers.lock().unwrap().clone();
        assert_eq!(transfers.len(), 1, "{transfers:?}");
        let (commission, earning) = booking.split();
        assert_eq!((commission, earning), (450, 4_050));
        assert_eq!(transfers[0].1.amount, earning);
        assert_eq!(transfers[0].1.destination.as_deref(), Some("acct_1"));
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.timer, None);
        let transfer = stored.transfer.unwrap();
        assert_eq!(transfer.stripe_transfer_id.as_deref(), Some("tr_1"));
        assert_eq!(world.table.steps(), ["completion", "release"]);
        assert_eq!(released(&world).await, 1);
    }

    #[tokio::test]
    async fn a_transfer_whose_answer_was_lost_is_found_at_stripe_not_made_again() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        onboarded(&world, &booking);
        *world.stripe.lose_transfer_answer.lock().unwrap() = true;
        let done = world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        // Completed, the release left to its timer (a new version: a new key next time).
        assert_eq!(done.payment_state(), PaymentState::Held);
        let waiting = world.table.stored(&booking.id);
        assert_eq!(waiting.timer.map(|t| t.kind), Some(TimerKind::Release));
        assert!(waiting.version > done.version);
        world
            .bookings()
            .sweep(now() + Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(world.stripe.transfers.lock().unwrap().len(), 1);
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.payment_state(), PaymentState::Released);
        assert_eq!(released(&world).await, 1);
    }

    #[tokio::test]
    async fn earnings_wait_for_the_providers_account_and_go_when_stripe_enables_it() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        // An account exists but onboarding is not finished.
        let pending_account = connected(&booking, false);
        *world.table.account.lock().unwrap() = Some(PayoutAccount::reported(
            booking.provider_id,
            &pending_account,
            now(),
            now(),
        ));
        let done = world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        assert_eq!(done.payment_state(), PaymentState::Held);
        assert_eq!(done.timer, None, "parked: nothing polls Stripe");
        assert_eq!(*world.table.waiting.lock().unwrap(), [booking.id]);
        assert!(world.stripe.transfers.lock().unwrap().is_empty());
        // An update that does not enable payouts changes nothing.
        let payload = json!({ "id": "evt_a1", "object": "event", "type": "account.updated",
            "account": "acct_1", "data": { "object": { "id": "acct_1", "object": "account" } } })
        .to_string();
        let deliver = |payload: &str| {
            let header = webhook::sign(payload.as_bytes(), SECRET, now().timestamp());
            (payload.as_bytes().to_vec(), header)
        };
        let (body, header) = deliver(&payload);
        let outcome = world
            .bookings()
            .webhook(&body, Some(&header), SECRET, now())
            .await
            .unwrap();
        assert_eq!(outcome, WebhookOutcome::Applied);
        assert!(world.stripe.transfers.lock().unwrap().is_empty());
        // Stripe enables the account: the parked release goes, once, however often the
        // event is delivered.
        *world.stripe.account.lock().unwrap() = connected(&booking, true);
        for _ in 0..3 {
            world
                .bookings()
                .webhook(&body, Some(&header), SECRET, now())
                .await
                .unwrap();
        }
        assert_eq!(world.stripe.transfers.lock().unwrap().len(), 1);
        assert!(world.table.waiting.lock().unwrap().is_empty());
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.payment_state(), PaymentState::Released);
        assert!(
            world
                .table
                .account
                .lock()
                .unwrap()
                .as_ref()
                .unwrap()
                .can_be_paid
        );
        assert_eq!(released(&world).await, 1);
    }

    #[tokio::test]
    async fn an_account_update_about_an_account_we_did_not_record_moves_nothing() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        *world.stripe.account.lock().unwrap() = connected(&booking, true);
        let payload = json!({ "id": "evt_a2", "object": "event", "type": "account.updated",
            "data": { "object": { "id": "acct_1", "object": "account" } } })
        .to_string();
        let header = webhook::sign(payload.as_bytes(), SECRET, now().timestamp());
        let outcome = world
            .bookings()
            .webhook(payload.as_bytes(), Some(&header), SECRET, now())
            .await
            .unwrap();
        assert_eq!(outcome, WebhookOutcome::Ignored);
        assert!(world.table.account.lock().unwrap().is_none());
    }

    /// A dispute event about the booking's payment, signed.
    fn dispute_event(event: &str, kind: &str) -> (Vec<u8>, String) {
        let payload = json!({ "id": event, "object": "event", "type": kind,
            "data": { "object": { "id": "dp_1", "object": "dispute" } } })
        .to_string()
        .into_bytes();
        let header = webhook::sign(&payload, SECRET, now().timestamp());
        (payload, header)
    }

    fn set_dispute(world: &World, status: &str) {
        *world.stripe.dispute.lock().unwrap() = Some(Dispute {
            id: "dp_1".into(),
            amount: 4_500,
            currency: "eur".into(),
            charge: "ch_1".into(),
            payment_intent: Some("pi_1".into()),
            status: status.into(),
        });
    }

    async fn deliver_dispute(world: &World, event: &str, kind: &str) -> WebhookOutcome {
        let (payload, header) = dispute_event(event, kind);
        world
            .bookings()
            .webhook(&payload, Some(&header), SECRET, now())
            .await
            .unwrap()
    }

    /// Every step balances; money transferred (less reversals) never exceeds the charge.
    fn assert_books_balance(world: &World, booking: &Booking) {
        for (_, step) in world.table.ledger.lock().unwrap().iter() {
            let sum: i64 = step.entries.iter().map(|e| e.amount).sum();
            assert_eq!(sum, 0, "{step:?}");
        }
        let out: i64 = world
            .stripe
            .transfers
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.amount - t.amount_reversed)
            .sum();
        assert!(out <= booking.price.amount);
    }

    #[tokio::test]
    async fn a_dispute_after_release_reverses_it_once_and_a_won_one_releases_again() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        onboarded(&world, &booking);
        world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        set_dispute(&world, "needs_response");
        for event in ["evt_d1", "evt_d1", "evt_d2"] {
            deliver_dispute(&world, event, "charge.dispute.created").await;
        }
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.payment_state(), PaymentState::Disputed);
        assert_eq!(world.stripe.reversals.lock().unwrap().len(), 1);
        assert!(stored.transfer.as_ref().unwrap().reversed);
        assert_eq!(stored.timer, None);
        // The parties cannot cancel their way to a second refund meanwhile.
        let err = world
            .bookings()
            .cancel(
                &customer_of(&booking),
                &booking.id,
                CancelRequest { reason: "x".into() },
                now(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), 409);
        assert_books_balance(&world, &booking);

        set_dispute(&world, "won");
        for _ in 0..2 {
            deliver_dispute(&world, "evt_d3", "charge.dispute.closed").await;
        }
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.payment_state(), PaymentState::Released);
        let transfers = world.stripe.transfers.lock().unwrap().clone();
        assert_eq!(transfers.len(), 2, "released again: {transfers:?}");
        assert_eq!(
            world.table.steps(),
            [
                "completion",
                "release",
                "dispute",
                "reversal",
                "dispute_won",
                "release_again"
            ]
        );
        assert_books_balance(&world, &booking);
    }

    #[tokio::test]
    async fn a_lost_dispute_keeps_the_release_reversed_and_writes_the_loss_off() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        onboarded(&world, &booking);
        world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        // The charge, as the webhook wrote it when the payment succeeded.
        let payment = world.stripe.payment.clone();
        world
            .table
            .ledger
            .lock()
            .unwrap()
            .insert(0, (booking.id, charge_step(&payment, 4_500, now())));
        // The closing event arrives first: the dispute is read again, opened and closed.
        set_dispute(&world, "lost");
        deliver_dispute(&world, "evt_l2", "charge.dispute.closed").await;
        deliver_dispute(&world, "evt_l1", "charge.dispute.created").await;
        let stored = world.table.stored(&booking.id);
        assert_eq!(stored.payment_state(), PaymentState::Refunded);
        assert_eq!(world.stripe.reversals.lock().unwrap().len(), 1);
        assert_eq!(world.stripe.transfers.lock().unwrap().len(), 1);
        let mut balances: HashMap<String, i64> = HashMap::new();
        for (_, step) in world.table.ledger.lock().unwrap().iter() {
            for entry in &step.entries {
                *balances.entry(format!("{:?}", entry.account)).or_default() += entry.amount;
            }
        }
        // Everything nets out: nobody is owed anything, nothing is left in flight.
        assert!(balances.values().all(|v| *v == 0), "{balances:?}");
        assert_books_balance(&world, &booking);
    }

    #[test]
    fn an_outbox_item_reads_back_from_the_stream_as_it_was_written() {
        let booking = delivered();
        let effects = Effects {
            announcements: dispute_news(&booking, Some("won")),
            ..Effects::default()
        };
        let outbox = Outbox::of(&booking, &effects).unwrap();
        let item: serde_dynamo::Item = serde_dynamo::to_item(&outbox).unwrap();
        let mut image = serde_json::to_value(&item).unwrap();
        image["entity_type"] = json!({ "S": crate::bookings::dynamo::ENTITY_OUTBOX });
        let event: crate::lambda::stream::StreamEvent = serde_json::from_value(json!({
            "Records": [{ "eventName": "INSERT", "dynamodb": { "NewImage": image } }]
        }))
        .unwrap();
        let read: Vec<Outbox> =
            crate::lambda::stream::inserted(event, crate::bookings::dynamo::ENTITY_OUTBOX).unwrap();
        assert_eq!(read, [outbox]);
        assert_eq!(read[0].announcements[1].to, Audience::Operations);
    }

    #[tokio::test]
    async fn a_timer_that_keeps_failing_alerts_the_operators_once_and_then_waits_an_hour() {
        let booking = delivered();
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        onboarded(&world, &booking);
        *world.stripe.down.lock().unwrap() = true;
        world
            .bookings()
            .confirm(&customer_of(&booking), &booking.id, now())
            .await
            .unwrap();
        let mut at = now();
        for _ in 0..TIMER_ALERT_AFTER + 2 {
            at = world.table.stored(&booking.id).timer.unwrap().due_at;
            world.bookings().sweep(at).await.unwrap();
        }
        let timer = world.table.stored(&booking.id).timer.unwrap();
        assert_eq!(timer.kind, TimerKind::Release);
        assert_eq!(timer.attempts, TIMER_ALERT_AFTER + 3);
        assert_eq!(timer.due_at, at + RETRY_STUCK_TIMER);
        let alerts: Vec<Announcement> = world
            .table
            .outboxes
            .lock()
            .unwrap()
            .iter()
            .flat_map(|o| o.announcements.clone())
            .filter(|a| a.to == Audience::Operations)
            .collect();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].kind, Kind::System);
        // Stripe back: the next run releases, once.
        *world.stripe.down.lock().unwrap() = false;
        world.bookings().sweep(timer.due_at).await.unwrap();
        assert_eq!(
            world.table.stored(&booking.id).payment_state(),
            PaymentState::Released
        );
        assert_eq!(world.stripe.transfers.lock().unwrap().len(), 1);
    }

    /// A slot request at `now()`, accepted by the provider: a session starting in two hours.
    fn accepted_session() -> Booking {
        let start = now() + Duration::hours(2);
        let request = Booking {
            source: Source::Slot,
            schedule: Some(crate::bookings::model::Schedule {
                start,
                end: start + Duration::hours(1),
                time_zone: crate::domain::TimeZone::parse("Europe/Berlin", "tz").unwrap(),
                multiplier: 1.0,
                buffer_minutes: 0,
            }),
            ..pending()
        };
        let requested = Booking {
            authorized_at: Some(now()),
            ..moved(&request, Event::PaymentAuthorized, Actor::System)
        };
        moved(&requested, Event::Accept, Actor::Provider)
    }

    fn announced(world: &World) -> Vec<(String, Kind, Audience)> {
        let outboxes = world.table.outboxes.lock().unwrap();
        outboxes
            .iter()
            .flat_map(|o| o.announcements.clone())
            .map(|a| (a.step, a.kind, a.to))
            .collect()
    }

    #[tokio::test]
    async fn a_session_not_started_is_reminded_then_nudged_then_alerted_each_once() {
        let booking = accepted_session();
        let start = booking.schedule.as_ref().unwrap().start;
        let timer = booking.timer.unwrap();
        assert_eq!(
            (timer.kind, timer.due_at),
            (TimerKind::SessionReminder, start - Duration::minutes(5))
        );
        let world = World::new(Table::with(&booking), Stripe::with("succeeded", &booking));
        let (customer, provider) = (booking.customer_id, booking.provider_id);
        // Every moment twice, as a sweep that runs again (or overlaps) would.
        for at in [
            start - Duration::minutes(10),
            start - Duration::minutes(5),
            start + Duration::minutes(3),
            start + Duration::minutes(15),
        ] {
            world.bookings().sweep(at).await.unwrap();
            world.bookings().sweep(at).await.unwrap();
        }
        assert_eq!(
            announced(&world),
            [
                (
                    "starting-soon".to_owned(),
                    Kind::SessionStartingSoon,
                    Audience::Users(vec![customer])
                ),
                (
                    "starting-soon-provider".to_owned(),
                    Kind::SessionStartingSoon,
                    Audience::Users(vec![provider])
                ),
                (
                    "not-started".to_owned(),
                    Kind::SessionStartingSoon,
                    Audience::Users(vec![provider])
                ),
                (
                    "not-started-alert".to_owned(),
                    Kind::System,
                    Audience::Operations
                ),
            ]
        );
        let after = world.table.stored(&booking.id);
        assert_eq!((after.state, after.timer), (BookingState::Accepted, None));
    }

    #[tokio::test]
    async fn a_started_session_is_delivered_by_itself_once_its_end_and_grace_have_passed() {
        let started = moved(&accepted_session(), Event::Start, Actor::Provider);
        let end = started.schedule.as_ref().unwrap().end;
        let world = World::new(Table::with(&started), Stripe::with("succeeded", &started));
        world
            .bookings()
            .sweep(end + Duration::minutes(14))
            .await
            .unwrap();
        assert_eq!(
            world.table.stored(&started.id).state,
            BookingState::InProgress
        );
        let at = end + Duration::minutes(15);
        world.bookings().sweep(at).await.unwrap();
        world.bookings().sweep(at).await.unwrap();
        let after = world.table.stored(&started.id);
        assert_eq!(after.state, BookingState::Delivered);
        assert_eq!(
            after.timer.map(|t| (t.kind, t.due_at)),
            Some((
                TimerKind::AutoComplete,
                at + crate::bookings::model::AUTO_COMPLETE_AFTER
            ))
        );
        let steps: Vec<String> = announced(&world).into_iter().map(|a| a.0).collect();
        assert_eq!(steps, ["delivered"]);
    }

    #[tokio::test]
    async fn the_provider_writes_the_summary_once_and_the_customers_first_read_is_recorded() {
        let accepted = accepted_session();
        let world = World::new(Table::with(&accepted), Stripe::with("succeeded", &accepted));
        let party = |user_id, role| Caller {
            user_id,
            session_id: SessionId::new(),
            roles: [role].into(),
        };
        let provider = party(accepted.provider_id, Role::Provider);
        let customer = party(accepted.customer_id, Role::Customer);
        let request = |findings: &str| SummaryRequest {
            findings: findings.into(),
            steps_taken: Some("Replaced the washer.".into()),
            parts_needed: None,
            next_steps: Some("Replace the valve within a month.".into()),
            photo_file_ids: Vec::new(),
        };
        let bookings = world.bookings();
        // Not before the session starts; only the provider; never blank.
        let early = bookings.summarize(&provider, &accepted.id, request("Worn valve."), now());
        assert_eq!(early.await.unwrap_err().status(), 409);
        world
            .table
            .put(&moved(&accepted, Event::Start, Actor::Provider));
        let by_customer = bookings.summarize(&customer, &accepted.id, request("Mine."), now());
        assert_eq!(by_customer.await.unwrap_err().status(), 403);
        let blank = bookings.summarize(&provider, &accepted.id, request("  "), now());
        assert_eq!(blank.await.unwrap_err().status(), 400);
        assert_eq!(
            bookings
                .summary(&customer, &accepted.id, now())
                .await
                .unwrap_err()
                .status(),
            404
        );

        let written = bookings
            .summarize(&provider, &accepted.id, request(" Worn valve. "), now())
            .await
            .unwrap();
        assert_eq!(written.summary.as_ref().unwrap().findings, "Worn valve.");
        let again = bookings.summarize(&provider, &accepted.id, request("Other."), now());
        assert_eq!(again.await.unwrap_err().status(), 409);
        let steps: Vec<String> = announced(&world).into_iter().map(|a| a.0).collect();
        assert_eq!(steps, ["summary"]);

        // The provider's read records nothing; the customer's first does, once.
        let later = now() + Duration::hours(1);
        let read = bookings
            .summary(&provider, &accepted.id, later)
            .await
            .unwrap();
        assert_eq!(read.viewed_at, None);
        let read = bookings
            .summary(&customer, &accepted.id, later)
            .await
            .unwrap();
        assert_eq!(read.viewed_at, Some(later));
        let reread = bookings
            .summary(&customer, &accepted.id, later + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(reread.viewed_at, Some(later));
        let stored = world.table.stored(&accepted.id).summary.unwrap();
        assert_eq!(stored.viewed_at, Some(later));
    }

    /// A slot request made at `now()` for a session 10 days later, its checkout answered with
    /// a SetupIntent (the card is saved, not authorized).
    async fn far_request(world_of: impl Fn(&Booking) -> World) -> (World, Booking) {
        let start = now() + Duration::days(10);
        let booking = Booking {
            source: Source::Slot,
            payment_intent_id: None,
            schedule: Some(crate::bookings::model::Schedule {
                start,
                end: start + Duration::hours(1),
                time_zone: crate::domain::TimeZone::parse("Europe/Berlin", "tz").unwrap(),
                multiplier: 1.0,
                buffer_minutes: 0,
            }),
            ..pending()
        };
        assert!(booking.saves_card());
        let world = world_of(&booking);
        let purchase = world
            .bookings()
            .with_payment(booking.clone(), now())
            .await
            .unwrap();
        assert_eq!(
            (
                purchase.payment_intent_id.as_deref(),
                purchase.setup_intent_id.as_deref()
            ),
            (None, Some("seti_1"))
        );
        assert_eq!(purchase.client_secret.as_deref(), Some("seti_1_secret_x"));
        let stored = world.table.stored(&booking.id);
        let card = stored.card.clone().unwrap();
        assert_eq!(
            (card.customer.as_str(), card.charge_at, card.pay_by),
            (
                "cus_1",
                start - Duration::hours(48),
                start - Duration::hours(24)
            )
        );
        assert_eq!(stored.payment_state(), PaymentState::Pending);
        (world, stored)
    }

    /// `far_request`, its card saved (seen by the payment window's timer) and accepted.
    async fn far_session_accepted() -> (World, Booking) {
        let (world, booking) =
            far_request(|b| World::new(Table::with(b), Stripe::with("requires_payment_method", b)))
                .await;
        *world.stripe.setup.lock().unwrap() = "succeeded";
        let expiry = booking.timer.unwrap().due_at;
        world.bookings().sweep(expiry).await.unwrap();
        let requested = world.table.stored(&booking.id);
        assert_eq!(requested.state, BookingState::Requested);
        // The provider answers within 6 days, and before the charge is due.
        let charge_at = requested.card.as_ref().unwrap().charge_at;
        assert_eq!(
            requested.timer.map(|t| (t.kind, t.due_at)),
            Some((
                TimerKind::RequestExpiry,
                (expiry + crate::bookings::model::REQUEST_WINDOW).min(charge_at)
            ))
        );
        assert_eq!(
            requested.card.as_ref().unwrap().payment_method.as_deref(),
            Some("pm_saved")
        );
        assert_eq!(requested.payment_state(), PaymentState::Scheduled);
        let provider = Caller {
            user_id: booking.provider_id,
            session_id: SessionId::new(),
            roles: [Role::Provider].into(),
        };
        let accepted = world
            .bookings()
            .accept(&provider, &booking.id, now())
            .await
            .unwrap();
        (world, accepted)
    }

    #[tokio::test]
    async fn a_session_far_ahead_saves_the_card_and_is_charged_off_session_before_its_start() {
        let (world, accepted) = far_session_accepted().await;
        let card = accepted.card.clone().unwrap();
        // Accepted with nothing captured: the room opens, the charge waits for its timer.
        assert_eq!(accepted.state, BookingState::Accepted);
        assert_eq!(accepted.room_id, Some(accepted.room()));
        assert!(world.table.steps().is_empty(), "nothing charged yet");
        assert_eq!(accepted.payment_state(), PaymentState::Scheduled);
        assert_eq!(
            accepted.timer.map(|t| (t.kind, t.due_at)),
            Some((TimerKind::SavedCardCharge, card.charge_at))
        );
        // The provider cannot start a session not paid for.
        let provider = Caller {
            user_id: accepted.provider_id,
            session_id: SessionId::new(),
            roles: [Role::Provider].into(),
        };
        let refused = world.bookings().start(&provider, &accepted.id, now()).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        // The timer charges it, once, however often the sweep runs.
        world.bookings().sweep(card.charge_at).await.unwrap();
        world.bookings().sweep(card.charge_at).await.unwrap();
        let charged = world.table.stored(&accepted.id);
        assert_eq!(charged.payment_state(), PaymentState::Held);
        assert_eq!(charged.payment_intent_id.as_deref(), Some("pi_saved"));
        assert_eq!(world.table.steps(), ["charge"]);
        assert_eq!(world.stripe.saved_card_calls.lock().unwrap().len(), 2);
        assert_eq!(
            charged.timer.map(|t| t.kind),
            Some(TimerKind::SessionReminder)
        );
    }

    #[tokio::test]
    async fn a_refused_off_session_charge_asks_the_customer_then_cancels_at_the_deadline() {
        let (world, accepted) = far_session_accepted().await;
        let card = accepted.card.clone().unwrap();
        *world.stripe.off_session.lock().unwrap() = "requires_payment_method";
        world.bookings().sweep(card.charge_at).await.unwrap();
        let refused = world.table.stored(&accepted.id);
        assert_eq!(refused.payment_state(), PaymentState::Failed);
        assert_eq!(
            refused.payment_error.as_deref(),
            Some("authentication_required")
        );
        assert_eq!(
            refused.timer.map(|t| (t.kind, t.due_at)),
            Some((TimerKind::PaymentDeadline, card.pay_by))
        );
        assert!(
            announced(&world)
                .iter()
                .any(|(step, kind, _)| step == "saved-card-refused" && *kind == Kind::PaymentFailed)
        );
        // The customer is answered what they need to pay; the provider is not.
        let pay = world
            .bookings()
            .pay(&customer_of(&refused), &refused.id)
            .await
            .unwrap();
        assert_eq!(pay.payment_intent_id.as_deref(), Some("pi_saved"));
        let provider = Caller {
            user_id: refused.provider_id,
            session_id: SessionId::new(),
            roles: [Role::Provider].into(),
        };
        assert!(matches!(
            world.bookings().pay(&provider, &refused.id).await,
            Err(Error::Forbidden(_))
        ));
        // Unpaid at the deadline: cancelled, nothing refunded (nothing was taken), its
        // payment voided.
        world.bookings().sweep(card.pay_by).await.unwrap();
        let cancelled = world.table.stored(&accepted.id);
        assert_eq!(cancelled.state, BookingState::CancelledByOperator);
        assert_eq!(cancelled.payment_state(), PaymentState::Unpaid);
        assert_eq!(
            cancelled.timer.map(|t| t.kind),
            Some(TimerKind::VoidPayment)
        );
        assert!(world.table.steps().is_empty());
        assert!(world.stripe.refunds.lock().unwrap().is_empty());
        assert!(matches!(
            world
                .bookings()
                .pay(&customer_of(&cancelled), &cancelled.id)
                .await,
            Err(Error::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn a_charge_still_failing_at_the_deadline_cancels_instead_of_retrying_into_the_start() {
        let (world, mut accepted) = far_session_accepted().await;
        let card = accepted.card.clone().unwrap();
        // The card is gone: every charge attempt fails, and is retried.
        accepted.card.as_mut().unwrap().payment_method = None;
        world.table.put(&accepted);
        world.bookings().sweep(card.charge_at).await.unwrap();
        let retried = world.table.stored(&accepted.id);
        assert_eq!(retried.state, BookingState::Accepted);
        assert_eq!(
            retried.timer.map(|t| (t.kind, t.attempts)),
            Some((TimerKind::SavedCardCharge, 1))
        );
        world.bookings().sweep(card.pay_by).await.unwrap();
        let cancelled = world.table.stored(&accepted.id);
        assert_eq!(cancelled.state, BookingState::CancelledByOperator);
        assert!(world.table.steps().is_empty());
    }

    #[tokio::test]
    async fn cancelling_a_session_whose_card_is_not_charged_yet_refunds_nothing() {
        let (world, accepted) = far_session_accepted().await;
        let request = CancelRequest {
            reason: "Plans changed".into(),
        };
        let after = world
            .bookings()
            .cancel(&customer_of(&accepted), &accepted.id, request, now())
            .await
            .unwrap();
        assert_eq!(after.state, BookingState::CancelledByCustomer);
        assert_eq!((after.refund.clone(), after.settled), (None, false));
        assert!(world.table.steps().is_empty());
        assert_eq!(after.payment_state(), PaymentState::Unpaid);
    }
}
