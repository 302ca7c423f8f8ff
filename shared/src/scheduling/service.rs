//! Scheduling use cases: a provider sets and reads their availability; anyone signed in asks
//! an offer's free slots for a range of dates, and requests one. Slots are computed from the
//! plan and the provider's held time on every query, so a changed plan or a new booking shows
//! at once.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument};
use utoipa::ToSchema;

use super::model::{Availability, MAX_SLOT_MINUTES, SetAvailability, Slot, range};
use super::store::AvailabilityStore;
use crate::auth::Caller;
use crate::bookings::model::{Booking, SessionSettings, SessionSettingsRequest, idempotency_key};
use crate::bookings::service::{Bookings, Purchase, time_taken};
use crate::bookings::store::BookingStore;
use crate::domain::{OfferId, Role, TimeZone};
use crate::error::{Error, Result};
use crate::offers::model::{Offer, OfferStatus};
use crate::offers::store::OfferStore;

/// An offer's free slots in a range of dates.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotList {
    /// The offer.
    pub offer_id: OfferId,
    /// The provider's time zone (each slot's local times are in it).
    pub time_zone: TimeZone,
    /// The offer's duration, in minutes (each slot's length).
    pub duration_minutes: u32,
    /// By start.
    pub slots: Vec<Slot>,
}

/// The scheduling service.
pub struct Scheduling<'a> {
    /// Providers' plans.
    pub plans: &'a dyn AvailabilityStore,
    /// Offers (what a slot is for).
    pub offers: &'a dyn OfferStore,
}

/// The plan `offer` is booked against: its provider's. Offers longer than
/// [`MAX_SLOT_MINUTES`] are not booked by slot (409).
async fn plan_of(plans: &dyn AvailabilityStore, offer: &Offer) -> Result<Availability> {
    if offer.duration_minutes > MAX_SLOT_MINUTES {
        return Err(Error::Conflict(format!(
            "offers longer than {MAX_SLOT_MINUTES} minutes are bought, not booked by slot"
        )));
    }
    plans
        .availability(&offer.provider_id)
        .await?
        .ok_or(Error::NotFound("availability"))
}

/// `offer`'s free slots in `plan` on the local `dates`: the plan's slots less those the
/// bookings holding the provider's time (and their buffers) take.
async fn free_slots(
    plans: &dyn AvailabilityStore,
    offer: &Offer,
    plan: &Availability,
    dates: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Result<Vec<Slot>> {
    // Local dates reach at most 14 hours either side of UTC's; the buffer a little more.
    let margin = Duration::days(1) + Duration::minutes(i64::from(MAX_SLOT_MINUTES));
    let from = dates.0.and_time(NaiveTime::MIN).and_utc() - margin;
    let to = dates.1.and_time(NaiveTime::MIN).and_utc() + Duration::days(1) + margin;
    let busy = plans.busy(&offer.provider_id, from, to).await?;
    Ok(plan.slots(offer.duration_minutes, &offer.price, dates, &busy, now))
}

/// `POST /offers/{id}/book`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookSlot {
    /// The slot's `start`, as `GET /offers/{id}/slots` lists it.
    pub start: DateTime<Utc>,
    /// The client's key for this request (1–64 letters, digits, `-` or `_`): retrying with
    /// the same key returns the same booking and payment.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "book-7f3a")]
    pub idempotency_key: String,
}

/// `POST /offers/{id}/book`: a request to book a free slot of an active offer. The slot is
/// checked against the provider's plan and held time now, and the booking (`pending_payment`,
/// the slot's price, its time) claims the provider's time in its own transaction, cell by
/// cell: of concurrent requests for overlapping time exactly one is written, the others are
/// 409. Then its PaymentIntent (manual capture: authorized now, captured when the provider
/// accepts), as a purchase. `true` when created now; the same key again answers the same.
#[instrument(skip_all, fields(user_id = %caller.user_id, offer_id = %id))]
pub async fn book(
    bookings: &Bookings<'_>,
    plans: &dyn AvailabilityStore,
    caller: &Caller,
    id: &OfferId,
    request: BookSlot,
    now: DateTime<Utc>,
) -> Result<(Purchase, bool)> {
    let key = idempotency_key(&request.idempotency_key)?;
    let me = caller.user_id;
    let (offer, earlier, rates) = futures::try_join!(
        bookings.offers.get_offer(id),
        bookings.store.purchase_of(&me, key),
        bookings.accounts.commission_rates()
    )?;
    if let Some(earlier) = earlier {
        return Ok((
            bookings.resume(&me, &earlier, &id.to_string(), now).await?,
            false,
        ));
    }
    let offer = offer
        .filter(|o| o.status == OfferStatus::Active || o.provider_id == me)
        .ok_or(Error::NotFound("offer"))?;
    if offer.provider_id == me {
        return Err(Error::BadRequest("you cannot book your own offer".into()));
    }
    if offer.status != OfferStatus::Active {
        return Err(Error::NotFound("offer"));
    }
    let plan = plan_of(plans, &offer).await?;
    let day = plan.time_zone.rules().local(request.start).date_naive();
    let slot = free_slots(plans, &offer, &plan, (day, day), now)
        .await?
        .into_iter()
        .find(|s| s.start == request.start)
        .ok_or_else(|| {
            Error::Conflict(
                "not a free slot of this offer now: read GET /offers/{id}/slots again".into(),
            )
        })?;
    let rate = rates.rate(&offer.category);
    let booking = Booking::for_slot(
        offer,
        me,
        &slot,
        (plan.time_zone.clone(), plan.buffer_minutes),
        rate,
        now,
    );
    bookings.checkout(booking, key, time_taken, now).await
}

/// `GET /admin/session-settings` (admins).
pub async fn session_settings(
    store: &dyn BookingStore,
    caller: &Caller,
) -> Result<SessionSettings> {
    caller.admin_only()?;
    store.session_settings().await
}

/// `PUT /admin/session-settings` (admins): the support alerts set from now on use them (one
/// already set keeps its time).
#[instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn set_session_settings(
    store: &dyn BookingStore,
    caller: &Caller,
    request: SessionSettingsRequest,
    now: DateTime<Utc>,
) -> Result<SessionSettings> {
    caller.admin_only()?;
    let settings = request.settings(now)?;
    store.put_session_settings(&settings).await?;
    info!(
        support_alert_after_minutes = settings.support_alert_after_minutes,
        "session settings set"
    );
    Ok(settings)
}

/// A `YYYY-MM-DD` query parameter.
pub fn date(raw: Option<&str>, field: &str) -> Result<NaiveDate> {
    raw.ok_or_else(|| Error::field(field, "required (YYYY-MM-DD)"))?
        .parse()
        .map_err(|_| Error::field(field, "a date, YYYY-MM-DD"))
}

impl Scheduling<'_> {
    /// `PUT /me/availability`: providers only.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn set(
        &self,
        caller: &Caller,
        request: SetAvailability,
        now: DateTime<Utc>,
    ) -> Result<Availability> {
        if !caller.roles.contains(&Role::Provider) {
            return Err(Error::Forbidden(
                "only providers keep an availability".into(),
            ));
        }
        let plan = request.validate(caller.user_id, now)?;
        self.plans.put_availability(&plan).await?;
        info!("availability set");
        Ok(plan)
    }

    /// `GET /me/availability`.
    pub async fn mine(&self, caller: &Caller) -> Result<Availability> {
        self.plans
            .availability(&caller.user_id)
            .await?
            .ok_or(Error::NotFound("availability"))
    }

    /// `GET /offers/{id}/slots?from&to`: the free slots of an offer anyone may see (an
    /// active one, or the caller's own) on the provider's local dates `from` to `to`.
    pub async fn slots(
        &self,
        caller: &Caller,
        id: &OfferId,
        dates: (NaiveDate, NaiveDate),
        now: DateTime<Utc>,
    ) -> Result<SlotList> {
        let dates = range(dates.0, dates.1)?;
        let offer = self
            .offers
            .get_offer(id)
            .await?
            .filter(|o| o.status == OfferStatus::Active || o.provider_id == caller.user_id)
            .ok_or(Error::NotFound("offer"))?;
        let plan = plan_of(self.plans, &offer).await?;
        let slots = free_slots(self.plans, &offer, &plan, dates, now).await?;
        Ok(SlotList {
            offer_id: offer.id,
            time_zone: plan.time_zone,
            duration_minutes: offer.duration_minutes,
            slots,
        })
    }
}
