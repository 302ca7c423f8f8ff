//! Storage port of jobs.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use super::model::{Application, ApplicationState, Job, JobState};
use crate::bookings::model::Booking;
use crate::bookings::store::Creation;
use crate::chat::model::{Member, Room};
use crate::cursor::Position;
use crate::domain::{JobId, UserId};
use crate::error::Result;
use crate::store::{Page, RateLimit};

/// Jobs.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new job, its category listing, and attaches its files (each must be a ready
    /// `job_document` of the poster); `false` when a file is not.
    async fn create_job(&self, job: &Job) -> Result<bool>;
    /// A job by id.
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>>;
    /// Replaces `before` with `after` (same id), moving or removing its listing and
    /// attaching new files, and with it one of its applications when given (before, after);
    /// `false` when the stored job (or application) is no longer `before` or a newly
    /// attached file is not a ready `job_document` of the poster.
    async fn replace_job(
        &self,
        before: &Job,
        after: &Job,
        application: Option<(&Application, &Application)>,
    ) -> Result<bool>;
    /// Accepts an application in one transaction: the job (`job.0`, still open at its
    /// version) becomes `job.1`, the application (`application.0`, still pending at its
    /// version) becomes `application.1`, and `booking` is created, counted against
    /// `limits`. `KeyTaken` when the job or the application moved first.
    async fn accept(
        &self,
        job: (&Job, &Job),
        application: (&Application, &Application),
        booking: &Booking,
        limits: &[RateLimit<'_>],
        now: DateTime<Utc>,
    ) -> Result<Creation>;
    /// A page of a category's open jobs, newest first.
    async fn open_jobs(
        &self,
        category: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Job>>;
    /// A provider's application to a job.
    async fn get_application(&self, job: &JobId, provider: &UserId) -> Result<Option<Application>>;
    /// Stores a first application with its chat room (and the room's two members), while
    /// `job` is still open at its version; `false` when either no longer holds (or the
    /// provider applied meanwhile).
    async fn create_application(
        &self,
        application: &Application,
        job: &Job,
        room: &Room,
        members: &[Member],
    ) -> Result<bool>;
    /// Replaces `before` with `after`, while `job` (when given) is still open at its
    /// version; `false` when either no longer holds.
    async fn replace_application(
        &self,
        before: &Application,
        after: &Application,
        job: Option<&Job>,
    ) -> Result<bool>;
    /// A page of a job's applications, by provider id.
    async fn applications_to(
        &self,
        job: &JobId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Application>>;
    /// A page of a provider's applications, newest job first, of one state when given.
    async fn applications_of(
        &self,
        provider: &UserId,
        state: Option<ApplicationState>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Application>>;
    /// A page of a poster's jobs, newest first, of one state when given.
    async fn jobs_of(
        &self,
        poster: &UserId,
        state: Option<JobState>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Job>>;
}
