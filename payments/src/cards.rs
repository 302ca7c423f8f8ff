//! Saved cards: a customer's Stripe Customer, the SetupIntent that saves their card for later
//! (`usage=off_session`), and the payment that charges it without them (`off_session`).
//!
//! Why: a card authorization lasts about seven days, so a booking that starts later saves the
//! card when it is requested and is charged by a timer shortly before its start. An
//! off-session charge the bank refuses (it wants the customer to authenticate, or declines)
//! is not an error of ours: it is answered as the PaymentIntent Stripe left waiting for the
//! customer, which the client can confirm on-session.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Call, IntentWire, Payment, PaymentError, StripePayments};

/// A SetupIntent, as the booking flows read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// `seti_…`.
    pub id: String,
    /// Stripe's status (`requires_payment_method`, `requires_action`, `succeeded`, …).
    pub status: String,
    /// For the client to confirm it (collect and save the card).
    pub client_secret: Option<String>,
    /// The Customer the card is saved to (`cus_…`).
    pub customer: Option<String>,
    /// The saved card (`pm_…`), once confirmed.
    pub payment_method: Option<String>,
    /// Metadata as stored by Stripe.
    pub metadata: HashMap<String, String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

#[derive(Deserialize)]
struct SetupWire {
    id: String,
    status: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    /// An id, or the payment method itself when expanded.
    #[serde(default)]
    payment_method: Option<serde_json::Value>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    last_setup_error: Option<crate::LastError>,
}

impl From<SetupWire> for Setup {
    fn from(wire: SetupWire) -> Self {
        Self {
            id: wire.id,
            status: wire.status,
            client_secret: wire.client_secret,
            customer: wire.customer,
            payment_method: wire.payment_method.and_then(|p| match p {
                serde_json::Value::String(id) => Some(id),
                other => other.get("id")?.as_str().map(str::to_owned),
            }),
            metadata: wire.metadata,
            last_error: wire.last_setup_error.and_then(crate::LastError::text),
        }
    }
}

/// A payment of a saved card, made without the customer.
#[derive(Clone, Debug)]
pub struct SavedCardPayment<'a> {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: &'a str,
    /// The card's Customer (`cus_…`).
    pub customer: &'a str,
    /// The saved card (`pm_…`).
    pub payment_method: &'a str,
    /// Groups the charge with its later transfers (the booking id).
    pub transfer_group: &'a str,
    /// Facts Stripe keeps with the payment (the booking id, at least).
    pub metadata: HashMap<String, String>,
    /// The same key creates the same payment once.
    pub idempotency_key: &'a str,
}

#[derive(Serialize)]
struct NewCustomer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    metadata: &'a HashMap<String, String>,
}

#[derive(Deserialize)]
struct CustomerWire {
    id: String,
}

#[derive(Serialize)]
struct NewSetup<'a> {
    customer: &'a str,
    usage: &'static str,
    metadata: &'a HashMap<String, String>,
}

#[derive(Serialize)]
struct NewSavedCardIntent<'a> {
    amount: i64,
    currency: &'a str,
    customer: &'a str,
    payment_method: &'a str,
    capture_method: &'static str,
    transfer_group: &'a str,
    metadata: &'a HashMap<String, String>,
}

#[derive(Serialize)]
struct OffSession {
    off_session: bool,
}

impl StripePayments {
    /// Creates a Customer (idempotently under `key`); its id.
    pub async fn create_customer(
        &self,
        email: Option<&str>,
        metadata: &HashMap<String, String>,
        key: &str,
    ) -> Result<String, PaymentError> {
        let call = Call::post("/customers", &NewCustomer { email, metadata })?.key(key);
        Ok(self.call::<CustomerWire>(call).await?.id)
    }

    /// Creates a SetupIntent that saves a card of `customer` for off-session payments
    /// (idempotently under `key`).
    pub async fn create_setup(
        &self,
        customer: &str,
        metadata: &HashMap<String, String>,
        key: &str,
    ) -> Result<Setup, PaymentError> {
        let params = NewSetup {
            customer,
            usage: "off_session",
            metadata,
        };
        let call = Call::post("/setup_intents", &params)?.key(key);
        Ok(self.call::<SetupWire>(call).await?.into())
    }

    /// Reads a SetupIntent again.
    pub async fn setup(&self, id: &str) -> Result<Setup, PaymentError> {
        let call = Call::get(format!("/setup_intents/{id}"));
        Ok(self.call::<SetupWire>(call).await?.into())
    }

    /// Creates the PaymentIntent of a saved card's payment, not yet confirmed (idempotently
    /// under its key): recorded before it is confirmed, so a confirmation the bank refuses
    /// leaves a payment the booking knows.
    pub async fn create_saved_card_payment(
        &self,
        new: &SavedCardPayment<'_>,
    ) -> Result<Payment, PaymentError> {
        let params = NewSavedCardIntent {
            amount: new.amount,
            currency: new.currency,
            customer: new.customer,
            payment_method: new.payment_method,
            capture_method: "automatic",
            transfer_group: new.transfer_group,
            metadata: &new.metadata,
        };
        let call = Call::post("/payment_intents", &params)?.key(new.idempotency_key);
        Ok(self.call::<IntentWire>(call).await?.into())
    }

    /// Confirms a saved card's payment without the customer (idempotently under `key`). A
    /// card the bank refuses (`402`: declined, or authentication required) is answered as the
    /// payment Stripe left waiting for the customer (`requires_payment_method`, with the
    /// reason), not as an error.
    pub async fn confirm_off_session(&self, id: &str, key: &str) -> Result<Payment, PaymentError> {
        let call = Call::post(
            format!("/payment_intents/{id}/confirm"),
            &OffSession { off_session: true },
        )?
        .key(key);
        match self.call::<IntentWire>(call).await {
            Ok(intent) => Ok(intent.into()),
            Err(PaymentError::Declined(_)) => self.payment(id).await,
            Err(err) => Err(err),
        }
    }
}
