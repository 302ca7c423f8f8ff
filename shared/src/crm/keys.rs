//! Keys of the interaction log, the funnel's day counters and the upsell recommendations.
//! Built here and nowhere else, from typed ids; the tests pin every string (changing one is a
//! data migration, not a refactor).

use chrono::{DateTime, NaiveDate, Utc};

use super::model::{Stage, UpsellKind};
use crate::domain::{BookingId, UserId, wire_name};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &[CRM_PREFIX, FUNNEL_PREFIX, "DAY#", UPSELL_PREFIX];

const CRM_PREFIX: &str = "CRM#";
const FUNNEL_PREFIX: &str = "FUNNEL#";
/// `SK` prefix of a customer's upsells in their partition.
pub const UPSELL_PREFIX: &str = "UPSELL#";
/// The funnel rows of every category together.
const ALL: &str = "*";

/// `PK` (and `GSI1PK`) of a customer's interaction log.
pub fn log_partition(customer: &UserId) -> String {
    format!("{CRM_PREFIX}{customer}")
}

/// An interaction: one per customer, stage and subject (the key is the rule), with `GSI1`
/// keys in time order (`GSI1SK` = `{ms:015}#{stage}#{subject}`) so the log reads newest first.
pub fn interaction(
    customer: &UserId,
    stage: Stage,
    subject: &str,
    at: DateTime<Utc>,
) -> (Key, Key) {
    let stage = wire_name(&stage);
    (
        key(log_partition(customer), format!("{stage}#{subject}")),
        key(
            log_partition(customer),
            format!("{:015}#{stage}#{subject}", at.timestamp_millis().max(0)),
        ),
    )
}

/// `PK` of the funnel rows of `category` (`None`: every category).
pub fn funnel_partition(category: Option<&str>) -> String {
    format!("{FUNNEL_PREFIX}{}", category.unwrap_or(ALL))
}

/// The counters of `category` (`None`: every category) on `day`.
pub fn funnel_day(category: Option<&str>, day: NaiveDate) -> Key {
    key(funnel_partition(category), funnel_sort(day))
}

/// `SK` of a funnel row: the day, so a range is one query.
pub fn funnel_sort(day: NaiveDate) -> String {
    format!("DAY#{}", day.format("%Y-%m-%d"))
}

/// An upsell recommendation, in its customer's partition: one per completed booking and
/// kind, in booking order (booking ids sort by time).
pub fn upsell(customer: &UserId, booking: &BookingId, kind: UpsellKind) -> Key {
    key(
        user_partition(customer),
        format!("{UPSELL_PREFIX}{booking}#{}", wire_name(&kind)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const BOOKING: &str = "01JD0000000000000000000009";

    #[test]
    fn crm_keys_are_pinned() {
        let user = UserId::parse(USER, "u").unwrap();
        let booking = BookingId::parse(BOOKING, "b").unwrap();
        let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let (item, time) = interaction(&user, Stage::SessionBooked, BOOKING, at);
        assert_eq!(
            item,
            Key {
                pk: format!("CRM#{USER}"),
                sk: format!("session_booked#{BOOKING}"),
            }
        );
        assert_eq!(
            time,
            Key {
                pk: format!("CRM#{USER}"),
                sk: format!("001700000000000#session_booked#{BOOKING}"),
            }
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            funnel_day(Some("home"), day),
            Key {
                pk: "FUNNEL#home".into(),
                sk: "DAY#2026-12-07".into(),
            }
        );
        assert_eq!(funnel_day(None, day).pk, "FUNNEL#*");
        assert_eq!(
            upsell(&user, &booking, UpsellKind::MaintenancePlan),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("UPSELL#{BOOKING}#maintenance_plan"),
            }
        );
    }
}
