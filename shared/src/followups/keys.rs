//! Keys of the follow-up settings and the customers' premium flags. Built here and nowhere
//! else; the tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::UserId;
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys; no other feature may use them (checked in
/// [`crate::keys`]).
pub const PREFIXES: &[&str] = &[FOLLOW_UP_SETTINGS, PREMIUM];

const FOLLOW_UP_SETTINGS: &str = "FOLLOW_UP_SETTINGS";
const PREMIUM: &str = "PREMIUM";

/// The admins' follow-up settings (one item).
pub fn settings() -> Key {
    key(FOLLOW_UP_SETTINGS.to_owned(), FOLLOW_UP_SETTINGS)
}

/// A customer's premium flag, in their partition.
pub fn premium(user: &UserId) -> Key {
    key(user_partition(user), PREMIUM)
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
    }
}
