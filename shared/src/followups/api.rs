//! Follow-up routes that only read and write the table: the terms (`GET
//! /bookings/{id}/follow-ups/terms`), the admins' settings (`GET`/`PUT
//! /admin/follow-up-settings`) and premium flags (`PUT /admin/users/{id}/premium`, `GET
//! /me/premium`). Opening a follow-up is a checkout, served with the purchase
//! ([`crate::bookings::api::BookingsApi`]).

use super::model::{FollowUpSettingsRequest, PremiumRequest};
use super::service;
use crate::domain::{BookingId, UserId};
use crate::error::Result;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::store::dynamo::DynamoStore;

/// What these functions build once: the table.
pub struct FollowUpsApi {
    store: DynamoStore,
}

impl FollowUpsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
        }
    }

    /// `GET /bookings/{id}/follow-ups/terms`.
    pub async fn terms(&self, req: HttpRequest) -> Result<HttpResponse> {
        let parent = BookingId::parse(req.path_param("id"), "id")?;
        let terms = service::terms(&self.store, &self.store, req.caller()?, &parent, now()).await?;
        HttpResponse::ok(&terms)
    }

    /// `GET /me/premium`.
    pub async fn premium(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::premium(&self.store, req.caller()?).await?)
    }

    /// `GET /admin/follow-up-settings`.
    pub async fn settings(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::settings(&self.store, req.caller()?).await?)
    }

    /// `PUT /admin/follow-up-settings`.
    pub async fn set_settings(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: FollowUpSettingsRequest = req.json()?;
        let settings = service::set_settings(&self.store, req.caller()?, body, now()).await?;
        HttpResponse::ok(&settings)
    }

    /// `PUT /admin/users/{id}/premium`.
    pub async fn set_premium(&self, req: HttpRequest) -> Result<HttpResponse> {
        let user = UserId::parse(req.path_param("id"), "id")?;
        let body: PremiumRequest = req.json()?;
        let premium =
            service::set_premium(&self.store, &self.store, req.caller()?, &user, body, now())
                .await?;
        HttpResponse::ok(&premium)
    }
}
