//! Review routes: `POST`/`GET /bookings/{id}/reviews`, `PUT
//! /bookings/{id}/reviews/{author}/helpful` and `…/reply`, the admins' `POST …/hide`,
//! `GET /providers/{id}/reviews`, the sweep that closes review windows, and the stream
//! consumer that measures providers' first responses. They link only DynamoDB.

use chrono::{DateTime, Utc};

use super::model::{HideRequest, ReplyRequest, ReviewRequest, author};
use super::service::Reviews;
use crate::bookings::model::PartyRole;
use crate::chat::model::Message;
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, UserId};
use crate::error::Result;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::me::service::page_size;
use crate::store::dynamo::DynamoStore;

/// What every review function builds once: the table and the cursor codec.
pub struct ReviewsApi {
    store: DynamoStore,
    cursors: CursorCodec,
}

fn booking_id(req: &HttpRequest) -> Result<BookingId> {
    BookingId::parse(req.path_param("id"), "id")
}

/// The booking and which of its reviews the path names.
fn addressed(req: &HttpRequest) -> Result<(BookingId, PartyRole)> {
    Ok((booking_id(req)?, author(req.path_param("author"))?))
}

impl ReviewsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    fn reviews(&self) -> Reviews<'_> {
        Reviews {
            store: &self.store,
            cursors: &self.cursors,
        }
    }

    /// `POST /bookings/{id}/reviews`.
    pub async fn submit(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: ReviewRequest = req.json()?;
        let review = self
            .reviews()
            .submit(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::json(201, &review)
    }

    /// `GET /bookings/{id}/reviews`.
    pub async fn of_booking(&self, req: HttpRequest) -> Result<HttpResponse> {
        let reviews = self
            .reviews()
            .of_booking(req.caller()?, &booking_id(&req)?, now())
            .await?;
        HttpResponse::ok(&reviews)
    }

    /// `GET /providers/{id}/reviews?limit&cursor`.
    pub async fn of_provider(&self, req: HttpRequest) -> Result<HttpResponse> {
        req.caller()?;
        let provider = UserId::parse(req.path_param("id"), "id")?;
        let limit = page_size(req.query("limit"))?;
        let page = self
            .reviews()
            .of_provider(&provider, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `PUT /bookings/{id}/reviews/{author}/helpful`.
    pub async fn vote(&self, req: HttpRequest) -> Result<HttpResponse> {
        let (id, author) = addressed(&req)?;
        let review = self
            .reviews()
            .vote(req.caller()?, &id, author, now())
            .await?;
        HttpResponse::ok(&review)
    }

    /// `PUT /bookings/{id}/reviews/{author}/reply`.
    pub async fn reply(&self, req: HttpRequest) -> Result<HttpResponse> {
        let (id, author) = addressed(&req)?;
        let body: ReplyRequest = req.json()?;
        let review = self
            .reviews()
            .reply(req.caller()?, &id, author, body, now())
            .await?;
        HttpResponse::ok(&review)
    }

    /// `POST /bookings/{id}/reviews/{author}/hide`.
    pub async fn hide(&self, req: HttpRequest) -> Result<HttpResponse> {
        let (id, author) = addressed(&req)?;
        let body: HideRequest = req.json()?;
        let review = self
            .reviews()
            .hide(req.caller()?, &id, author, body, now())
            .await?;
        HttpResponse::ok(&review)
    }

    /// Measures first responses from a stream batch of new chat messages.
    pub async fn measure(&self, batch: Vec<Message>) -> Result<()> {
        super::service::measure(&self.store, &batch).await
    }

    /// The review-window sweep.
    pub async fn sweep(&self, at: DateTime<Utc>) -> Result<()> {
        self.reviews().sweep(at).await.map(|_| ())
    }
}
