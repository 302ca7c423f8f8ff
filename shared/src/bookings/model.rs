//! The booking state machine — one for every source (offer purchase, accepted job
//! application, availability slot, follow-up) — with who may move it, the cancellation policy
//! and the money each step moves. Pure rules: the storage layer applies a transition as one
//! transaction conditioned on the state read here, so a transition that loses a race fails
//! there instead of being applied twice.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crm::model::UpsellRef;
use crate::domain::{BookingId, FileId, JobId, OfferId, RoomId, TimeZone, UserId};
use crate::error::Error;
use crate::followups::model::FollowUp;
use crate::jobs::model::{Application, Job};
use crate::offers::model::{Money, Offer};
use crate::scheduling::model::Slot;

/// Where a booking comes from; instant sources skip `requested`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A provider's fixed-price offer, bought at once.
    Offer,
    /// A customer's job and the provider's accepted application.
    JobApplication,
    /// A slot of a provider's availability (request to book).
    Slot,
    /// A follow-up of a completed booking, opened by its customer: its provider answers
    /// in the parent's thread, so a payment accepts it at once (and a premium customer's,
    /// free, is accepted when opened).
    FollowUp,
}

impl Source {
    /// Whether a successful payment accepts the booking at once (no provider answer).
    pub fn is_instant(self) -> bool {
        matches!(self, Self::Offer | Self::JobApplication | Self::FollowUp)
    }
}

/// Where a booking is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    /// Waiting for the customer's payment (a 15-minute timer expires it).
    PendingPayment,
    /// Paid by authorization; waiting for the provider's answer.
    Requested,
    /// The provider is assigned.
    Accepted,
    /// The provider said no (the authorization is voided).
    Declined,
    /// The provider never answered (voided).
    Expired,
    /// Never paid.
    PaymentExpired,
    /// The work started.
    InProgress,
    /// The provider says it is done.
    Delivered,
    /// The customer confirmed, or 48 h passed after delivery.
    Completed,
    /// Cancelled by the customer.
    CancelledByCustomer,
    /// Cancelled by the provider.
    CancelledByProvider,
    /// Cancelled by an operator.
    CancelledByOperator,
}

impl BookingState {
    /// Whether nothing moves it any more (the money may still: refunds, releases, disputes).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Declined
                | Self::Expired
                | Self::PaymentExpired
                | Self::Completed
                | Self::CancelledByCustomer
                | Self::CancelledByProvider
                | Self::CancelledByOperator
        )
    }
}

impl fmt::Display for BookingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::domain::wire_name(self))
    }
}

/// Who acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The booking's customer.
    Customer,
    /// The booking's provider.
    Provider,
    /// An operator (admin).
    Operator,
    /// Stripe's webhook or a timer.
    System,
}

/// What happens to a booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The payment was captured (instant sources).
    PaymentSucceeded,
    /// The payment was authorized, to be captured on acceptance (request to book).
    PaymentAuthorized,
    /// A payment attempt failed: the booking stays payable.
    PaymentFailed,
    /// The PaymentIntent was cancelled.
    PaymentCanceled,
    /// The 15-minute payment timer ran out.
    PaymentTimerExpired,
    /// The provider accepts a request.
    Accept,
    /// The provider declines a request.
    Decline,
    /// The provider did not answer in time.
    RequestTimerExpired,
    /// The provider starts the work.
    Start,
    /// The provider delivers.
    Deliver,
    /// A started session's scheduled end passed with its grace: it counts as delivered.
    SessionEnded,
    /// The customer confirms completion.
    Confirm,
    /// 48 h passed after delivery.
    AutoComplete,
    /// Someone cancels.
    Cancel,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How long a customer has to pay.
pub const PAYMENT_WINDOW: Duration = Duration::minutes(15);
/// How long a provider has to answer a request (a card authorization lasts 7 days).
pub const REQUEST_WINDOW: Duration = Duration::days(6);
/// How long after delivery a booking completes by itself.
pub const AUTO_COMPLETE_AFTER: Duration = Duration::hours(48);
/// Both parties of an accepted session are told this long before its start.
pub const REMINDER_BEFORE: Duration = Duration::minutes(5);
/// A session not started this long after its start: the provider is nudged.
pub const NUDGE_AFTER: Duration = Duration::minutes(3);
/// Minutes after its start at which a session still not started is reported to support,
/// until admins set another delay (see [`SessionSettings`]).
pub const DEFAULT_SUPPORT_ALERT_MINUTES: u32 = 15;
/// The longest support-alert delay admins may set, in minutes.
pub const MAX_SUPPORT_ALERT_MINUTES: u32 = 240;

/// How the platform follows scheduled sessions: set by admins, read by the session timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    /// Minutes after its start at which a session not started is reported to support (the
    /// admins following `topic:operations`): after the provider's nudge (at 3 minutes), at
    /// most 240.
    pub support_alert_after_minutes: u32,
    /// Last changed (absent while the defaults apply).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            support_alert_after_minutes: DEFAULT_SUPPORT_ALERT_MINUTES,
            updated_at: None,
        }
    }
}

impl SessionSettings {
    /// The support alert's delay after a session's start.
    pub fn support_alert_after(&self) -> Duration {
        Duration::minutes(i64::from(self.support_alert_after_minutes))
    }
}

/// `PUT /admin/session-settings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionSettingsRequest {
    /// Minutes after its start at which a session not started is reported to support: more
    /// than the provider's nudge (3), at most 240.
    #[schema(minimum = 4, maximum = 240)]
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    pub support_alert_after_minutes: u32,
}

impl SessionSettingsRequest {
    /// The settings it sets at `now`, or the field to fix.
    pub fn settings(self, now: DateTime<Utc>) -> Result<SessionSettings, Error> {
        let nudge = u32::try_from(NUDGE_AFTER.num_minutes()).unwrap_or(3);
        let minutes = self.support_alert_after_minutes;
        if minutes <= nudge || minutes > MAX_SUPPORT_ALERT_MINUTES {
            return Err(Error::field(
                "supportAlertAfterMinutes",
                format!("from {} to {MAX_SUPPORT_ALERT_MINUTES} minutes", nudge + 1),
            ));
        }
        Ok(SessionSettings {
            support_alert_after_minutes: minutes,
            updated_at: Some(now),
        })
    }
}
/// A started session still running this long after its scheduled end counts as delivered
/// (the provider may deliver it earlier, with proof).
pub const SESSION_END_GRACE: Duration = Duration::minutes(15);
/// A booked slot starting later than this after its request saves the card instead of
/// authorizing it (an authorization would lapse before the provider could capture it).
pub const SAVE_CARD_AFTER: Duration = REQUEST_WINDOW;
/// A saved card is charged this long before the session's start.
pub const CHARGE_BEFORE: Duration = Duration::hours(48);
/// A saved card's charge that failed may be paid by the customer until this long before the
/// start; then the booking is cancelled.
pub const PAY_BY_BEFORE: Duration = Duration::hours(24);

/// The state after `event`, done by `actor`, on a booking of `source` in `state`. An event
/// that does not apply — wrong state, or an actor who may not do it — is a `Conflict` naming
/// the current state (the API answers 409); a payment failure keeps the booking payable.
pub fn next(
    state: BookingState,
    source: Source,
    event: Event,
    actor: Actor,
) -> Result<BookingState, Error> {
    use Actor::{Customer, Operator, Provider, System};
    use BookingState as S;
    use Event as E;
    let to = match (state, event, actor) {
        (S::PendingPayment, E::PaymentSucceeded, System) if source.is_instant() => S::Accepted,
        (S::PendingPayment, E::PaymentAuthorized, System) if !source.is_instant() => S::Requested,
        (S::PendingPayment, E::PaymentFailed, System) => S::PendingPayment,
        (S::PendingPayment, E::PaymentCanceled | E::PaymentTimerExpired, System) => {
            S::PaymentExpired
        }
        (S::PendingPayment, E::Cancel, Customer) => S::CancelledByCustomer,
        (S::Requested, E::Accept, Provider) => S::Accepted,
        (S::Requested, E::Decline, Provider) => S::Declined,
        (S::Requested, E::RequestTimerExpired, System) => S::Expired,
        (S::Accepted, E::Start, Provider) => S::InProgress,
        (S::InProgress, E::Deliver, Provider) => S::Delivered,
        (S::InProgress, E::SessionEnded, System) => S::Delivered,
        (S::Delivered, E::Confirm, Customer) => S::Completed,
        (S::Delivered, E::AutoComplete, System) => S::Completed,
        (S::Requested | S::Accepted | S::InProgress, E::Cancel, Customer) => S::CancelledByCustomer,
        (S::Requested | S::Accepted | S::InProgress, E::Cancel, Provider) => S::CancelledByProvider,
        (S::Requested | S::Accepted | S::InProgress | S::Delivered, E::Cancel, Operator) => {
            S::CancelledByOperator
        }
        _ => {
            return Err(Error::Conflict(format!(
                "the booking is {state}: {event} does not apply"
            )));
        }
    };
    Ok(to)
}

/// What a cancellation gives back to the customer, in minor units, of `paid`: the provider or
/// an operator cancelling refunds in full; the customer gets everything back until 24 h before
/// the start, half (rounded down: the odd cent stays with the platform) within 24 h, nothing
/// once the work started. A booking without a start time counts as starting when the provider
/// starts it.
pub fn refund(
    paid: i64,
    state: BookingState,
    start: Option<DateTime<Utc>>,
    by: Actor,
    now: DateTime<Utc>,
) -> i64 {
    if by != Actor::Customer {
        return paid;
    }
    if state == BookingState::InProgress {
        return 0;
    }
    match start {
        None => paid,
        Some(start) if now < start - Duration::hours(24) => paid,
        Some(start) if now < start => paid / 2,
        Some(_) => 0,
    }
}

/// The platform's commission on `price` at `basis_points` (1/100 of a percent), rounded half
/// up to the minor unit, and what the provider earns: the two always add up to the price.
pub fn split(price: i64, basis_points: u32) -> (i64, i64) {
    let commission = (price * i64::from(basis_points) + 5_000) / 10_000;
    (commission, price - commission)
}

/// An account of a booking's double-entry ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// The customer's card.
    Customer,
    /// Money the platform holds for the booking.
    Platform,
    /// The platform's commission revenue.
    Commission,
    /// What the platform owes the provider.
    ProviderPayable,
    /// The provider's Stripe account (money transferred to it).
    Provider,
}

/// One line of the ledger; a step's lines sum to zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The account.
    pub account: Account,
    /// Minor units into (positive) or out of (negative) the account.
    pub amount: i64,
}

fn entry(account: Account, amount: i64) -> Entry {
    Entry { account, amount }
}

/// What `entries` move into `account` (negative: out of it).
pub fn amount_of(entries: &[Entry], account: Account) -> i64 {
    entries
        .iter()
        .filter(|e| e.account == account)
        .map(|e| e.amount)
        .sum()
}

/// The customer paid `price`: the platform holds it.
pub fn charge_entries(price: i64) -> Vec<Entry> {
    vec![
        entry(Account::Customer, -price),
        entry(Account::Platform, price),
    ]
}

/// Completion: the held money becomes commission and what the provider is owed.
pub fn completion_entries(price: i64, basis_points: u32) -> Vec<Entry> {
    let (commission, earning) = split(price, basis_points);
    vec![
        entry(Account::Platform, -price),
        entry(Account::Commission, commission),
        entry(Account::ProviderPayable, earning),
    ]
}

/// The release: what the provider is owed is transferred to their Stripe account.
pub fn release_entries(earning: i64) -> Vec<Entry> {
    vec![
        entry(Account::ProviderPayable, -earning),
        entry(Account::Provider, earning),
    ]
}

/// A dispute opened: the card network takes `amount` back from the platform for the customer
/// while the issuer decides.
pub fn dispute_entries(amount: i64) -> Vec<Entry> {
    vec![
        entry(Account::Platform, -amount),
        entry(Account::Customer, amount),
    ]
}

/// A dispute won: the network gives `amount` back to the platform.
pub fn dispute_won_entries(amount: i64) -> Vec<Entry> {
    vec![
        entry(Account::Customer, -amount),
        entry(Account::Platform, amount),
    ]
}

/// A dispute lost after completion: what the provider was owed and then the commission are
/// written off against the platform's loss (`amount` ≤ the price).
pub fn dispute_lost_entries(amount: i64, earning: i64) -> Vec<Entry> {
    let from_provider = amount.min(earning);
    vec![
        entry(Account::ProviderPayable, -from_provider),
        entry(Account::Commission, -(amount - from_provider)),
        entry(Account::Platform, amount),
    ]
}

/// A transfer reversed: the provider's account gives the earning back to what the platform
/// owes them.
pub fn reversal_entries(earning: i64) -> Vec<Entry> {
    vec![
        entry(Account::Provider, -earning),
        entry(Account::ProviderPayable, earning),
    ]
}

/// A refund of earned money (an admin's refund of a completed booking, or of what a
/// cancellation settled): of what was earned, `earned_before` becomes `earned_after`, and the
/// commission and what the provider is owed shrink to the split of what remains. The
/// provider's part of the difference is owed back (`provider_payable` goes below zero) until
/// their transfer is reversed.
pub fn refund_earned_entries(
    earned_before: i64,
    earned_after: i64,
    basis_points: u32,
) -> Vec<Entry> {
    let (commission, earning) = split(earned_before, basis_points);
    let (commission_after, earning_after) = split(earned_after, basis_points);
    vec![
        entry(Account::Commission, commission_after - commission),
        entry(Account::ProviderPayable, earning_after - earning),
        entry(Account::Customer, earned_before - earned_after),
    ]
}

/// A refund before payout: held money goes back to the customer.
pub fn refund_entries(amount: i64) -> Vec<Entry> {
    vec![
        entry(Account::Platform, -amount),
        entry(Account::Customer, amount),
    ]
}

/// The platform's default commission, in basis points (10 %), written on each booking when it
/// is created so a later change of the default never re-prices a running booking.
pub const DEFAULT_COMMISSION_BASIS_POINTS: u32 = 1_000;

/// Which side of a booking a user is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// The buyer ("my orders").
    Customer,
    /// The seller ("my tasks").
    Provider,
}

/// What a booking's timer does when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// The 15-minute payment window ends: an unpaid booking expires.
    PaymentExpiry,
    /// 48 h after delivery: the booking completes by itself.
    AutoComplete,
    /// A refund (decided by a cancellation or an admin) has not reached Stripe yet: try
    /// again (taking back the provider's excess transfer first, when released).
    RefundRetry,
    /// An unpaid booking was cancelled: until Stripe says its payment can no longer go
    /// through (cancelled) or it is refunded, read the payment again and act on it.
    VoidPayment,
    /// A completed booking's earnings (or the provider's part of what a cancellation
    /// settled) go to the provider's Stripe account (set by the transaction that decided
    /// them, so the transfer happens even if that function stops right after its commit).
    Release,
    /// A dispute was opened on released money: the transfer is reversed.
    ReverseTransfer,
    /// A request to book the provider has not answered: it expires (its authorization is
    /// voided) before the authorization lapses or the session would start.
    RequestExpiry,
    /// An accepted session starts in a few minutes: both parties are told.
    SessionReminder,
    /// An accepted session should have started minutes ago: the provider is nudged.
    StartNudge,
    /// An accepted session has still not started: support is alerted.
    SupportAlert,
    /// A started session's scheduled end passed with its grace: it is delivered.
    SessionEnd,
    /// An accepted session's saved card is charged, without the customer (about 48 h
    /// before the start).
    SavedCardCharge,
    /// A saved card's charge failed and the customer has not paid it themselves by now
    /// (24 h before the start): the booking is cancelled.
    PaymentDeadline,
}

/// A booking's pending timer (at most one: each state needs at most one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timer {
    /// What it does.
    pub kind: TimerKind,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// How often it has failed so far (a timer that keeps failing alerts the operators).
    #[serde(default)]
    pub attempts: u32,
}

impl Timer {
    /// A timer of `kind` due at `due_at`, not tried yet.
    pub fn due(kind: TimerKind, due_at: DateTime<Utc>) -> Self {
        Self {
            kind,
            due_at,
            attempts: 0,
        }
    }
}

/// What went back to the customer: a cancellation's refund, and any refund an admin gave
/// after completion (they add up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundInfo {
    /// Minor units given back in all.
    pub amount: i64,
    /// Stripe's latest refund (`re_…`) once Stripe has all of `amount`; absent while the
    /// newest part is being retried.
    pub stripe_refund_id: Option<String>,
}

/// The transfer of a booking's earnings to its provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferInfo {
    /// Stripe's transfer (`tr_…`); none when nothing was owed (a 100 % commission).
    pub stripe_transfer_id: Option<String>,
    /// Minor units the provider keeps: the price less the commission (less what a refund
    /// after release took back).
    pub amount: i64,
    /// The provider's Stripe account it went to.
    pub account_id: String,
    /// Taken back from the provider (a dispute).
    #[serde(default)]
    pub reversed: bool,
}

/// Where a dispute is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// The card issuer is deciding: the money is frozen (a done release is reversed).
    Open,
    /// The platform kept the money: it is released again.
    Won,
    /// The customer got the money back through their card issuer.
    Lost,
}

/// A dispute of the booking's payment, opened by the customer with their card issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisputeInfo {
    /// Stripe's dispute (`dp_…`).
    pub id: String,
    /// Minor units disputed.
    pub amount: i64,
    /// Where it is.
    pub status: DisputeStatus,
    /// The reversal of the provider's transfer (`trr_…`), once made.
    pub reversal_id: Option<String>,
}

/// A card saved to be charged later (a booked slot far ahead): Stripe's Customer and
/// SetupIntent, the card once saved, and the times of its charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedCard {
    /// The customer's Stripe Customer (`cus_…`).
    pub customer: String,
    /// The SetupIntent that saves the card (`seti_…`).
    pub setup_intent_id: String,
    /// The saved card (`pm_…`), once the customer confirmed the setup.
    pub payment_method: Option<String>,
    /// When the card is charged (48 h before the start).
    pub charge_at: DateTime<Utc>,
    /// Until when a failed charge may be paid by the customer (24 h before the start).
    pub pay_by: DateTime<Utc>,
    /// When the charge succeeded.
    pub charged_at: Option<DateTime<Utc>>,
}

/// Where a booking's money is, as both parties see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Waiting for the customer's payment.
    Pending,
    /// The card is saved and is charged 48 h before the start (`card.chargeAt`).
    Scheduled,
    /// The last payment attempt failed; the booking can still be paid.
    Failed,
    /// Never paid (expired or cancelled before payment).
    Unpaid,
    /// Paid and held by the platform until completion (also while a completed booking's
    /// provider has not finished Stripe's onboarding).
    Held,
    /// Transferred to the provider.
    Released,
    /// Part of the payment went back to the customer.
    PartiallyRefunded,
    /// All of it went back.
    Refunded,
    /// The customer disputes the payment with their card issuer: frozen until decided.
    Disputed,
    /// Nothing to pay (a premium customer's follow-up).
    Free,
}

/// A booking: one transaction between a customer and a provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Id (also its chat room's id).
    pub id: BookingId,
    /// Where it comes from.
    pub source: Source,
    /// The offer bought (offer purchases).
    pub offer_id: Option<OfferId>,
    /// The job whose accepted application it is (job bookings).
    #[serde(default)]
    pub job_id: Option<JobId>,
    /// The chat room it continues, when it did not open its own: a job booking's is the
    /// accepted application's thread, a follow-up's its parent's, so the talk before and
    /// after is one history.
    #[serde(default)]
    pub thread_id: Option<RoomId>,
    /// What makes it a follow-up (its parent and the customer's question).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    /// The upsell recommendation it was bought through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsell: Option<UpsellRef>,
    /// When it takes place (a booked slot).
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// When its payment was authorized, to be captured on acceptance (a request to book),
    /// or its card saved (a request far ahead): from then on the provider sees it and
    /// answers it.
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
    /// The card saved to be charged shortly before the start, for a slot booked more than
    /// six days ahead (instead of an authorization, which would lapse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<SavedCard>,
    /// The buyer.
    pub customer_id: UserId,
    /// The seller, assigned once paid.
    pub provider_id: UserId,
    /// The offer's title when bought.
    pub title: String,
    /// The offer's category when bought.
    pub category: String,
    /// What the customer pays.
    pub price: Money,
    /// The platform's commission on this booking, in basis points.
    pub commission_basis_points: u32,
    /// Where it is in its life.
    pub state: BookingState,
    /// The chat room of its two parties, once paid: the booking's own (same id as the
    /// booking), or the thread it continues (`threadId`).
    pub room_id: Option<RoomId>,
    /// Stripe's PaymentIntent (`pi_…`).
    pub payment_intent_id: Option<String>,
    /// Why the last payment attempt failed, while the booking is still payable.
    pub payment_error: Option<String>,
    /// What went back to the customer (a cancellation's refund, an admin's refunds).
    pub refund: Option<RefundInfo>,
    /// A cancellation after payment settled what it did not refund as earned (commission
    /// and the provider's share), as a completion does.
    #[serde(default)]
    pub settled: bool,
    /// The idempotency keys of the admins' refunds so far: a retried request refunds nothing
    /// twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refund_keys: Vec<String>,
    /// The charge the payment made (`ch_…`): a release's `source_transaction`.
    #[serde(default)]
    pub charge_id: Option<String>,
    /// The release of the earnings to the provider, once done.
    #[serde(default)]
    pub transfer: Option<TransferInfo>,
    /// A dispute of the payment.
    #[serde(default)]
    pub dispute: Option<DisputeInfo>,
    /// Proof-of-work images of the delivery.
    pub proof_file_ids: Vec<FileId>,
    /// What the provider wrote on delivery.
    pub delivery_note: Option<String>,
    /// The session's summary, once the provider wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Its pending timer.
    pub timer: Option<Timer>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it completed: its parties' review window opens then (bookings completed before
    /// this was recorded read their last change instead, see [`Booking::completed_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; each write is conditioned on the version read.
    pub version: u32,
}

/// When a booked slot takes place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC).
    pub end: DateTime<Utc>,
    /// The provider's time zone when booked.
    pub time_zone: TimeZone,
    /// The slot's price multiplier when booked (its price is the booking's).
    pub multiplier: f64,
    /// Minutes kept free after it, as the provider's plan said when booked.
    pub buffer_minutes: u32,
}

impl Schedule {
    /// The timer that follows `fired` while the accepted session has not started: the
    /// reminder is followed by the provider's nudge, the nudge by support's alert (after the
    /// admins' delay), the alert by nothing.
    pub fn not_started_after(&self, fired: TimerKind, settings: &SessionSettings) -> Option<Timer> {
        match fired {
            TimerKind::SessionReminder => {
                Some(Timer::due(TimerKind::StartNudge, self.start + NUDGE_AFTER))
            }
            TimerKind::StartNudge => Some(Timer::due(
                TimerKind::SupportAlert,
                self.start + settings.support_alert_after(),
            )),
            _ => None,
        }
    }
}

impl Booking {
    /// A purchase of `offer` by `customer` at `now`: waiting for payment, with the payment
    /// window's timer and the platform's default commission.
    pub fn for_offer(
        offer: Offer,
        customer: UserId,
        commission_basis_points: u32,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            offer_id: Some(offer.id),
            ..Self::unpaid(
                Source::Offer,
                customer,
                offer.provider_id,
                (offer.title, offer.category, offer.price),
                commission_basis_points,
                now,
            )
        }
    }

    /// The booking the poster of `job` makes by accepting `application` at `now`: the quote's
    /// price, the job's title and category, waiting for payment like a purchase, continuing
    /// the application's chat thread.
    pub fn for_application(
        job: &Job,
        application: &Application,
        commission_basis_points: u32,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            job_id: Some(job.id),
            thread_id: Some(application.room_id),
            ..Self::unpaid(
                Source::JobApplication,
                job.poster_id,
                application.provider_id,
                (
                    job.title.clone(),
                    job.category.clone(),
                    application.price.clone(),
                ),
                commission_basis_points,
                now,
            )
        }
    }

    /// The follow-up its parent's customer opens at `now`: the parent's provider, category
    /// and thread, at `price`. A free one (a premium customer's) is accepted at once, with
    /// the parent's room and no payment to wait for; a paid one waits for its payment like
    /// a purchase.
    pub fn for_follow_up(
        parent: &Booking,
        follow_up: FollowUp,
        price: &Money,
        commission_basis_points: u32,
        now: DateTime<Utc>,
    ) -> Self {
        let booking = Self {
            thread_id: Some(parent.room()),
            ..Self::unpaid(
                Source::FollowUp,
                parent.customer_id,
                parent.provider_id,
                (
                    // A follow-up of a follow-up keeps its title rather than stacking them.
                    match parent.source {
                        Source::FollowUp => parent.title.clone(),
                        _ => format!("Follow-up: {}", parent.title),
                    },
                    parent.category.clone(),
                    price.clone(),
                ),
                commission_basis_points,
                now,
            )
        };
        if follow_up.free {
            return Self {
                state: BookingState::Accepted,
                room_id: Some(parent.room()),
                timer: None,
                follow_up: Some(follow_up),
                ..booking
            };
        }
        Self {
            follow_up: Some(follow_up),
            ..booking
        }
    }

    /// A request by `customer` to book `slot` of `offer` (a plan in `time_zone` with
    /// `buffer_minutes`) at `now`: waiting for the card's authorization, at the slot's price.
    pub fn for_slot(
        offer: Offer,
        customer: UserId,
        slot: &Slot,
        (time_zone, buffer_minutes): (TimeZone, u32),
        commission_basis_points: u32,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            offer_id: Some(offer.id),
            schedule: Some(Schedule {
                start: slot.start,
                end: slot.end,
                time_zone,
                multiplier: slot.multiplier,
                buffer_minutes,
            }),
            ..Self::unpaid(
                Source::Slot,
                customer,
                offer.provider_id,
                (offer.title, offer.category, slot.price.clone()),
                commission_basis_points,
                now,
            )
        }
    }

    /// A new booking waiting for payment: what (title, category, price) `customer` buys of
    /// `provider`, with the payment window's timer.
    fn unpaid(
        source: Source,
        customer: UserId,
        provider: UserId,
        (title, category, price): (String, String, Money),
        commission_basis_points: u32,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: BookingId::at(now),
            source,
            offer_id: None,
            job_id: None,
            thread_id: None,
            follow_up: None,
            upsell: None,
            schedule: None,
            authorized_at: None,
            card: None,
            customer_id: customer,
            provider_id: provider,
            title,
            category,
            price,
            commission_basis_points,
            state: BookingState::PendingPayment,
            room_id: None,
            payment_intent_id: None,
            payment_error: None,
            refund: None,
            settled: false,
            refund_keys: Vec::new(),
            charge_id: None,
            transfer: None,
            dispute: None,
            proof_file_ids: Vec::new(),
            delivery_note: None,
            summary: None,
            cancel_reason: None,
            timer: Some(Timer::due(TimerKind::PaymentExpiry, now + PAYMENT_WINDOW)),
            created_at: now,
            completed_at: None,
            updated_at: now,
            version: 1,
        }
    }

    /// When it completed, once it has (a booking completed before completion times were
    /// recorded counts from its last change): its review and follow-up windows start then.
    pub fn completion(&self) -> Option<DateTime<Utc>> {
        (self.state == BookingState::Completed)
            .then(|| self.completed_at.unwrap_or(self.updated_at))
    }

    /// What a checkout with a client's key bought, as the key's retries must name it again:
    /// the parent of a follow-up, the offer otherwise.
    pub fn checkout_of(&self) -> Option<String> {
        match &self.follow_up {
            Some(f) => Some(f.parent_id.to_string()),
            None => self.offer_id.map(|o| o.to_string()),
        }
    }

    /// Which side `user` is on, if any.
    pub fn role_of(&self, user: &UserId) -> Option<PartyRole> {
        if *user == self.customer_id {
            Some(PartyRole::Customer)
        } else if *user == self.provider_id {
            Some(PartyRole::Provider)
        } else {
            None
        }
    }

    /// The two parties.
    pub fn parties(&self) -> [UserId; 2] {
        [self.customer_id, self.provider_id]
    }

    /// The room of a paid booking: the thread it continues, or the one its payment opens
    /// with the booking's id (found without a lookup).
    pub fn room(&self) -> RoomId {
        self.thread_id.unwrap_or_else(|| self.id.into())
    }

    /// Whether it was paid (the payment's transaction gives it its room), or accepted on a
    /// saved card to be charged later (the acceptance gives it its room).
    pub fn paid(&self) -> bool {
        self.room_id.is_some()
    }

    /// Whether its payment saves the card now and charges it later: a booked slot that
    /// starts more than [`SAVE_CARD_AFTER`] after the request.
    pub fn saves_card(&self) -> bool {
        self.schedule
            .as_ref()
            .is_some_and(|s| s.start - self.created_at > SAVE_CARD_AFTER)
    }

    /// Whether its saved card is still to be charged (an accepted session far ahead, or one
    /// whose charge failed).
    pub fn awaiting_charge(&self) -> bool {
        self.card.as_ref().is_some_and(|c| c.charged_at.is_none())
    }

    /// Whether the customer's money was taken: a payment captured (an accepted booking),
    /// unless it waits for its saved card's charge.
    pub fn captured(&self) -> bool {
        !matches!(
            self.state,
            BookingState::PendingPayment | BookingState::Requested
        ) && !self.awaiting_charge()
    }

    /// Whether the provider is one of its parties: once it is paid, or its payment is
    /// authorized (a request they answer). An unpaid checkout is the customer's alone.
    pub fn provider_party(&self) -> bool {
        self.paid() || self.authorized_at.is_some()
    }

    /// The provider's time it holds — from its start to its end plus the buffer — while it
    /// may still take place (or took place): none once declined, expired, cancelled or never
    /// paid.
    pub fn holds(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let schedule = self.schedule.as_ref()?;
        let released = matches!(
            self.state,
            BookingState::Declined
                | BookingState::Expired
                | BookingState::PaymentExpired
                | BookingState::CancelledByCustomer
                | BookingState::CancelledByProvider
                | BookingState::CancelledByOperator
        );
        let buffer = Duration::minutes(i64::from(schedule.buffer_minutes));
        (!released).then_some((schedule.start, schedule.end + buffer))
    }

    /// Whether the provider has (and keeps) the earnings.
    pub fn released(&self) -> bool {
        self.transfer.as_ref().is_some_and(|t| !t.reversed)
    }

    /// Whether a dispute holds the money back (open, or lost).
    pub fn disputed(&self) -> bool {
        self.dispute
            .as_ref()
            .is_some_and(|d| d.status != DisputeStatus::Won)
    }

    /// The commission and what the provider earns on the whole price, at the rate written on
    /// the booking.
    pub fn split(&self) -> (i64, i64) {
        split(self.price.amount, self.commission_basis_points)
    }

    /// Minor units refunded so far.
    pub fn refunded(&self) -> i64 {
        self.refund.as_ref().map_or(0, |r| r.amount)
    }

    /// What the booking earned and keeps: the price less what went back, once completed or
    /// settled by a cancellation after payment; nothing otherwise.
    pub fn earned(&self) -> i64 {
        if self.state == BookingState::Completed || self.settled {
            (self.price.amount - self.refunded()).max(0)
        } else {
            0
        }
    }

    /// The commission and the provider's earning on what the booking earned.
    pub fn earned_split(&self) -> (i64, i64) {
        split(self.earned(), self.commission_basis_points)
    }

    /// Whether earnings are still to go to the provider: something earned, not transferred
    /// (or transferred and taken back by a dispute since won), and no dispute holding the
    /// money.
    pub fn release_due(&self) -> bool {
        self.earned() > 0 && !self.released() && !self.disputed()
    }

    /// Where its money is. A paid booking has its room (the payment's transaction opens it);
    /// a refund or a transfer says where the money went since.
    pub fn payment_state(&self) -> PaymentState {
        if self.price.amount == 0 {
            return PaymentState::Free;
        }
        match &self.dispute {
            Some(d) if d.status == DisputeStatus::Open => return PaymentState::Disputed,
            Some(d) if d.status == DisputeStatus::Lost => {
                return if d.amount >= self.price.amount {
                    PaymentState::Refunded
                } else {
                    PaymentState::PartiallyRefunded
                };
            }
            _ => {}
        }
        if let Some(refund) = &self.refund {
            return if refund.amount >= self.price.amount {
                PaymentState::Refunded
            } else if refund.amount > 0 {
                PaymentState::PartiallyRefunded
            } else {
                PaymentState::Held
            };
        }
        if self.awaiting_charge() {
            // Nothing was taken yet.
            return if self.state.is_final() {
                PaymentState::Unpaid
            } else if self.payment_error.is_some() {
                PaymentState::Failed
            } else if self.authorized_at.is_some() {
                PaymentState::Scheduled
            } else {
                PaymentState::Pending
            };
        }
        if self.released() {
            PaymentState::Released
        } else if self.room_id.is_some() || self.state == BookingState::Requested {
            // Captured, or authorized on the card while the provider answers.
            PaymentState::Held
        } else if self.state != BookingState::PendingPayment {
            PaymentState::Unpaid
        } else if self.payment_error.is_some() {
            PaymentState::Failed
        } else {
            PaymentState::Pending
        }
    }

    /// A scheduled session's first reminder.
    pub fn reminder(&self) -> Option<Timer> {
        self.schedule
            .as_ref()
            .map(|s| Timer::due(TimerKind::SessionReminder, s.start - REMINDER_BEFORE))
    }

    /// The booking after `event` by `actor` at `now`: the next state (or the `Conflict` of
    /// [`next`]), the version moved on and the timer the new state needs.
    pub fn moved(&self, event: Event, actor: Actor, now: DateTime<Utc>) -> Result<Self, Error> {
        let state = next(self.state, self.source, event, actor)?;
        let timer = match state {
            BookingState::PendingPayment => self.timer,
            BookingState::Delivered => Some(Timer::due(
                TimerKind::AutoComplete,
                now + AUTO_COMPLETE_AFTER,
            )),
            BookingState::Completed => Some(Timer::due(TimerKind::Release, now)),
            // A saved card is charged first.
            BookingState::Accepted if self.awaiting_charge() => self
                .card
                .as_ref()
                .map(|c| Timer::due(TimerKind::SavedCardCharge, c.charge_at)),
            // A scheduled session: reminded before its start (then nudged, then support
            // alerted while it does not start), delivered by itself once its end has passed.
            BookingState::Accepted => self.reminder(),
            BookingState::InProgress => self
                .schedule
                .as_ref()
                .map(|s| Timer::due(TimerKind::SessionEnd, s.end + SESSION_END_GRACE)),
            // The provider answers before the authorization lapses and before the start.
            // A saved card's request is answered before its charge is due, so a refused
            // charge leaves the customer the whole day to pay.
            BookingState::Requested => {
                let deadline = now + REQUEST_WINDOW;
                let due = self
                    .schedule
                    .as_ref()
                    .map_or(deadline, |s| s.start.min(deadline));
                let due = self.card.as_ref().map_or(due, |c| due.min(c.charge_at));
                Some(Timer::due(TimerKind::RequestExpiry, due))
            }
            _ => None,
        };
        let completed_at = match state {
            BookingState::Completed => Some(now),
            _ => self.completed_at,
        };
        Ok(Self {
            state,
            timer,
            completed_at,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        })
    }
}

/// A booking of a 45.00 EUR plumbing offer bought at `at`, for the tests of the rules and of
/// the services.
#[cfg(test)]
pub(crate) fn sample(at: DateTime<Utc>) -> Booking {
    let offer = Offer {
        id: OfferId::at(at),
        provider_id: UserId::new(),
        title: "Fix a tap".into(),
        description: "Parts included.".into(),
        category: "plumbing".into(),
        price: Money {
            amount: 4_500,
            currency: "eur".into(),
        },
        duration_minutes: 60,
        image_file_ids: Vec::new(),
        status: crate::offers::model::OfferStatus::Active,
        created_at: at,
        updated_at: at,
    };
    Booking::for_offer(offer, UserId::new(), DEFAULT_COMMISSION_BASIS_POINTS, at)
}

/// A booking as the API shows it: the stored booking and where its money is.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    /// The booking.
    #[serde(flatten)]
    pub booking: Booking,
    /// Where its money is.
    pub payment_state: PaymentState,
}

impl From<Booking> for BookingView {
    fn from(booking: Booking) -> Self {
        Self {
            payment_state: booking.payment_state(),
            booking,
        }
    }
}

/// `POST /offers/{id}/purchase`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The client's key for this purchase (1–64 letters, digits, `-` or `_`): retrying with
    /// the same key returns the same booking and payment instead of buying twice.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "checkout-7f3a")]
    pub idempotency_key: String,
}

impl PurchaseRequest {
    /// The checked key.
    pub fn key(&self) -> Result<&str, Error> {
        idempotency_key(&self.idempotency_key)
    }
}

/// A client's idempotency key (`idempotencyKey`): 1–64 letters, digits, `-` or `_`.
pub fn idempotency_key(key: &str) -> Result<&str, Error> {
    let ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(key)
    } else {
        Err(Error::field(
            "idempotencyKey",
            "1–64 letters, digits, '-' or '_'",
        ))
    }
}

/// `POST /bookings/{id}/deliver`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliverRequest {
    /// Up to 10 of the provider's ready `proof_of_work` images; the booking's parties may
    /// download them.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub proof_file_ids: Vec<FileId>,
    /// What was done: up to 2,000 characters, not blank, no control characters but new lines
    /// and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 2000
    )]
    pub note: Option<String>,
}

/// A text of the summary: up to 4,000 characters, not blank, no control characters but new
/// lines and tabs.
const SUMMARY_TEXT: usize = 4000;

/// `POST /bookings/{id}/summary` (the provider): what the session found and what comes next.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryRequest {
    /// What the provider found: 1–4,000 characters, not blank, no control characters but new
    /// lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 4000
    )]
    pub findings: String,
    /// What was done (as `findings`).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 4000
    )]
    pub steps_taken: Option<String>,
    /// Parts needed (as `findings`).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 4000
    )]
    pub parts_needed: Option<String>,
    /// What the customer should do next (as `findings`).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 4000
    )]
    pub next_steps: Option<String>,
    /// Up to 10 of the provider's ready `proof_of_work` images; the booking's parties may
    /// download them.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub photo_file_ids: Vec<FileId>,
}

impl SummaryRequest {
    /// The summary it describes, written at `now` (its photos checked by the caller).
    pub fn summary(self, now: DateTime<Utc>) -> Result<Summary, Error> {
        let optional = |raw: Option<String>, field| {
            raw.map(|r| crate::offers::model::text(&r, field, 1, SUMMARY_TEXT))
                .transpose()
        };
        let mut photo_file_ids = self.photo_file_ids;
        photo_file_ids.sort();
        photo_file_ids.dedup();
        if photo_file_ids.len() > 10 {
            return Err(Error::field("photoFileIds", "at most 10 files"));
        }
        Ok(Summary {
            findings: crate::offers::model::text(&self.findings, "findings", 1, SUMMARY_TEXT)?,
            steps_taken: optional(self.steps_taken, "stepsTaken")?,
            parts_needed: optional(self.parts_needed, "partsNeeded")?,
            next_steps: optional(self.next_steps, "nextSteps")?,
            photo_file_ids,
            submitted_at: now,
            viewed_at: None,
        })
    }
}

/// A session's summary, kept with its booking: both parties read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// What the provider found.
    pub findings: String,
    /// What was done.
    pub steps_taken: Option<String>,
    /// Parts needed.
    pub parts_needed: Option<String>,
    /// What comes next.
    pub next_steps: Option<String>,
    /// Photos (the provider's `proof_of_work` files, shared with the booking's parties).
    pub photo_file_ids: Vec<FileId>,
    /// When the provider submitted it.
    pub submitted_at: DateTime<Utc>,
    /// When the customer first opened it (`GET /bookings/{id}/summary`).
    pub viewed_at: Option<DateTime<Utc>>,
}

/// `POST /bookings/{id}/refund` (admins): money back to the customer after completion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundRequest {
    /// The admin client's key for this refund (1–64 letters, digits, `-` or `_`): retrying
    /// with the same key refunds nothing twice.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "refund-2b91")]
    pub idempotency_key: String,
    /// Minor units to give back, at most what the booking still keeps (`earned`); all of it
    /// when absent.
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    /// Why (1–500 characters, as a cancellation's reason): both parties are told.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// `POST /bookings/{id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (1–500 characters, not blank, no control characters but new lines and tabs): both
    /// parties are told.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// `POST /bookings/{id}/decline`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclineRequest {
    /// Why, for the customer (1–500 characters, not blank, no control characters but new
    /// lines and tabs).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 500
    )]
    pub reason: Option<String>,
}

impl DeclineRequest {
    /// The checked reason, trimmed.
    pub fn reason(&self) -> Result<Option<String>, Error> {
        self.reason
            .as_deref()
            .map(|r| crate::offers::model::text(r, "reason", 1, 500))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Actor::*;
    use BookingState as S;
    use Event as E;

    const ALL: [S; 12] = [
        S::PendingPayment,
        S::Requested,
        S::Accepted,
        S::Declined,
        S::Expired,
        S::PaymentExpired,
        S::InProgress,
        S::Delivered,
        S::Completed,
        S::CancelledByCustomer,
        S::CancelledByProvider,
        S::CancelledByOperator,
    ];

    #[test]
    fn an_offer_purchase_runs_from_payment_to_completion() {
        let mut state = S::PendingPayment;
        for (event, actor, want) in [
            (E::PaymentFailed, System, S::PendingPayment),
            (E::PaymentSucceeded, System, S::Accepted),
            (E::Start, Provider, S::InProgress),
            (E::Deliver, Provider, S::Delivered),
            (E::Confirm, Customer, S::Completed),
        ] {
            state = next(state, Source::Offer, event, actor).unwrap();
            assert_eq!(state, want, "{event}");
        }
    }

    #[test]
    fn request_to_book_waits_for_the_provider_and_expires_without_an_answer() {
        let requested = next(
            S::PendingPayment,
            Source::Slot,
            E::PaymentAuthorized,
            System,
        );
        assert_eq!(requested.unwrap(), S::Requested);
        assert_eq!(
            next(S::Requested, Source::Slot, E::Accept, Provider).unwrap(),
            S::Accepted
        );
        assert_eq!(
            next(S::Requested, Source::Slot, E::Decline, Provider).unwrap(),
            S::Declined
        );
        let expired = next(S::Requested, Source::Slot, E::RequestTimerExpired, System);
        assert_eq!(expired.unwrap(), S::Expired);
        // An instant source is never merely authorized, a request is never captured at once.
        assert!(
            next(
                S::PendingPayment,
                Source::Offer,
                E::PaymentAuthorized,
                System
            )
            .is_err()
        );
        assert!(next(S::PendingPayment, Source::Slot, E::PaymentSucceeded, System).is_err());
    }

    #[test]
    fn only_the_right_party_moves_each_step() {
        assert!(next(S::Accepted, Source::Offer, E::Start, Customer).is_err());
        assert!(next(S::InProgress, Source::Offer, E::Deliver, Customer).is_err());
        assert!(next(S::Delivered, Source::Offer, E::Confirm, Provider).is_err());
        assert!(next(S::Requested, Source::Slot, E::Accept, Customer).is_err());
        assert!(
            next(
                S::PendingPayment,
                Source::Offer,
                E::PaymentSucceeded,
                Customer
            )
            .is_err()
        );
        assert!(next(S::Delivered, Source::Offer, E::AutoComplete, Customer).is_err());
    }

    #[test]
    fn finished_bookings_never_move_and_the_error_names_the_state() {
        let events = [
            E::PaymentSucceeded,
            E::PaymentAuthorized,
            E::PaymentCanceled,
            E::PaymentTimerExpired,
            E::Accept,
            E::Decline,
            E::Start,
            E::Deliver,
            E::Confirm,
            E::AutoComplete,
            E::Cancel,
        ];
        let finished = [
            S::Declined,
            S::Expired,
            S::PaymentExpired,
            S::Completed,
            S::CancelledByCustomer,
            S::CancelledByProvider,
            S::CancelledByOperator,
        ];
        for state in finished {
            for event in events {
                for actor in [Customer, Provider, Operator, System] {
                    let err = next(state, Source::Offer, event, actor).unwrap_err();
                    assert_eq!(err.status(), 409);
                    assert!(err.to_string().contains(&state.to_string()), "{err}");
                }
            }
        }
        // And they are exactly the ones that say so (a job follows its booking by it).
        for state in ALL {
            assert_eq!(state.is_final(), finished.contains(&state), "{state}");
        }
    }

    #[test]
    fn cancelling_is_named_after_who_cancels() {
        for state in [S::Requested, S::Accepted, S::InProgress] {
            let by = |actor| next(state, Source::Slot, E::Cancel, actor).unwrap();
            assert_eq!(by(Customer), S::CancelledByCustomer);
            assert_eq!(by(Provider), S::CancelledByProvider);
            assert_eq!(by(Operator), S::CancelledByOperator);
        }
        // Delivered work can only be cancelled by an operator (a dispute's outcome).
        assert!(next(S::Delivered, Source::Offer, E::Cancel, Customer).is_err());
        assert!(next(S::Delivered, Source::Offer, E::Cancel, Provider).is_err());
    }

    #[test]
    fn the_refund_follows_the_cancellation_policy() {
        let start: DateTime<Utc> = "2026-06-10T10:00:00Z".parse().unwrap();
        let at = |hours_before: i64| start - Duration::hours(hours_before);
        assert_eq!(
            refund(4501, S::Accepted, Some(start), Customer, at(25)),
            4501
        );
        assert_eq!(
            refund(4501, S::Accepted, Some(start), Customer, at(23)),
            2250
        );
        assert_eq!(refund(4501, S::Accepted, Some(start), Customer, at(-1)), 0);
        assert_eq!(refund(4501, S::InProgress, None, Customer, at(0)), 0);
        assert_eq!(refund(4501, S::Accepted, None, Customer, at(0)), 4501);
        for by in [Provider, Operator] {
            assert_eq!(refund(4501, S::InProgress, Some(start), by, at(-5)), 4501);
        }
    }

    #[test]
    fn commission_rounds_half_up_and_the_parts_add_up_to_the_price() {
        assert_eq!(split(10_000, 1_500), (1_500, 8_500));
        assert_eq!(split(4_501, 1_000), (450, 4_051));
        assert_eq!(split(4_505, 1_000), (451, 4_054));
        assert_eq!(split(100, 0), (0, 100));
        for price in [100, 101, 999, 4_501, 10_000_000] {
            for bps in [0, 1, 250, 1_000, 1_999, 10_000] {
                let (commission, earning) = split(price, bps);
                assert_eq!(commission + earning, price);
                assert!(commission >= 0 && earning >= 0);
            }
        }
    }

    /// A refund after completion (in parts, after the release): every account ends where a
    /// booking of the remaining price would be, and refunding everything leaves nothing with
    /// the provider, the platform or the commission.
    #[test]
    fn refunds_after_completion_leave_the_split_of_what_remains() {
        let sum = amount_of;
        for (price, bps) in [(4_501, 1_000), (10_000, 1_500), (101, 9_999)] {
            let (_, earning) = split(price, bps);
            let mut ledger = charge_entries(price);
            ledger.extend(completion_entries(price, bps));
            ledger.extend(release_entries(earning));
            let mut earned = price;
            for part in [price / 3, price / 3, price - 2 * (price / 3)] {
                let step = refund_earned_entries(earned, earned - part, bps);
                assert_eq!(step.iter().map(|e| e.amount).sum::<i64>(), 0);
                ledger.extend(step);
                // The provider's transfer is trimmed to their share of what remains.
                let (commission_left, earning_left) = split(earned - part, bps);
                let transferred = sum(&ledger, Account::Provider);
                ledger.extend(reversal_entries(transferred - earning_left));
                earned -= part;
                assert_eq!(sum(&ledger, Account::Commission), commission_left);
                assert_eq!(sum(&ledger, Account::Provider), earning_left);
                assert_eq!(sum(&ledger, Account::ProviderPayable), 0);
                assert_eq!(sum(&ledger, Account::Customer), -earned);
            }
            // All of it went back: the customer is whole and nobody keeps anything.
            assert_eq!(sum(&ledger, Account::Customer), 0);
            assert_eq!(sum(&ledger, Account::Platform), 0);
        }
        let mut booking = booking(S::Completed);
        assert_eq!(booking.earned(), booking.price.amount);
        booking.refund = Some(RefundInfo {
            amount: 1_000,
            stripe_refund_id: None,
        });
        assert_eq!(booking.earned(), booking.price.amount - 1_000);
        booking.state = S::CancelledByCustomer;
        assert_eq!(booking.earned(), 0, "a cancellation that settled nothing");
        booking.settled = true;
        assert_eq!(booking.earned(), booking.price.amount - 1_000);
        assert!(booking.release_due());
    }

    #[test]
    fn every_step_of_the_ledger_sums_to_zero_and_never_pays_out_more_than_came_in() {
        let start: DateTime<Utc> = "2026-06-10T10:00:00Z".parse().unwrap();
        for price in [100, 4_501, 10_000_000] {
            for hours in [48, 12, -1] {
                let now = start - Duration::hours(hours);
                let back = refund(price, S::Accepted, Some(start), Customer, now);
                let mut ledger = charge_entries(price);
                ledger.extend(refund_entries(back));
                assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), 0);
                assert!(back <= price);
            }
            let mut ledger = charge_entries(price);
            ledger.extend(completion_entries(price, 1_250));
            assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), 0);
            let paid_out: i64 = ledger
                .iter()
                .filter(|e| e.account == Account::ProviderPayable)
                .map(|e| e.amount)
                .sum();
            assert!(paid_out <= price);
        }
        // Every state prints as the API writes it.
        for state in ALL {
            assert!(!state.to_string().is_empty());
        }
    }

    fn booking(state: S) -> Booking {
        Booking {
            state,
            version: 4,
            ..sample("2026-06-10T10:00:00Z".parse().unwrap())
        }
    }

    #[test]
    fn a_move_bumps_the_version_and_sets_the_timer_its_new_state_needs() {
        let now: DateTime<Utc> = "2026-06-11T08:00:00Z".parse().unwrap();
        let failed = booking(S::PendingPayment)
            .moved(E::PaymentFailed, System, now)
            .unwrap();
        assert_eq!(
            failed.timer,
            booking(S::PendingPayment).timer,
            "still payable: same expiry"
        );
        assert_eq!(failed.version, 5);
        let accepted = booking(S::PendingPayment)
            .moved(E::PaymentSucceeded, System, now)
            .unwrap();
        assert_eq!((accepted.state, accepted.timer), (S::Accepted, None));
        let delivered = booking(S::InProgress)
            .moved(E::Deliver, Provider, now)
            .unwrap();
        assert_eq!(
            delivered.timer,
            Some(Timer::due(
                TimerKind::AutoComplete,
                now + AUTO_COMPLETE_AFTER
            ))
        );
        assert_eq!(delivered.updated_at, now);
        let err = booking(S::Accepted)
            .moved(E::Confirm, Customer, now)
            .unwrap_err();
        assert!(err.to_string().contains("accepted"), "{err}");
    }

    #[test]
    fn a_booking_knows_its_parties_and_its_room_has_its_id() {
        let b = booking(S::Accepted);
        assert_eq!(b.role_of(&b.customer_id), Some(PartyRole::Customer));
        assert_eq!(b.role_of(&b.provider_id), Some(PartyRole::Provider));
        assert_eq!(b.role_of(&UserId::new()), None);
        assert_eq!(b.room().to_string(), b.id.to_string());
    }

    #[test]
    fn the_support_alert_comes_after_the_nudge_within_four_hours() {
        let at: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let set = |minutes| {
            SessionSettingsRequest {
                support_alert_after_minutes: minutes,
            }
            .settings(at)
        };
        for refused in [0, 3, 241] {
            let err = set(refused).unwrap_err();
            assert!(
                matches!(&err, Error::Validation { field: Some(f), .. } if f == "supportAlertAfterMinutes"),
                "{err:?}"
            );
        }
        for ok in [4, 15, 240] {
            assert_eq!(set(ok).unwrap().support_alert_after_minutes, ok);
        }
        let schedule = Schedule {
            start: at,
            end: at + Duration::hours(1),
            time_zone: crate::domain::TimeZone::parse("Europe/Berlin", "tz").unwrap(),
            multiplier: 1.0,
            buffer_minutes: 0,
        };
        let alert = |settings: &SessionSettings| {
            schedule
                .not_started_after(TimerKind::StartNudge, settings)
                .map(|t| (t.kind, t.due_at))
        };
        assert_eq!(
            alert(&SessionSettings::default()),
            Some((TimerKind::SupportAlert, at + Duration::minutes(15)))
        );
        assert_eq!(
            alert(&set(40).unwrap()),
            Some((TimerKind::SupportAlert, at + Duration::minutes(40)))
        );
    }

    #[test]
    fn a_saved_card_request_is_answered_before_its_charge_is_due() {
        let at: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let start = at + Duration::days(6) + Duration::hours(1);
        let booking = Booking {
            schedule: Some(Schedule {
                start,
                end: start + Duration::hours(1),
                time_zone: crate::domain::TimeZone::parse("Europe/Berlin", "tz").unwrap(),
                multiplier: 1.0,
                buffer_minutes: 0,
            }),
            card: Some(SavedCard {
                customer: "cus_1".into(),
                setup_intent_id: "seti_1".into(),
                payment_method: None,
                charge_at: start - CHARGE_BEFORE,
                pay_by: start - PAY_BY_BEFORE,
                charged_at: None,
            }),
            source: Source::Slot,
            ..sample(at)
        };
        assert!(booking.saves_card());
        let requested = booking.moved(E::PaymentAuthorized, System, at).unwrap();
        assert_eq!(
            requested.timer.map(|t| (t.kind, t.due_at)),
            Some((TimerKind::RequestExpiry, start - CHARGE_BEFORE))
        );
    }

    #[test]
    fn purchase_keys_are_short_plain_tokens() {
        let key = |k: &str| {
            PurchaseRequest {
                idempotency_key: k.into(),
            }
            .key()
            .map(str::to_owned)
        };
        assert_eq!(key("checkout-7f3a_1").unwrap(), "checkout-7f3a_1");
        for bad in ["", "with space", "ümlaut", &"k".repeat(65), "a#b"] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
    }
}
