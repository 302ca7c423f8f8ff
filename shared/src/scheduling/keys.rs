//! Keys of availability plans. Built here and nowhere else, from typed ids; the tests pin
//! every string (changing one is a data migration, not a refactor).

use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &["AVAILABILITY", "BUSY#", "CELL#"];

/// `SK` prefix of the cells of a provider's held time.
pub const CELL_PREFIX: &str = "CELL#";

/// The partition of a provider's held time.
pub fn busy_partition(provider: &UserId) -> String {
    format!("BUSY#{provider}")
}

/// One quarter hour of a provider's time a booking holds (UTC, sortable): one item per cell,
/// so two bookings of the same time cannot both be written (the key is the rule).
pub fn busy_cell(provider: &UserId, at: DateTime<Utc>) -> Key {
    key(busy_partition(provider), cell_sort_key(at))
}

/// The sort key of the cell starting at `at` (also a range bound of the slot query).
pub fn cell_sort_key(at: DateTime<Utc>) -> String {
    format!("{CELL_PREFIX}{}", at.format("%Y-%m-%dT%H:%MZ"))
}

/// A provider's availability plan, in their partition (one per provider: the key is the rule).
pub fn availability(provider: &UserId) -> Key {
    key(user_partition(provider), "AVAILABILITY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_keys_are_pinned() {
        let user = UserId::parse("01JD0000000000000000000001", "u").unwrap();
        assert_eq!(
            availability(&user),
            Key {
                pk: "USER#01JD0000000000000000000001".into(),
                sk: "AVAILABILITY".into()
            }
        );
        let at = "2027-03-28T07:15:00Z".parse().unwrap();
        assert_eq!(
            busy_cell(&user, at),
            Key {
                pk: "BUSY#01JD0000000000000000000001".into(),
                sk: "CELL#2027-03-28T07:15Z".into()
            }
        );
    }
}
