//! Booking routes: `POST /offers/{id}/purchase`, accepting a job's application (`POST
//! /jobs/{id}/applications/{providerId}/accept`), requesting a slot (`POST /offers/{id}/book`)
//! and the provider's answer (`POST /bookings/{id}/{accept,decline}`), opening a follow-up
//! (`POST /bookings/{id}/follow-ups`), buying an upsell (`POST
//! /me/upsells/{bookingId}/{kind}/purchase`), `GET /bookings`,
//! `GET /bookings/{id}`,
//! `POST /bookings/{id}/{start,deliver,confirm,cancel}`, the session's summary (`POST`, `GET
//! /bookings/{id}/summary`), the Stripe webhook
//! (`POST /webhooks/stripe`) and the timer sweep.

use chrono::{DateTime, Utc};

use super::model::{
    BookingView, CancelRequest, DeclineRequest, DeliverRequest, PurchaseRequest, RefundRequest,
    SummaryRequest,
};
use super::service::{self, Bookings};
use super::store::{BookingNews, ListFilter, NamesOnly, Outbox};
use crate::adapters::{ApiGatewayPusher, SnsPush};
use crate::config::StripeSecrets;
use crate::crm::service::UpsellPurchaseRequest;
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, JobId, OfferId, UserId};
use crate::error::{Error, Result};
use crate::followups::model::FollowUpRequest;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::lambda::{Init, Prefetch, StripeInit};
use crate::me::service::page_size;
use crate::notifications::api::notifications_over;
use crate::notifications::service::Notifications;
use crate::scheduling::service::BookSlot;
use crate::store::dynamo::DynamoStore;

/// What every booking function builds once.
pub struct BookingsApi {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    push: Option<SnsPush>,
    cursors: CursorCodec,
    payments: gigwire_payments::StripePayments,
    /// Stripe's secrets being read; the webhook's signing secret is among them for the
    /// webhook function only.
    secrets: Prefetch<StripeSecrets>,
}

fn booking_id(req: &HttpRequest) -> Result<BookingId> {
    BookingId::parse(req.path_param("id"), "id")
}

/// What the outbox function builds once: the table and the ways to reach people (no Stripe
/// key: it only tells).
pub struct OutboxSender {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    push: Option<SnsPush>,
}

impl OutboxSender {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            push: SnsPush::from_sdk(&init.sdk, init.config.push_application_arn.as_deref()),
        }
    }

    /// Sends a stream batch of outbox items, in order.
    pub async fn handle(&self, batch: Vec<Outbox>) -> Result<()> {
        let news = notifications_over(&self.store, &self.pusher, self.push.as_ref());
        for outbox in &batch {
            service::send_outbox(&news, outbox, now()).await?;
        }
        Ok(())
    }
}

/// What the reading functions build: the table and cursors, no Stripe key.
pub struct BookingReads {
    store: DynamoStore,
    cursors: CursorCodec,
}

impl BookingReads {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    /// `GET /bookings?role&state&category&source&limit&cursor`.
    pub async fn list(&self, req: HttpRequest) -> Result<HttpResponse> {
        let filter = ListFilter {
            role: req.query_enum("role")?,
            state: req.query_enum("state")?,
            category: req
                .query("category")
                .map(|c| crate::offers::model::category(c, "category"))
                .transpose()?,
            source: req.query_enum("source")?,
        };
        let limit = page_size(req.query("limit"))?;
        let caller = req.caller()?;
        let page = service::list(
            &self.store,
            &self.cursors,
            caller,
            filter,
            limit,
            req.cursor(),
        )
        .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/payments?limit&cursor`.
    pub async fn payments(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let page = service::payments(
            &self.store,
            &self.cursors,
            req.caller()?,
            limit,
            req.cursor(),
        )
        .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /bookings/{id}`.
    pub async fn get(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&service::detail(&self.store, req.caller()?, &booking_id(&req)?).await?)
    }
}

impl BookingsApi {
    /// Builds the dependencies once.
    pub fn new(init: &StripeInit) -> Self {
        let base = &init.base;
        Self {
            store: DynamoStore::from_sdk(&base.sdk, &base.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&base.sdk, &base.config.ws_management_endpoint),
            push: SnsPush::from_sdk(&base.sdk, base.config.push_application_arn.as_deref()),
            cursors: CursorCodec::new(&base.config.app_secret),
            payments: init.payments.clone(),
            secrets: init.secrets.clone(),
        }
    }

    fn notifications(&self) -> Notifications<'_> {
        notifications_over(&self.store, &self.pusher, self.push.as_ref())
    }

    fn bookings<'a>(&'a self, news: &'a dyn BookingNews) -> Bookings<'a> {
        Bookings {
            store: &self.store,
            offers: &self.store,
            files: &self.store,
            payments: &self.payments,
            news,
            cursors: &self.cursors,
            accounts: &self.store,
            connect: &self.payments,
            followups: &self.store,
        }
    }

    /// `POST /offers/{id}/purchase`.
    pub async fn purchase(&self, req: HttpRequest) -> Result<HttpResponse> {
        let offer = OfferId::parse(req.path_param("id"), "id")?;
        let body: PurchaseRequest = req.json()?;
        let (purchase, created) = self
            .bookings(&NamesOnly(&self.store))
            .purchase(req.caller()?, &offer, body, now())
            .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &purchase)
    }

    /// `POST /jobs/{id}/applications/{providerId}/accept`.
    pub async fn accept_application(&self, req: HttpRequest) -> Result<HttpResponse> {
        let job = JobId::parse(req.path_param("id"), "id")?;
        let provider = UserId::parse(req.path_param("providerId"), "providerId")?;
        let news = NamesOnly(&self.store);
        let (purchase, created) = crate::jobs::service::accept(
            &self.bookings(&news),
            &self.store,
            req.caller()?,
            &job,
            &provider,
            now(),
        )
        .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &purchase)
    }

    /// `POST /bookings/{id}/follow-ups`.
    pub async fn open_follow_up(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: FollowUpRequest = req.json()?;
        let news = NamesOnly(&self.store);
        let (purchase, created) = crate::followups::service::open(
            &self.bookings(&news),
            &self.store,
            req.caller()?,
            &booking_id(&req)?,
            body,
            None,
            now(),
        )
        .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &purchase)
    }

    /// `POST /me/upsells/{bookingId}/{kind}/purchase`.
    pub async fn purchase_upsell(&self, req: HttpRequest) -> Result<HttpResponse> {
        let addressed = crate::crm::api::addressed(&req)?;
        let body: UpsellPurchaseRequest = req.json()?;
        let news = NamesOnly(&self.store);
        let crm = crate::crm::api::crm_over(&self.store, &self.cursors);
        let (purchase, created) = crate::crm::service::purchase(
            &self.bookings(&news),
            &crm,
            req.caller()?,
            (&addressed.0, addressed.1),
            body,
            now(),
        )
        .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &purchase)
    }

    /// `POST /offers/{id}/book`.
    pub async fn book(&self, req: HttpRequest) -> Result<HttpResponse> {
        let offer = OfferId::parse(req.path_param("id"), "id")?;
        let body: BookSlot = req.json()?;
        let news = NamesOnly(&self.store);
        let (purchase, created) = crate::scheduling::service::book(
            &self.bookings(&news),
            &self.store,
            req.caller()?,
            &offer,
            body,
            now(),
        )
        .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &purchase)
    }

    /// `POST /bookings/{id}/accept`.
    pub async fn accept(&self, req: HttpRequest) -> Result<HttpResponse> {
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .accept(req.caller()?, &booking_id(&req)?, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/pay`.
    pub async fn pay(&self, req: HttpRequest) -> Result<HttpResponse> {
        let purchase = self
            .bookings(&NamesOnly(&self.store))
            .pay(req.caller()?, &booking_id(&req)?)
            .await?;
        HttpResponse::ok(&purchase)
    }

    /// `POST /bookings/{id}/decline`.
    pub async fn decline(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: DeclineRequest = req.json_or_default()?;
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .decline(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/start`.
    pub async fn start(&self, req: HttpRequest) -> Result<HttpResponse> {
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .start(req.caller()?, &booking_id(&req)?, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/deliver`.
    pub async fn deliver(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: DeliverRequest = req.json()?;
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .deliver(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/summary`.
    pub async fn summarize(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: SummaryRequest = req.json()?;
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .summarize(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `GET /bookings/{id}/summary`.
    pub async fn summary(&self, req: HttpRequest) -> Result<HttpResponse> {
        let summary = self
            .bookings(&NamesOnly(&self.store))
            .summary(req.caller()?, &booking_id(&req)?, now())
            .await?;
        HttpResponse::ok(&summary)
    }

    /// `POST /bookings/{id}/confirm`.
    pub async fn confirm(&self, req: HttpRequest) -> Result<HttpResponse> {
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .confirm(req.caller()?, &booking_id(&req)?, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/cancel`.
    pub async fn cancel(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: CancelRequest = req.json()?;
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .cancel(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /bookings/{id}/refund` (admins).
    pub async fn refund(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: RefundRequest = req.json()?;
        let booking = self
            .bookings(&NamesOnly(&self.store))
            .refund_earned(req.caller()?, &booking_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&BookingView::from(booking))
    }

    /// `POST /webhooks/stripe`: the raw body as Stripe signed it.
    pub async fn webhook(&self, req: HttpRequest) -> Result<HttpResponse> {
        let secrets = self.secrets.get().await.map_err(Error::unexpected)?;
        let secret = secrets.webhook_secret.as_deref().ok_or_else(|| {
            Error::unexpected(anyhow::anyhow!(
                "STRIPE_WEBHOOK_SECRET_PARAMETER is not set for this function"
            ))
        })?;
        let outcome = self
            .bookings(&self.notifications())
            .webhook(&req.body, req.header("stripe-signature"), secret, now())
            .await?;
        HttpResponse::ok(&service::WebhookAnswer { outcome })
    }

    /// The scheduled sweep of due booking timers.
    pub async fn sweep(&self, at: DateTime<Utc>) -> Result<()> {
        let news = self.notifications();
        self.bookings(&news).sweep(at).await.map(|_| ())
    }
}
