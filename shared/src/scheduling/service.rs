//! Scheduling use cases: a provider sets and reads their availability; anyone signed in asks
//! an offer's free slots for a range of dates. Slots are computed from the plan on every
//! query (a plan is one item), so a changed plan shows at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::{info, instrument};
use utoipa::ToSchema;

use super::model::{Availability, SetAvailability, Slot, range};
use super::store::AvailabilityStore;
use crate::auth::Caller;
use crate::domain::{OfferId, Role, TimeZone};
use crate::error::{Error, Result};
use crate::offers::model::OfferStatus;
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
        let plan = self
            .plans
            .availability(&offer.provider_id)
            .await?
            .ok_or(Error::NotFound("availability"))?;
        // No booking holds a provider's time yet: every slot of the plan is free.
        let slots = plan.slots(offer.duration_minutes, &offer.price, dates, &[], now);
        Ok(SlotList {
            offer_id: offer.id,
            time_zone: plan.time_zone,
            duration_minutes: offer.duration_minutes,
            slots,
        })
    }
}
