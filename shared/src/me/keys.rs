//! Keys of user profiles and the one-user-per-address claims. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::{Email, UserId};
use crate::keys::{Key, key};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["PROFILE", "EMAIL#"];

/// A user's profile.
pub fn user(id: &UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}

/// The claim that an address belongs to one user.
pub fn email_claim(email: &Email) -> Key {
    key(format!("EMAIL#{email}"), "EMAIL")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
    }

    #[test]
    fn user_keys_are_pinned() {
        assert_eq!(
            user(&user_id()),
            Key {
                pk: format!("USER#{USER}"),
                sk: "PROFILE".into()
            }
        );
        assert_eq!(
            crate::keys::user_partition(&user_id()),
            format!("USER#{USER}")
        );
    }
}
