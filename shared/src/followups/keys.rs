//! Keys of the follow-up settings, the customers' premium flags and the premium upgrades they
//! buy. Built here and nowhere else; the tests pin every string (changing one is a data
//! migration, not a refactor).

use crate::domain::UserId;
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &[FOLLOW_UP_SETTINGS, PREMIUM, UPGRADE];

const FOLLOW_UP_SETTINGS: &str = "FOLLOW_UP_SETTINGS";
const PREMIUM: &str = "PREMIUM";
const UPGRADE: &str = "UPGRADE#";

/// The admins' follow-up settings (one item).
pub fn settings() -> Key {
    key(FOLLOW_UP_SETTINGS.to_owned(), FOLLOW_UP_SETTINGS)
}

/// A customer's premium flag, in their partition.
pub fn premium(user: &UserId) -> Key {
    key(user_partition(user), PREMIUM)
}

/// A premium upgrade a customer bought under their `client_key`, in their partition: the key's
/// claim and the upgrade are one item, so a retry with the same key finds it.
pub fn upgrade(user: &UserId, client_key: &str) -> Key {
    key(user_partition(user), format!("{UPGRADE}{client_key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_string_is_pinned() {
        let user = UserId::parse("01JD0000000000000000000001", "id").unwrap();
        let pinned = |k: Key| (k.pk, k.sk);
        assert_eq!(
            pinned(settings()),
            ("FOLLOW_UP_SETTINGS".into(), "FOLLOW_UP_SETTINGS".into())
        );
        assert_eq!(
            pinned(premium(&user)),
            ("USER#01JD0000000000000000000001".into(), "PREMIUM".into())
        );
        assert_eq!(
            pinned(upgrade(&user, "gold-1")),
            (
                "USER#01JD0000000000000000000001".into(),
                "UPGRADE#gold-1".into()
            )
        );
    }
}
