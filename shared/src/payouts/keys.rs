//! Keys of payout accounts, commission rates and the commission report. Built here and
//! nowhere else; the tests pin every string (changing one is a data migration).

use crate::domain::UserId;
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &[
    PAYOUT_ACCOUNT,
    COMMISSION_RATES,
    REPORT_PREFIX,
    PAYOUT_PREFIX,
    EARNINGS_PREFIX,
    WITHDRAWAL_PREFIX,
];

const PAYOUT_ACCOUNT: &str = "PAYOUT_ACCOUNT";
const COMMISSION_RATES: &str = "COMMISSION_RATES";
const REPORT_PREFIX: &str = "COMMISSION_REPORT#";
/// `SK` prefix of a provider's payouts.
pub const PAYOUT_PREFIX: &str = "PAYOUT#";
/// `SK` prefix of a provider's earnings lines.
pub const EARNINGS_PREFIX: &str = "EARNINGS#";
const WITHDRAWAL_PREFIX: &str = "WITHDRAWAL#";

/// A provider's Connect account record, in their partition (one per provider).
pub fn payout_account(provider: &UserId) -> Key {
    key(user_partition(provider), PAYOUT_ACCOUNT)
}

/// The platform's commission rates (one item).
pub fn commission_rates() -> Key {
    key(COMMISSION_RATES.to_owned(), COMMISSION_RATES)
}

/// The partition of one period's commission counters (`2026-12`): a period's report is one
/// query.
pub fn report_partition(period: &str) -> String {
    format!("{REPORT_PREFIX}{period}")
}

/// The counters of one category and currency in a period.
pub fn report_line(period: &str, category: &str, currency: &str) -> Key {
    key(report_partition(period), format!("{category}#{currency}"))
}

/// One payout of a provider, in their partition, by creation time: their payout history is
/// one query, newest first.
pub fn payout(provider: &UserId, created_secs: i64, payout_id: &str) -> Key {
    key(
        user_partition(provider),
        format!("{PAYOUT_PREFIX}{:012}#{payout_id}", created_secs.max(0)),
    )
}

/// A provider's withdrawal under their idempotency key: the payout it made, so a retry
/// answers it instead of asking Stripe for another.
pub fn withdrawal(provider: &UserId, idempotency_key: &str) -> Key {
    key(
        user_partition(provider),
        format!("{WITHDRAWAL_PREFIX}{idempotency_key}"),
    )
}

/// A provider's earnings counters of one period and currency, in their partition.
pub fn earnings_line(provider: &UserId, period: &str, currency: &str) -> Key {
    key(
        user_partition(provider),
        format!("{EARNINGS_PREFIX}{period}#{currency}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payout_keys_are_pinned() {
        let user = UserId::parse("01JD0000000000000000000001", "u").unwrap();
        let pinned = [
            (
                payout_account(&user),
                "USER#01JD0000000000000000000001",
                "PAYOUT_ACCOUNT",
            ),
            (commission_rates(), "COMMISSION_RATES", "COMMISSION_RATES"),
            (
                payout(&user, 1_700_000_000, "po_1"),
                "USER#01JD0000000000000000000001",
                "PAYOUT#001700000000#po_1",
            ),
            (
                withdrawal(&user, "w-1"),
                "USER#01JD0000000000000000000001",
                "WITHDRAWAL#w-1",
            ),
            (
                earnings_line(&user, "2026-12", "eur"),
                "USER#01JD0000000000000000000001",
                "EARNINGS#2026-12#eur",
            ),
            (
                report_line("2026-12", "plumbing", "eur"),
                "COMMISSION_REPORT#2026-12",
                "plumbing#eur",
            ),
        ];
        for (key, pk, sk) in pinned {
            assert_eq!((key.pk.as_str(), key.sk.as_str()), (pk, sk));
        }
    }
}
