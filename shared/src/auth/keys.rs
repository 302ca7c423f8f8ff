//! Keys of sign-in codes and refresh sessions. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::{Email, SessionId, UserId};
use crate::keys::{Key, key};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["OTP#", "SESSION#"];

/// The pending sign-in code of an address.
pub fn otp(email: &Email) -> Key {
    key(format!("OTP#{email}"), "OTP")
}

/// A session (refresh-token family).
pub fn session(id: &SessionId) -> Key {
    key(format!("SESSION#{id}"), "SESSION")
}

/// `GSI1` keys listing a user's sessions in creation order.
pub fn session_by_user(user: &UserId, id: &SessionId) -> Key {
    key(format!("USER#{user}"), format!("{SESSION_PREFIX}{id}"))
}

/// `GSI1SK` prefix of a user's sessions.
pub const SESSION_PREFIX: &str = "SESSION#";

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const SESSION: &str = "01JD0000000000000000000002";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
    }

    #[test]
    fn email_and_code_keys_are_pinned() {
        let email = Email::parse("Ana@Example.com", "email").unwrap();
        assert_eq!(
            crate::me::keys::email_claim(&email),
            Key {
                pk: "EMAIL#ana@example.com".into(),
                sk: "EMAIL".into()
            }
        );
        assert_eq!(
            otp(&email),
            Key {
                pk: "OTP#ana@example.com".into(),
                sk: "OTP".into()
            }
        );
    }

    #[test]
    fn session_keys_are_pinned() {
        let id = SessionId::parse(SESSION, "id").unwrap();
        assert_eq!(
            session(&id),
            Key {
                pk: format!("SESSION#{SESSION}"),
                sk: "SESSION".into()
            }
        );
        assert_eq!(
            session_by_user(&user_id(), &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("SESSION#{SESSION}")
            }
        );
    }
}
