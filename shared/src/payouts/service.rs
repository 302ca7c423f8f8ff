//! Payout use cases: a provider's onboarding with Stripe Connect Express (the account made
//! once, a fresh single-use link each time), their payout status, balance, withdrawals,
//! payout history and earnings, and the admins' commission rates and report.
//! `account.updated` and `payout.*` are applied by the Stripe webhook
//! (`crate::bookings::service`), which also releases what waited for the account.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::{info, instrument};

use super::model::{
    Amount, BalanceView, CommissionInput, CommissionRates, CommissionReport, Earnings, Onboarding,
    PayoutAccount, PayoutPage, PayoutRecord, PayoutStatus, WithdrawRequest, period, period_of,
};
use super::store::{ConnectGateway, PayoutStore};
use crate::auth::Caller;
use crate::bookings::model::idempotency_key;
use crate::bookings::service::PROVIDER_METADATA;
use crate::cursor::CursorCodec;
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

    /// The caller's payout account (**404** before onboarding).
    async fn own_account(&self, caller: &Caller) -> Result<PayoutAccount> {
        provider_only(caller)?;
        self.store
            .payout_account(&caller.user_id)
            .await?
            .ok_or(Error::NotFound("payout account"))
    }

    /// `GET /me/payouts/balance`: the provider's Stripe balance (available and pending per
    /// currency) and whether they withdraw by hand.
    pub async fn balance(&self, caller: &Caller) -> Result<BalanceView> {
        let account = self.own_account(caller).await?;
        let (balance, stripe) = futures::try_join!(
            self.connect.balance(&account.account_id),
            self.connect.account(&account.account_id)
        )?;
        let amounts = |list: Vec<gigwire_payments::connect::BalanceAmount>| {
            list.into_iter()
                .map(|a| Amount {
                    amount: a.amount,
                    currency: a.currency,
                })
                .collect()
        };
        Ok(BalanceView {
            available: amounts(balance.available),
            pending: amounts(balance.pending),
            manual_payouts: stripe.manual_payouts(),
        })
    }

    /// `POST /me/payouts`: pays the available balance of one currency out to the provider's
    /// bank, where their account is on manual payouts (otherwise Stripe does it on its
    /// schedule: **409** saying so). The client's key makes a retry answer the same payout.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn withdraw(
        &self,
        caller: &Caller,
        request: WithdrawRequest,
        now: DateTime<Utc>,
    ) -> Result<PayoutRecord> {
        let key = idempotency_key(&request.idempotency_key)?.to_owned();
        let (account, earlier) = futures::try_join!(
            self.own_account(caller),
            self.store.withdrawal(&caller.user_id, &key)
        )?;
        // A retry answers the payout its key made (the balance it read is gone since).
        if let Some(earlier) = earlier {
            return Ok(earlier);
        }
        if !account.can_be_paid {
            return Err(Error::Conflict(
                "your payout account is not enabled yet: finish Stripe's onboarding".into(),
            ));
        }
        let (balance, stripe) = futures::try_join!(
            self.connect.balance(&account.account_id),
            self.connect.account(&account.account_id)
        )?;
        if !stripe.manual_payouts() {
            return Err(Error::Conflict(
                "payouts are automatic: Stripe pays your available balance out on its schedule"
                    .into(),
            ));
        }
        let available: Vec<_> = balance
            .available
            .into_iter()
            .filter(|a| a.amount > 0)
            .collect();
        let chosen = match &request.currency {
            Some(currency) => available.iter().find(|a| a.currency == *currency),
            None if available.len() == 1 => available.first(),
            None if available.is_empty() => None,
            None => {
                return Err(Error::field(
                    "currency",
                    "your balance holds several currencies: name one",
                ));
            }
        };
        let Some(chosen) = chosen else {
            return Err(Error::Conflict("nothing is available to withdraw".into()));
        };
        let payout = self
            .connect
            .create_payout(
                &account.account_id,
                chosen.amount,
                &chosen.currency,
                &format!("withdraw-{}-{key}", caller.user_id),
            )
            .await
            .map_err(|err| match err {
                // Stripe's refusal (the key used for another amount, funds gone) is the
                // caller's to read; anything else stays as it is.
                Error::Unexpected(cause) => Error::Conflict(format!("Stripe refused: {cause}")),
                other => other,
            })?;
        let record = PayoutRecord::reported(&payout, now);
        self.store
            .save_withdrawal(&caller.user_id, &key, &record)
            .await?;
        info!(payout = %record.payout_id, amount = record.amount, "withdrawal");
        Ok(record)
    }
}

/// `GET /me/payouts/account`: where the caller's onboarding is.
pub async fn status(store: &dyn PayoutStore, caller: &Caller) -> Result<PayoutStatus> {
    provider_only(caller)?;
    Ok(store.payout_account(&caller.user_id).await?.into())
}

/// `GET /admin/commission`.
pub async fn rates(store: &dyn PayoutStore, caller: &Caller) -> Result<CommissionRates> {
    caller.admin_only()?;
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
    caller.admin_only()?;
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
    caller.admin_only()?;
    let period = wanted
        .map(period)
        .transpose()?
        .unwrap_or_else(|| period_of(now));
    let mut lines = store.commission_report(&period).await?;
    lines.sort_by(|a, b| (&a.category, &a.currency).cmp(&(&b.category, &b.currency)));
    Ok(CommissionReport { period, lines })
}

/// `GET /me/payouts`: the caller's payouts, newest first.
pub async fn payouts(
    store: &dyn PayoutStore,
    cursors: &CursorCodec,
    caller: &Caller,
    limit: u32,
    cursor: Option<&str>,
) -> Result<PayoutPage> {
    provider_only(caller)?;
    let scope = format!("payouts:{}", caller.user_id);
    let after = cursor.map(|c| cursors.decode(&scope, c)).transpose()?;
    let page = store.payouts_of(&caller.user_id, limit, after).await?;
    Ok(PayoutPage {
        items: page.items,
        next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
    })
}

/// `GET /me/earnings`: the caller's earnings per month and currency, from the counters each
/// completion (and a lost dispute's write-off) adds to.
pub async fn earnings(store: &dyn PayoutStore, caller: &Caller) -> Result<Earnings> {
    provider_only(caller)?;
    Ok(Earnings {
        lines: store.earnings_of(&caller.user_id).await?,
    })
}
