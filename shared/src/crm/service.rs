//! CRM use cases: recording what the bookings' writes imply (their stream consumer; a job's
//! intake is recorded by the jobs' own consumer, through the store alone), the customer's
//! upsells (listed: shown; opened: clicked; bought through the purchase flows: purchased once
//! paid), and the admins' funnel and interaction logs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::{info, instrument};
use utoipa::ToSchema;

use super::model::{
    Funnel, Interaction, Period, Stage, Upsell, UpsellKind, implied, just_completed, range,
    recommended,
};
use super::store::{CrmStore, RECORD_AT_ONCE};
use crate::auth::Caller;
use crate::bookings::model::{Booking, PurchaseRequest};
use crate::bookings::service::{Bookings, Purchase};
use crate::cursor::CursorCodec;
use crate::domain::{BookingId, UserId};
use crate::error::{Error, Result};
use crate::followups::model::{FollowUpKind, FollowUpRequest, PremiumCheckout, PremiumUpgrade};
use crate::followups::store::FollowUpStore;
use crate::offers::store::OfferStore;

/// What the CRM functions need.
pub struct Crm<'a> {
    /// The log, its counters and the upsells.
    pub store: &'a dyn CrmStore,
    /// The follow-up price and window, and premium flags (a follow-up upsell's price).
    pub followups: &'a dyn FollowUpStore,
    /// Offers (a maintenance plan's).
    pub offers: &'a dyn OfferStore,
    /// Page cursors.
    pub cursors: &'a CursorCodec,
}

/// A page of a customer's upsells.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsellPage {
    /// Newest booking first.
    pub items: Vec<Upsell>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// A page of a customer's interaction log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InteractionPage {
    /// Newest first.
    pub items: Vec<Interaction>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `POST /me/upsells/{bookingId}/{kind}/purchase`: the client's key and, for a follow-up,
/// what is asked.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpsellPurchaseRequest {
    /// The client's key for this purchase (1–64 letters, digits, `-` or `_`): retrying with
    /// the same key returns the same booking and payment.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "upsell-7f3a")]
    pub idempotency_key: String,
    /// A follow-up's question (required for `follow_up`, refused otherwise): 1–2,000
    /// characters.
    #[serde(default)]
    pub question: Option<String>,
    /// A follow-up's kind (`quick_question` when absent).
    #[serde(default)]
    pub follow_up_kind: Option<FollowUpKind>,
}

impl Crm<'_> {
    /// Records what a booking's written image implies (see [`implied`]), each once; the
    /// completing write also leaves its customer's upsell recommendations.
    pub async fn booking_written(&self, booking: &Booking, now: DateTime<Utc>) -> Result<()> {
        if just_completed(booking).is_some() {
            self.recommend(booking, now).await?;
        }
        for interaction in implied(booking) {
            self.record(&interaction).await?;
        }
        Ok(())
    }

    /// Records what a premium upgrade's written image implies: paid, its upsell purchased
    /// (once, however often the image comes again).
    pub async fn upgrade_written(&self, upgrade: &PremiumUpgrade) -> Result<()> {
        match Interaction::upgrade_paid(upgrade) {
            Some(purchased) => self.record(&purchased).await,
            None => Ok(()),
        }
    }

    async fn record(&self, interaction: &Interaction) -> Result<()> {
        if self.store.record(interaction).await? {
            info!(customer = %interaction.customer_id, stage = ?interaction.stage,
                subject = %interaction.subject(), "interaction recorded");
        }
        Ok(())
    }

    /// The recommendations a completed booking leaves its customer: a follow-up at the
    /// customer's follow-up price (free when premium) within its window, and the offer
    /// again while it is on sale. Written only if absent: a redelivered image changes none.
    async fn recommend(&self, booking: &Booking, now: DateTime<Utc>) -> Result<()> {
        let offer = async {
            match &booking.offer_id {
                Some(id) => self.offers.get_offer(id).await,
                None => Ok(None),
            }
        };
        let (settings, premium, offer) = futures::try_join!(
            self.followups.follow_up_settings(),
            self.followups.premium(&booking.customer_id),
            offer
        )?;
        let terms = settings.terms(booking, premium.premium, now);
        let premium_price = settings.premium_price(booking, premium.premium);
        let upsells = recommended(booking, terms, premium_price, offer.as_ref(), now);
        self.store.put_upsells(&upsells).await
    }

    /// `GET /me/upsells`: the caller's recommendations, newest booking first (a premium
    /// customer's premium upgrades left out); each one listed for the first time is recorded
    /// as shown (once, with the funnel's counters).
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn upsells(
        &self,
        caller: &Caller,
        limit: u32,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UpsellPage> {
        let scope = format!("upsells:{}", caller.user_id);
        let after = cursor.map(|c| self.cursors.decode(&scope, c)).transpose()?;
        let (page, premium) = futures::try_join!(
            self.store.upsells_of(&caller.user_id, limit, after),
            self.followups.premium(&caller.user_id)
        )?;
        let listed: Vec<Upsell> = page
            .items
            .into_iter()
            .filter(|u| u.listed_for(premium.premium))
            .collect();
        let mut items = Vec::with_capacity(listed.len());
        for chunk in listed.chunks(RECORD_AT_ONCE) {
            items.extend(self.show(chunk, now).await?);
        }
        Ok(UpsellPage {
            items,
            next_cursor: page.next.map(|p| self.cursors.encode(&scope, &p)),
        })
    }

    /// `upsells` with the ones not shown before recorded as shown now: in one transaction
    /// (its counter rows are hot: one write rather than one per upsell), or one by one when
    /// a concurrent listing recorded some of them first.
    async fn show(&self, upsells: &[Upsell], now: DateTime<Utc>) -> Result<Vec<Upsell>> {
        let new: Vec<Interaction> = upsells
            .iter()
            .filter(|u| !u.reached(Stage::UpsellShown))
            .map(|u| Interaction::upsell(u, Stage::UpsellShown, now))
            .collect();
        if self.store.record_all(&new).await? {
            return Ok(upsells
                .iter()
                .map(|u| u.clone().with(Stage::UpsellShown, now))
                .collect());
        }
        let mut shown = Vec::with_capacity(upsells.len());
        for upsell in upsells {
            shown.push(self.reach(upsell.clone(), Stage::UpsellShown, now).await?);
        }
        Ok(shown)
    }

    /// `POST /me/upsells/{bookingId}/{kind}/click`: the caller opens one of their
    /// recommendations (recorded as clicked, and shown if it was not yet, once each).
    #[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %booking))]
    pub async fn click(
        &self,
        caller: &Caller,
        booking: &BookingId,
        kind: UpsellKind,
        now: DateTime<Utc>,
    ) -> Result<Upsell> {
        let upsell = self.own(caller, booking, kind).await?;
        let shown = self.reach(upsell, Stage::UpsellShown, now).await?;
        self.reach(shown, Stage::UpsellClicked, now).await
    }

    /// `upsell` with `stage` recorded: now, unless it already was.
    async fn reach(&self, upsell: Upsell, stage: Stage, now: DateTime<Utc>) -> Result<Upsell> {
        if upsell.reached(stage) {
            return Ok(upsell);
        }
        if self
            .store
            .record(&Interaction::upsell(&upsell, stage, now))
            .await?
        {
            return Ok(upsell.with(stage, now));
        }
        // A concurrent request recorded it first: answer what is stored.
        self.store
            .upsell(&upsell.customer_id, &upsell.booking_id, upsell.kind)
            .await?
            .ok_or(Error::NotFound("upsell"))
    }

    /// One of the caller's own upsells (anyone else's is not found: the key is in the
    /// caller's partition).
    async fn own(&self, caller: &Caller, booking: &BookingId, kind: UpsellKind) -> Result<Upsell> {
        self.store
            .upsell(&caller.user_id, booking, kind)
            .await?
            .ok_or(Error::NotFound("upsell"))
    }

    /// `GET /admin/crm/funnel` (admins): counts and conversions per period of the stages
    /// reached from `from` to `to`, in one category or all, from the day counters.
    pub async fn funnel(
        &self,
        caller: &Caller,
        category: Option<String>,
        (from, to): (NaiveDate, NaiveDate),
        period: Period,
    ) -> Result<Funnel> {
        caller.admin_only()?;
        let range = range(from, to)?;
        let days = self
            .store
            .funnel_days(category.as_deref(), range.0, range.1)
            .await?;
        Ok(Funnel::of(category, range, period, &days))
    }

    /// `GET /admin/customers/{id}/interactions` (admins): a customer's log, newest first.
    pub async fn interactions(
        &self,
        caller: &Caller,
        customer: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<InteractionPage> {
        caller.admin_only()?;
        let scope = format!("interactions:{customer}");
        let after = cursor.map(|c| self.cursors.decode(&scope, c)).transpose()?;
        let page = self.store.interactions_of(customer, limit, after).await?;
        Ok(InteractionPage {
            items: page.items,
            next_cursor: page.next.map(|p| self.cursors.encode(&scope, &p)),
        })
    }
}

/// What buying an upsell answers: a booking's purchase (a follow-up, a maintenance plan) or
/// a premium upgrade's checkout.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
// Built once per request and serialized at once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum UpsellPurchase {
    /// A follow-up or a maintenance plan: the new booking and its payment.
    Booking(Purchase),
    /// A premium upgrade and its payment.
    Premium(PremiumCheckout),
}

/// `POST /me/upsells/{bookingId}/{kind}/purchase`: the caller buys one of their
/// recommendations through the normal flow — a follow-up of the booking or the offer again
/// (the new booking naming the upsell), or the premium upgrade with a payment of its own. It
/// counts as purchased when that booking or upgrade is paid (recorded from their stream,
/// once however many are bought).
#[instrument(skip_all, fields(user_id = %caller.user_id, booking_id = %booking))]
pub async fn purchase(
    bookings: &Bookings<'_>,
    crm: &Crm<'_>,
    caller: &Caller,
    (booking, kind): (&BookingId, UpsellKind),
    request: UpsellPurchaseRequest,
    now: DateTime<Utc>,
) -> Result<(UpsellPurchase, bool)> {
    let upsell = crm.own(caller, booking, kind).await?;
    let only_for_follow_ups = || {
        if request.question.is_some() || request.follow_up_kind.is_some() {
            return Err(Error::field("question", "only for a follow-up"));
        }
        Ok(())
    };
    if kind == UpsellKind::PremiumUpgrade {
        only_for_follow_ups()?;
        let key = &request.idempotency_key;
        let upgrade = crate::followups::service::upgrade;
        let (checkout, created) =
            upgrade(bookings, crm.followups, caller, &upsell, key, now).await?;
        return Ok((UpsellPurchase::Premium(checkout), created));
    }
    let (purchase, created) = match (kind, upsell.offer_id) {
        (UpsellKind::FollowUp, _) => {
            let question = request
                .question
                .ok_or_else(|| Error::field("question", "required for a follow-up"))?;
            let follow_up = FollowUpRequest {
                kind: request
                    .follow_up_kind
                    .unwrap_or(FollowUpKind::QuickQuestion),
                question,
                idempotency_key: request.idempotency_key,
            };
            crate::followups::service::open(
                bookings,
                crm.followups,
                caller,
                booking,
                follow_up,
                Some(upsell.reference()),
                now,
            )
            .await
        }
        (UpsellKind::MaintenancePlan, Some(offer)) => {
            only_for_follow_ups()?;
            let key = PurchaseRequest {
                idempotency_key: request.idempotency_key,
            };
            bookings
                .purchase_through(caller, &offer, key, Some(upsell.reference()), now)
                .await
        }
        (UpsellKind::MaintenancePlan | UpsellKind::PremiumUpgrade, _) => {
            Err(Error::NotFound("upsell"))
        }
    }?;
    Ok((UpsellPurchase::Booking(purchase), created))
}
