//! Payout routes: `POST /me/payouts/onboarding` (and `/refresh`), `GET /me/payouts/account`,
//! `GET`/`PUT /admin/commission`, `GET /admin/commission/report`. Only onboarding builds a
//! Stripe client; the others read and write the table alone.

use super::model::CommissionInput;
use super::service::{self, Payouts};
use crate::error::Result;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, StripeInit, now};
use crate::store::dynamo::DynamoStore;

/// What the onboarding function builds once.
pub struct OnboardingApi {
    store: DynamoStore,
    payments: gigwire_payments::StripePayments,
    app_url: Option<String>,
}

impl OnboardingApi {
    /// Builds the dependencies once.
    pub fn new(init: &StripeInit) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.base.sdk, &init.base.config.table_name),
            payments: init.payments.clone(),
            app_url: init.base.config.app_url.clone(),
        }
    }

    fn payouts(&self) -> Payouts<'_> {
        Payouts {
            store: &self.store,
            connect: &self.payments,
            app_url: self.app_url.as_deref(),
        }
    }

    /// `POST /me/payouts/onboarding`.
    pub async fn onboard(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.payouts().onboard(req.caller()?, false, now()).await?)
    }

    /// `POST /me/payouts/onboarding/refresh`.
    pub async fn refresh(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.payouts().onboard(req.caller()?, true, now()).await?)
    }
}

/// What the table-only payout functions build once.
pub struct PayoutsApi {
    store: DynamoStore,
}

impl PayoutsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
        }
    }

    /// `GET /me/payouts/account`.
    pub async fn status(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::status(&self.store, req.caller()?).await?)
    }

    /// `GET /admin/commission`.
    pub async fn rates(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::rates(&self.store, req.caller()?).await?)
    }

    /// `PUT /admin/commission`.
    pub async fn set_rates(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: CommissionInput = req.json()?;
        HttpResponse::ok(&service::set_rates(&self.store, req.caller()?, body, now()).await?)
    }

    /// `GET /admin/commission/report`.
    pub async fn report(&self, req: HttpRequest) -> Result<HttpResponse> {
        let report =
            service::report(&self.store, req.caller()?, req.query("period"), now()).await?;
        HttpResponse::ok(&report)
    }
}
