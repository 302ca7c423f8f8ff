//! Payout rules: a provider's Connect account as Stripe last reported it (and whether they can
//! be paid), the platform's commission rates (a default and per-category overrides, in basis
//! points: 1/100 of a percent) and the commission report's lines. Pure: no AWS or Stripe
//! calls.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use gigwire_payments::connect::ConnectAccount;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookings::model::DEFAULT_COMMISSION_BASIS_POINTS;
use crate::domain::UserId;
use crate::error::Error;

/// Where a provider's onboarding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// No Connect account yet.
    NotStarted,
    /// The account exists; its owner has not finished Stripe's form.
    Pending,
    /// The form is done but Stripe still needs something (see `requirementsDue`).
    Restricted,
    /// Transfers and payouts are enabled: the provider can be paid.
    Enabled,
}

/// A provider's Connect Express account, as Stripe's last `account.updated` (or the
/// onboarding call) reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutAccount {
    /// The provider.
    pub provider_id: UserId,
    /// Stripe's `acct_…`.
    pub account_id: String,
    /// Where onboarding is.
    pub state: AccountState,
    /// Whether the provider finished Stripe's form.
    pub details_submitted: bool,
    /// Whether the account may take charges.
    pub charges_enabled: bool,
    /// Whether Stripe pays the account out to its bank.
    pub payouts_enabled: bool,
    /// Whether released earnings go to it at once ("can be paid"); until then they wait.
    pub can_be_paid: bool,
    /// What Stripe still needs from the provider.
    pub requirements_due: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl PayoutAccount {
    /// The record of `account`, Stripe's current view of it.
    pub fn reported(
        provider_id: UserId,
        account: &ConnectAccount,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let can_be_paid = account.can_be_paid();
        let state = if can_be_paid {
            AccountState::Enabled
        } else if account.details_submitted {
            AccountState::Restricted
        } else {
            AccountState::Pending
        };
        Self {
            provider_id,
            account_id: account.id.clone(),
            state,
            details_submitted: account.details_submitted,
            charges_enabled: account.charges_enabled,
            payouts_enabled: account.payouts_enabled,
            can_be_paid,
            requirements_due: account.currently_due(),
            created_at,
            updated_at: now,
        }
    }
}

/// `GET /me/payouts/account`: the caller's payout account, if they have one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutStatus {
    /// Where onboarding is (`not_started` without an account).
    pub state: AccountState,
    /// Whether released earnings go out at once.
    pub can_be_paid: bool,
    /// The account, once created.
    pub account: Option<PayoutAccount>,
}

impl From<Option<PayoutAccount>> for PayoutStatus {
    fn from(account: Option<PayoutAccount>) -> Self {
        Self {
            state: account
                .as_ref()
                .map_or(AccountState::NotStarted, |a| a.state),
            can_be_paid: account.as_ref().is_some_and(|a| a.can_be_paid),
            account,
        }
    }
}

/// `POST /me/payouts/onboarding`: the account and a fresh single-use link to Stripe's
/// onboarding.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Onboarding {
    /// The provider's account.
    pub account: PayoutAccount,
    /// Stripe's hosted onboarding page; single use.
    pub url: String,
    /// When the link stops working (about five minutes).
    pub expires_at: DateTime<Utc>,
}

/// Basis points a rate may be: 0 to 100 %.
pub const MAX_BASIS_POINTS: u32 = 10_000;
/// Category overrides at most.
pub const MAX_CATEGORY_RATES: usize = 200;

/// One category's commission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryRate {
    /// A category slug.
    #[schema(pattern = "^[a-z0-9-]{1,40}$", example = "plumbing")]
    pub category: String,
    /// Basis points (1/100 of a percent): 1000 is 10 %.
    #[schema(maximum = 10000)]
    pub basis_points: u32,
}

/// The platform's commission: a default and per-category overrides. Each booking keeps the
/// rate it was created with; changing these never touches existing bookings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionRates {
    /// Basis points for every category without an override.
    pub default_basis_points: u32,
    /// Overrides, by category.
    pub categories: BTreeMap<String, u32>,
    /// Last changed (none: never set, the built-in default applies).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for CommissionRates {
    fn default() -> Self {
        Self {
            default_basis_points: DEFAULT_COMMISSION_BASIS_POINTS,
            categories: BTreeMap::new(),
            updated_at: None,
        }
    }
}

impl CommissionRates {
    /// The rate of a booking in `category`.
    pub fn rate(&self, category: &str) -> u32 {
        self.categories
            .get(category)
            .copied()
            .unwrap_or(self.default_basis_points)
    }
}

/// `PUT /admin/commission`: the whole set of rates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommissionInput {
    /// Basis points for every category without an override (1000 is 10 %).
    #[schema(maximum = 10000)]
    pub default_basis_points: u32,
    /// Overrides, each category at most once.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub categories: Vec<CategoryRate>,
}

fn basis_points(value: u32, field: &str) -> Result<u32, Error> {
    if value <= MAX_BASIS_POINTS {
        Ok(value)
    } else {
        Err(Error::field(field, "0 to 10000 basis points (0 to 100 %)"))
    }
}

impl CommissionInput {
    /// The rates it sets, checked.
    pub fn rates(self, now: DateTime<Utc>) -> Result<CommissionRates, Error> {
        if self.categories.len() > MAX_CATEGORY_RATES {
            return Err(Error::field("categories", "at most 200 overrides"));
        }
        let mut categories = BTreeMap::new();
        for rate in self.categories {
            let category = crate::offers::model::category(&rate.category, "categories")?;
            let points = basis_points(rate.basis_points, "categories")?;
            if categories.insert(category, points).is_some() {
                return Err(Error::field(
                    "categories",
                    format!("'{}' is listed twice", rate.category),
                ));
            }
        }
        Ok(CommissionRates {
            default_basis_points: basis_points(self.default_basis_points, "defaultBasisPoints")?,
            categories,
            updated_at: Some(now),
        })
    }
}

/// What a completed booking adds to the commission report and to its provider's earnings:
/// counted once, in the transaction that completes it (a lost dispute counts its write-off
/// back, negative, in the transaction that records it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommissionTally {
    /// The booking's provider.
    pub provider: UserId,
    /// Bookings it counts (1 for a completion, 0 for a correction).
    pub bookings: i64,
    /// `YYYY-MM` of the completion (UTC).
    pub period: String,
    /// The booking's category.
    pub category: String,
    /// Lowercase ISO currency.
    pub currency: String,
    /// The price.
    pub gross: i64,
    /// The platform's part.
    pub commission: i64,
    /// The provider's part.
    pub net: i64,
}

/// The report's period of `at`: its UTC month, `YYYY-MM`.
pub fn period_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// A `period` query parameter: `YYYY-MM`.
pub fn period(raw: &str) -> Result<String, Error> {
    let ok = raw.len() == 7
        && raw.as_bytes()[4] == b'-'
        && raw[..4].bytes().all(|b| b.is_ascii_digit())
        && matches!(raw[5..].parse::<u32>(), Ok(1..=12));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Error::field("period", "a month, YYYY-MM"))
    }
}

/// One line of the commission report: a category and currency in a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportLine {
    /// The category.
    pub category: String,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Bookings completed.
    pub bookings: i64,
    /// What customers paid, minor units.
    pub gross: i64,
    /// The platform's commission.
    pub commission: i64,
    /// The providers' earnings.
    pub net: i64,
}

/// One line of a provider's earnings: a period and currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarningsLine {
    /// `YYYY-MM` (UTC) of the completions.
    pub period: String,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Bookings completed.
    pub bookings: i64,
    /// What the customers paid.
    pub gross: i64,
    /// The platform's commission.
    pub commission: i64,
    /// The provider's earnings.
    pub net: i64,
}

/// `GET /me/earnings`: the caller's earnings per month, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Earnings {
    /// One line per month and currency.
    pub lines: Vec<EarningsLine>,
}

/// An amount of one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
}

/// `GET /me/payouts/balance`: the provider's Stripe balance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    /// Withdrawable now (or paid out on the next automatic payout).
    pub available: Vec<Amount>,
    /// Transferred but not settled yet.
    pub pending: Vec<Amount>,
    /// Whether the provider withdraws by hand (`POST /me/payouts`); otherwise Stripe pays
    /// the balance out on its automatic schedule.
    pub manual_payouts: bool,
}

/// A payout of the provider's Stripe balance to their bank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRecord {
    /// Stripe's payout (`po_…`).
    pub payout_id: String,
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// `pending`, `in_transit`, `paid`, `failed` or `canceled`.
    pub status: String,
    /// Whether Stripe made it on the automatic schedule (not a withdrawal).
    pub automatic: bool,
    /// Why it failed.
    pub failure_message: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it arrives (or arrived).
    pub arrival_date: DateTime<Utc>,
    /// When this record last changed.
    pub updated_at: DateTime<Utc>,
}

impl PayoutRecord {
    /// The record of Stripe's payout as it is now.
    pub fn reported(payout: &gigwire_payments::connect::Payout, now: DateTime<Utc>) -> Self {
        let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(now);
        Self {
            payout_id: payout.id.clone(),
            amount: payout.amount,
            currency: payout.currency.clone(),
            status: payout.status.clone(),
            automatic: payout.automatic,
            failure_message: payout.failure_message.clone(),
            created_at: at(payout.created),
            arrival_date: at(payout.arrival_date),
            updated_at: now,
        }
    }
}

/// `GET /me/payouts`: the provider's payouts, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutPage {
    /// Newest first.
    pub items: Vec<PayoutRecord>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `POST /me/payouts`: withdraw the available balance of one currency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawRequest {
    /// One per withdrawal: the same key again answers the same payout.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "withdraw-7f3a")]
    pub idempotency_key: String,
    /// Which balance (lowercase ISO); the only one when the balance has one currency.
    #[schema(pattern = "^(aud|brl|cad|chf|eur|gbp|usd)$", example = "eur")]
    pub currency: Option<String>,
}

/// `GET /admin/commission/report`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionReport {
    /// `YYYY-MM`.
    pub period: String,
    /// One line per category and currency with completed bookings, by category.
    pub lines: Vec<ReportLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: serde_json::Value) -> ConnectAccount {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_state_follows_what_stripe_reports() {
        let now = Utc::now();
        let user = UserId::new();
        let fresh = account(serde_json::json!({ "id": "acct_1",
            "capabilities": { "transfers": "inactive" },
            "requirements": { "currently_due": ["external_account", "tos_acceptance.date"] } }));
        let record = PayoutAccount::reported(user, &fresh, now, now);
        assert_eq!(record.state, AccountState::Pending);
        assert!(!record.can_be_paid);
        assert_eq!(record.requirements_due.len(), 2);
        let restricted = account(
            serde_json::json!({ "id": "acct_1", "details_submitted": true,
            "payouts_enabled": false, "capabilities": { "transfers": "active" } }),
        );
        assert_eq!(
            PayoutAccount::reported(user, &restricted, now, now).state,
            AccountState::Restricted
        );
        let enabled = account(
            serde_json::json!({ "id": "acct_1", "details_submitted": true,
            "payouts_enabled": true, "charges_enabled": true,
            "capabilities": { "transfers": "active" } }),
        );
        let record = PayoutAccount::reported(user, &enabled, now, now);
        assert_eq!(record.state, AccountState::Enabled);
        assert!(PayoutStatus::from(Some(record)).can_be_paid);
        assert_eq!(PayoutStatus::from(None).state, AccountState::NotStarted);
    }

    #[test]
    fn a_category_override_wins_over_the_default() {
        let input = CommissionInput {
            default_basis_points: 1_200,
            categories: vec![CategoryRate {
                category: "plumbing".into(),
                basis_points: 800,
            }],
        };
        let rates = input.rates(Utc::now()).unwrap();
        assert_eq!(rates.rate("plumbing"), 800);
        assert_eq!(rates.rate("tutoring"), 1_200);
        assert_eq!(CommissionRates::default().rate("x"), 1_000);
    }

    #[test]
    fn bad_rates_are_refused_naming_the_field() {
        let twice = CommissionInput {
            default_basis_points: 1_000,
            categories: vec![
                CategoryRate {
                    category: "a".into(),
                    basis_points: 1,
                },
                CategoryRate {
                    category: "a".into(),
                    basis_points: 2,
                },
            ],
        };
        assert_eq!(twice.rates(Utc::now()).unwrap_err().status(), 400);
        let over = CommissionInput {
            default_basis_points: 10_001,
            categories: Vec::new(),
        };
        assert!(matches!(
            over.rates(Utc::now()).unwrap_err(),
            Error::Validation { field: Some(f), .. } if f == "defaultBasisPoints"
        ));
        let slug = CommissionInput {
            default_basis_points: 0,
            categories: vec![CategoryRate {
                category: "Not A Slug".into(),
                basis_points: 1,
            }],
        };
        assert!(slug.rates(Utc::now()).is_err());
    }

    #[test]
    fn periods_are_utc_months() {
        let at: DateTime<Utc> = "2026-12-31T23:59:59Z".parse().unwrap();
        assert_eq!(period_of(at), "2026-12");
        assert_eq!(period("2026-02").unwrap(), "2026-02");
        for bad in ["2026-13", "2026-1", "26-01-01", "2026/01", "abcd-01"] {
            assert!(period(bad).is_err(), "{bad}");
        }
    }
}
