//! CRM routes that only read and write the table: the customer's upsells (`GET
//! /me/upsells`, `POST /me/upsells/{bookingId}/{kind}/click`), the admins' funnel (`GET
//! /admin/crm/funnel`) and a customer's interaction log (`GET
//! /admin/customers/{id}/interactions`), and the stream consumers that record what the
//! bookings' and premium upgrades' writes imply. Buying an upsell is a checkout, served with the purchase
//! ([`crate::bookings::api::BookingsApi`]).

use chrono::{Duration, NaiveDate};

use super::model::UpsellKind;
use super::service::Crm;
use crate::bookings::model::Booking;
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, UserId};
use crate::error::Result;
use crate::followups::model::PremiumUpgrade;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::me::service::page_size;
use crate::store::dynamo::DynamoStore;

/// What every CRM function builds once: the table and the cursor codec.
pub struct CrmApi {
    store: DynamoStore,
    cursors: CursorCodec,
}

/// The upsell a path names: `{bookingId}` and `{kind}`.
pub fn addressed(req: &HttpRequest) -> Result<(BookingId, UpsellKind)> {
    let booking = BookingId::parse(req.path_param("bookingId"), "bookingId")?;
    Ok((booking, req.path_enum("kind")?))
}

/// An optional `YYYY-MM-DD` query parameter.
fn day(req: &HttpRequest, name: &str) -> Result<Option<NaiveDate>> {
    req.query(name)
        .map(|raw| crate::scheduling::service::date(Some(raw), name))
        .transpose()
}

impl CrmApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    /// The CRM service over the table.
    pub fn crm(&self) -> Crm<'_> {
        crm_over(&self.store, &self.cursors)
    }

    /// `GET /me/upsells?limit&cursor`.
    pub async fn upsells(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let page = self
            .crm()
            .upsells(req.caller()?, limit, req.cursor(), now())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `POST /me/upsells/{bookingId}/{kind}/click`.
    pub async fn click(&self, req: HttpRequest) -> Result<HttpResponse> {
        let (booking, kind) = addressed(&req)?;
        let upsell = self
            .crm()
            .click(req.caller()?, &booking, kind, now())
            .await?;
        HttpResponse::ok(&upsell)
    }

    /// `GET /admin/crm/funnel?from&to&category&period` (the last 30 days by default).
    pub async fn funnel(&self, req: HttpRequest) -> Result<HttpResponse> {
        let today = now().date_naive();
        let to = day(&req, "to")?.unwrap_or(today);
        let from = day(&req, "from")?.unwrap_or(to - Duration::days(29));
        let category = req
            .query("category")
            .map(|c| crate::offers::model::category(c, "category"))
            .transpose()?;
        let period = req.query_enum("period")?.unwrap_or_default();
        let funnel = self
            .crm()
            .funnel(req.caller()?, category, (from, to), period)
            .await?;
        HttpResponse::ok(&funnel)
    }

    /// `GET /admin/customers/{id}/interactions?limit&cursor`.
    pub async fn interactions(&self, req: HttpRequest) -> Result<HttpResponse> {
        let customer = UserId::parse(req.path_param("id"), "id")?;
        let limit = page_size(req.query("limit"))?;
        let page = self
            .crm()
            .interactions(req.caller()?, &customer, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// A stream batch of paid premium upgrades: their upsells purchased, recorded once.
    pub async fn upgrade_written(&self, batch: Vec<PremiumUpgrade>) -> Result<()> {
        let crm = self.crm();
        for upgrade in &batch {
            crm.upgrade_written(upgrade).await?;
        }
        Ok(())
    }

    /// A stream batch of written bookings: what each implies, recorded once.
    pub async fn booking_written(&self, batch: Vec<Booking>) -> Result<()> {
        let crm = self.crm();
        for booking in &batch {
            crm.booking_written(booking, now()).await?;
        }
        Ok(())
    }
}

/// The CRM service over `store`.
pub fn crm_over<'a>(store: &'a DynamoStore, cursors: &'a CursorCodec) -> Crm<'a> {
    Crm {
        store,
        followups: store,
        offers: store,
        cursors,
    }
}
