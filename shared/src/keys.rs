//! Every key string of the single table, built here and nowhere else, from typed ids. The
//! tests below pin the exact strings: changing one is a data migration, not a refactor.

use crate::domain::{ConnectionId, Email, FileId, SessionId, UserId};

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// Partition key of index `GSI1`.
pub const GSI1PK: &str = "GSI1PK";
/// Sort key of index `GSI1`.
pub const GSI1SK: &str = "GSI1SK";
/// Name of the index over `GSI1PK`/`GSI1SK`.
pub const GSI1: &str = "GSI1";
/// Attribute naming the entity of an item.
pub const ENTITY_TYPE: &str = "entity_type";
/// The table's TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";

/// A primary key (or an index key pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Partition part.
    pub pk: String,
    /// Sort part.
    pub sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

/// A user's profile.
pub fn user(id: &UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}

/// The claim that an address belongs to one user.
pub fn email_claim(email: &Email) -> Key {
    key(format!("EMAIL#{email}"), "EMAIL")
}

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

/// One fixed window of a rate limit.
pub fn rate_window(scope: &str, subject: &str, window_start: i64) -> Key {
    key(
        format!("RATE#{scope}#{subject}"),
        format!("WINDOW#{window_start}"),
    )
}

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

/// `GSI1PK` of everything listed per user.
pub fn user_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// A file's record.
pub fn file(id: &FileId) -> Key {
    key(format!("FILE#{id}"), "FILE")
}

/// `GSI1` keys of a file whose upload is not complete yet. The index is sparse: completing
/// the upload removes these attributes, so the cleanup job reads only stale pending uploads,
/// oldest first (file ids are time-ordered), never the table.
pub fn pending_upload(id: &FileId) -> Key {
    key(PENDING_UPLOADS.to_owned(), format!("{FILE_PREFIX}{id}"))
}

/// `GSI1PK` of pending uploads.
pub const PENDING_UPLOADS: &str = "UPLOADS#PENDING";
/// `GSI1SK` prefix of pending uploads.
pub const FILE_PREFIX: &str = "FILE#";

/// The S3 object key of a file: under its owner's prefix, named by the server.
pub fn object(owner: &UserId, id: &FileId) -> String {
    format!("uploads/{owner}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const SESSION: &str = "01JD0000000000000000000002";

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
        assert_eq!(user_partition(&user_id()), format!("USER#{USER}"));
    }

    #[test]
    fn email_and_code_keys_are_pinned() {
        let email = Email::parse("Ana@Example.com", "email").unwrap();
        assert_eq!(
            email_claim(&email),
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

    #[test]
    fn file_keys_are_pinned() {
        let file = FileId::parse("01JD0000000000000000000003", "id").unwrap();
        assert_eq!(
            super::file(&file),
            Key {
                pk: "FILE#01JD0000000000000000000003".into(),
                sk: "FILE".into()
            }
        );
        assert_eq!(
            pending_upload(&file),
            Key {
                pk: "UPLOADS#PENDING".into(),
                sk: "FILE#01JD0000000000000000000003".into()
            }
        );
        assert_eq!(
            object(&user_id(), &file),
            format!("uploads/{USER}/01JD0000000000000000000003")
        );
    }

    #[test]
    fn rate_and_connection_keys_are_pinned() {
        assert_eq!(
            rate_window("otp-email", "ana@example.com", 1_700_000_000),
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
