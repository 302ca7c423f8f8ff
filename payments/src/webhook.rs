//! Stripe's webhook signature (`Stripe-Signature: t=…,v1=…[,v1=…]`): an HMAC-SHA256 of
//! `"{t}.{payload}"` under the endpoint's signing secret, hex-encoded, accepted within a
//! tolerance of the signed time so a captured delivery cannot be replayed later. Checked here,
//! before anything is parsed or stored; the comparison is constant-time.

use aws_lc_rs::hmac;
use serde::Deserialize;

/// Stripe's default tolerance between the signed time and now, in seconds.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without a time and a `v1` signature.
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    /// No `v1` signature matches the payload under our secret.
    #[error("no signature matches the payload")]
    Mismatch,
    /// The signed time is outside the tolerance.
    #[error("the signature is too old or from the future")]
    Stale,
    /// The signed payload is not a Stripe event.
    #[error("the payload is not an event: {0}")]
    NotAnEvent(String),
}

/// The part of a Stripe event the webhook reads: which event, what kind, about which object.
/// Only the id and the type are required: events the webhook does not use carry every kind
/// of object (a `balance.available` object has no `id`), and a well-signed event must never
/// be refused for its shape, or Stripe retries it for days and may disable the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebhookEvent {
    /// `evt_…`: deliveries of the same event carry the same id.
    pub id: String,
    /// E.g. `payment_intent.succeeded`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The connected account it happened on (`acct_…`), for Connect events (payouts,
    /// account updates); absent for the platform's own.
    #[serde(default)]
    pub account: Option<String>,
    /// The object the event is about (only its id and metadata are read; the object itself
    /// is read again from Stripe rather than trusted in delivery order).
    #[serde(default)]
    pub data: EventData,
}

/// `data` of an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct EventData {
    /// The object as it was when the event happened, whatever its kind.
    #[serde(default)]
    pub object: serde_json::Value,
}

impl EventData {
    /// The object's id (`pi_…`, `ch_…`), when it has one.
    pub fn object_id(&self) -> Option<&str> {
        self.object.get("id")?.as_str()
    }

    /// One metadata value of the object (ours names the booking), when it has it.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.object.get("metadata")?.get(key)?.as_str()
    }
}

/// Checks `header` against `payload` signed with `secret` at `now` (Unix seconds) and parses
/// the event. Any `v1` entry may match (Stripe sends one per active secret while rolling).
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<WebhookEvent, SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut time = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => time = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let time = time.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{time}.").into_bytes();
    signed.extend_from_slice(payload);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|tag| hmac::verify(&key, &signed, &tag).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - time).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    serde_json::from_slice(payload).map_err(|err| SignatureError::NotAnEvent(err.to_string()))
}

/// The header Stripe would send for `payload` signed with `secret` at `time` (for tests and
/// the local tools).
pub fn sign(payload: &[u8], secret: &str, time: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{time}.").into_bytes();
    signed.extend_from_slice(payload);
    format!(
        "t={time},v1={}",
        hex::encode(hmac::sign(&key, &signed).as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const EVENT: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","metadata":{"booking_id":"b1"}}}}"#;

    #[test]
    fn a_fresh_signature_of_the_payload_is_accepted_and_parsed() {
        let header = sign(EVENT, SECRET, 1_000);
        let event = verify(EVENT, Some(&header), SECRET, 1_299).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.kind, "payment_intent.succeeded");
        assert_eq!(event.data.metadata("booking_id"), Some("b1"));
        assert_eq!(event.data.object_id(), Some("pi_1"));
    }

    #[test]
    fn any_well_signed_event_parses_whatever_its_object() {
        for payload in [
            br#"{"id":"evt_b","type":"balance.available","data":{"object":{"object":"balance","available":[]}}}"#.as_slice(),
            br#"{"id":"evt_c","type":"customer.updated","data":{"object":{"id":"cus_1","metadata":null}}}"#,
            br#"{"id":"evt_d","type":"x.y","data":{"object":{"id":7,"metadata":{"booking_id":1}}}}"#,
            br#"{"id":"evt_e","type":"x.y"}"#,
        ] {
            let header = sign(payload, SECRET, 1_000);
            let event = verify(payload, Some(&header), SECRET, 1_000).unwrap();
            assert_eq!(event.data.metadata("booking_id"), None);
        }
    }

    #[test]
    fn another_matching_v1_among_several_is_enough() {
        let good = sign(EVENT, SECRET, 1_000);
        let header = format!("t=1000,v1={},{}", "ab".repeat(32), &good[7..]);
        assert!(verify(EVENT, Some(&header), SECRET, 1_000).is_ok());
    }

    #[test]
    fn missing_forged_stale_and_tampered_deliveries_are_refused() {
        let header = sign(EVENT, SECRET, 1_000);
        assert_eq!(
            verify(EVENT, None, SECRET, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(EVENT, Some("v1=abc"), SECRET, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(EVENT, Some("t=1000"), SECRET, 1_000),
            Err(SignatureError::Malformed)
        );
        let forged = sign(EVENT, "whsec_other", 1_000);
        assert_eq!(
            verify(EVENT, Some(&forged), SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        let tampered =
            br#"{"id":"evt_2","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#;
        assert_eq!(
            verify(tampered, Some(&header), SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(EVENT, Some(&header), SECRET, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(EVENT, Some(&header), SECRET, 699),
            Err(SignatureError::Stale)
        );
    }
}
