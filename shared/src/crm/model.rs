//! The CRM's stages, the interactions the flows record, the funnel read from their counters,
//! and the upsell recommendations a completed booking leaves its customer. Pure rules: which
//! interactions a booking's written image implies, the funnel's periods and rates, and what
//! a completed booking recommends.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookings::model::{Booking, BookingState, Source};
use crate::domain::{BookingId, JobId, OfferId, UserId};
use crate::error::Error;
use crate::followups::model::{FollowUpTerms, PremiumUpgrade, UpgradeState};
use crate::jobs::model::Job;
use crate::offers::model::{Money, Offer, OfferStatus};

/// A stage of a customer's way through the marketplace, in funnel order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A job posted, or a booking requested (a purchase, a slot request, a follow-up).
    Intake,
    /// A booking accepted: paid (or free), with its provider assigned.
    SessionBooked,
    /// A booking completed.
    SessionCompleted,
    /// The customer's first read of a session's summary.
    SummaryViewed,
    /// An upsell recommendation first listed to the customer.
    UpsellShown,
    /// An upsell recommendation opened by the customer.
    UpsellClicked,
    /// A booking bought through an upsell recommendation, paid.
    UpsellPurchased,
}

impl Stage {
    /// Every stage, in funnel order.
    pub const ALL: [Stage; 7] = [
        Stage::Intake,
        Stage::SessionBooked,
        Stage::SessionCompleted,
        Stage::SummaryViewed,
        Stage::UpsellShown,
        Stage::UpsellClicked,
        Stage::UpsellPurchased,
    ];

    /// The counter attribute of this stage on a funnel row (its field in [`StageCounts`]).
    pub fn counter(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::SessionBooked => "sessionBooked",
            Stage::SessionCompleted => "sessionCompleted",
            Stage::SummaryViewed => "summaryViewed",
            Stage::UpsellShown => "upsellShown",
            Stage::UpsellClicked => "upsellClicked",
            Stage::UpsellPurchased => "upsellPurchased",
        }
    }

    /// The upsell's attribute that records this stage (upsell stages only).
    pub fn upsell_attribute(self) -> Option<&'static str> {
        match self {
            Stage::UpsellShown => Some("shownAt"),
            Stage::UpsellClicked => Some("clickedAt"),
            Stage::UpsellPurchased => Some("purchasedAt"),
            _ => None,
        }
    }
}

/// What an upsell recommends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpsellKind {
    /// A follow-up of the completed booking (bought as `POST /bookings/{id}/follow-ups`).
    FollowUp,
    /// The same offer again, for upkeep (bought as an offer purchase).
    MaintenancePlan,
    /// Premium: every follow-up free from then on (bought with a payment of its own).
    PremiumUpgrade,
}

/// The upsell a booking was bought through: the completed booking that recommended it, and
/// which of its recommendations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellRef {
    /// The completed booking that recommended it.
    pub booking_id: BookingId,
    /// Which recommendation.
    pub kind: UpsellKind,
}

/// One entry of a customer's interaction log: a stage reached, with its booking (or job) and
/// time. Written once per stage and subject by the flows themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    /// The customer.
    pub customer_id: UserId,
    /// The stage reached.
    pub stage: Stage,
    /// The booking (for an upsell stage: the completed booking that recommended it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<BookingId>,
    /// The job (a job's intake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// Which upsell (upsell stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsell: Option<UpsellKind>,
    /// The booking bought through the upsell (`upsell_purchased`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_booking_id: Option<BookingId>,
    /// The category it counts in.
    pub category: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Interaction {
    /// What it is about: once per stage and subject.
    pub fn subject(&self) -> String {
        match (self.job_id, self.booking_id, self.upsell) {
            (Some(job), _, _) => format!("job:{job}"),
            (None, Some(booking), Some(kind)) => {
                format!("{booking}:{}", crate::domain::wire_name(&kind))
            }
            (None, Some(booking), None) => booking.to_string(),
            (None, None, _) => String::new(),
        }
    }

    fn of(booking: &Booking, stage: Stage, at: DateTime<Utc>) -> Self {
        Self {
            customer_id: booking.customer_id,
            stage,
            booking_id: Some(booking.id),
            job_id: None,
            upsell: None,
            purchase_booking_id: None,
            category: booking.category.clone(),
            at,
        }
    }

    /// A job posted: its poster's intake.
    pub fn job_posted(job: &Job) -> Self {
        Self {
            customer_id: job.poster_id,
            stage: Stage::Intake,
            booking_id: None,
            job_id: Some(job.id),
            upsell: None,
            purchase_booking_id: None,
            category: job.category.clone(),
            at: job.created_at,
        }
    }

    /// A premium upgrade's image, once paid: the upsell it was bought through purchased.
    pub fn upgrade_paid(upgrade: &PremiumUpgrade) -> Option<Self> {
        let at = upgrade
            .paid_at
            .filter(|_| upgrade.state == UpgradeState::Paid)?;
        Some(Self {
            customer_id: upgrade.customer_id,
            stage: Stage::UpsellPurchased,
            booking_id: Some(upgrade.upsell.booking_id),
            job_id: None,
            upsell: Some(upgrade.upsell.kind),
            purchase_booking_id: None,
            category: upgrade.category.clone(),
            at,
        })
    }

    /// `stage` of `upsell`, at `at`.
    pub fn upsell(upsell: &Upsell, stage: Stage, at: DateTime<Utc>) -> Self {
        Self {
            customer_id: upsell.customer_id,
            stage,
            booking_id: Some(upsell.booking_id),
            job_id: None,
            upsell: Some(upsell.kind),
            purchase_booking_id: None,
            category: upsell.category.clone(),
            at,
        }
    }
}

/// The interactions a booking's written image implies. The stream brings every write of a
/// booking, so each stage's image is seen; each interaction is recorded once however often
/// it is implied again (a later write, a redelivered batch).
/// - its creation (version 1) is an intake, unless it is a job's (the job was the intake);
/// - `accepted` is a session booked (and, bought through an upsell, that upsell purchased);
/// - the completing write is a session completed;
/// - the write of the summary's first read by the customer is a summary viewed.
///
/// The last two are told by their write's time (`updatedAt`), so the booking's later writes
/// imply nothing again.
pub fn implied(booking: &Booking) -> Vec<Interaction> {
    let mut implied = Vec::new();
    if booking.version == 1 && booking.source != Source::JobApplication {
        implied.push(Interaction::of(booking, Stage::Intake, booking.created_at));
    }
    if booking.state == BookingState::Accepted {
        implied.push(Interaction::of(
            booking,
            Stage::SessionBooked,
            booking.updated_at,
        ));
        if let Some(upsell) = booking.upsell {
            implied.push(Interaction {
                stage: Stage::UpsellPurchased,
                booking_id: Some(upsell.booking_id),
                upsell: Some(upsell.kind),
                purchase_booking_id: Some(booking.id),
                ..Interaction::of(booking, Stage::UpsellPurchased, booking.updated_at)
            });
        }
    }
    if let Some(at) = just_completed(booking) {
        implied.push(Interaction::of(booking, Stage::SessionCompleted, at));
    }
    let viewed = booking.summary.as_ref().and_then(|s| s.viewed_at);
    if let Some(at) = viewed.filter(|at| *at == booking.updated_at) {
        implied.push(Interaction::of(booking, Stage::SummaryViewed, at));
    }
    implied
}

/// When `booking` completed, if this image is the completing write (it sets both its
/// completion and its last change).
pub fn just_completed(booking: &Booking) -> Option<DateTime<Utc>> {
    (booking.state == BookingState::Completed)
        .then_some(booking.completed_at)
        .flatten()
        .filter(|at| *at == booking.updated_at)
}

/// An upsell recommendation: what a completed booking suggests its customer buys next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upsell {
    /// The customer it is for.
    pub customer_id: UserId,
    /// The completed booking that recommends it.
    pub booking_id: BookingId,
    /// What it recommends.
    pub kind: UpsellKind,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// What it costs (0 for a premium customer's follow-up).
    pub price: Money,
    /// The provider it is with.
    pub provider_id: UserId,
    /// The offer bought again (a maintenance plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<OfferId>,
    /// The category it counts in.
    pub category: String,
    /// Until when it can be bought (a follow-up's window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Recommended.
    pub created_at: DateTime<Utc>,
    /// First listed to the customer (absent until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_at: Option<DateTime<Utc>>,
    /// First opened by the customer (absent until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked_at: Option<DateTime<Utc>>,
    /// Bought: the first booking bought through it was paid (absent until then). Absent
    /// attributes are what the store's "once" conditions test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchased_at: Option<DateTime<Utc>>,
    /// The booking bought through it (absent until bought).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_booking_id: Option<BookingId>,
}

impl Upsell {
    /// Whether `stage` is recorded on it.
    pub fn reached(&self, stage: Stage) -> bool {
        match stage {
            Stage::UpsellShown => self.shown_at.is_some(),
            Stage::UpsellClicked => self.clicked_at.is_some(),
            Stage::UpsellPurchased => self.purchased_at.is_some(),
            _ => false,
        }
    }

    /// It with `stage` recorded at `at`, unless it was before (as the store writes it: once).
    pub fn with(mut self, stage: Stage, at: DateTime<Utc>) -> Self {
        match stage {
            Stage::UpsellShown => self.shown_at.get_or_insert(at),
            Stage::UpsellClicked => self.clicked_at.get_or_insert(at),
            _ => return self,
        };
        self
    }

    /// Whether it is still recommended to a customer who is `premium` (or not): a premium
    /// upgrade not bought through it is not, once the customer is premium.
    pub fn listed_for(&self, premium: bool) -> bool {
        !(premium && self.kind == UpsellKind::PremiumUpgrade && self.purchased_at.is_none())
    }

    /// Its reference, for the booking bought through it.
    pub fn reference(&self) -> UpsellRef {
        UpsellRef {
            booking_id: self.booking_id,
            kind: self.kind,
        }
    }
}

/// What a completed booking recommends to its customer, at `now`: a follow-up (on the
/// customer's follow-up `terms`: their price, until the window closes), when it was an
/// offer still on sale, the same offer again, and, unless they are premium (no
/// `premium_price`), the premium upgrade.
pub fn recommended(
    booking: &Booking,
    terms: FollowUpTerms,
    premium_price: Option<Money>,
    offer: Option<&Offer>,
    now: DateTime<Utc>,
) -> Vec<Upsell> {
    let base = |kind, title: String, description: &str, price: Money| Upsell {
        customer_id: booking.customer_id,
        booking_id: booking.id,
        kind,
        title,
        description: description.to_owned(),
        price,
        provider_id: booking.provider_id,
        offer_id: None,
        category: booking.category.clone(),
        expires_at: None,
        created_at: now,
        shown_at: None,
        clicked_at: None,
        purchased_at: None,
        purchase_booking_id: None,
    };
    let mut upsells = vec![Upsell {
        expires_at: terms.window_closes_at,
        ..base(
            UpsellKind::FollowUp,
            format!("A follow-up on '{}'", booking.title),
            "Ask the same provider a quick question, a small extension or about a new issue, in the same conversation.",
            terms.price,
        )
    }];
    let on_sale = offer.filter(|o| {
        o.status == OfferStatus::Active
            && Some(o.id) == booking.offer_id
            && o.provider_id == booking.provider_id
    });
    if let Some(offer) = on_sale {
        upsells.push(Upsell {
            offer_id: Some(offer.id),
            ..base(
                UpsellKind::MaintenancePlan,
                format!("Keep it in shape: '{}' again", offer.title),
                "Book the same service with the same provider for regular upkeep.",
                offer.price.clone(),
            )
        });
    }
    if let Some(price) = premium_price {
        upsells.push(base(
            UpsellKind::PremiumUpgrade,
            "Go premium".to_owned(),
            "Every follow-up free from now on: ask the providers you booked again at no charge.",
            price,
        ));
    }
    upsells
}

/// How many times each stage was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageCounts {
    /// Intakes.
    #[serde(default)]
    pub intake: u64,
    /// Sessions booked.
    #[serde(default)]
    pub session_booked: u64,
    /// Sessions completed.
    #[serde(default)]
    pub session_completed: u64,
    /// Summaries viewed.
    #[serde(default)]
    pub summary_viewed: u64,
    /// Upsells shown.
    #[serde(default)]
    pub upsell_shown: u64,
    /// Upsells clicked.
    #[serde(default)]
    pub upsell_clicked: u64,
    /// Upsells purchased.
    #[serde(default)]
    pub upsell_purchased: u64,
}

impl StageCounts {
    /// The count of `stage`.
    pub fn of(&self, stage: Stage) -> u64 {
        match stage {
            Stage::Intake => self.intake,
            Stage::SessionBooked => self.session_booked,
            Stage::SessionCompleted => self.session_completed,
            Stage::SummaryViewed => self.summary_viewed,
            Stage::UpsellShown => self.upsell_shown,
            Stage::UpsellClicked => self.upsell_clicked,
            Stage::UpsellPurchased => self.upsell_purchased,
        }
    }

    fn add(&mut self, other: &StageCounts) {
        self.intake += other.intake;
        self.session_booked += other.session_booked;
        self.session_completed += other.session_completed;
        self.summary_viewed += other.summary_viewed;
        self.upsell_shown += other.upsell_shown;
        self.upsell_clicked += other.upsell_clicked;
        self.upsell_purchased += other.upsell_purchased;
    }
}

/// One day's counters of a category (or of all), as stored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayCounts {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Its counts.
    #[serde(flatten)]
    pub counts: StageCounts,
}

/// The conversion from one stage to the next.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conversion {
    /// The earlier stage.
    pub from: Stage,
    /// The next stage.
    pub to: Stage,
    /// `to` / `from`, to 4 decimals; absent when `from` is 0.
    pub rate: Option<f64>,
}

/// The funnel of one period (or of the whole range).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunnelRow {
    /// The period's first day (the range's, for the total).
    pub start: NaiveDate,
    /// Its counts.
    pub counts: StageCounts,
    /// Each stage's conversion to the next.
    pub conversions: Vec<Conversion>,
}

impl FunnelRow {
    fn new(start: NaiveDate, counts: StageCounts) -> Self {
        let conversions = Stage::ALL
            .windows(2)
            .map(|pair| {
                let (from, to) = (counts.of(pair[0]), counts.of(pair[1]));
                Conversion {
                    from: pair[0],
                    to: pair[1],
                    rate: (from > 0)
                        .then(|| (to as f64 / from as f64 * 10_000.0).round() / 10_000.0),
                }
            })
            .collect();
        Self {
            start,
            counts,
            conversions,
        }
    }
}

/// How a funnel's range is cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// One row per day.
    #[default]
    Day,
    /// One row per ISO week (from Monday).
    Week,
    /// One row per calendar month.
    Month,
}

impl Period {
    /// The first day of the period `day` is in.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// The longest range a funnel reads, in days.
pub const MAX_FUNNEL_DAYS: i64 = 366;

/// The admins' funnel: counts and conversions per period, and over the whole range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    /// The category (absent: all).
    pub category: Option<String>,
    /// First day (UTC).
    pub from: NaiveDate,
    /// Last day (UTC), included.
    pub to: NaiveDate,
    /// How the range is cut.
    pub period: Period,
    /// One row per period with any interaction, oldest first.
    pub periods: Vec<FunnelRow>,
    /// The whole range.
    pub total: FunnelRow,
}

/// Checks a funnel's range: `from` ≤ `to`, at most [`MAX_FUNNEL_DAYS`] days.
pub fn range(from: NaiveDate, to: NaiveDate) -> Result<(NaiveDate, NaiveDate), Error> {
    crate::domain::day_range(from, to, MAX_FUNNEL_DAYS)
}

impl Funnel {
    /// The funnel of `days` (each day's counters) cut by `period`.
    pub fn of(
        category: Option<String>,
        (from, to): (NaiveDate, NaiveDate),
        period: Period,
        days: &[DayCounts],
    ) -> Self {
        let mut periods: Vec<(NaiveDate, StageCounts)> = Vec::new();
        let mut total = StageCounts::default();
        for day in days.iter().filter(|d| d.day >= from && d.day <= to) {
            total.add(&day.counts);
            let start = period.start(day.day);
            match periods.iter_mut().find(|(s, _)| *s == start) {
                Some((_, counts)) => counts.add(&day.counts),
                None => periods.push((start, day.counts)),
            }
        }
        periods.sort_by_key(|(start, _)| *start);
        Self {
            category,
            from,
            to,
            period,
            periods: periods
                .into_iter()
                .map(|(start, counts)| FunnelRow::new(start, counts))
                .collect(),
            total: FunnelRow::new(from, total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::model::{Actor, Event, sample};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_completion_recommends_the_premium_upgrade_only_to_a_customer_not_premium() {
        let at = Utc::now();
        let booking = Booking {
            state: BookingState::Completed,
            completed_at: Some(at),
            ..sample(at)
        };
        let settings = crate::followups::model::FollowUpSettings::default();
        let kinds = |premium: bool| {
            let terms = settings.terms(&booking, premium, at);
            let price = settings.premium_price(&booking, premium);
            recommended(&booking, terms, price, None, at)
        };
        let offered = kinds(false);
        assert_eq!(
            offered.iter().map(|u| u.kind).collect::<Vec<_>>(),
            [UpsellKind::FollowUp, UpsellKind::PremiumUpgrade]
        );
        let upgrade = &offered[1];
        assert_eq!(upgrade.price.amount, settings.premium_price_amount);
        assert_eq!(upgrade.price.currency, booking.price.currency);
        assert!(upgrade.listed_for(false));
        assert!(!upgrade.listed_for(true), "premium since: no longer listed");
        let bought = Upsell {
            purchased_at: Some(at),
            ..upgrade.clone()
        };
        assert!(bought.listed_for(true), "bought through it: kept");
        assert!(offered[0].listed_for(true));
        assert_eq!(
            kinds(true).iter().map(|u| u.kind).collect::<Vec<_>>(),
            [UpsellKind::FollowUp]
        );
    }

    #[test]
    fn a_booking_s_life_implies_each_stage_once_at_its_write() {
        let at = Utc::now();
        let created = sample(at);
        let stages = |b: &Booking| implied(b).iter().map(|i| i.stage).collect::<Vec<_>>();
        assert_eq!(stages(&created), vec![Stage::Intake]);
        let mut paid = created
            .moved(Event::PaymentSucceeded, Actor::System, at)
            .unwrap();
        paid.version = 2;
        assert_eq!(stages(&paid), vec![Stage::SessionBooked]);
        let started = paid.moved(Event::Start, Actor::Provider, at).unwrap();
        assert_eq!(stages(&started), Vec::<Stage>::new());
        let delivered = started.moved(Event::Deliver, Actor::Provider, at).unwrap();
        let done = delivered
            .moved(Event::Confirm, Actor::Customer, at + Duration::minutes(1))
            .unwrap();
        assert_eq!(stages(&done), vec![Stage::SessionCompleted]);
        // A later write of the completed booking (its release) implies nothing new.
        let mut released = done.clone();
        released.updated_at = at + Duration::minutes(2);
        assert_eq!(stages(&released), Vec::<Stage>::new());
        // A job's booking was the job's intake.
        let job_booking = Booking {
            source: Source::JobApplication,
            ..sample(at)
        };
        assert_eq!(stages(&job_booking), Vec::<Stage>::new());
    }

    #[test]
    fn a_booking_bought_through_an_upsell_purchases_it_when_accepted() {
        let at = Utc::now();
        let parent = BookingId::at(at);
        let mut booking = sample(at)
            .moved(Event::PaymentSucceeded, Actor::System, at)
            .unwrap();
        booking.upsell = Some(UpsellRef {
            booking_id: parent,
            kind: UpsellKind::MaintenancePlan,
        });
        let purchased = implied(&booking)
            .into_iter()
            .find(|i| i.stage == Stage::UpsellPurchased)
            .unwrap();
        assert_eq!(purchased.booking_id, Some(parent));
        assert_eq!(purchased.purchase_booking_id, Some(booking.id));
        assert_eq!(purchased.subject(), format!("{parent}:maintenance_plan"));
    }

    #[test]
    fn the_funnel_sums_days_into_periods_and_rates_each_step() {
        let counts = |intake, booked| StageCounts {
            intake,
            session_booked: booked,
            ..StageCounts::default()
        };
        let days = [
            DayCounts {
                day: day("2026-12-01"),
                counts: counts(2, 1),
            },
            DayCounts {
                day: day("2026-12-03"),
                counts: counts(1, 1),
            },
            DayCounts {
                day: day("2026-12-08"),
                counts: counts(3, 0),
            },
        ];
        let range = (day("2026-12-01"), day("2026-12-31"));
        let weekly = Funnel::of(None, range, Period::Week, &days);
        assert_eq!(weekly.periods.len(), 2);
        assert_eq!(weekly.periods[0].start, day("2026-11-30"));
        assert_eq!(weekly.periods[0].counts, counts(3, 2));
        assert_eq!(weekly.periods[0].conversions[0].rate, Some(0.6667));
        assert_eq!(weekly.periods[1].conversions[0].rate, Some(0.0));
        assert_eq!(weekly.periods[1].conversions[1].rate, None);
        assert_eq!(weekly.total.counts, counts(6, 2));
        let monthly = Funnel::of(None, range, Period::Month, &days);
        assert_eq!(monthly.periods.len(), 1);
        assert_eq!(monthly.periods[0].start, day("2026-12-01"));
        assert!(range_ok());
    }

    fn range_ok() -> bool {
        range(day("2026-01-01"), day("2026-12-31")).is_ok()
            && range(day("2026-01-02"), day("2026-01-01")).is_err()
            && range(day("2025-01-01"), day("2026-01-02")).is_err()
    }

    #[test]
    fn a_day_s_counters_read_back_from_the_table_s_attributes() {
        let item: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
            serde_dynamo::to_item(serde_json::json!({
                "PK": "FUNNEL#home", "SK": "DAY#2026-12-07", "day": "2026-12-07",
                "intake": 3, "upsellClicked": 1, "entity_type": "funnel_day"
            }))
            .unwrap();
        let read: DayCounts = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.day, day("2026-12-07"));
        assert_eq!(read.counts.intake, 3);
        assert_eq!(read.counts.upsell_clicked, 1);
        assert_eq!(read.counts.session_booked, 0);
    }
}
