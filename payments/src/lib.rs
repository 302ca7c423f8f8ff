//! Stripe for the marketplace, through async-stripe (the maintained successor of stripe-rust),
//! in its own crate so nothing else recompiles for it. A narrow adapter: the calls the booking
//! and payout flows make, with our own inputs and outputs, so services depend on this shape
//! and tests can point it at the Stripe-compatible test server (`base_url`).
//!
//! Every call is built and sent with async-stripe's request machinery — its request builder,
//! idempotency keys, retry strategy, `Stripe-Account` override and pinned API version — over
//! our transport (`transport.rs`: async-stripe's own client would link Stripe's largest
//! objects through its error type). Stripe's answers are read into small types of our own
//! rather than async-stripe's generated request groups: one way for every call
//! (PaymentIntents as Connect), no generated crate per group of Stripe's API to compile, and
//! only the fields the flows read are declared, so a field Stripe adds or reshapes never
//! breaks a call.

pub mod cards;
pub mod connect;
mod transport;
pub mod webhook;

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stripe_client_core::{
    AccountId, IdempotencyKey, RequestBuilder, RequestStrategy, StripeMethod,
};

pub use crate::transport::SecretKey;
use crate::transport::{Failure, Transport};

/// What can go wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Our request was refused (bad parameters, reused idempotency key…).
    #[error("Stripe refused the request: {0}")]
    Refused(String),
    /// Stripe could not be reached or answered something unreadable.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// The card was declined (Stripe's `402`): not our request's fault, and a retry with the
    /// same card fails the same way.
    #[error("the card was declined: {0}")]
    Declined(String),
}

/// A payment to create.
#[derive(Clone, Debug)]
pub struct NewPayment<'a> {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: &'a str,
    /// Authorize now, capture later (request to book); otherwise capture on confirmation.
    pub manual_capture: bool,
    /// Groups the charge with its later transfers (the booking id).
    pub transfer_group: &'a str,
    /// Facts Stripe keeps with the payment (the booking id, at least).
    pub metadata: HashMap<String, String>,
    /// The same key creates the same payment once (a retried purchase).
    pub idempotency_key: &'a str,
}

/// A PaymentIntent, as the booking flows read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// `pi_…`.
    pub id: String,
    /// Stripe's status (`requires_payment_method`, `succeeded`, …).
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Minor units received.
    pub amount_received: i64,
    /// For the client to confirm the payment.
    pub client_secret: Option<String>,
    /// The booking it pays for.
    pub transfer_group: Option<String>,
    /// Metadata as stored by Stripe.
    pub metadata: HashMap<String, String>,
    /// Why the last attempt failed (a decline's message), if it did.
    pub last_error: Option<String>,
    /// The charge of the latest attempt (`ch_…`): a succeeded payment's funds, which a
    /// transfer names as its `source_transaction`.
    pub latest_charge: Option<String>,
}

/// A PaymentIntent as Stripe sends it (the fields read).
#[derive(Deserialize)]
struct IntentWire {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    amount_received: i64,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    transfer_group: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    last_payment_error: Option<LastError>,
    /// An id, or the charge itself when expanded.
    #[serde(default)]
    latest_charge: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct LastError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

impl LastError {
    /// What to tell: the message, else the decline code, else the code.
    fn text(self) -> Option<String> {
        self.message.or(self.decline_code).or(self.code)
    }
}

impl From<IntentWire> for Payment {
    fn from(intent: IntentWire) -> Self {
        let latest_charge = intent.latest_charge.and_then(|c| match c {
            serde_json::Value::String(id) => Some(id),
            other => other.get("id")?.as_str().map(str::to_owned),
        });
        Self {
            id: intent.id,
            status: intent.status,
            amount: intent.amount,
            currency: intent.currency,
            amount_received: intent.amount_received,
            client_secret: intent.client_secret,
            transfer_group: intent.transfer_group,
            metadata: intent.metadata,
            last_error: intent.last_payment_error.and_then(LastError::text),
            latest_charge,
        }
    }
}

/// A refund of a PaymentIntent, as a retry reads it before asking for another.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RefundRecord {
    /// `re_…`.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
    #[serde(default)]
    pub status: String,
}

impl RefundRecord {
    /// Whether it moves (or moved) money back: anything but failed or canceled.
    pub fn counts(&self) -> bool {
        !matches!(self.status.as_str(), "failed" | "canceled")
    }
}

/// Stripe through its HTTP API (cheap to clone: the connection pool is shared).
#[derive(Clone)]
pub struct StripePayments {
    transport: Transport,
}

fn unavailable(err: impl std::fmt::Display) -> PaymentError {
    PaymentError::Unavailable(err.to_string())
}

fn idempotent(key: &str) -> Result<RequestStrategy, PaymentError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|err| PaymentError::Refused(format!("idempotency key: {err:?}")))
}

/// Stripe's form encoding (nested parameters as `metadata[booking_id]=…`).
fn form(params: &impl Serialize) -> Result<String, PaymentError> {
    serde_qs::to_string(params).map_err(|err| PaymentError::Refused(format!("parameters: {err}")))
}

/// `data` of a Stripe list.
#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

/// One call.
struct Call<'a> {
    method: StripeMethod,
    path: String,
    form: Option<String>,
    query: Option<String>,
    key: Option<&'a str>,
    /// On a connected account (`Stripe-Account`), not the platform's.
    account: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn get(path: impl Into<String>) -> Self {
        Self {
            method: StripeMethod::Get,
            path: path.into(),
            form: None,
            query: None,
            key: None,
            account: None,
        }
    }

    fn post(path: impl Into<String>, params: &impl Serialize) -> Result<Self, PaymentError> {
        Ok(Self {
            method: StripeMethod::Post,
            form: Some(form(params)?),
            ..Self::get(path)
        })
    }

    fn query(self, params: &impl Serialize) -> Result<Self, PaymentError> {
        Ok(Self {
            query: Some(form(params)?),
            ..self
        })
    }

    fn key(self, key: &'a str) -> Self {
        Self {
            key: Some(key),
            ..self
        }
    }

    fn on(self, account: &'a str) -> Self {
        Self {
            account: Some(account),
            ..self
        }
    }
}

#[derive(Serialize)]
struct NewIntent<'a> {
    amount: i64,
    currency: &'a str,
    capture_method: &'static str,
    transfer_group: &'a str,
    metadata: &'a HashMap<String, String>,
}

#[derive(Serialize)]
struct NewRefund<'a> {
    payment_intent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<i64>,
}

#[derive(Serialize)]
struct RefundsQuery<'a> {
    payment_intent: &'a str,
    limit: u32,
}

#[derive(Serialize)]
struct NoParams {}

impl StripePayments {
    /// A client with the secret key; `base_url` points it elsewhere than api.stripe.com (the
    /// test server).
    pub fn new(secret_key: &str, base_url: Option<&str>) -> Result<Self, PaymentError> {
        Ok(Self {
            transport: Transport::new(secret_key, base_url).map_err(classify)?,
        })
    }

    /// A client that asks `key` for the secret key at each call (a key still being read when
    /// the client is built).
    pub fn with_key(
        key: std::sync::Arc<dyn SecretKey>,
        base_url: Option<&str>,
    ) -> Result<Self, PaymentError> {
        Ok(Self {
            transport: Transport::with_key(key, base_url).map_err(classify)?,
        })
    }

    /// Sends one call through async-stripe's request machinery and reads the answer into `T`.
    async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, PaymentError> {
        let mut builder = RequestBuilder::new(call.method, call.path);
        builder.body = call.form;
        builder.query = call.query;
        let mut request = builder.customize::<miniserde::json::Value>();
        if let Some(key) = call.key {
            request = request.request_strategy(idempotent(key)?);
        }
        if let Some(account) = call.account {
            request = request.account_id(AccountId::from(account));
        }
        let value = request.send(&self.transport).await.map_err(classify)?;
        serde_json::from_str(&miniserde::json::to_string(&value)).map_err(unavailable)
    }

    /// Creates a PaymentIntent (idempotently).
    pub async fn create_payment(&self, new: &NewPayment<'_>) -> Result<Payment, PaymentError> {
        let ok = new.currency.len() == 3 && new.currency.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            return Err(PaymentError::Refused(format!("currency {}", new.currency)));
        }
        let params = NewIntent {
            amount: new.amount,
            currency: new.currency,
            capture_method: if new.manual_capture {
                "manual"
            } else {
                "automatic"
            },
            transfer_group: new.transfer_group,
            metadata: &new.metadata,
        };
        let call = Call::post("/payment_intents", &params)?.key(new.idempotency_key);
        Ok(self.call::<IntentWire>(call).await?.into())
    }

    /// Reads a PaymentIntent again (webhooks re-read rather than trust event order).
    pub async fn payment(&self, id: &str) -> Result<Payment, PaymentError> {
        let call = Call::get(format!("/payment_intents/{id}"));
        Ok(self.call::<IntentWire>(call).await?.into())
    }

    /// Cancels a payment that has not succeeded (an expired booking), so a late confirmation
    /// cannot charge the customer.
    pub async fn cancel_payment(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let call =
            Call::post(format!("/payment_intents/{id}/cancel"), &NoParams {})?.key(idempotency_key);
        Ok(self.call::<IntentWire>(call).await?.into())
    }

    /// Captures an authorized payment (a request to book the provider accepted), idempotently.
    pub async fn capture_payment(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let call = Call::post(format!("/payment_intents/{id}/capture"), &NoParams {})?
            .key(idempotency_key);
        Ok(self.call::<IntentWire>(call).await?.into())
    }

    /// Refunds `amount` (all of it when `None`) of a payment; returns the refund's id.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        let params = NewRefund {
            payment_intent,
            amount,
        };
        let call = Call::post("/refunds", &params)?.key(idempotency_key);
        Ok(self.call::<RefundRecord>(call).await?.id)
    }

    /// The refunds of a PaymentIntent (the 100 newest: a booking asks for one or two).
    pub async fn refunds(&self, payment_intent: &str) -> Result<Vec<RefundRecord>, PaymentError> {
        let query = RefundsQuery {
            payment_intent,
            limit: 100,
        };
        let call = Call::get("/refunds").query(&query)?;
        Ok(self.call::<List<RefundRecord>>(call).await?.data)
    }
}

/// What Stripe refused is a refusal; what may pass on a retry (a 409 for a request still in
/// flight under the same idempotency key, 429, 5xx, no answer) is unavailability. Only the
/// error's code and message are kept (the transport reads no more): Stripe's error object can
/// carry the whole PaymentIntent, client secret included, which must never reach a log.
fn classify(err: Failure) -> PaymentError {
    match err {
        Failure::Api {
            status,
            code,
            message,
        } => {
            let what = format!("{status} {code}: {message}");
            if status == 409 || status == 429 || status >= 500 {
                PaymentError::Unavailable(what)
            } else if status == 402 {
                PaymentError::Declined(what)
            } else {
                PaymentError::Refused(what)
            }
        }
        Failure::Transport(cause) => PaymentError::Unavailable(cause),
    }
}
