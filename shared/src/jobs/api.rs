//! Job routes: `POST /jobs`, `GET /jobs`, `GET /me/jobs`, `GET`/`PATCH /jobs/{id}`,
//! `POST /jobs/{id}/cancel`, `PUT`/`DELETE /jobs/{id}/application`, `GET /jobs/{id}/applications`,
//! `GET /me/applications`, and the stream consumers that tell a category's followers of a
//! posted job and a poster of an application, move a job along its booking and decline the
//! applications of a job that is assigned or cancelled. The routes link only DynamoDB; the
//! consumers also the ways to reach people. (Accepting an application makes a booking and
//! its payment: it is served with the bookings, which link Stripe.)

use super::model::{Application, ApplicationInput, Job, JobPatch, PostJob};
use super::service::{Jobs, JobsFollow, application_received, job_posted};
use crate::adapters::{ApiGatewayPusher, SnsPush};
use crate::bookings::model::Booking;
use crate::bookings::store::BookingNews;
use crate::cursor::CursorCodec;
use crate::domain::JobId;
use crate::error::{Error, Result};
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::{Init, now};
use crate::me::service::page_size;
use crate::notifications::api::notifications_over;
use crate::store::dynamo::DynamoStore;

/// What every job route builds once: the table and the cursor codec.
pub struct JobsApi {
    store: DynamoStore,
    cursors: CursorCodec,
}

fn job_id(req: &HttpRequest) -> Result<JobId> {
    JobId::parse(req.path_param("id"), "id")
}

impl JobsApi {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    fn jobs(&self) -> Jobs<'_> {
        Jobs {
            store: &self.store,
            profiles: &self.store,
            cursors: &self.cursors,
        }
    }

    /// `POST /jobs`.
    pub async fn post(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: PostJob = req.json()?;
        let job = self.jobs().post(req.caller()?, body, now()).await?;
        HttpResponse::json(201, &job)
    }

    /// `GET /jobs?category&limit&cursor`.
    pub async fn open(&self, req: HttpRequest) -> Result<HttpResponse> {
        let category = req
            .query("category")
            .ok_or_else(|| Error::field("category", "required"))?;
        let limit = page_size(req.query("limit"))?;
        let page = self.jobs().open(category, limit, req.cursor()).await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/jobs?state&limit&cursor`.
    pub async fn mine(&self, req: HttpRequest) -> Result<HttpResponse> {
        let state = req.query_enum("state")?;
        let limit = page_size(req.query("limit"))?;
        let page = self
            .jobs()
            .mine(req.caller()?, state, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /jobs/{id}`.
    pub async fn get(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&self.jobs().get(req.caller()?, &job_id(&req)?).await?)
    }

    /// `PATCH /jobs/{id}`.
    pub async fn update(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: JobPatch = req.json()?;
        let job = self
            .jobs()
            .update(req.caller()?, &job_id(&req)?, body, now())
            .await?;
        HttpResponse::ok(&job)
    }

    /// `PUT /jobs/{id}/application`.
    pub async fn apply(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: ApplicationInput = req.json()?;
        let (application, created) = self
            .jobs()
            .apply(req.caller()?, &job_id(&req)?, body, now())
            .await?;
        HttpResponse::json(if created { 201 } else { 200 }, &application)
    }

    /// `DELETE /jobs/{id}/application`.
    pub async fn withdraw(&self, req: HttpRequest) -> Result<HttpResponse> {
        let application = self
            .jobs()
            .withdraw(req.caller()?, &job_id(&req)?, now())
            .await?;
        HttpResponse::ok(&application)
    }

    /// `GET /jobs/{id}/applications?limit&cursor`.
    pub async fn applications(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = page_size(req.query("limit"))?;
        let page = self
            .jobs()
            .applications(req.caller()?, &job_id(&req)?, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/applications?state&limit&cursor`.
    pub async fn my_applications(&self, req: HttpRequest) -> Result<HttpResponse> {
        let state = req.query_enum("state")?;
        let limit = page_size(req.query("limit"))?;
        let page = self
            .jobs()
            .my_applications(req.caller()?, state, limit, req.cursor())
            .await?;
        HttpResponse::ok(&page)
    }

    /// `POST /jobs/{id}/cancel`.
    pub async fn cancel(&self, req: HttpRequest) -> Result<HttpResponse> {
        let job = self
            .jobs()
            .cancel(req.caller()?, &job_id(&req)?, now())
            .await?;
        HttpResponse::ok(&job)
    }
}

/// What the job-news consumer builds once: the table and the ways to reach people.
pub struct JobNews {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    push: Option<SnsPush>,
}

impl JobNews {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            push: SnsPush::from_sdk(&init.sdk, init.config.push_application_arn.as_deref()),
        }
    }

    /// Tells each first application's job poster (a stream batch of inserted applications,
    /// keyed per job and provider: a retried batch tells nobody twice).
    pub async fn applied(&self, batch: Vec<Application>) -> Result<()> {
        let news = notifications_over(&self.store, &self.pusher, self.push.as_ref());
        for application in &batch {
            let actor = news.display_name(&application.provider_id).await;
            BookingNews::notify(&news, &application_received(application, &actor), now()).await?;
        }
        Ok(())
    }

    /// A stream batch of written jobs: a posted one (its first version) tells its
    /// category's followers (the fan-out is resumable and keyed per job, so a retried batch
    /// tells nobody twice); an assigned or cancelled one declines its pending applications
    /// and tells their providers.
    pub async fn handle(&self, batch: Vec<Job>) -> Result<()> {
        let news = notifications_over(&self.store, &self.pusher, self.push.as_ref());
        let follow = JobsFollow {
            store: &self.store,
            news: &news,
        };
        for job in &batch {
            if job.version == 1 {
                news.notify(&job_posted(job), now()).await?;
                // The poster's intake, in their CRM log (once, with the funnel's counters).
                let intake = crate::crm::model::Interaction::job_posted(job);
                crate::crm::store::CrmStore::record(&self.store, &intake).await?;
            } else {
                follow.job_changed(job, now()).await?;
            }
        }
        Ok(())
    }

    /// A stream batch of written job bookings: each one's job follows it (see
    /// [`crate::jobs::model::Job::following`]).
    pub async fn follow(&self, batch: Vec<Booking>) -> Result<()> {
        let news = notifications_over(&self.store, &self.pusher, self.push.as_ref());
        let follow = JobsFollow {
            store: &self.store,
            news: &news,
        };
        for booking in &batch {
            follow.booking_changed(booking, now()).await?;
        }
        Ok(())
    }
}
