//! Stripe Connect for the marketplace's money out: providers' Express accounts and their
//! onboarding links, balances and payouts, transfers of a booking's earnings (with
//! `source_transaction`, so they work before the charge's funds settle) and their reversals,
//! and the disputes that may take a payment back. Read into small types of our own, as every
//! call of this crate (see its root).

use std::collections::HashMap;

use serde::Serialize;

use crate::{Call, List, PaymentError, StripePayments};

/// A connected (Express) account, as the payout flows read it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ConnectAccount {
    /// `acct_…`.
    pub id: String,
    /// Whether its owner finished the onboarding form.
    #[serde(default)]
    pub details_submitted: bool,
    /// Whether it may take charges.
    #[serde(default)]
    pub charges_enabled: bool,
    /// Whether Stripe pays its balance out to its bank.
    #[serde(default)]
    pub payouts_enabled: bool,
    /// Capabilities and their status (`transfers: active` lets the platform transfer to it).
    #[serde(default)]
    pub capabilities: HashMap<String, String>,
    /// What Stripe still needs from its owner.
    #[serde(default)]
    pub requirements: Option<Requirements>,
    /// Ours: the provider it belongs to.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// Its settings (the payout schedule is read).
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

/// `requirements` of an account.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Requirements {
    /// Fields due now for the account to stay (or become) enabled.
    #[serde(default)]
    pub currently_due: Vec<String>,
}

impl ConnectAccount {
    /// Whether the platform can transfer to it and Stripe can pay it out: a provider's
    /// earnings are released only then.
    pub fn can_be_paid(&self) -> bool {
        self.payouts_enabled
            && self.capabilities.get("transfers").map(String::as_str) == Some("active")
    }

    /// Whether its owner withdraws by hand (`manual` payout schedule) rather than on
    /// Stripe's automatic schedule.
    pub fn manual_payouts(&self) -> bool {
        self.settings
            .as_ref()
            .and_then(|s| s.pointer("/payouts/schedule/interval"))
            .and_then(|i| i.as_str())
            == Some("manual")
    }

    /// What Stripe still needs from its owner.
    pub fn currently_due(&self) -> Vec<String> {
        self.requirements
            .as_ref()
            .map(|r| r.currently_due.clone())
            .unwrap_or_default()
    }
}

/// A single-use link to Stripe's hosted onboarding.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct AccountLink {
    /// Where to send the provider.
    pub url: String,
    /// When it stops working (Unix seconds; about five minutes).
    pub expires_at: i64,
}

/// A transfer from the platform to a connected account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Transfer {
    /// `tr_…`.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Minor units taken back by reversals.
    #[serde(default)]
    pub amount_reversed: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// The connected account.
    pub destination: Option<String>,
    /// The booking it pays out.
    #[serde(default)]
    pub transfer_group: Option<String>,
}

/// A dispute of a charge, as the webhook reads it again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Dispute {
    /// `dp_…`.
    pub id: String,
    /// Minor units disputed.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// The disputed charge.
    pub charge: String,
    /// Its PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// `warning_needs_response`, `needs_response`, `under_review`, `won`, `lost`, …
    pub status: String,
}

impl Dispute {
    /// Whether it is over (`won`, `lost`, or a warning that closed).
    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "won" | "lost" | "warning_closed")
    }

    /// Whether the platform kept the money.
    pub fn is_won(&self) -> bool {
        matches!(self.status.as_str(), "won" | "warning_closed")
    }
}

/// An amount of one currency in a balance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct BalanceAmount {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
}

/// A connected account's Stripe balance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Balance {
    /// Paid out next (or withdrawable).
    pub available: Vec<BalanceAmount>,
    /// Not yet settled.
    pub pending: Vec<BalanceAmount>,
}

/// A payout of a connected account to its bank.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Payout {
    /// `po_…`.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// `pending`, `in_transit`, `paid`, `failed`, `canceled`.
    pub status: String,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// When it arrives, or arrived (Unix seconds).
    pub arrival_date: i64,
    /// Why it failed.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Whether Stripe made it on the account's schedule.
    #[serde(default)]
    pub automatic: bool,
}

#[derive(Serialize)]
struct NewPayout<'a> {
    amount: i64,
    currency: &'a str,
}

/// A transfer to make.
#[derive(Clone, Debug, Serialize)]
pub struct NewTransfer<'a> {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: &'a str,
    /// `acct_…`.
    pub destination: &'a str,
    /// The charge whose funds it moves (`ch_…`).
    pub source_transaction: &'a str,
    /// The booking.
    pub transfer_group: &'a str,
    /// Facts Stripe keeps with it (the booking id).
    pub metadata: HashMap<String, String>,
}

#[derive(Serialize)]
struct NewAccount<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    capabilities: HashMap<&'static str, HashMap<&'static str, bool>>,
    metadata: HashMap<String, String>,
}

#[derive(Serialize)]
struct NewAccountLink<'a> {
    account: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    refresh_url: &'a str,
    return_url: &'a str,
}

#[derive(Serialize)]
struct NewReversal {
    amount: i64,
}

#[derive(Serialize)]
struct TransfersQuery<'a> {
    transfer_group: &'a str,
    limit: u32,
}

impl StripePayments {
    /// Creates a provider's Express account, able to receive transfers (idempotent: the same
    /// key makes one account). Its country is the platform's (Stripe's default).
    pub async fn create_account(
        &self,
        email: Option<&str>,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<ConnectAccount, PaymentError> {
        let requested = HashMap::from([("requested", true)]);
        let params = NewAccount {
            kind: "express",
            email,
            capabilities: HashMap::from([
                ("transfers", requested.clone()),
                ("card_payments", requested),
            ]),
            metadata,
        };
        self.call(Call::post("/accounts", &params)?.key(idempotency_key))
            .await
    }

    /// Reads a connected account again (its `account.updated` events are not trusted in order).
    pub async fn account(&self, id: &str) -> Result<ConnectAccount, PaymentError> {
        self.call(Call::get(format!("/accounts/{id}"))).await
    }

    /// A fresh single-use onboarding link for `account`.
    pub async fn account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink, PaymentError> {
        let params = NewAccountLink {
            account,
            kind: "account_onboarding",
            refresh_url,
            return_url,
        };
        self.call(Call::post("/account_links", &params)?).await
    }

    /// Transfers to a connected account (idempotently under its key).
    pub async fn create_transfer(
        &self,
        new: &NewTransfer<'_>,
        idempotency_key: &str,
    ) -> Result<Transfer, PaymentError> {
        self.call(Call::post("/transfers", new)?.key(idempotency_key))
            .await
    }

    /// A connected account's balance.
    pub async fn balance(&self, account: &str) -> Result<Balance, PaymentError> {
        self.call(Call::get("/balance").on(account)).await
    }

    /// Pays `amount` of a connected account's available balance out to its bank
    /// (idempotently under its key).
    pub async fn create_payout(
        &self,
        account: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<Payout, PaymentError> {
        let params = NewPayout { amount, currency };
        let call = Call::post("/payouts", &params)?
            .key(idempotency_key)
            .on(account);
        self.call(call).await
    }

    /// Reads a connected account's payout again.
    pub async fn payout(&self, account: &str, id: &str) -> Result<Payout, PaymentError> {
        self.call(Call::get(format!("/payouts/{id}")).on(account))
            .await
    }

    /// Reads a transfer again (how much of it was reversed).
    pub async fn transfer(&self, id: &str) -> Result<Transfer, PaymentError> {
        self.call(Call::get(format!("/transfers/{id}"))).await
    }

    /// Reads a dispute again (its events are not trusted in order).
    pub async fn dispute(&self, id: &str) -> Result<Dispute, PaymentError> {
        self.call(Call::get(format!("/disputes/{id}"))).await
    }

    /// The transfers of a transfer group (a booking has one or none).
    pub async fn transfers(&self, transfer_group: &str) -> Result<Vec<Transfer>, PaymentError> {
        let query = TransfersQuery {
            transfer_group,
            limit: 100,
        };
        let list: List<Transfer> = self.call(Call::get("/transfers").query(&query)?).await?;
        Ok(list.data)
    }

    /// Takes `amount` of a transfer back from its connected account; the reversal's id.
    pub async fn reverse_transfer(
        &self,
        transfer: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<String, PaymentError> {
        #[derive(serde::Deserialize)]
        struct Reversal {
            id: String,
        }
        let path = format!("/transfers/{transfer}/reversals");
        let call = Call::post(path, &NewReversal { amount })?.key(idempotency_key);
        let reversal: Reversal = self.call(call).await?;
        Ok(reversal.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_form_encoded_as_stripe_reads_nested_ones() {
        let new = NewTransfer {
            amount: 4050,
            currency: "eur",
            destination: "acct_1",
            source_transaction: "ch_1",
            transfer_group: "01JD",
            metadata: HashMap::from([("booking_id".to_owned(), "01JD".to_owned())]),
        };
        assert_eq!(
            crate::form(&new).unwrap(),
            "amount=4050&currency=eur&destination=acct_1&source_transaction=ch_1\
             &transfer_group=01JD&metadata[booking_id]=01JD"
        );
    }

    #[test]
    fn an_account_can_be_paid_only_with_payouts_and_active_transfers() {
        let mut account: ConnectAccount = serde_json::from_value(serde_json::json!({
            "id": "acct_1", "object": "account", "payouts_enabled": true,
            "capabilities": { "transfers": "inactive" },
            "requirements": { "currently_due": ["external_account"], "past_due": [] },
            "metadata": {}
        }))
        .unwrap();
        assert!(!account.can_be_paid());
        assert_eq!(account.currently_due(), ["external_account"]);
        account
            .capabilities
            .insert("transfers".into(), "active".into());
        assert!(account.can_be_paid());
        account.payouts_enabled = false;
        assert!(!account.can_be_paid());
    }
}
