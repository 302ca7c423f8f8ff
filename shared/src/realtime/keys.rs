//! Keys of WebSocket connections. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use crate::domain::{ConnectionId, UserId};
use crate::keys::{Key, key};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["CONN#"];

/// An open WebSocket connection.
pub fn connection(id: &ConnectionId) -> Key {
    key(format!("CONN#{id}"), "CONN")
}

/// `GSI1` keys listing a user's open connections.
pub fn connection_by_user(user: &UserId, id: &ConnectionId) -> Key {
    key(format!("USER#{user}"), format!("{CONNECTION_PREFIX}{id}"))
}

/// `GSI1SK` prefix of a user's connections.
pub const CONNECTION_PREFIX: &str = "CONN#";

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
    }

    #[test]
    fn rate_and_connection_keys_are_pinned() {
        assert_eq!(
            crate::keys::rate_window("otp-email", "ana@example.com", 1_700_000_000),
            Key {
                pk: "RATE#otp-email#ana@example.com".into(),
                sk: "WINDOW#1700000000".into()
            }
        );
        let conn = ConnectionId::parse("L0SM9cOFvHcCIhw=").unwrap();
        assert_eq!(
            connection(&conn),
            Key {
                pk: "CONN#L0SM9cOFvHcCIhw=".into(),
                sk: "CONN".into()
            }
        );
        assert_eq!(
            connection_by_user(&user_id(), &conn),
            Key {
                pk: format!("USER#{USER}"),
                sk: "CONN#L0SM9cOFvHcCIhw=".into()
            }
        );
    }
}
