//! Stripe for the marketplace, through async-stripe (the maintained successor of stripe-rust),
//! in its own crate so nothing else recompiles for its generated types. A narrow adapter: the
//! calls the booking flows make, with our own inputs and outputs, so services depend on this
//! shape and tests can point it at the Stripe-compatible test server (`base_url`).

pub mod connect;
pub mod webhook;

use std::collections::HashMap;
use std::str::FromStr;

use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund};
use stripe_core::{PaymentIntent, PaymentIntentCaptureMethod};

/// What can go wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Our request was refused (bad parameters, reused idempotency key…).
    #[error("Stripe refused the request: {0}")]
    Refused(String),
    /// Stripe could not be reached or answered something unreadable.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
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

/// A refund of a PaymentIntent, as a retry reads it before asking for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    /// `re_…`.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
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
    client: Client,
}

fn unavailable(err: impl std::fmt::Display) -> PaymentError {
    PaymentError::Unavailable(err.to_string())
}

fn idempotent(key: &str) -> Result<RequestStrategy, PaymentError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|err| PaymentError::Refused(format!("idempotency key: {err:?}")))
}

fn payment(intent: PaymentIntent) -> Payment {
    Payment {
        id: intent.id.to_string(),
        status: intent.status.as_str().to_owned(),
        amount: intent.amount,
        currency: intent.currency.to_string(),
        amount_received: intent.amount_received,
        client_secret: intent.client_secret,
        transfer_group: intent.transfer_group,
        metadata: intent.metadata,
        latest_charge: intent.latest_charge.map(|c| c.id().to_string()),
        last_error: intent.last_payment_error.and_then(|e| {
            e.message
                .or(e.decline_code)
                .or(e.code.map(|c| c.to_string()))
        }),
    }
}

impl StripePayments {
    /// A client with the secret key; `base_url` points it elsewhere than api.stripe.com (the
    /// test server).
    pub fn new(secret_key: &str, base_url: Option<&str>) -> Result<Self, PaymentError> {
        let mut builder = ClientBuilder::new(secret_key);
        if let Some(url) = base_url {
            builder = builder.url(url);
        }
        Ok(Self {
            client: builder.build().map_err(unavailable)?,
        })
    }

    /// Creates a PaymentIntent (idempotently).
    pub async fn create_payment(&self, new: &NewPayment<'_>) -> Result<Payment, PaymentError> {
        let currency = stripe_types::Currency::from_str(new.currency)
            .map_err(|_| PaymentError::Refused(format!("currency {}", new.currency)))?;
        let capture = if new.manual_capture {
            PaymentIntentCaptureMethod::Manual
        } else {
            PaymentIntentCaptureMethod::Automatic
        };
        let intent = CreatePaymentIntent::new(new.amount, currency)
            .capture_method(capture)
            .transfer_group(new.transfer_group)
            .metadata(new.metadata.clone())
            .customize()
            .request_strategy(idempotent(new.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(payment(intent))
    }

    /// Reads a PaymentIntent again (webhooks re-read rather than trust event order).
    pub async fn payment(&self, id: &str) -> Result<Payment, PaymentError> {
        let intent = RetrievePaymentIntent::new(id)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(payment(intent))
    }

    /// Cancels a payment that has not succeeded (an expired booking), so a late confirmation
    /// cannot charge the customer.
    pub async fn cancel_payment(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Payment, PaymentError> {
        let intent = CancelPaymentIntent::new(id)
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(payment(intent))
    }

    /// Refunds `amount` (all of it when `None`) of a payment; returns the refund's id.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        let mut request = CreateRefund::new().payment_intent(payment_intent);
        if let Some(amount) = amount {
            request = request.amount(amount);
        }
        let refund = request
            .customize()
            .request_strategy(idempotent(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(refund.id.to_string())
    }
}

/// What Stripe refused is a refusal; what may pass on a retry (a 409 for a request still in
/// flight under the same idempotency key, 429, 5xx, no answer) is unavailability. Only the
/// error's code and message are kept: Stripe's error object can carry the whole
/// PaymentIntent, client secret included, which must never reach a log.
impl StripePayments {
    /// The refunds of a PaymentIntent (the 100 newest: a booking asks for one or two).
    pub async fn refunds(&self, payment_intent: &str) -> Result<Vec<RefundRecord>, PaymentError> {
        let list = ListRefund::new()
            .payment_intent(payment_intent)
            .limit(100)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(list
            .data
            .into_iter()
            .map(|r| RefundRecord {
                id: r.id.to_string(),
                amount: r.amount,
                status: r.status.unwrap_or_default(),
            })
            .collect())
    }
}

fn classify(err: stripe::StripeError) -> PaymentError {
    match err {
        stripe::StripeError::Stripe(api, status) => {
            let code = api.code.map(|c| c.to_string()).unwrap_or_default();
            let what = format!(
                "{status} {code}: {}",
                api.message.as_deref().unwrap_or_default()
            );
            if status == 409 || status == 429 || status >= 500 {
                PaymentError::Unavailable(what)
            } else {
                PaymentError::Refused(what)
            }
        }
        other => unavailable(other),
    }
}
