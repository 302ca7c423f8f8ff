//! Job routes: `POST /jobs`, `GET /jobs`, `GET /me/jobs`, `GET`/`PATCH /jobs/{id}`,
//! `POST /jobs/{id}/cancel`, and the stream consumer that tells a category's followers of a
//! posted job. The routes link only DynamoDB; the consumer also the ways to reach people.

use super::model::{Job, JobPatch, PostJob};
use super::service::{Jobs, job_posted};
use crate::adapters::{ApiGatewayPusher, SnsPush};
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
        let page = self
            .jobs()
            .open(category, limit, req.query("cursor"))
            .await?;
        HttpResponse::ok(&page)
    }

    /// `GET /me/jobs?state&limit&cursor`.
    pub async fn mine(&self, req: HttpRequest) -> Result<HttpResponse> {
        let state = req.query_enum("state")?;
        let limit = page_size(req.query("limit"))?;
        let page = self
            .jobs()
            .mine(req.caller()?, state, limit, req.query("cursor"))
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

    /// Tells each posted job's category followers (a stream batch of inserted jobs; the
    /// fan-out is resumable and keyed per job, so a retried batch tells nobody twice).
    pub async fn handle(&self, batch: Vec<Job>) -> Result<()> {
        let news = notifications_over(&self.store, &self.pusher, self.push.as_ref());
        for job in &batch {
            news.notify(&job_posted(job), now()).await?;
        }
        Ok(())
    }
}
