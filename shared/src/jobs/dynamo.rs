//! Jobs on the table. A job item carries its poster's `GSI1` keys ("my jobs", newest first);
//! an open job also has a listing item, a copy in its category's partition, so a category's
//! open jobs are one query. Every change of a job is one transaction conditioned on the
//! version read, which also moves or removes the listing and attaches its new files,
//! so a listing never outlives or disagrees with its job. Applications live in the job's
//! partition (one per provider, by key) with their provider's `GSI1` keys; a provider's write
//! of one checks, in the same transaction, that the job is still open at the version read.
//! Accepting one writes the job, the application and the booking in one transaction, each
//! conditioned on what was read.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use tracing::instrument;

use super::model::{Application, ApplicationState, Job, JobState};
use super::store::JobStore;
use crate::bookings::model::Booking;
use crate::bookings::store::Creation;
use crate::chat::model::{Member, Room};
use crate::chat::store::RoomClaim;
use crate::cursor::Position;
use crate::domain::{JobId, UserId, wire_name};
use crate::error::{Error, Result};
use crate::jobs::keys as job_keys;
use crate::keys;
use crate::store::dynamo::*;
use crate::store::{Page, RateLimit};
use chrono::{DateTime, Utc};

/// The entity type of job items: their writes on the table's stream tell the category's
/// followers of a posted job and decline the quotes of an assigned or cancelled one.
pub const ENTITY_JOB: &str = "job";
/// The entity type of applications: a first application's insertion on the table's stream
/// tells the job's poster.
pub const ENTITY_APPLICATION: &str = "job_application";
const ENTITY_LISTING: &str = "job_listing";

impl DynamoStore {
    fn job_item(&self, job: &Job) -> Result<Item> {
        to_item(
            &job_keys::job(&job.id),
            ENTITY_JOB,
            Some(&job_keys::job_by_poster(&job.poster_id, &job.id)),
            job,
        )
    }

    fn job_listing_item(&self, job: &Job) -> Result<Item> {
        to_item(
            &job_keys::listing(&job.category, &job.id),
            ENTITY_LISTING,
            None,
            job,
        )
    }

    fn application_item(&self, application: &Application) -> Result<Item> {
        to_item(
            &job_keys::application(&application.job_id, &application.provider_id),
            ENTITY_APPLICATION,
            Some(&job_keys::application_by_provider(
                &application.provider_id,
                &application.job_id,
            )),
            application,
        )
    }

    /// A transaction's put of `item` over the stored version `version` (and, when given, the
    /// stored `state`).
    fn versioned_put(
        &self,
        item: Item,
        version: u32,
        state: Option<String>,
    ) -> Result<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :before")
            .expression_attribute_values(":before", n(version));
        if let Some(state) = state {
            put = put
                .condition_expression("version = :before AND #state = :state")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":state", s(state));
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(Error::unexpected)?)
            .build())
    }

    /// The listing's part of a change from `before` to `after`: removed when the job stops
    /// being open (or changes category), written while it is open.
    fn listing_actions(&self, before: &Job, after: &Job) -> Result<Vec<TransactWriteItem>> {
        let listed = |job: &Job| job.state == JobState::Open;
        let mut actions = Vec::new();
        if listed(before) && (!listed(after) || after.category != before.category) {
            actions.push(self.delete_action(&job_keys::listing(&before.category, &before.id))?);
        }
        if listed(after) {
            actions.push(self.put_action(self.job_listing_item(after)?, None)?);
        }
        Ok(actions)
    }

    /// A transaction's check that `job` is still open at the version read.
    fn job_open_check(&self, job: &Job) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&job_keys::job(&job.id))))
            .condition_expression("version = :version AND #state = :open")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":version", n(job.version))
            .expression_attribute_values(":open", s("open"))
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Attaches the files `after` has and `before` had not. A dropped file is not detached:
    /// a file is shown for a job only while the job still lists it, and an update of a file
    /// deleted since would write a stub of it.
    fn attachment_actions(
        &self,
        before: Option<&Job>,
        after: &Job,
    ) -> Result<Vec<TransactWriteItem>> {
        let had: BTreeSet<_> = before
            .map(|b| b.attachment_file_ids.iter().collect())
            .unwrap_or_default();
        after
            .attachment_file_ids
            .iter()
            .filter(|file| !had.contains(file))
            .map(|file| self.attach_file_action(file, &after.id, &after.poster_id))
            .collect()
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    #[instrument(skip_all, fields(job_id = %job.id))]
    async fn create_job(&self, job: &Job) -> Result<bool> {
        let mut actions = vec![
            self.put_action(self.job_item(job)?, Some("attribute_not_exists(PK)"))?,
            self.put_action(self.job_listing_item(job)?, None)?,
        ];
        actions.extend(self.attachment_actions(None, job)?);
        self.transact_conditional(actions).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>> {
        self.get(&job_keys::job(id)).await
    }

    #[instrument(skip_all, fields(job_id = %after.id))]
    async fn replace_job(
        &self,
        before: &Job,
        after: &Job,
        application: Option<(&Application, &Application)>,
    ) -> Result<bool> {
        let mut actions = vec![self.versioned_put(self.job_item(after)?, before.version, None)?];
        if let Some((before, after)) = application {
            actions.push(self.versioned_put(
                self.application_item(after)?,
                before.version,
                None,
            )?);
        }
        actions.extend(self.listing_actions(before, after)?);
        actions.extend(self.attachment_actions(Some(before), after)?);
        self.transact_conditional(actions).await
    }

    #[instrument(skip_all, fields(job_id = %job.0.id, booking_id = %booking.id))]
    async fn accept(
        &self,
        job: (&Job, &Job),
        application: (&Application, &Application),
        booking: &Booking,
        limits: &[RateLimit<'_>],
        now: DateTime<Utc>,
    ) -> Result<Creation> {
        let mut guards = vec![
            self.versioned_put(
                self.job_item(job.1)?,
                job.0.version,
                Some(wire_name(&JobState::Open)),
            )?,
            self.versioned_put(
                self.application_item(application.1)?,
                application.0.version,
                Some(wire_name(&ApplicationState::Pending)),
            )?,
        ];
        guards.extend(self.listing_actions(job.0, job.1)?);
        self.create_guarded(guards, limits, booking, now).await
    }

    async fn get_application(&self, job: &JobId, provider: &UserId) -> Result<Option<Application>> {
        self.get(&job_keys::application(job, provider)).await
    }

    #[instrument(skip_all, fields(job_id = %job.id, provider_id = %application.provider_id))]
    async fn create_application(
        &self,
        application: &Application,
        job: &Job,
        room: &Room,
        members: &[Member],
    ) -> Result<bool> {
        let mut actions = vec![
            self.put_action(
                self.application_item(application)?,
                Some("attribute_not_exists(PK)"),
            )?,
            self.job_open_check(job)?,
        ];
        let claim = room.subject.clone().map(RoomClaim::Subject);
        actions.extend(self.room_actions(room, members, claim.as_ref())?);
        self.transact_conditional(actions).await
    }

    #[instrument(skip_all, fields(job_id = %after.job_id, provider_id = %after.provider_id))]
    async fn replace_application(
        &self,
        before: &Application,
        after: &Application,
        job: Option<&Job>,
    ) -> Result<bool> {
        let mut actions =
            vec![self.versioned_put(self.application_item(after)?, before.version, None)?];
        if let Some(job) = job {
            actions.push(self.job_open_check(job)?);
        }
        self.transact_conditional(actions).await
    }

    async fn applications_to(
        &self,
        job: &JobId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Application>> {
        let pk = job_keys::job(job).pk;
        self.newest_first(None, &pk, job_keys::APPLICATION_PREFIX, None, limit, after)
            .await
    }

    async fn applications_of(
        &self,
        provider: &UserId,
        state: Option<ApplicationState>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Application>> {
        let pk = keys::user_partition(provider);
        let state = state.map(|s| ("state", wire_name(&s)));
        self.newest_first(
            Some(keys::GSI1),
            &pk,
            job_keys::APPLICATION_PREFIX,
            state,
            limit,
            after,
        )
        .await
    }

    async fn open_jobs(
        &self,
        category: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Job>> {
        let pk = job_keys::category_partition(category);
        self.newest_first(None, &pk, job_keys::JOB_PREFIX, None, limit, after)
            .await
    }

    async fn jobs_of(
        &self,
        poster: &UserId,
        state: Option<JobState>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Job>> {
        let pk = keys::user_partition(poster);
        let state = state.map(|s| ("state", wire_name(&s)));
        self.newest_first(
            Some(keys::GSI1),
            &pk,
            job_keys::JOB_PREFIX,
            state,
            limit,
            after,
        )
        .await
    }
}
