//! Payout use cases: a provider's onboarding with Stripe Connect Express (the account made
//! once, a fresh single-use link each time), their payout status, and the admins' commission
//! rates and report. `account.updated` is applied by the Stripe webhook
//! (`crate::bookings::service`), which also releases what waited for the account.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::{info, instrument};

use super::model::{
    CommissionInput, CommissionRates, CommissionReport, Onboarding, PayoutAccount, PayoutStatus,
    period, period_of,
};
use super::store::{ConnectGateway, PayoutStore};
use crate::auth::Caller;
use crate::bookings::service::PROVIDER_METADATA;
use crate::domain::Role;
use crate::error::{Error, Result};

/// Where Stripe's onboarding sends the provider back to, under the app's URL: done (or left),
/// and "this link expired, ask for a new one" (the app then calls
/// `POST /me/payouts/onboarding/refresh`).
const RETURN_PATH: &str = "/payouts/onboarding/return";
const REFRESH_PATH: &str = "/payouts/onboarding/refresh";

/// What the payout functions need.
pub struct Payouts<'a> {
    /// Payout accounts and rates.
    pub store: &'a dyn PayoutStore,
    /// Stripe Connect.
    pub connect: &'a dyn ConnectGateway,
    /// The web app's base URL (the template's `AppUrl`): onboarding links return there.
    pub app_url: Option<&'a str>,
}

fn provider_only(caller: &Caller) -> Result<()> {
    if caller.roles.contains(&Role::Provider) {
        Ok(())
    } else {
        Err(Error::Forbidden("only providers are paid out".into()))
    }
}

fn admin_only(caller: &Caller) -> Result<()> {
    if caller.roles.contains(&Role::Admin) {
        Ok(())
    } else {
        Err(Error::Forbidden("admins only".into()))
    }
}

impl Payouts<'_> {
    /// `POST /me/payouts/onboarding` (and `/refresh`): the provider's Express account, made
    /// once (under a key per provider, and recorded only if they have none, so two devices
    /// onboarding at once get the same account), and a fresh single-use link to Stripe's
    /// onboarding. `refresh` asks only for a new link: 404 without an account.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn onboard(
        &self,
        caller: &Caller,
        refresh: bool,
        now: DateTime<Utc>,
    ) -> Result<Onboarding> {
        provider_only(caller)?;
        let app = self.app_url.ok_or_else(|| {
            Error::PaymentUnavailable(
                "payout onboarding needs the deployment's AppUrl for Stripe to return to".into(),
            )
        })?;
        let me = caller.user_id;
        let account = match self.store.payout_account(&me).await? {
            Some(account) => account,
            None if refresh => return Err(Error::NotFound("payout account")),
            None => {
                let metadata = HashMap::from([(PROVIDER_METADATA.to_owned(), me.to_string())]);
                let created = self
                    .connect
                    .create_account(None, metadata, &format!("payout-account-{me}"))
                    .await?;
                let record = PayoutAccount::reported(me, &created, now, now);
                if self.store.create_payout_account(&record).await? {
                    info!(account = %record.account_id, "payout account created");
                    record
                } else {
                    self.store.payout_account(&me).await?.ok_or_else(|| {
                        Error::Conflict("onboarding changed meanwhile; retry".into())
                    })?
                }
            }
        };
        let link = self
            .connect
            .account_link(
                &account.account_id,
                &format!("{app}{REFRESH_PATH}"),
                &format!("{app}{RETURN_PATH}"),
            )
            .await?;
        Ok(Onboarding {
            account,
            url: link.url,
            expires_at: DateTime::from_timestamp(link.expires_at, 0).unwrap_or(now),
        })
    }
}

/// `GET /me/payouts/account`: where the caller's onboarding is.
pub async fn status(store: &dyn PayoutStore, caller: &Caller) -> Result<PayoutStatus> {
    provider_only(caller)?;
    Ok(store.payout_account(&caller.user_id).await?.into())
}

/// `GET /admin/commission`.
pub async fn rates(store: &dyn PayoutStore, caller: &Caller) -> Result<CommissionRates> {
    admin_only(caller)?;
    store.commission_rates().await
}

/// `PUT /admin/commission`: the whole set of rates; bookings created from now on use them.
#[instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn set_rates(
    store: &dyn PayoutStore,
    caller: &Caller,
    input: CommissionInput,
    now: DateTime<Utc>,
) -> Result<CommissionRates> {
    admin_only(caller)?;
    let rates = input.rates(now)?;
    store.put_commission_rates(&rates).await?;
    info!(
        default = rates.default_basis_points,
        overrides = rates.categories.len(),
        "commission rates set"
    );
    Ok(rates)
}

/// `GET /admin/commission/report?period=YYYY-MM` (this month by default).
pub async fn report(
    store: &dyn PayoutStore,
    caller: &Caller,
    wanted: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CommissionReport> {
    admin_only(caller)?;
    let period = wanted
        .map(period)
        .transpose()?
        .unwrap_or_else(|| period_of(now));
    let mut lines = store.commission_report(&period).await?;
    lines.sort_by(|a, b| (&a.category, &a.currency).cmp(&(&b.category, &b.currency)));
    Ok(CommissionReport { period, lines })
}
