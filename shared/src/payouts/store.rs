//! The payout feature's ports: its records on the table, and Stripe Connect as onboarding
//! calls it. Narrow, so the services are tested against fakes.

use std::collections::HashMap;

use async_trait::async_trait;
use gigwire_payments::connect::{AccountLink, Balance, ConnectAccount, Payout};

use super::model::{CommissionRates, EarningsLine, PayoutAccount, PayoutRecord, ReportLine};
use crate::cursor::Position;
use crate::domain::UserId;
use crate::error::Result;
use crate::store::Page;

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
    /// The payout a provider's withdrawal under `key` made.
    async fn withdrawal(&self, provider: &UserId, key: &str) -> Result<Option<PayoutRecord>>;
    /// Records the payout a withdrawal under `key` made (and the payout itself).
    async fn save_withdrawal(
        &self,
        provider: &UserId,
        key: &str,
        payout: &PayoutRecord,
    ) -> Result<()>;
    /// Records a payout as Stripe has it now.
    async fn save_payout(&self, provider: &UserId, payout: &PayoutRecord) -> Result<()>;
    /// A page of a provider's payouts, newest first.
    async fn payouts_of(
        &self,
        provider: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<PayoutRecord>>;
    /// A provider's earnings lines, newest period first.
    async fn earnings_of(&self, provider: &UserId) -> Result<Vec<EarningsLine>>;
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
    /// An account's balance.
    async fn balance(&self, account: &str) -> Result<Balance>;
    /// A payout of an account's balance (idempotently under `key`).
    async fn create_payout(
        &self,
        account: &str,
        amount: i64,
        currency: &str,
        key: &str,
    ) -> Result<Payout>;
    /// A payout as Stripe has it now.
    async fn payout(&self, account: &str, id: &str) -> Result<Payout>;
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
    async fn balance(&self, account: &str) -> Result<Balance> {
        Ok(gigwire_payments::StripePayments::balance(self, account).await?)
    }
    async fn create_payout(
        &self,
        account: &str,
        amount: i64,
        currency: &str,
        key: &str,
    ) -> Result<Payout> {
        Ok(
            gigwire_payments::StripePayments::create_payout(self, account, amount, currency, key)
                .await?,
        )
    }
    async fn payout(&self, account: &str, id: &str) -> Result<Payout> {
        Ok(gigwire_payments::StripePayments::payout(self, account, id).await?)
    }
}
