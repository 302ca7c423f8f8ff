//! Opaque pagination cursors. A cursor is the store's "last evaluated key" plus the scope of
//! the query it came from (e.g. `sessions:{user}`), serialized and signed with a key derived
//! from the deployment's secret. Clients cannot read or forge one: a tampered cursor, or one
//! replayed against another user's list, fails verification and is a 400, never a 500 and never
//! somebody else's data.

use std::collections::BTreeMap;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::Error;

/// Signs and verifies cursors.
#[derive(Clone)]
pub struct CursorCodec {
    key: hmac::Key,
}

/// A position in a list: the string attributes of the last key read.
pub type Position = BTreeMap<String, String>;

impl CursorCodec {
    /// A codec whose key is derived from `secret` (distinct from any other use of it).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: crate::auth::derive_key(secret, "cursor"),
        }
    }

    /// Encodes `position` for the query identified by `scope`.
    pub fn encode(&self, scope: &str, position: &Position) -> String {
        let payload = serde_json::to_vec(position).unwrap_or_default();
        let tag = hmac::sign(&self.key, &signed_bytes(scope, &payload));
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Decodes a client-supplied cursor for the query identified by `scope`.
    pub fn decode(&self, scope: &str, cursor: &str) -> Result<Position, Error> {
        let invalid = || Error::field("cursor", "invalid or expired cursor");
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        hmac::verify(&self.key, &signed_bytes(scope, &payload), &tag).map_err(|_| invalid())?;
        serde_json::from_slice(&payload).map_err(|_| invalid())
    }
}

fn signed_bytes(scope: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(scope.len() + 1 + payload.len());
    bytes.extend_from_slice(scope.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(payload);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        Position::from([
            ("PK".into(), "SESSION#1".into()),
            ("GSI1PK".into(), "USER#1".into()),
        ])
    }

    #[test]
    fn a_cursor_round_trips_within_its_scope() {
        let codec = CursorCodec::new(b"secret-secret-secret-secret-1234");
        let cursor = codec.encode("sessions:1", &position());
        assert_eq!(codec.decode("sessions:1", &cursor).unwrap(), position());
    }

    #[test]
    fn a_cursor_from_another_scope_is_refused() {
        let codec = CursorCodec::new(b"secret-secret-secret-secret-1234");
        let cursor = codec.encode("sessions:1", &position());
        assert_eq!(
            codec.decode("sessions:2", &cursor).unwrap_err().status(),
            400
        );
    }

    #[test]
    fn tampered_or_garbage_cursors_are_refused() {
        let codec = CursorCodec::new(b"secret-secret-secret-secret-1234");
        let cursor = codec.encode("s", &position());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"PK":"SESSION#2"}"#);
        for bad in [
            format!("{forged}.{tag}"),
            format!("{payload}.AAAA"),
            "x".into(),
            "".into(),
            "..".into(),
        ] {
            assert_eq!(codec.decode("s", &bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
