//! The payout feature's ports: its records on the table, and Stripe Connect as onboarding
//! calls it. Narrow, so the services are tested against fakes.

use std::collections::HashMap;

use async_trait::async_trait;
use gigwire_payments::connect::{AccountLink, ConnectAccount};

use super::model::{CommissionRates, PayoutAccount, ReportLine};
use crate::domain::UserId;
use crate::error::Result;

/// Payout accounts and commission rates on the table.
#[async_trait]
pub trait PayoutStore: Send + Sync {
    /// A provider's account record.
    async fn payout_account(&self, provider: &UserId) -> Result<Option<PayoutAccount>>;
    /// Writes the record of a newly created account unless the provider has one; `false` when
    /// they had one (a concurrent onboarding won).
    async fn create_payout_account(&self, account: &PayoutAccount) -> Result<bool>;
    /// Writes Stripe's latest view of an account (the record exists).
    async fn save_payout_account(&self, account: &PayoutAccount) -> Result<()>;
    /// The commission rates (the built-in default when never set).
    async fn commission_rates(&self) -> Result<CommissionRates>;
    /// Replaces the commission rates.
    async fn put_commission_rates(&self, rates: &CommissionRates) -> Result<()>;
    /// One period's commission report lines.
    async fn commission_report(&self, period: &str) -> Result<Vec<ReportLine>>;
}

/// Stripe Connect, as onboarding calls it.
#[async_trait]
pub trait ConnectGateway: Send + Sync {
    /// Creates an Express account (idempotently under `key`).
    async fn create_account(
        &self,
        email: Option<&str>,
        metadata: HashMap<String, String>,
        key: &str,
    ) -> Result<ConnectAccount>;
    /// Reads an account.
    async fn account(&self, id: &str) -> Result<ConnectAccount>;
    /// A fresh onboarding link.
    async fn account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink>;
}

#[async_trait]
impl ConnectGateway for gigwire_payments::StripePayments {
    async fn create_account(
        &self,
        email: Option<&str>,
        metadata: HashMap<String, String>,
        key: &str,
    ) -> Result<ConnectAccount> {
        Ok(gigwire_payments::StripePayments::create_account(self, email, metadata, key).await?)
    }
    async fn account(&self, id: &str) -> Result<ConnectAccount> {
        Ok(gigwire_payments::StripePayments::account(self, id).await?)
    }
    async fn account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink> {
        Ok(
            gigwire_payments::StripePayments::account_link(self, account, refresh_url, return_url)
                .await?,
        )
    }
}
