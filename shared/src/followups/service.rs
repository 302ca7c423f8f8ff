//! Follow-up use cases: the parent's customer reads the terms and opens a follow-up (a child
//! booking through the purchase flow); admins set the window and price and flag premium
//! customers; a customer buys the premium upgrade (its own PaymentIntent, made premium by
//! the webhook when Stripe reports it paid) and reads their flag.

use chrono::{DateTime, Utc};
use gigwire_payments::NewPayment;
use gigwire_payments::webhook::WebhookEvent;
use tracing::{info, instrument, warn};

use super::model::{
    FollowUpRequest, FollowUpSettings, FollowUpSettingsRequest, FollowUpTerms, Premium,
    PremiumCheckout, PremiumRequest, PremiumUpgrade, UPGRADE_CUSTOMER_METADATA,
    UPGRADE_KEY_METADATA, UpgradeState,
};
use super::store::FollowUpStore;
use crate::auth::Caller;
use crate::bookings::model::{Booking, idempotency_key};
use crate::bookings::service::{Bookings, Purchase, WebhookOutcome, purchase_limits};
use crate::bookings::store::{BookingStore, Creation, PaymentGateway};
use crate::crm::model::{Upsell, UpsellRef};
use crate::domain::{BookingId, Role, UserId};
use crate::error::{Error, Result};
use crate::me::store::UserStore;

/// Attempts at writing an upgrade's payment over concurrent writes of it.
const PAID_ATTEMPTS: usize = 3;

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
    let premium = Premium::set(user, request.premium, now);
    store.put_premium(&premium).await?;
    info!(premium = premium.premium, "premium flag set");
    Ok(premium)
}

/// `GET /me/premium`: the caller's premium flag.
pub async fn premium(store: &dyn FollowUpStore, caller: &Caller) -> Result<Premium> {
    store.premium(&caller.user_id).await
}

fn changed_meanwhile() -> Error {
    Error::Conflict("the premium upgrade changed meanwhile; retry".into())
}

/// The caller buys the premium upgrade `upsell` recommends, under the client's `key`: the
/// upgrade (its key's claim, counted against the buyer's purchase limits) and its
/// PaymentIntent at the recommended price. `true` when created now; the same key again
/// answers the same upgrade and payment. The customer becomes premium when Stripe reports
/// the payment ([`upgrade_event`]).
#[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %upsell.booking_id))]
pub async fn upgrade(
    bookings: &Bookings<'_>,
    store: &dyn FollowUpStore,
    caller: &Caller,
    upsell: &Upsell,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(PremiumCheckout, bool)> {
    let key = idempotency_key(key)?;
    let me = caller.user_id;
    let (earlier, premium) = futures::try_join!(store.upgrade(&me, key), store.premium(&me))?;
    // A retry with the same key answers its upgrade, whatever changed since.
    if let Some(upgrade) = earlier {
        if upgrade.upsell != upsell.reference() {
            return Err(Error::Conflict(
                "this idempotency key was used for another purchase".into(),
            ));
        }
        let checkout = with_payment(bookings.payments, store, upgrade, premium.premium, now);
        return Ok((checkout.await?, false));
    }
    if premium.premium {
        return Err(Error::Conflict("you are premium already".into()));
    }
    let upgrade = PremiumUpgrade::new(key, upsell, now);
    let (buyer, buyer_and_premium) = (me.to_string(), format!("{me}:premium"));
    match store
        .create_upgrade(&upgrade, &purchase_limits(&buyer, &buyer_and_premium), now)
        .await?
    {
        Creation::Created => {}
        Creation::Limited { retry_after_secs } => {
            return Err(Error::RateLimited { retry_after_secs });
        }
        Creation::KeyTaken | Creation::TimeTaken => {
            // A concurrent request with the same key won: answer with its upgrade.
            let stored = store
                .upgrade(&me, key)
                .await?
                .ok_or_else(changed_meanwhile)?;
            let checkout = with_payment(bookings.payments, store, stored, false, now);
            return Ok((checkout.await?, false));
        }
    }
    info!(price = upgrade.price.amount, "premium upgrade bought");
    Ok((
        with_payment(bookings.payments, store, upgrade, false, now).await?,
        true,
    ))
}

/// Makes sure an upgrade waiting for its payment has its PaymentIntent (created under a key
/// of the upgrade's version: concurrent retries make one) and answers with what the client
/// needs to pay it: nothing to pay once it is paid, or once the customer is `premium`
/// otherwise (an admin's flag).
async fn with_payment(
    payments: &dyn PaymentGateway,
    store: &dyn FollowUpStore,
    upgrade: PremiumUpgrade,
    premium: bool,
    now: DateTime<Utc>,
) -> Result<PremiumCheckout> {
    let payable =
        |upgrade: &PremiumUpgrade| upgrade.state == UpgradeState::PendingPayment && !premium;
    let answer = |upgrade: PremiumUpgrade, secret: Option<String>| PremiumCheckout {
        payment_intent_id: upgrade.payment_intent_id.clone(),
        client_secret: secret.filter(|_| payable(&upgrade)),
        premium_upgrade: upgrade,
    };
    if let Some(id) = &upgrade.payment_intent_id {
        let secret = if payable(&upgrade) {
            payments.payment(id).await?.client_secret
        } else {
            None
        };
        return Ok(answer(upgrade, secret));
    }
    if premium {
        return Ok(answer(upgrade, None));
    }
    let group = format!("premium-{}", upgrade.customer_id);
    let created = payments
        .create_payment(&NewPayment {
            amount: upgrade.price.amount,
            currency: &upgrade.price.currency,
            manual_capture: false,
            transfer_group: &group,
            metadata: upgrade.metadata(),
            idempotency_key: &upgrade.stripe_key(),
        })
        .await;
    let payment = match created {
        Ok(payment) => payment,
        Err(err) => {
            // A retry (with the same key) must not replay this failure: it asks Stripe
            // under the next version's key. Lost to a concurrent write, that write moved it.
            let _ = store
                .save_upgrade(upgrade.version, &upgrade.next(None, now))
                .await;
            return Err(err);
        }
    };
    let after = upgrade.next(Some(&payment.id), now);
    if store.save_upgrade(upgrade.version, &after).await? {
        return Ok(answer(after, payment.client_secret));
    }
    // A concurrent retry attached it first (the same PaymentIntent: the same Stripe key), or
    // the webhook marked it paid: answer with what is stored.
    let stored = store
        .upgrade(&upgrade.customer_id, &upgrade.idempotency_key)
        .await?
        .ok_or_else(changed_meanwhile)?;
    Ok(answer(stored, payment.client_secret))
}

/// Whether a Stripe event is about a premium upgrade's PaymentIntent (its metadata says so).
pub fn is_upgrade_event(event: &WebhookEvent) -> bool {
    event.data.metadata(UPGRADE_CUSTOMER_METADATA).is_some()
}

/// A premium upgrade's PaymentIntent changed: re-read from Stripe (whatever the delivery
/// order) and checked against the upgrade; succeeded, the upgrade is paid, its customer
/// premium and the event consumed in one transaction. A failed payment changes nothing: the
/// upgrade stays payable, with the same client secret.
#[instrument(skip_all, fields(event_id = %event.id))]
pub async fn upgrade_event(
    payments: &dyn PaymentGateway,
    store: &dyn FollowUpStore,
    event: &WebhookEvent,
    now: DateTime<Utc>,
) -> Result<WebhookOutcome> {
    let customer = event
        .data
        .metadata(UPGRADE_CUSTOMER_METADATA)
        .and_then(|id| UserId::parse(id, UPGRADE_CUSTOMER_METADATA).ok());
    let key = event.data.metadata(UPGRADE_KEY_METADATA);
    let (Some(customer), Some(key), Some(object)) = (customer, key, event.data.object_id()) else {
        return Ok(WebhookOutcome::Ignored);
    };
    let (payment, upgrade) =
        futures::try_join!(payments.payment(object), store.upgrade(&customer, key))?;
    let Some(mut upgrade) = upgrade else {
        warn!(customer = %customer, "stripe event for an unknown premium upgrade");
        return Ok(WebhookOutcome::Ignored);
    };
    if !upgrade.paid_by(&payment) {
        warn!(customer = %customer, payment = %payment.id, "payment does not match its upgrade");
        return Ok(WebhookOutcome::Ignored);
    }
    if payment.status != "succeeded" {
        return Ok(WebhookOutcome::Ignored);
    }
    for _ in 0..PAID_ATTEMPTS {
        if upgrade.state == UpgradeState::Paid {
            return Ok(WebhookOutcome::Duplicate);
        }
        let after = upgrade.paid(&payment, now);
        let premium = Premium::set(&customer, true, now);
        if store
            .upgrade_paid(upgrade.version, &after, &premium, &event.id)
            .await?
        {
            info!(customer = %customer, "premium upgrade paid: customer premium");
            return Ok(WebhookOutcome::Applied);
        }
        // Something else wrote it first (the purchase attaching this payment, another
        // delivery): decide again on what is stored now.
        upgrade = store
            .upgrade(&customer, key)
            .await?
            .ok_or_else(changed_meanwhile)?;
    }
    // Still losing: a non-2xx answer has Stripe deliver the event again later.
    Err(changed_meanwhile())
}
