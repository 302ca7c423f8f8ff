//! Payout routes: `POST /me/payouts/onboarding` (and `/refresh`), `GET /me/payouts/balance`,
//! `POST /me/payouts` (withdraw) — the ones that call Stripe — and `GET /me/payouts/account`,
//! `GET /me/payouts`, `GET /me/earnings`, `GET`/`PUT /admin/commission`,
//! `GET /admin/commission/report`, which read and write the table alone.

use super::model::{CommissionInput, WithdrawRequest};
use super::service::{self, Payouts};
use crate::cursor::CursorCodec;
use crate::error::Result;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, StripeInit, now};
use crate::me::service::page_size;
use crate::store::dynamo::DynamoStore;

/// What the payout functions that call Stripe build once.
pub struct StripePayoutsApi {
    store: DynamoStore,
    payments: gigwire_payments::StripePayments,
    app_url: Option<String>,
}

impl StripePayoutsApi {
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

    /// `GET /me/payouts/balance`.
    pub async fn balance(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.payouts().balance(req.caller()?).await?)
    }

    /// `POST /me/payouts`.
    pub async fn withdraw(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: WithdrawRequest = req.json()?;
        let payout = self.payouts().withdraw(req.caller()?, body, now()).await?;
        HttpResponse::json(201, &payout)
    }
}

/// What the table-only payout functions build once.
pub struct PayoutsApi {
    store: DynamoStore,
    cursors: CursorCodec,
}

impl PayoutsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    /// `GET /me/payouts/account`.
    pub async fn status(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::status(&self.store, req.caller()?).await?)
    }

    /// `GET /me/payouts?limit&cursor`.
    pub async fn payouts(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let page = service::payouts(
            &self.store,
            &self.cursors,
            req.caller()?,
            limit,
            req.cursor(),
        )
        .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/earnings`.
    pub async fn earnings(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::earnings(&self.store, req.caller()?).await?)
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
