//! Offer and provider-profile routes: `PUT /me/provider-profile`, `GET /providers/{id}`,
//! `GET /providers/{id}/offers`, `POST /offers`, `GET /offers`, `GET`/`PATCH`/`DELETE
//! /offers/{id}`. They link only DynamoDB.

use super::model::{CreateOffer, OfferPatch, ProfileInput};
use super::service::Offers;
use crate::cursor::CursorCodec;
use crate::domain::{OfferId, UserId};
use crate::error::{Error, Result};
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::me::service::page_size;
use crate::store::dynamo::DynamoStore;

/// What every offer function builds once: the table and the cursor codec.
pub struct OffersApi {
    store: DynamoStore,
    cursors: CursorCodec,
}

fn offer_id(req: &HttpRequest) -> Result<OfferId> {
    OfferId::parse(req.path_param("id"), "id")
}

fn provider_id(req: &HttpRequest) -> Result<UserId> {
    UserId::parse(req.path_param("id"), "id")
}

impl OffersApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    fn offers(&self) -> Offers<'_> {
        Offers {
            store: &self.store,
            files: &self.store,
            cursors: &self.cursors,
        }
    }

    /// `PUT /me/provider-profile`.
    pub async fn put_profile(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: ProfileInput = req.json()?;
        let profile = self
            .offers()
            .put_profile(req.caller()?, body, now())
            .await?;
        HttpResponse::ok(&profile)
    }

    /// `GET /providers/{id}`.
    pub async fn profile(&self, req: HttpRequest) -> Result<HttpResponse> {
        let provider = provider_id(&req)?;
        let profile = self
            .offers()
            .public_profile(&self.store, &self.store, &self.store, &provider)
            .await?;
        HttpResponse::ok(&profile)
    }

    /// `GET /providers/{id}/offers`.
    pub async fn of_provider(&self, req: HttpRequest) -> Result<HttpResponse> {
        let (provider, limit) = (provider_id(&req)?, page_size(req.query("limit"))?);
        let page = self
            .offers()
            .of_provider(req.caller()?, &provider, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `POST /offers`.
    pub async fn create(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: CreateOffer = req.json()?;
        let offer = self.offers().create(req.caller()?, body, now()).await?;
        HttpResponse::json(201, &offer)
    }

    /// `GET /offers?category&limit&cursor`.
    pub async fn listed(&self, req: HttpRequest) -> Result<HttpResponse> {
        let category = req
            .query("category")
            .ok_or_else(|| Error::field("category", "required"))?;
        let limit = page_size(req.query("limit"))?;
        let page = self.offers().listed(category, limit, req.cursor()).await?;
        HttpResponse::ok(&page)
    }

    /// `GET /offers/{id}`.
    pub async fn get(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.offers().get(req.caller()?, &offer_id(&req)?).await?)
    }

    /// `PATCH /offers/{id}`.
    pub async fn update(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: OfferPatch = req.json()?;
        let offer = self
            .offers()
            .update(req.caller()?, &offer_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&offer)
    }

    /// `DELETE /offers/{id}`.
    pub async fn delete(&self, req: HttpRequest) -> Result<HttpResponse> {
        self.offers()
            .delete(req.caller()?, &offer_id(&req)?)
            .await?;
        Ok(HttpResponse::no_content())
    }
}
