//! Identifiers. Our own ids are ULIDs: sortable by creation time, so a `begins_with` query over
//! them pages in creation order, and unguessable enough for URLs. Connection ids are API
//! Gateway's, validated only for shape so they can be used in keys safely.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::Error;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

        impl $name {
            /// A fresh id.
            pub fn new() -> Self {
                Self(Ulid::generate())
            }

            /// A fresh id stamped with the given instant (for records made at another time).
            pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
                Self(Ulid::from_datetime(at.into()))
            }

            /// The smallest id of the given instant: ids created before it sort below.
            pub fn floor_at(at: chrono::DateTime<chrono::Utc>) -> Self {
                Self(Ulid::from_parts(at.timestamp_millis().max(0) as u64, 0))
            }

            /// Parses a client-supplied id; `field` names it in the error.
            pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
                Ulid::from_str(raw)
                    .map(Self)
                    .map_err(|_| Error::field(field, concat!("not a valid ", $what, " id")))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                ulid_schema(concat!("A ", $what, " id: a ULID."))
            }
        }

        impl utoipa::ToSchema for $name {}

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

/// What a ULID looks like on the wire: 26 Crockford base-32 characters whose first is at most
/// `7` (larger values overflow 128 bits and are refused). The document states it so clients and
/// fuzzers send well-formed ids; the server also reads lowercase.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";

fn ulid_schema(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(ULID_PATTERN))
        .description(Some(description))
        .examples([serde_json::json!("01JD0000000000000000000001")])
        .into()
}

ulid_id!(
    /// A user (customer, provider or admin).
    UserId,
    "user"
);
ulid_id!(
    /// A signed-in device: one refresh-token family.
    SessionId,
    "session"
);
ulid_id!(
    /// An uploaded file.
    FileId,
    "file"
);
ulid_id!(
    /// An in-app notification.
    NotificationId,
    "notification"
);
ulid_id!(
    /// A chat room.
    RoomId,
    "room"
);
ulid_id!(
    /// A chat message; ids sort in sending order, so history pages by key.
    MessageId,
    "message"
);

ulid_id!(
    /// A provider's offer; ids sort by creation, so listings page newest first by key.
    OfferId,
    "offer"
);
ulid_id!(
    /// A customer's job; ids sort by creation, so listings page newest first by key.
    JobId,
    "job"
);
ulid_id!(
    /// A booking; ids sort by creation, so a user's bookings page newest first by key. A
    /// booking's chat room has the same id.
    BookingId,
    "booking"
);

/// A booking's chat room has the booking's id: it is found without a lookup.
impl From<BookingId> for RoomId {
    fn from(id: BookingId) -> Self {
        Self(id.0)
    }
}

/// An API Gateway WebSocket connection id (e.g. `L0SM9cOFvHcCIhw=`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Accepts the gateway's id alphabet only, so an id can never smuggle a key separator.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=_-+/".contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::BadRequest("malformed connection id".into()))
        }
    }

    /// The id as the gateway knows it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string(), "id").unwrap(), id);
    }

    #[test]
    fn a_malformed_id_is_a_validation_error_on_its_field() {
        let err = SessionId::parse("nope", "sessionId").unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "sessionId"));
    }

    #[test]
    fn connection_ids_reject_key_separators() {
        assert!(ConnectionId::parse("L0SM9cOFvHcCIhw=").is_ok());
        assert!(ConnectionId::parse("a#b").is_err());
        assert!(ConnectionId::parse("").is_err());
    }
}
