//! Job use cases: who may post, change, cancel and see what. Any signed-in user posts jobs
//! (as a customer); an open job is visible to every signed-in user and listed in its
//! category; a job that is no longer open only to its poster and admins (to anyone else it
//! does not exist). A posted job tells its category's followers once, from the table's
//! stream, so a function that stops right after the write still tells them. The poster
//! accepts one quote into a booking paid as a purchase is; the job then follows that booking
//! (and declines the other quotes) from the table's stream too.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tracing::{info, instrument};
use utoipa::ToSchema;

use super::model::{
    Application, ApplicationInput, ApplicationState, ApplicationView, Job, JobPatch, JobState,
    PostJob,
};
use super::store::JobStore;
use crate::auth::Caller;
use crate::bookings::model::Booking;
use crate::bookings::service::{
    Bookings, PURCHASE_WINDOW_SECS, PURCHASES_PER_BUYER, Purchase, format_money,
};
use crate::bookings::store::{BookingNews, Creation};
use crate::chat::model::{Room, Subject, SubjectType};
use crate::cursor::{CursorCodec, Position};
use crate::domain::{BookingId, JobId, Role, RoomId, UserId};
use crate::error::{Error, Result};
use crate::notifications::model::{Kind, Target};
use crate::notifications::service::{NotifyRequest, Recipients};
use crate::offers::store::OfferStore;
use crate::store::{Page, RateLimit};

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    /// Newest first.
    pub items: Vec<Job>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// A page of applications.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPage {
    /// The applications.
    pub items: Vec<ApplicationView>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// The job service.
pub struct Jobs<'a> {
    /// Jobs and their applications.
    pub store: &'a dyn JobStore,
    /// Providers' profiles (to apply, one is needed; the poster sees them with the quotes).
    pub profiles: &'a dyn OfferStore,
    /// Page cursors.
    pub cursors: &'a CursorCodec,
}

fn sees(caller: &Caller, job: &Job) -> bool {
    job.state == JobState::Open
        || job.poster_id == caller.user_id
        || caller.roles.contains(&Role::Admin)
}

/// The cursor scope of one of the caller's own lists, filtered by `state`: a cursor of one
/// list (or of someone else's) is refused by another.
fn own_scope(list: &str, caller: &Caller, state: Option<impl Serialize>) -> String {
    let state = state.map(|s| crate::domain::wire_name(&s));
    format!("{list}:{}:{}", caller.user_id, state.unwrap_or_default())
}

/// One page of a list under its cursor `scope`: the caller's cursor is checked against the
/// scope, `fetch` reads the page after it, and the next position is signed for the scope.
async fn paged<T, F, Fut>(
    cursors: &CursorCodec,
    scope: &str,
    cursor: Option<&str>,
    fetch: F,
) -> Result<(Vec<T>, Option<String>)>
where
    F: FnOnce(Option<Position>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let after = cursor.map(|c| cursors.decode(scope, c)).transpose()?;
    let page = fetch(after).await?;
    Ok((page.items, page.next.map(|p| cursors.encode(scope, &p))))
}

fn changed() -> Error {
    Error::Conflict("the job changed meanwhile; read it and retry".into())
}

impl Jobs<'_> {
    /// `POST /jobs`.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn post(&self, caller: &Caller, request: PostJob, now: DateTime<Utc>) -> Result<Job> {
        let job = request.validate(caller.user_id, now)?;
        if !self.store.create_job(&job).await? {
            return Err(Error::field(
                "attachmentFileIds",
                "each must be one of your ready job_document uploads",
            ));
        }
        info!(job_id = %job.id, category = %job.category, "job posted");
        Ok(job)
    }

    /// `GET /jobs/{id}`.
    pub async fn get(&self, caller: &Caller, id: &JobId) -> Result<Job> {
        match self.store.get_job(id).await? {
            Some(job) if sees(caller, &job) => Ok(job),
            _ => Err(Error::NotFound("job")),
        }
    }

    /// The open job `caller` may change: 404 when they cannot see it, 403 when it is
    /// someone else's, 409 naming the state when it is no longer open.
    async fn own_open(&self, caller: &Caller, id: &JobId, action: &str) -> Result<Job> {
        let job = self.get(caller, id).await?;
        if job.poster_id != caller.user_id {
            return Err(Error::Forbidden("another customer's job".into()));
        }
        if job.state != JobState::Open {
            return Err(Error::Conflict(format!(
                "the job is {}: it can no longer be {action}",
                crate::domain::wire_name(&job.state)
            )));
        }
        Ok(job)
    }

    /// `PATCH /jobs/{id}`: the poster, while it is open.
    #[instrument(skip_all, fields(user_id = %caller.user_id, job_id = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: &JobId,
        patch: JobPatch,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let before = self.own_open(caller, id, "edited").await?;
        let attaching = patch.attachment_file_ids.is_some();
        let after = patch.apply(before.clone(), now)?;
        if self.store.replace_job(&before, &after, None).await? {
            return Ok(after);
        }
        // Either the job moved on, or a newly attached file is not the poster's to attach.
        match self.store.get_job(id).await? {
            Some(stored) if stored.version == before.version && attaching => Err(Error::field(
                "attachmentFileIds",
                "each must be one of your ready job_document uploads",
            )),
            _ => Err(changed()),
        }
    }

    /// `POST /jobs/{id}/cancel`: the poster, while it is open. It leaves its category's
    /// listing at once; its pending applications are declined (and their providers told)
    /// from the job's change on the table's stream ([`JobsFollow::job_changed`]).
    #[instrument(skip_all, fields(user_id = %caller.user_id, job_id = %id))]
    pub async fn cancel(&self, caller: &Caller, id: &JobId, now: DateTime<Utc>) -> Result<Job> {
        let before = self.own_open(caller, id, "cancelled").await?;
        let after = Job {
            state: JobState::Cancelled,
            updated_at: now,
            version: before.version + 1,
            ..before.clone()
        };
        if !self.store.replace_job(&before, &after, None).await? {
            return Err(changed());
        }
        info!(job_id = %after.id, "job cancelled");
        Ok(after)
    }

    /// `PUT /jobs/{id}/application`: the calling provider's quote on an open job — a first
    /// one (201, with the chat room of the poster and this provider, in one transaction that
    /// holds only while the job is open and unchanged), a change of a pending one, or a new
    /// quote after withdrawing (200, same room). `true` when it was created.
    #[instrument(skip_all, fields(user_id = %caller.user_id, job_id = %id))]
    pub async fn apply(
        &self,
        caller: &Caller,
        id: &JobId,
        input: ApplicationInput,
        now: DateTime<Utc>,
    ) -> Result<(Application, bool)> {
        if !caller.roles.contains(&Role::Provider) {
            return Err(Error::Forbidden("only providers apply to jobs".into()));
        }
        // The three reads are independent: one round trip's wait before the write.
        let (job, profile, existing) = futures::try_join!(
            self.get(caller, id),
            self.profiles.get_profile(&caller.user_id),
            self.store.get_application(id, &caller.user_id)
        )?;
        if job.poster_id == caller.user_id {
            return Err(Error::Forbidden("you cannot apply to your own job".into()));
        }
        if job.state != JobState::Open {
            return Err(Error::Conflict(format!(
                "the job is {}: it takes no applications",
                crate::domain::wire_name(&job.state)
            )));
        }
        if profile.is_none() {
            return Err(Error::Forbidden(
                "providers apply with a profile: create it first (PUT /me/provider-profile)".into(),
            ));
        }
        let (price, message, proposed_start) = input.validate(&job, now)?;
        let Some(before) = existing else {
            // The thread is the customer's and this provider's alone.
            let subject = Subject {
                kind: SubjectType::Job,
                id: format!("{}-{}", job.id, caller.user_id),
            };
            let people = [caller.user_id, job.poster_id];
            let (room, members) = Room::pair(RoomId::at(now), subject, &job.title, people, now);
            let application = Application {
                job_id: job.id,
                provider_id: caller.user_id,
                poster_id: job.poster_id,
                job_title: job.title.clone(),
                price,
                message,
                proposed_start,
                state: ApplicationState::Pending,
                room_id: room.id,
                booking_id: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            if !self
                .store
                .create_application(&application, &job, &room, &members)
                .await?
            {
                return Err(changed());
            }
            info!(job_id = %job.id, "applied");
            return Ok((application, true));
        };
        if !matches!(
            before.state,
            ApplicationState::Pending | ApplicationState::Withdrawn
        ) {
            return Err(Error::Conflict(format!(
                "your application was {}",
                crate::domain::wire_name(&before.state)
            )));
        }
        let after = Application {
            price,
            message,
            proposed_start,
            state: ApplicationState::Pending,
            job_title: job.title.clone(),
            updated_at: now,
            version: before.version + 1,
            ..before.clone()
        };
        if !self
            .store
            .replace_application(&before, &after, Some(&job))
            .await?
        {
            return Err(changed());
        }
        Ok((after, false))
    }

    /// `DELETE /jobs/{id}/application`: the calling provider withdraws their pending quote
    /// (the room and its history stay; they may apply again while the job is open).
    #[instrument(skip_all, fields(user_id = %caller.user_id, job_id = %id))]
    pub async fn withdraw(
        &self,
        caller: &Caller,
        id: &JobId,
        now: DateTime<Utc>,
    ) -> Result<Application> {
        let (job, before) = futures::try_join!(
            self.get(caller, id),
            self.store.get_application(id, &caller.user_id)
        )?;
        let before = before.ok_or(Error::NotFound("application"))?;
        if before.state != ApplicationState::Pending {
            return Err(Error::Conflict(format!(
                "your application is {}: only a pending one is withdrawn",
                crate::domain::wire_name(&before.state)
            )));
        }
        let after = before.moved(ApplicationState::Withdrawn, None, now);
        if !self
            .store
            .replace_application(&before, &after, Some(&job))
            .await?
        {
            return Err(changed());
        }
        Ok(after)
    }

    /// `GET /jobs/{id}/applications`: the job's poster (and admins) read its quotes, each
    /// with the provider's public profile (read in parallel).
    pub async fn applications(
        &self,
        caller: &Caller,
        id: &JobId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ApplicationPage> {
        let job = self.get(caller, id).await?;
        if job.poster_id != caller.user_id && !caller.roles.contains(&Role::Admin) {
            return Err(Error::Forbidden(
                "only the job's poster reads its applications".into(),
            ));
        }
        let (items, next_cursor) = paged(
            self.cursors,
            &format!("applications:{id}"),
            cursor,
            |after| self.store.applications_to(id, limit, after),
        )
        .await?;
        let profiles = futures::future::try_join_all(
            items
                .iter()
                .map(|a| self.profiles.get_profile(&a.provider_id)),
        )
        .await?;
        Ok(ApplicationPage {
            items: items
                .into_iter()
                .zip(profiles)
                .map(|(application, provider_profile)| ApplicationView {
                    application,
                    provider_profile,
                })
                .collect(),
            next_cursor,
        })
    }

    /// `GET /me/applications?state=…`: the caller's applications, newest job first.
    pub async fn my_applications(
        &self,
        caller: &Caller,
        state: Option<ApplicationState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ApplicationPage> {
        let (items, next_cursor) = paged(
            self.cursors,
            &own_scope("my-applications", caller, state),
            cursor,
            |after| {
                self.store
                    .applications_of(&caller.user_id, state, limit, after)
            },
        )
        .await?;
        Ok(ApplicationPage {
            items: items
                .into_iter()
                .map(|application| ApplicationView {
                    application,
                    provider_profile: None,
                })
                .collect(),
            next_cursor,
        })
    }

    /// `GET /jobs?category=…`: a category's open jobs, newest first.
    pub async fn open(&self, category: &str, limit: u32, cursor: Option<&str>) -> Result<JobPage> {
        let category = crate::offers::model::category(category, "category")?;
        let (items, next_cursor) =
            paged(self.cursors, &format!("jobs:{category}"), cursor, |after| {
                self.store.open_jobs(&category, limit, after)
            })
            .await?;
        Ok(JobPage { items, next_cursor })
    }

    /// `GET /me/jobs?state=…`: the caller's jobs, newest first.
    pub async fn mine(
        &self,
        caller: &Caller,
        state: Option<JobState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage> {
        let (items, next_cursor) = paged(
            self.cursors,
            &own_scope("my-jobs", caller, state),
            cursor,
            |after| self.store.jobs_of(&caller.user_id, state, limit, after),
        )
        .await?;
        Ok(JobPage { items, next_cursor })
    }
}

/// `POST /jobs/{id}/applications/{providerId}/accept`: the job's poster accepts a pending
/// application of an open job. One transaction moves the job to `awaiting_payment`, the
/// application to `accepted` and creates the booking (the quote's price, continuing the
/// application's thread), counted against the buyer's purchase limit; then the booking gets
/// its PaymentIntent as a purchase does. `true` when created now. A repeat for the same
/// application (a lost answer, a second device) answers the same booking and payment; any
/// other accept of the job meanwhile is a 409 naming its state.
#[instrument(skip_all, fields(user_id = %caller.user_id, job_id = %id, provider_id = %provider))]
pub async fn accept(
    bookings: &Bookings<'_>,
    jobs: &dyn JobStore,
    caller: &Caller,
    id: &JobId,
    provider: &UserId,
    now: DateTime<Utc>,
) -> Result<(Purchase, bool)> {
    let (job, application, rates) = futures::try_join!(
        jobs.get_job(id),
        jobs.get_application(id, provider),
        bookings.accounts.commission_rates()
    )?;
    let job = job
        .filter(|j| sees(caller, j))
        .ok_or(Error::NotFound("job"))?;
    if job.poster_id != caller.user_id {
        return Err(Error::Forbidden(
            "only the job's poster accepts its applications".into(),
        ));
    }
    let application = application.ok_or(Error::NotFound("application"))?;
    if let Some(booking) = made(&job, &application) {
        let booking = bookings.customers(&caller.user_id, &booking).await?;
        return Ok((bookings.with_payment(booking, now).await?, false));
    }
    if job.state != JobState::Open {
        return Err(Error::Conflict(format!(
            "the job is {}: it accepts no application",
            crate::domain::wire_name(&job.state)
        )));
    }
    if application.state != ApplicationState::Pending {
        return Err(Error::Conflict(format!(
            "the application is {}: only a pending one is accepted",
            crate::domain::wire_name(&application.state)
        )));
    }
    let booking = Booking::for_application(&job, &application, rates.rate(&job.category), now);
    let job_after = job.accepting(&application, booking.id, now);
    let accepted = application.moved(ApplicationState::Accepted, Some(booking.id), now);
    let buyer = caller.user_id.to_string();
    let limits = [RateLimit {
        scope: "purchase",
        subject: &buyer,
        limit: PURCHASES_PER_BUYER,
        window_secs: PURCHASE_WINDOW_SECS,
    }];
    match jobs
        .accept(
            (&job, &job_after),
            (&application, &accepted),
            &booking,
            &limits,
            now,
        )
        .await?
    {
        Creation::Created => {}
        Creation::Limited { retry_after_secs } => {
            return Err(Error::RateLimited { retry_after_secs });
        }
        Creation::TimeTaken => return Err(crate::bookings::service::time_taken()),
        Creation::KeyTaken => {
            // Another accept won: the same application's answers its booking.
            let (job, application) =
                futures::try_join!(jobs.get_job(id), jobs.get_application(id, provider))?;
            let (job, application) = job.zip(application).ok_or_else(changed)?;
            let Some(booking) = made(&job, &application) else {
                // Still open: the quote itself changed (or the winner rolled back); read it
                // again.
                if job.state == JobState::Open {
                    return Err(changed());
                }
                return Err(Error::Conflict(format!(
                    "the job is {}: another application was accepted meanwhile",
                    crate::domain::wire_name(&job.state)
                )));
            };
            let booking = bookings.customers(&caller.user_id, &booking).await?;
            return Ok((bookings.with_payment(booking, now).await?, false));
        }
    }
    info!(booking_id = %booking.id, "application accepted");
    Ok((bookings.with_payment(booking, now).await?, true))
}

/// The booking `application`'s acceptance made, while it is the job's.
fn made(job: &Job, application: &Application) -> Option<BookingId> {
    (application.state == ApplicationState::Accepted && job.booking_id == application.booking_id)
        .then_some(application.booking_id)
        .flatten()
}

/// How jobs follow their bookings and what follows a job's change: what the stream
/// consumers of bookings and jobs run. Each step is conditioned on what it read, and safe to
/// run again (a retried batch repeats nothing).
pub struct JobsFollow<'a> {
    /// Jobs and their applications.
    pub store: &'a dyn JobStore,
    /// Tells the declined providers.
    pub news: &'a dyn BookingNews,
}

/// Attempts at moving a job along its booking before the batch fails (and is retried).
const FOLLOW_ATTEMPTS: usize = 3;

impl JobsFollow<'_> {
    /// A job booking was written: its job follows it (open again when it ended unpaid, with
    /// the application pending again; assigned once paid; closed when it ended).
    pub async fn booking_changed(&self, booking: &Booking, now: DateTime<Utc>) -> Result<()> {
        let Some(id) = booking.job_id else {
            return Ok(());
        };
        for _ in 0..FOLLOW_ATTEMPTS {
            let Some(job) = self.store.get_job(&id).await? else {
                return Ok(());
            };
            let Some(after) = job.following(booking, now) else {
                return Ok(());
            };
            // Re-opened: the quote stands again, for the poster to accept (or another).
            let application = match after.state {
                JobState::Open => self
                    .store
                    .get_application(&id, &booking.provider_id)
                    .await?
                    .filter(|a| a.booking_id == Some(booking.id))
                    .map(|a| {
                        let pending = a.moved(ApplicationState::Pending, None, now);
                        (a, pending)
                    }),
                _ => None,
            };
            let pair = application.as_ref().map(|(a, b)| (a, b));
            if self.store.replace_job(&job, &after, pair).await? {
                info!(job_id = %id, state = %crate::domain::wire_name(&after.state), "job follows its booking");
                return Ok(());
            }
        }
        Err(changed())
    }

    /// A job was written: once it is assigned or cancelled, its pending applications are
    /// declined and their providers told (once each, keyed per application).
    pub async fn job_changed(&self, job: &Job, now: DateTime<Utc>) -> Result<()> {
        if !matches!(job.state, JobState::Assigned | JobState::Cancelled) {
            return Ok(());
        }
        let actor = self.news.display_name(&job.poster_id).await;
        let mut after = None;
        loop {
            let page = self.store.applications_to(&job.id, 100, after).await?;
            for application in page.items {
                self.decline(job, application, &actor, now).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn decline(
        &self,
        job: &Job,
        application: Application,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match application.state {
            ApplicationState::Pending => {
                let declined = application.moved(ApplicationState::Declined, None, now);
                // Nothing else writes an application of a job no longer open: a lost
                // condition is this step's own earlier run.
                self.store
                    .replace_application(&application, &declined, None)
                    .await?;
            }
            // Declined by an earlier run of this step (only it declines), which may have
            // stopped before telling: the key makes telling again harmless.
            ApplicationState::Declined => {}
            ApplicationState::Accepted | ApplicationState::Withdrawn => return Ok(()),
        }
        let why = match job.state {
            JobState::Cancelled => "the job was cancelled",
            _ => "another provider was chosen",
        };
        let request = NotifyRequest {
            recipients: Recipients::Users(vec![application.provider_id]),
            kind: Kind::BookingDeclined,
            actor: Some(job.poster_id),
            room: Some(application.room_id),
            data: json!({
                "actor": actor,
                "jobId": job.id,
                "title": job.title,
                "when": format!("'{}'", job.title),
                "reason": why,
                "roomId": application.room_id,
            }),
            idempotency_key: format!(
                "application:{}:{}:declined",
                job.id, application.provider_id
            ),
        };
        self.news.notify(&request, now).await
    }
}

/// What telling a job's poster of a first application asks of the notifications (`actor`
/// is the provider's display name, looked up by the sender).
pub fn application_received(application: &Application, actor: &str) -> NotifyRequest {
    NotifyRequest {
        recipients: Recipients::Users(vec![application.poster_id]),
        kind: Kind::ApplicationReceived,
        actor: Some(application.provider_id),
        room: Some(application.room_id),
        data: json!({
            "actor": actor,
            "jobId": application.job_id,
            "title": application.job_title,
            "roomId": application.room_id,
            "price": format_money(application.price.amount, &application.price.currency),
        }),
        idempotency_key: format!(
            "application:{}:{}:received",
            application.job_id, application.provider_id
        ),
    }
}

/// What telling a category's followers of a posted job asks of the notifications.
pub fn job_posted(job: &Job) -> NotifyRequest {
    let place = match (&job.location.area, job.location.remote) {
        (Some(area), false) => area.clone(),
        (Some(area), true) => format!("{area} or remote"),
        (None, _) => "remote".to_owned(),
    };
    NotifyRequest {
        // On site: the category's followers in its area (and those who follow it
        // everywhere); remote: all of them.
        recipients: match (&job.location.area, job.location.remote) {
            (Some(area), false) => {
                Recipients::SubscribersIn(Target::Category(job.category.clone()), area.clone())
            }
            _ => Recipients::Subscribers(Target::Category(job.category.clone())),
        },
        kind: Kind::JobPosted,
        actor: Some(job.poster_id),
        room: None,
        data: json!({
            "jobId": job.id,
            "title": job.title,
            "category": job.category,
            "budget": format_money(job.budget.amount, &job.budget.currency),
            "place": place,
        }),
        idempotency_key: format!("job:{}:posted", job.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offers::model::{Money, ServiceArea};

    #[test]
    fn a_posted_job_tells_its_categorys_followers_once_under_one_key() {
        let poster = crate::domain::UserId::new();
        let job = PostJob {
            title: "Fix a dripping shower".into(),
            description: "It drips.".into(),
            category: "plumbing".into(),
            budget: Money {
                amount: 8000,
                currency: "eur".into(),
            },
            location: ServiceArea {
                remote: false,
                area: Some("Lisbon".into()),
            },
            window: None,
            attachment_file_ids: Vec::new(),
        }
        .validate(poster, Utc::now())
        .unwrap();
        let request = job_posted(&job);
        assert!(matches!(
            &request.recipients,
            Recipients::SubscribersIn(Target::Category(c), area) if c == "plumbing" && area == "Lisbon"
        ));
        assert_eq!(request.actor, Some(poster));
        assert_eq!(request.idempotency_key, format!("job:{}:posted", job.id));
        assert_eq!(request.data["budget"], "80.00 EUR");
        assert_eq!(request.data["place"], "Lisbon");
        // Remote work is for every follower, wherever they narrowed their follow.
        let remote = Job {
            location: ServiceArea {
                remote: true,
                area: Some("Lisbon".into()),
            },
            ..job
        };
        assert!(matches!(
            job_posted(&remote).recipients,
            Recipients::Subscribers(Target::Category(_))
        ));
    }
}
