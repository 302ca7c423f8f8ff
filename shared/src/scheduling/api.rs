//! Scheduling routes: `PUT`/`GET /me/availability`, `GET /offers/{id}/slots` and the admins'
//! `GET`/`PUT /admin/session-settings`. They link only DynamoDB.

use super::model::SetAvailability;
use super::service::{Scheduling, date};
use crate::bookings::model::SessionSettingsRequest;
use crate::domain::OfferId;
use crate::error::Result;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::store::dynamo::DynamoStore;

/// What every scheduling function builds once: the table.
pub struct SchedulingApi {
    store: DynamoStore,
}

impl SchedulingApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
        }
    }

    fn scheduling(&self) -> Scheduling<'_> {
        Scheduling {
            plans: &self.store,
            offers: &self.store,
        }
    }

    /// `PUT /me/availability`.
    pub async fn set(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: SetAvailability = req.json()?;
        let plan = self.scheduling().set(req.caller()?, body, now()).await?;
        HttpResponse::ok(&plan)
    }

    /// `GET /me/availability`.
    pub async fn mine(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.scheduling().mine(req.caller()?).await?)
    }

    /// `GET /admin/session-settings`.
    pub async fn settings(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&super::service::session_settings(&self.store, req.caller()?).await?)
    }

    /// `PUT /admin/session-settings`.
    pub async fn set_settings(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: SessionSettingsRequest = req.json()?;
        let settings =
            super::service::set_session_settings(&self.store, req.caller()?, body, now()).await?;
        HttpResponse::ok(&settings)
    }

    /// `GET /offers/{id}/slots?from&to`.
    pub async fn slots(&self, req: HttpRequest) -> Result<HttpResponse> {
        let offer = OfferId::parse(req.path_param("id"), "id")?;
        let dates = (
            date(req.query("from"), "from")?,
            date(req.query("to"), "to")?,
        );
        let list = self
            .scheduling()
            .slots(req.caller()?, &offer, dates, now())
            .await?;
        HttpResponse::ok(&list)
    }
}
