//! A job and what a customer may post or change: title, description, category, a budget in
//! integer minor units, where (an area or remote), when (a wanted window of dates) and up to
//! ten attachments. Pure rules; storage and authorization live elsewhere.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::bookings::model::Booking;
use crate::domain::{BookingId, FileId, JobId, Role, RoomId, UserId};
use crate::error::Error;
use crate::offers::model::{Money, ServiceArea, category, text};

/// Attachments a job may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// The longest wanted window, in days.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Listed in its category; providers may apply.
    Open,
    /// The poster accepted an application; its booking waits for their payment (no longer
    /// listed; the other quotes stand until it is paid, and an unpaid booking re-opens it).
    AwaitingPayment,
    /// The accepted application was paid: its booking does the work.
    Assigned,
    /// The work is over.
    Closed,
    /// The customer withdrew it.
    Cancelled,
}

/// When the customer wants the work done: between two dates (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Window {
    /// First acceptable day (`YYYY-MM-DD`).
    #[schema(value_type = String, format = Date, example = "2026-12-14")]
    pub earliest: NaiveDate,
    /// Last acceptable day, on or after `earliest`, at most 366 days later.
    #[schema(value_type = String, format = Date, example = "2026-12-20")]
    pub latest: NaiveDate,
}

/// A customer's job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// The customer who posted it.
    pub poster_id: UserId,
    /// Short title.
    pub title: String,
    /// What is to be done.
    pub description: String,
    /// Category slug (who is told, where it is listed).
    pub category: String,
    /// What the customer means to spend.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub budget: Money,
    /// Where: an area, or remote.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub location: ServiceArea,
    /// When the work is wanted, if it matters.
    pub window: Option<Window>,
    /// The poster's `job_document` files (images, PDFs, documents): providers who can see the
    /// open job may download them.
    pub attachment_file_ids: Vec<FileId>,
    /// Where it is.
    pub state: JobState,
    /// The booking of the accepted application (while awaiting payment, assigned or closed).
    #[serde(default)]
    pub booking_id: Option<BookingId>,
    /// The provider whose application was accepted (with the booking).
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// Posted.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; each write is conditioned on the version read.
    pub version: u32,
}

impl Job {
    /// Whether `caller` may download `file`, one of this job's attachments: the poster and
    /// admins always; while the job is open, every provider who can see it; once an
    /// application is accepted, only its provider (the booking's other party).
    pub fn shows_attachment(&self, file: &FileId, caller: &Caller) -> bool {
        if !self.attachment_file_ids.contains(file) {
            return false;
        }
        caller.user_id == self.poster_id
            || caller.roles.contains(&Role::Admin)
            || match self.state {
                JobState::Open => caller.roles.contains(&Role::Provider),
                _ => self.assignee_id == Some(caller.user_id),
            }
    }

    /// This job with `application` accepted at `now`, its booking `booking` waiting for
    /// payment.
    pub fn accepting(
        &self,
        application: &Application,
        booking: BookingId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            state: JobState::AwaitingPayment,
            booking_id: Some(booking),
            assignee_id: Some(application.provider_id),
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// Where this job goes as `booking` (its accepted application's, or not) moves: open
    /// again when the booking ended unpaid, assigned once paid, closed when a paid booking
    /// ended; `None` when it stays (another booking's news, a repeat, a step backwards).
    pub fn following(&self, booking: &Booking, now: DateTime<Utc>) -> Option<Self> {
        if self.booking_id != Some(booking.id) {
            return None;
        }
        let to = match (booking.paid(), booking.state.is_final()) {
            (false, false) => return None,
            (false, true) => JobState::Open,
            (true, false) => JobState::Assigned,
            (true, true) => JobState::Closed,
        };
        let moves = matches!(
            (self.state, to),
            (JobState::AwaitingPayment, _) | (JobState::Assigned, JobState::Closed)
        );
        if !moves || self.state == to {
            return None;
        }
        let reopened = to == JobState::Open;
        Some(Self {
            state: to,
            booking_id: if reopened { None } else { self.booking_id },
            assignee_id: if reopened { None } else { self.assignee_id },
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        })
    }
}

/// `POST /jobs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostJob {
    /// 3–100 characters, not blank, no control characters.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        min_length = 3,
        max_length = 100
    )]
    pub title: String,
    /// 1–5,000 characters, not blank; new lines and tabs allowed.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 5000
    )]
    pub description: String,
    /// Category slug: 1–40 lowercase letters, digits or `-`.
    #[schema(pattern = "^[a-z0-9-]{1,40}$", example = "plumbing")]
    pub category: String,
    /// The budget (minor units 100 to 10,000,000, listed currency).
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub budget: Money,
    /// Where: `{"remote": true}` or `{"remote": false, "area": "Lisbon"}` (area 1–100
    /// characters, required when not remote).
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub location: ServiceArea,
    /// When, if it matters.
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub window: Option<Window>,
    /// Up to 10 different ready `job_document` uploads of the caller.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachment_file_ids: Vec<FileId>,
}

/// `PATCH /jobs/{id}`: what to change while the job is open (absent fields stay).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobPatch {
    /// As when posting.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        min_length = 3,
        max_length = 100
    )]
    pub title: Option<String>,
    /// As when posting.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 5000
    )]
    pub description: Option<String>,
    /// As when posting.
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub budget: Option<Money>,
    /// As when posting.
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub location: Option<ServiceArea>,
    /// As when posting (the category cannot change: its followers were told).
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub window: Option<Window>,
    /// The whole new list, as when posting.
    #[schema(max_items = 10)]
    pub attachment_file_ids: Option<Vec<FileId>>,
}

fn location(area: ServiceArea) -> Result<ServiceArea, Error> {
    match (area.remote, area.area.as_deref()) {
        (true, None) => Ok(area),
        (true, Some(raw)) => Ok(ServiceArea {
            remote: true,
            area: Some(text(raw, "location.area", 1, 100)?),
        }),
        (false, Some(raw)) => Ok(ServiceArea {
            remote: false,
            area: Some(text(raw, "location.area", 1, 100)?),
        }),
        (false, None) => Err(Error::field(
            "location.area",
            "required unless the job is remote",
        )),
    }
}

fn window(window: Option<Window>, today: NaiveDate) -> Result<Option<Window>, Error> {
    let Some(w) = window else {
        return Ok(None);
    };
    if w.latest < w.earliest {
        return Err(Error::field("window.latest", "on or after window.earliest"));
    }
    if w.latest < today {
        return Err(Error::field("window.latest", "today or later"));
    }
    if (w.latest - w.earliest).num_days() > MAX_WINDOW_DAYS {
        return Err(Error::field(
            "window",
            format!("at most {MAX_WINDOW_DAYS} days long"),
        ));
    }
    Ok(Some(w))
}

fn attachments(ids: &[FileId]) -> Result<Vec<FileId>, Error> {
    let distinct: BTreeSet<&FileId> = ids.iter().collect();
    if ids.len() > MAX_ATTACHMENTS || distinct.len() != ids.len() {
        return Err(Error::field(
            "attachmentFileIds",
            format!("at most {MAX_ATTACHMENTS} different files"),
        ));
    }
    Ok(ids.to_vec())
}

impl PostJob {
    /// The job `poster` posts at `now`, or the first field that is wrong.
    pub fn validate(self, poster: UserId, now: DateTime<Utc>) -> Result<Job, Error> {
        self.budget.validate("budget")?;
        Ok(Job {
            id: JobId::at(now),
            poster_id: poster,
            title: text(&self.title, "title", 3, 100)?,
            description: text(&self.description, "description", 1, 5000)?,
            category: category(&self.category, "category")?,
            budget: self.budget,
            location: location(self.location)?,
            window: window(self.window, now.date_naive())?,
            attachment_file_ids: attachments(&self.attachment_file_ids)?,
            state: JobState::Open,
            booking_id: None,
            assignee_id: None,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }
}

impl JobPatch {
    /// `job` with the patch applied at `now`, its version moved on.
    pub fn apply(self, mut job: Job, now: DateTime<Utc>) -> Result<Job, Error> {
        if let Some(title) = self.title {
            job.title = text(&title, "title", 3, 100)?;
        }
        if let Some(description) = self.description {
            job.description = text(&description, "description", 1, 5000)?;
        }
        if let Some(budget) = self.budget {
            budget.validate("budget")?;
            job.budget = budget;
        }
        if let Some(area) = self.location {
            job.location = location(area)?;
        }
        if self.window.is_some() {
            job.window = window(self.window, now.date_naive())?;
        }
        if let Some(ids) = self.attachment_file_ids {
            job.attachment_file_ids = attachments(&ids)?;
        }
        job.updated_at = now;
        job.version += 1;
        Ok(job)
    }
}

/// Where an application is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// Waiting for the customer.
    Pending,
    /// The provider took it back (they may apply again while the job is open).
    Withdrawn,
    /// The customer chose someone else (and paid), or cancelled the job.
    Declined,
    /// The customer accepted it: its booking waits for their payment, or was paid.
    Accepted,
}

/// A provider's quote on a job: one per job and provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The job.
    pub job_id: JobId,
    /// The provider who applies.
    pub provider_id: UserId,
    /// The job's poster (who is told, and who decides).
    pub poster_id: UserId,
    /// The job's title when applied (for notifications and lists).
    pub job_title: String,
    /// The quote, in the job budget's currency.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub price: Money,
    /// What the provider says.
    pub message: String,
    /// When the provider proposes to start.
    pub proposed_start: Option<DateTime<Utc>>,
    /// Where it is.
    pub state: ApplicationState,
    /// The chat room of the job's poster and this provider (kept across re-applications,
    /// and continued by the booking of an accepted one).
    pub room_id: RoomId,
    /// The booking made by accepting it.
    #[serde(default)]
    pub booking_id: Option<BookingId>,
    /// First applied.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; each write is conditioned on the version read.
    pub version: u32,
}

/// `PUT /jobs/{id}/application`: the caller's quote (a new one, a change, or applying again
/// after withdrawing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationInput {
    /// The quote: minor units 100 to 10,000,000, in the job budget's currency.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub price: Money,
    /// 1–2,000 characters, not blank; new lines and tabs allowed.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 2000
    )]
    pub message: String,
    /// When the provider could start: in the future.
    pub proposed_start: Option<DateTime<Utc>>,
}

impl ApplicationInput {
    /// The checked quote for `job` at `now`: price, message and start.
    pub fn validate(
        self,
        job: &Job,
        now: DateTime<Utc>,
    ) -> Result<(Money, String, Option<DateTime<Utc>>), Error> {
        self.price.validate("price")?;
        if self.price.currency != job.budget.currency {
            return Err(Error::field(
                "price.currency",
                format!("the job's budget is in {}", job.budget.currency),
            ));
        }
        let message = text(&self.message, "message", 1, 2000)?;
        if self.proposed_start.is_some_and(|start| start <= now) {
            return Err(Error::field("proposedStart", "in the future"));
        }
        Ok((self.price, message, self.proposed_start))
    }
}

impl Application {
    /// This application moved to `state` at `now` (its booking kept only while accepted).
    pub fn moved(
        &self,
        state: ApplicationState,
        booking: Option<BookingId>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            state,
            booking_id: booking,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// An application as the job's poster lists it: with the provider's public profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationView {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// The provider's public profile (absent if they removed it).
    pub provider_profile: Option<crate::offers::model::ProviderProfile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> PostJob {
        serde_json::from_value(serde_json::json!({
            "title": "  Fix a dripping shower  ",
            "description": "The shower in the upstairs bathroom drips all night.",
            "category": "plumbing",
            "budget": { "amount": 8000, "currency": "eur" },
            "location": { "remote": false, "area": "Lisbon" },
            "window": { "earliest": "2026-12-10", "latest": "2026-12-20" },
        }))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_posted_job_is_open_trimmed_and_at_version_one() {
        let poster = UserId::new();
        let job = post().validate(poster, now()).unwrap();
        assert_eq!(job.state, JobState::Open);
        assert_eq!(job.title, "Fix a dripping shower");
        assert_eq!(job.poster_id, poster);
        assert_eq!(job.version, 1);
        assert_eq!(job.id.to_string().len(), 26);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoil = fn(&mut PostJob);
        let cases: [(&str, Spoil); 8] = [
            ("title", |p| p.title = "  ".into()),
            ("description", |p| p.description = "\u{7}".into()),
            ("category", |p| p.category = "Plumbing".into()),
            ("budget.amount", |p| p.budget.amount = 99),
            ("location.area", |p| p.location.area = None),
            ("window.latest", |p| {
                p.window = Some(Window {
                    earliest: "2026-12-10".parse().unwrap(),
                    latest: "2026-12-09".parse().unwrap(),
                })
            }),
            ("window.latest", |p| {
                p.window = Some(Window {
                    earliest: "2026-11-01".parse().unwrap(),
                    latest: "2026-12-06".parse().unwrap(),
                })
            }),
            ("attachmentFileIds", |p| {
                let id = FileId::new();
                p.attachment_file_ids = vec![id, id];
            }),
        ];
        for (field, spoil) in cases {
            let mut request = post();
            spoil(&mut request);
            match request.validate(UserId::new(), now()).unwrap_err() {
                Error::Validation {
                    field: Some(named), ..
                } => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut long = post();
        long.window = Some(Window {
            earliest: "2026-12-10".parse().unwrap(),
            latest: "2028-01-10".parse().unwrap(),
        });
        assert!(long.validate(UserId::new(), now()).is_err());
        let mut many = post();
        many.attachment_file_ids = (0..11).map(|_| FileId::new()).collect();
        assert!(many.validate(UserId::new(), now()).is_err());
    }

    #[test]
    fn a_quote_is_in_the_budgets_currency_with_a_message_and_a_future_start() {
        let job = post().validate(UserId::new(), now()).unwrap();
        let input = |amount: i64, currency: &str, message: &str, hours: i64| ApplicationInput {
            price: Money {
                amount,
                currency: currency.into(),
            },
            message: message.into(),
            proposed_start: Some(now() + chrono::Duration::hours(hours)),
        };
        let (price, message, start) = input(7500, "eur", " Thursday works. ", 24)
            .validate(&job, now())
            .unwrap();
        assert_eq!((price.amount, message.as_str()), (7500, "Thursday works."));
        assert!(start.is_some());
        for (bad, field) in [
            (input(7500, "usd", "ok", 24), "price.currency"),
            (input(99, "eur", "ok", 24), "price.amount"),
            (input(7500, "eur", " ", 24), "message"),
            (input(7500, "eur", "ok", -1), "proposedStart"),
        ] {
            match bad.validate(&job, now()).unwrap_err() {
                Error::Validation {
                    field: Some(named), ..
                } => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_moves_the_version() {
        let job = post().validate(UserId::new(), now()).unwrap();
        let later = now() + chrono::Duration::hours(1);
        let patch = JobPatch {
            budget: Some(Money {
                amount: 9000,
                currency: "eur".into(),
            }),
            location: Some(ServiceArea {
                remote: true,
                area: None,
            }),
            ..JobPatch::default()
        };
        let after = patch.apply(job.clone(), later).unwrap();
        assert_eq!(after.budget.amount, 9000);
        assert!(after.location.remote);
        assert_eq!(after.title, job.title);
        assert_eq!(after.window, job.window);
        assert_eq!((after.version, after.updated_at), (2, later));
    }

    fn applied(job: &Job) -> Application {
        Application {
            job_id: job.id,
            provider_id: UserId::new(),
            poster_id: job.poster_id,
            job_title: job.title.clone(),
            price: job.budget.clone(),
            message: "Thursday works.".into(),
            proposed_start: None,
            state: ApplicationState::Pending,
            room_id: RoomId::at(now()),
            booking_id: None,
            created_at: now(),
            updated_at: now(),
            version: 1,
        }
    }

    #[test]
    fn a_job_follows_its_accepted_applications_booking_and_nothing_else() {
        use crate::bookings::model::{Actor, BookingState as B, Event};
        let job = post().validate(UserId::new(), now()).unwrap();
        let application = applied(&job);
        let booking = Booking::for_application(&job, &application, 1000, now());
        assert_eq!(
            (
                booking.price.amount,
                booking.customer_id,
                booking.provider_id
            ),
            (8000, job.poster_id, application.provider_id)
        );
        assert_eq!(
            booking.room(),
            application.room_id,
            "the booking continues the thread"
        );
        let awaiting = job.accepting(&application, booking.id, now());
        assert_eq!(awaiting.state, JobState::AwaitingPayment);
        assert_eq!(awaiting.version, job.version + 1);
        let later = now() + chrono::Duration::minutes(5);
        // Waiting for the payment: nothing moves.
        assert_eq!(awaiting.following(&booking, later), None);
        // Another booking's news moves nothing.
        let other = Booking::for_application(&job, &applied(&job), 1000, now());
        let other_paid = Booking {
            room_id: Some(other.room()),
            ..other
                .moved(Event::PaymentSucceeded, Actor::System, later)
                .unwrap()
        };
        assert_eq!(awaiting.following(&other_paid, later), None);
        // Unpaid and over: open again, nobody assigned.
        let expired = booking
            .moved(Event::PaymentTimerExpired, Actor::System, later)
            .unwrap();
        let reopened = awaiting.following(&expired, later).unwrap();
        assert_eq!(
            (reopened.state, reopened.booking_id, reopened.assignee_id),
            (JobState::Open, None, None)
        );
        // Paid: assigned; a repeat of the same news moves nothing.
        let paid = Booking {
            room_id: Some(booking.room()),
            ..booking
                .moved(Event::PaymentSucceeded, Actor::System, later)
                .unwrap()
        };
        let assigned = awaiting.following(&paid, later).unwrap();
        assert_eq!(
            (assigned.state, assigned.booking_id),
            (JobState::Assigned, Some(booking.id))
        );
        assert_eq!(assigned.following(&paid, later), None);
        // A paid booking that ended closes it, from either state (a skipped record included).
        let cancelled = paid.moved(Event::Cancel, Actor::Customer, later).unwrap();
        assert_eq!(cancelled.state, B::CancelledByCustomer);
        assert_eq!(
            assigned.following(&cancelled, later).unwrap().state,
            JobState::Closed
        );
        assert_eq!(
            awaiting.following(&cancelled, later).unwrap().state,
            JobState::Closed
        );
        // Never backwards: an assigned job does not re-open on an old record.
        assert_eq!(assigned.following(&expired, later), None);
    }

    #[test]
    fn attachments_are_for_providers_while_open_then_only_for_the_chosen_one() {
        let file = FileId::new();
        let mut job = post().validate(UserId::new(), now()).unwrap();
        job.attachment_file_ids = vec![file];
        let caller = |user: UserId, roles: &[Role]| Caller {
            user_id: user,
            session_id: crate::domain::SessionId::new(),
            roles: roles.iter().copied().collect(),
        };
        let provider = caller(UserId::new(), &[Role::Customer, Role::Provider]);
        let customer = caller(UserId::new(), &[Role::Customer]);
        let poster = caller(job.poster_id, &[Role::Customer]);
        assert!(job.shows_attachment(&file, &provider));
        assert!(!job.shows_attachment(&file, &customer));
        assert!(
            !job.shows_attachment(&FileId::new(), &provider),
            "only what it lists"
        );
        let application = Application {
            provider_id: provider.user_id,
            ..applied(&job)
        };
        let taken = job.accepting(&application, crate::domain::BookingId::at(now()), now());
        let other = caller(UserId::new(), &[Role::Provider]);
        assert!(taken.shows_attachment(&file, &provider));
        assert!(!taken.shows_attachment(&file, &other));
        assert!(taken.shows_attachment(&file, &poster));
        assert!(taken.shows_attachment(&file, &caller(UserId::new(), &[Role::Admin])));
    }
}
