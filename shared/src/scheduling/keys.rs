//! Keys of availability plans. Built here and nowhere else, from typed ids; the tests pin
//! every string (changing one is a data migration, not a refactor).

use crate::domain::UserId;
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &["AVAILABILITY"];

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
    }
}
