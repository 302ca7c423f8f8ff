//! Follow-up use cases: the parent's customer reads the terms and opens a follow-up (a child
//! booking through the purchase flow); admins set the window and price and flag premium
//! customers.

use chrono::{DateTime, Utc};
use tracing::{info, instrument};

use super::model::{
    FollowUpRequest, FollowUpSettings, FollowUpSettingsRequest, FollowUpTerms, Premium,
    PremiumRequest,
};
use super::store::FollowUpStore;
use crate::auth::Caller;
use crate::bookings::model::{Booking, idempotency_key};
use crate::bookings::service::{Bookings, Purchase};
use crate::bookings::store::BookingStore;
use crate::crm::model::UpsellRef;
use crate::domain::{BookingId, Role, UserId};
use crate::error::{Error, Result};
use crate::me::store::UserStore;

/// Only the parent's customer opens (and prices) a follow-up: its provider and admins are
/// told so (403), anyone else learns nothing of the booking (404).
fn customers_parent(caller: &Caller, parent: Option<Booking>) -> Result<Booking> {
    let parent = parent.ok_or(Error::NotFound("booking"))?;
    if parent.customer_id == caller.user_id {
        return Ok(parent);
    }
    let provider = parent.provider_id == caller.user_id && parent.provider_party();
    if provider || caller.roles.contains(&Role::Admin) {
        return Err(Error::Forbidden(
            "only the booking's customer opens a follow-up".into(),
        ));
    }
    Err(Error::NotFound("booking"))
}

/// `GET /bookings/{id}/follow-ups/terms`: whether the parent's customer may open a follow-up
/// now, until when, and at what price.
pub async fn terms(
    bookings: &dyn BookingStore,
    store: &dyn FollowUpStore,
    caller: &Caller,
    parent: &BookingId,
    now: DateTime<Utc>,
) -> Result<FollowUpTerms> {
    let (parent, settings, premium) = futures::try_join!(
        bookings.get_booking(parent),
        store.follow_up_settings(),
        store.premium(&caller.user_id)
    )?;
    let parent = customers_parent(caller, parent)?;
    Ok(settings.terms(&parent, premium.premium, now))
}

/// `POST /bookings/{id}/follow-ups`: the parent's customer opens a follow-up of their
/// completed booking within the window. The child booking (same provider, the parent's
/// thread) is a checkout under the client's key, counted against the buyer's limits and at
/// most a few per parent: free and accepted at once for a premium customer (the provider is
/// told the question in the creating transaction), otherwise at the admins' price with its
/// PaymentIntent, accepted when paid. `true` when created now; the same key again answers
/// the same booking. `upsell` names the recommendation it is bought through, if any.
#[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %parent))]
pub async fn open(
    bookings: &Bookings<'_>,
    store: &dyn FollowUpStore,
    caller: &Caller,
    parent: &BookingId,
    request: FollowUpRequest,
    upsell: Option<UpsellRef>,
    now: DateTime<Utc>,
) -> Result<(Purchase, bool)> {
    let key = idempotency_key(&request.idempotency_key)?;
    let me = caller.user_id;
    let (found, earlier, settings, premium, rates) = futures::try_join!(
        bookings.store.get_booking(parent),
        bookings.store.purchase_of(&me, key),
        store.follow_up_settings(),
        store.premium(&me),
        bookings.accounts.commission_rates()
    )?;
    let found = customers_parent(caller, found)?;
    // A retry with the same key answers its booking, whatever changed since.
    if let Some(id) = earlier {
        return Ok((
            bookings.resume(&me, &id, &parent.to_string(), now).await?,
            false,
        ));
    }
    let terms = settings.terms(&found, premium.premium, now);
    let follow_up = request.follow_up(&found, &terms)?;
    let rate = rates.rate(&found.category);
    let booking = Booking {
        upsell,
        ..Booking::for_follow_up(&found, follow_up, &terms.price, rate, now)
    };
    info!(
        free = terms.free,
        price = terms.price.amount,
        "follow-up opened"
    );
    bookings
        .checkout(
            booking,
            key,
            || Error::Conflict("the follow-up changed meanwhile; retry".into()),
            now,
        )
        .await
}

/// `GET /admin/follow-up-settings` (admins).
pub async fn settings(store: &dyn FollowUpStore, caller: &Caller) -> Result<FollowUpSettings> {
    caller.admin_only()?;
    store.follow_up_settings().await
}

/// `PUT /admin/follow-up-settings` (admins): follow-ups opened from now on use them.
#[instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn set_settings(
    store: &dyn FollowUpStore,
    caller: &Caller,
    request: FollowUpSettingsRequest,
    now: DateTime<Utc>,
) -> Result<FollowUpSettings> {
    caller.admin_only()?;
    let settings = request.settings(now)?;
    store.put_follow_up_settings(&settings).await?;
    info!(
        window_days = settings.window_days,
        price = settings.price_amount,
        "follow-up settings changed"
    );
    Ok(settings)
}

/// `PUT /admin/users/{id}/premium` (admins): the user's follow-ups opened from now on are
/// free (or paid again).
#[instrument(skip_all, fields(user_id = %caller.user_id, customer = %user))]
pub async fn set_premium(
    store: &dyn FollowUpStore,
    users: &dyn UserStore,
    caller: &Caller,
    user: &UserId,
    request: PremiumRequest,
    now: DateTime<Utc>,
) -> Result<Premium> {
    caller.admin_only()?;
    users.get_user(user).await?.ok_or(Error::NotFound("user"))?;
    let premium = Premium {
        user_id: *user,
        premium: request.premium,
        updated_at: Some(now),
    };
    store.put_premium(&premium).await?;
    info!(premium = premium.premium, "premium flag set");
    Ok(premium)
}
