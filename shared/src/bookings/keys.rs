//! Keys of bookings, their party rows, timers, ledger steps, purchase claims and processed
//! Stripe events. Built here and nowhere else, from typed ids; the tests pin every string
//! (changing one is a data migration, not a refactor).

use crate::domain::{BookingId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &[
    BOOKING_PREFIX,
    TIMERS,
    LEDGER_PREFIX,
    PURCHASE_PREFIX,
    "STRIPE_EVENT#",
    WAITING_PREFIX,
    OUTBOX_PREFIX,
    PAYMENT_CUSTOMER,
    SESSION_SETTINGS,
];

/// `PK` of a booking's partition and `SK` prefix of party rows.
pub const BOOKING_PREFIX: &str = "BOOKING#";
/// `GSI1PK` of bookings with a pending timer.
pub const TIMERS: &str = "BOOKING_TIMER";
/// `SK` prefix of a booking's ledger steps.
pub const LEDGER_PREFIX: &str = "LEDGER#";
const PURCHASE_PREFIX: &str = "PURCHASE#";
/// `SK` prefix of a provider's completed bookings whose release waits for their payout
/// account.
pub const WAITING_PREFIX: &str = "RELEASE_WAITING#";

/// A booking.
pub fn booking(id: &BookingId) -> Key {
    key(format!("{BOOKING_PREFIX}{id}"), "BOOKING")
}

/// A party's copy of a booking, in the party's partition: "my orders" and "my tasks" are one
/// query, newest first (ids are ULIDs). Rewritten in every transaction that changes the
/// booking, so its state, category and source can be filtered on.
pub fn party_row(user: &UserId, id: &BookingId) -> Key {
    key(user_partition(user), format!("{BOOKING_PREFIX}{id}"))
}

/// `GSI1` keys of a booking's pending timer, by due time: the sweep reads only what is due.
pub fn timer_due(due_ms: i64, id: &BookingId) -> Key {
    key(TIMERS.to_owned(), format!("{:015}#{id}", due_ms.max(0)))
}

/// One step of a booking's ledger (`charge`, `refund`, `completion`): written once, by the
/// transaction of the transition that implies it, under the booking version that transition
/// writes. The version makes steps that recur (partial refunds, their reversals) distinct,
/// and orders steps of the same instant as they happened. (Steps written before versions
/// were part of the key read the same: under `LEDGER#{step}`.)
pub fn ledger_step(id: &BookingId, version: u32, step: &str) -> Key {
    key(
        format!("{BOOKING_PREFIX}{id}"),
        format!("{LEDGER_PREFIX}{version:010}#{step}"),
    )
}

/// A buyer's purchase under their idempotency key: names the booking it created.
pub fn purchase(buyer: &UserId, idempotency_key: &str) -> Key {
    key(
        user_partition(buyer),
        format!("{PURCHASE_PREFIX}{idempotency_key}"),
    )
}

/// A completed booking whose release waits for its provider's payout account, in the
/// provider's partition: an `account.updated` that enables the account finds them in one
/// query.
pub fn waiting_release(provider: &UserId, id: &BookingId) -> Key {
    key(user_partition(provider), format!("{WAITING_PREFIX}{id}"))
}

/// `SK` prefix of a booking's outbox items.
const OUTBOX_PREFIX: &str = "OUTBOX#";

/// What the transition to `version` of a booking announces (one item per transition, sent
/// from the table's stream when inserted).
pub fn outbox(id: &BookingId, version: u32) -> Key {
    key(
        format!("{BOOKING_PREFIX}{id}"),
        format!("{OUTBOX_PREFIX}{version:010}"),
    )
}

const PAYMENT_CUSTOMER: &str = "PAYMENT_CUSTOMER";

/// A user's Stripe Customer (whose saved cards pay their bookings far ahead), in their
/// partition: one per user.
pub fn payment_customer(user: &UserId) -> Key {
    key(user_partition(user), PAYMENT_CUSTOMER)
}

const SESSION_SETTINGS: &str = "SESSION_SETTINGS";

/// The admins' session settings (one item).
pub fn session_settings() -> Key {
    key(SESSION_SETTINGS.to_owned(), SESSION_SETTINGS)
}

/// A Stripe event already applied (kept 35 days, beyond Stripe's 3 days of retries).
pub fn stripe_event(event_id: &str) -> Key {
    key(format!("STRIPE_EVENT#{event_id}"), "EVENT")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const BOOKING: &str = "01JD0000000000000000000009";

    #[test]
    fn booking_keys_are_pinned() {
        let user = UserId::parse(USER, "u").unwrap();
        let id = BookingId::parse(BOOKING, "b").unwrap();
        let pinned = [
            (
                booking(&id),
                format!("BOOKING#{BOOKING}"),
                "BOOKING".to_owned(),
            ),
            (
                party_row(&user, &id),
                format!("USER#{USER}"),
                format!("BOOKING#{BOOKING}"),
            ),
            (
                timer_due(1_700_000_000_000, &id),
                "BOOKING_TIMER".to_owned(),
                format!("001700000000000#{BOOKING}"),
            ),
            (
                ledger_step(&id, 7, "charge"),
                format!("BOOKING#{BOOKING}"),
                "LEDGER#0000000007#charge".to_owned(),
            ),
            (
                purchase(&user, "k-1"),
                format!("USER#{USER}"),
                "PURCHASE#k-1".to_owned(),
            ),
            (
                stripe_event("evt_1"),
                "STRIPE_EVENT#evt_1".to_owned(),
                "EVENT".to_owned(),
            ),
            (
                outbox(&id, 7),
                format!("BOOKING#{BOOKING}"),
                "OUTBOX#0000000007".to_owned(),
            ),
            (
                payment_customer(&user),
                format!("USER#{USER}"),
                "PAYMENT_CUSTOMER".to_owned(),
            ),
            (
                session_settings(),
                "SESSION_SETTINGS".to_owned(),
                "SESSION_SETTINGS".to_owned(),
            ),
            (
                waiting_release(&user, &id),
                format!("USER#{USER}"),
                format!("RELEASE_WAITING#{BOOKING}"),
            ),
        ];
        for (got, pk, sk) in pinned {
            assert_eq!(got, Key { pk, sk });
        }
    }
}
