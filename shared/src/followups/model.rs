//! What a follow-up is and the rules of opening one: what the customer asks, the admins'
//! window and price, and the premium flag that makes it free. Pure rules: the service reads
//! the parent booking, the settings and the flag, and writes the child booking through the
//! purchase flow. Also the premium upgrade a customer buys (from an upsell recommendation):
//! its states and what its payment must be.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bookings::model::Booking;
use crate::crm::model::{Upsell, UpsellRef};
use crate::domain::{BookingId, UserId};
use crate::error::Error;
use crate::offers::model::Money;
use gigwire_payments::Payment;

/// The follow-up window when the admins set none: 14 days after the parent completed.
pub const DEFAULT_WINDOW_DAYS: u32 = 14;
/// The longest window admins may set.
pub const MAX_WINDOW_DAYS: u32 = 90;
/// A follow-up's price when the admins set none, in minor units of the parent's currency.
pub const DEFAULT_PRICE: i64 = 900;
/// The smallest paid price: under Stripe's minimum charge in every listed currency (50
/// minor units) a payment cannot be made.
pub const MIN_PRICE: i64 = 100;
/// The largest price: a follow-up is a small addition, not a new purchase.
pub const MAX_PRICE: i64 = 50_000;
/// The longest question.
pub const QUESTION_TEXT: usize = 2_000;
/// The premium upgrade's price when the admins set none, in minor units of the recommending
/// booking's currency.
pub const DEFAULT_PREMIUM_PRICE: i64 = 4_900;
/// The largest premium price admins may set.
pub const MAX_PREMIUM_PRICE: i64 = 100_000;
/// The Stripe metadata of a premium upgrade's PaymentIntent: its customer…
pub const UPGRADE_CUSTOMER_METADATA: &str = "premium_customer";
/// …and the client's key it was bought under (together: the upgrade's key).
pub const UPGRADE_KEY_METADATA: &str = "premium_key";

/// What the customer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// A quick question about the work done.
    QuickQuestion,
    /// A little more of the same work.
    MiniExtension,
    /// A new problem since.
    NewIssue,
}

/// What makes a booking a follow-up: its parent and what the customer asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    /// The completed booking it follows (same customer, provider and chat thread).
    pub parent_id: BookingId,
    /// What is asked.
    pub kind: FollowUpKind,
    /// The customer's question, as the provider is told it.
    pub question: String,
    /// Free for a premium customer (no payment; accepted at once).
    pub free: bool,
}

/// `POST /bookings/{id}/follow-ups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpRequest {
    /// What is asked.
    pub kind: FollowUpKind,
    /// 1–2,000 characters, not blank, no control characters but new lines and tabs.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 2000
    )]
    pub question: String,
    /// The client's key for this follow-up (1–64 letters, digits, `-` or `_`): retrying with
    /// the same key returns the same booking and payment instead of opening two.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "follow-up-7f3a")]
    pub idempotency_key: String,
}

/// The admins' follow-up settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpSettings {
    /// Days after the parent's completion during which its customer may open follow-ups.
    pub window_days: u32,
    /// What a follow-up costs a customer who is not premium, in minor units of the parent
    /// booking's currency.
    pub price_amount: i64,
    /// What the premium upgrade (every follow-up free from then on) costs, in minor units of
    /// the currency of the booking that recommends it.
    #[serde(default = "default_premium_price")]
    pub premium_price_amount: i64,
    /// Last changed (absent while the defaults apply).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn default_premium_price() -> i64 {
    DEFAULT_PREMIUM_PRICE
}

impl Default for FollowUpSettings {
    fn default() -> Self {
        Self {
            window_days: DEFAULT_WINDOW_DAYS,
            price_amount: DEFAULT_PRICE,
            premium_price_amount: DEFAULT_PREMIUM_PRICE,
            updated_at: None,
        }
    }
}

/// `PUT /admin/follow-up-settings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpSettingsRequest {
    /// Days after the parent's completion: 1 to 90.
    #[schema(minimum = 1, maximum = 90)]
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    pub window_days: u32,
    /// Minor units of the parent's currency: 100 to 50,000.
    #[schema(minimum = 100, maximum = 50_000)]
    #[serde(deserialize_with = "crate::domain::whole::u32")]
    pub price_amount: u32,
    /// The premium upgrade's price, in minor units of the recommending booking's currency:
    /// 100 to 100,000 (4,900 when absent).
    #[schema(minimum = 100, maximum = 100_000)]
    #[serde(default, deserialize_with = "crate::domain::whole::option_u32")]
    pub premium_price_amount: Option<u32>,
}

impl FollowUpSettingsRequest {
    /// The settings it sets at `now`, or the field to fix.
    pub fn settings(self, now: DateTime<Utc>) -> Result<FollowUpSettings, Error> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(Error::field(
                "windowDays",
                format!("from 1 to {MAX_WINDOW_DAYS} days"),
            ));
        }
        let price = minor_units("priceAmount", self.price_amount, MAX_PRICE)?;
        let premium = match self.premium_price_amount {
            Some(amount) => minor_units("premiumPriceAmount", amount, MAX_PREMIUM_PRICE)?,
            None => DEFAULT_PREMIUM_PRICE,
        };
        Ok(FollowUpSettings {
            window_days: self.window_days,
            price_amount: price,
            premium_price_amount: premium,
            updated_at: Some(now),
        })
    }
}

/// A price `field` of the settings: from [`MIN_PRICE`] to `max` minor units.
fn minor_units(field: &str, amount: u32, max: i64) -> Result<i64, Error> {
    let amount = i64::from(amount);
    if (MIN_PRICE..=max).contains(&amount) {
        Ok(amount)
    } else {
        Err(Error::field(
            field,
            format!("from {MIN_PRICE} to {max} minor units"),
        ))
    }
}

/// `PUT /admin/users/{id}/premium`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PremiumRequest {
    /// Whether the customer's follow-ups are free.
    pub premium: bool,
}

/// A customer's premium flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Premium {
    /// The customer.
    pub user_id: UserId,
    /// Whether their follow-ups are free.
    pub premium: bool,
    /// Last changed (absent while never set).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Premium {
    /// `user`'s flag as it is until set: not premium.
    pub fn never_set(user: &UserId) -> Self {
        Self {
            user_id: *user,
            premium: false,
            updated_at: None,
        }
    }

    /// `user`'s flag set to `premium` at `now`.
    pub fn set(user: &UserId, premium: bool, now: DateTime<Utc>) -> Self {
        Self {
            user_id: *user,
            premium,
            updated_at: Some(now),
        }
    }
}

/// What the parent's customer may open now: when the window closes, and the price.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpTerms {
    /// Whether a follow-up may be opened now.
    pub can_open: bool,
    /// When the window closes (absent while the booking has not completed).
    pub window_closes_at: Option<DateTime<Utc>>,
    /// Whether it would be free (the customer is premium).
    pub free: bool,
    /// What it would cost, in the parent's currency (0 when free).
    pub price: Money,
}

impl FollowUpSettings {
    /// The follow-up window.
    pub fn window(&self) -> Duration {
        Duration::days(i64::from(self.window_days))
    }

    /// What `parent`'s customer may open at `now`, premium or not.
    pub fn terms(&self, parent: &Booking, premium: bool, now: DateTime<Utc>) -> FollowUpTerms {
        let closes = parent.completion().map(|at| at + self.window());
        FollowUpTerms {
            can_open: closes.is_some_and(|c| now < c),
            window_closes_at: closes,
            free: premium,
            price: Money {
                amount: if premium { 0 } else { self.price_amount },
                currency: parent.price.currency.clone(),
            },
        }
    }
}

impl FollowUpSettings {
    /// What the premium upgrade costs the customer of `booking` (in its currency), unless
    /// they are `premium` already.
    pub fn premium_price(&self, booking: &Booking, premium: bool) -> Option<Money> {
        (!premium).then(|| Money {
            amount: self.premium_price_amount,
            currency: booking.price.currency.clone(),
        })
    }
}

/// Where a premium upgrade is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeState {
    /// Waiting for its payment (the client confirms `clientSecret` with Stripe).
    PendingPayment,
    /// Paid: the customer is premium.
    Paid,
}

/// A premium upgrade a customer buys, under their key: paid through its own PaymentIntent,
/// it makes them premium (every follow-up free from then on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PremiumUpgrade {
    /// The customer.
    pub customer_id: UserId,
    /// The client's key it was bought under.
    pub idempotency_key: String,
    /// Where it is.
    pub state: UpgradeState,
    /// What it costs.
    pub price: Money,
    /// The recommendation it was bought through.
    pub upsell: UpsellRef,
    /// The category it counts in (the recommending booking's).
    pub category: String,
    /// Stripe's PaymentIntent (absent until made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_id: Option<String>,
    /// Moves with every write (each conditioned on the version read).
    pub version: u32,
    /// Bought.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Paid (absent until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
}

impl PremiumUpgrade {
    /// The upgrade `upsell` (a premium upgrade recommendation) sells its customer, bought
    /// under the client's `key`, at the recommended price.
    pub fn new(key: &str, upsell: &Upsell, now: DateTime<Utc>) -> Self {
        Self {
            customer_id: upsell.customer_id,
            idempotency_key: key.to_owned(),
            state: UpgradeState::PendingPayment,
            price: upsell.price.clone(),
            upsell: upsell.reference(),
            category: upsell.category.clone(),
            payment_intent_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
            paid_at: None,
        }
    }

    /// The key of its PaymentIntent's creation at Stripe: of this version, so concurrent
    /// retries make one, and a retry after a failure (which moves the version) is a new
    /// request rather than the replay of a stored failure.
    pub fn stripe_key(&self) -> String {
        format!(
            "premium-{}-{}-v{}",
            self.customer_id, self.idempotency_key, self.version
        )
    }

    /// The metadata its PaymentIntent carries (what the webhook finds it by).
    pub fn metadata(&self) -> std::collections::HashMap<String, String> {
        std::collections::HashMap::from([
            (
                UPGRADE_CUSTOMER_METADATA.to_owned(),
                self.customer_id.to_string(),
            ),
            (
                UPGRADE_KEY_METADATA.to_owned(),
                self.idempotency_key.clone(),
            ),
        ])
    }

    /// It, its next version written at `now` (`payment_intent`: with its PaymentIntent).
    pub fn next(&self, payment_intent: Option<&str>, now: DateTime<Utc>) -> Self {
        Self {
            payment_intent_id: payment_intent
                .map(str::to_owned)
                .or_else(|| self.payment_intent_id.clone()),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// It paid by `payment` at `now`.
    pub fn paid(&self, payment: &Payment, now: DateTime<Utc>) -> Self {
        Self {
            state: UpgradeState::Paid,
            paid_at: Some(now),
            ..self.next(Some(&payment.id), now)
        }
    }

    /// Whether `payment` is this upgrade's in every respect Stripe reports: its metadata,
    /// amount and currency, and the PaymentIntent recorded (if one is).
    pub fn paid_by(&self, payment: &Payment) -> bool {
        let meta = |name: &str| payment.metadata.get(name).map(String::as_str);
        meta(UPGRADE_CUSTOMER_METADATA) == Some(&self.customer_id.to_string())
            && meta(UPGRADE_KEY_METADATA) == Some(&self.idempotency_key)
            && payment.amount == self.price.amount
            && payment.currency == self.price.currency
            && self
                .payment_intent_id
                .as_ref()
                .is_none_or(|recorded| *recorded == payment.id)
    }
}

/// What buying a premium upgrade answers: the upgrade and what the client needs to pay it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PremiumCheckout {
    /// The upgrade (`pending_payment` until Stripe reports the payment).
    pub premium_upgrade: PremiumUpgrade,
    /// Stripe's PaymentIntent.
    pub payment_intent_id: Option<String>,
    /// For Stripe's client SDK to confirm the payment (only while it is payable).
    pub client_secret: Option<String>,
}

impl FollowUpRequest {
    /// The checked follow-up of `parent` at `now` under these `terms` (a `Conflict` when the
    /// parent has not completed or its window closed).
    pub fn follow_up(&self, parent: &Booking, terms: &FollowUpTerms) -> Result<FollowUp, Error> {
        let question = crate::offers::model::text(&self.question, "question", 1, QUESTION_TEXT)?;
        match terms.window_closes_at {
            None => Err(Error::Conflict(format!(
                "the booking is {}: a follow-up opens once it is completed",
                parent.state
            ))),
            Some(_) if !terms.can_open => Err(Error::Conflict(
                "the follow-up window of this booking has closed".into(),
            )),
            Some(_) => Ok(FollowUp {
                parent_id: parent.id,
                kind: self.kind,
                question,
                free: terms.free,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::model::{Actor, BookingState, Event, sample};

    fn completed_at(at: DateTime<Utc>) -> Booking {
        Booking {
            state: BookingState::Completed,
            completed_at: Some(at),
            room_id: Some(BookingId::at(at).into()),
            ..sample(at)
        }
    }

    fn request(question: &str) -> FollowUpRequest {
        FollowUpRequest {
            kind: FollowUpKind::QuickQuestion,
            question: question.into(),
            idempotency_key: "k".into(),
        }
    }

    #[test]
    fn a_follow_up_opens_only_within_the_window_after_completion() {
        let at = Utc::now();
        let settings = FollowUpSettings::default();
        let parent = completed_at(at);
        let inside = settings.terms(&parent, false, at + Duration::days(13));
        assert!(inside.can_open);
        assert_eq!(inside.price.amount, DEFAULT_PRICE);
        assert_eq!(inside.price.currency, parent.price.currency);
        assert!(request("why?").follow_up(&parent, &inside).is_ok());
        let after = settings.terms(&parent, false, at + Duration::days(14));
        assert!(!after.can_open);
        let err = request("why?").follow_up(&parent, &after).unwrap_err();
        assert!(matches!(err, Error::Conflict(ref m) if m.contains("closed")));
        let open = sample(at);
        let terms = settings.terms(&open, false, at);
        assert_eq!(terms.window_closes_at, None);
        let err = request("why?").follow_up(&open, &terms).unwrap_err();
        assert!(matches!(err, Error::Conflict(ref m) if m.contains("pending_payment")));
    }

    #[test]
    fn a_premium_customer_s_follow_up_is_free() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, true, at);
        assert!(terms.free);
        assert_eq!(terms.price.amount, 0);
        let follow_up = request("why?").follow_up(&parent, &terms).unwrap();
        assert!(follow_up.free);
        let child = Booking::for_follow_up(&parent, follow_up, &terms.price, 1000, at);
        assert_eq!(child.state, BookingState::Accepted);
        assert_eq!(child.room(), parent.room());
        assert_eq!(child.room_id, Some(parent.room()));
        assert_eq!(child.timer, None);
        assert_eq!(child.provider_id, parent.provider_id);
        // Nothing to pay, nothing to release: its completion moves no money.
        let done = child
            .moved(Event::Start, Actor::Provider, at)
            .and_then(|b| b.moved(Event::Deliver, Actor::Provider, at))
            .and_then(|b| b.moved(Event::Confirm, Actor::Customer, at))
            .unwrap();
        assert!(!done.release_due());
    }

    #[test]
    fn a_paid_follow_up_waits_for_its_payment_and_is_accepted_when_paid() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, false, at);
        let follow_up = request("why?").follow_up(&parent, &terms).unwrap();
        let child = Booking::for_follow_up(&parent, follow_up, &terms.price, 1000, at);
        assert_eq!(child.state, BookingState::PendingPayment);
        assert_eq!(child.price.amount, DEFAULT_PRICE);
        assert!(child.timer.is_some());
        let paid = child
            .moved(Event::PaymentSucceeded, Actor::System, at)
            .unwrap();
        assert_eq!(paid.state, BookingState::Accepted);
    }

    #[test]
    fn questions_and_settings_are_checked_with_the_field_named() {
        let at = Utc::now();
        let parent = completed_at(at);
        let terms = FollowUpSettings::default().terms(&parent, false, at);
        let err = request(" \u{7}").follow_up(&parent, &terms).unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "question"));
        for (days, price, premium, field) in [
            (0, 900, None, "windowDays"),
            (91, 900, None, "windowDays"),
            (14, 99, None, "priceAmount"),
            (14, 50_001, None, "priceAmount"),
            (14, 900, Some(99), "premiumPriceAmount"),
            (14, 900, Some(100_001), "premiumPriceAmount"),
        ] {
            let err = FollowUpSettingsRequest {
                window_days: days,
                price_amount: price,
                premium_price_amount: premium,
            }
            .settings(at)
            .unwrap_err();
            assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == field));
        }
        // JSON Schema's integers may be written with a zero fraction; an absent premium
        // price is the default one.
        let read: FollowUpSettingsRequest =
            serde_json::from_str(r#"{"windowDays": 75.0, "priceAmount": 1115.0}"#).unwrap();
        let set = read.settings(at).unwrap();
        assert_eq!(
            (set.price_amount, set.premium_price_amount),
            (1115, DEFAULT_PREMIUM_PRICE)
        );
        let read: FollowUpSettingsRequest = serde_json::from_str(
            r#"{"windowDays": 7, "priceAmount": 500, "premiumPriceAmount": 9900.0}"#,
        )
        .unwrap();
        assert_eq!(read.settings(at).unwrap().premium_price_amount, 9900);
        // Settings stored before the premium price existed read with its default.
        let stored: FollowUpSettings =
            serde_json::from_str(r#"{"windowDays": 7, "priceAmount": 500}"#).unwrap();
        assert_eq!(stored.premium_price_amount, DEFAULT_PREMIUM_PRICE);
    }

    fn premium_upsell(parent: &Booking, at: DateTime<Utc>) -> Upsell {
        let price = FollowUpSettings::default().premium_price(parent, false);
        let terms = FollowUpSettings::default().terms(parent, false, at);
        let upsells = crate::crm::model::recommended(parent, terms, price, None, at);
        upsells
            .into_iter()
            .find(|u| u.kind == crate::crm::model::UpsellKind::PremiumUpgrade)
            .unwrap()
    }

    fn payment_of(upgrade: &PremiumUpgrade, id: &str) -> Payment {
        Payment {
            id: id.into(),
            status: "succeeded".into(),
            amount: upgrade.price.amount,
            currency: upgrade.price.currency.clone(),
            amount_received: upgrade.price.amount,
            client_secret: None,
            latest_charge: None,
            transfer_group: None,
            metadata: upgrade.metadata(),
            last_error: None,
        }
    }

    #[test]
    fn a_premium_upgrade_is_paid_only_by_its_own_payment_and_moves_its_version() {
        let at = Utc::now();
        let parent = completed_at(at);
        assert_eq!(
            FollowUpSettings::default().premium_price(&parent, true),
            None,
            "a premium customer is not offered the upgrade"
        );
        let upgrade = PremiumUpgrade::new("gold-1", &premium_upsell(&parent, at), at);
        assert_eq!(upgrade.price.amount, DEFAULT_PREMIUM_PRICE);
        assert_eq!(upgrade.price.currency, parent.price.currency);
        assert_eq!(upgrade.category, parent.category);
        assert_eq!(
            upgrade.stripe_key(),
            format!("premium-{}-gold-1-v1", parent.customer_id)
        );
        let attached = upgrade.next(Some("pi_1"), at);
        assert_eq!(
            (attached.version, attached.payment_intent_id.as_deref()),
            (2, Some("pi_1"))
        );
        assert_ne!(attached.stripe_key(), upgrade.stripe_key());
        let ok = payment_of(&attached, "pi_1");
        assert!(attached.paid_by(&ok));
        // Anything Stripe reports that differs is not this upgrade's payment.
        let mut other_key = ok.clone();
        other_key
            .metadata
            .insert(UPGRADE_KEY_METADATA.into(), "gold-2".into());
        let cheaper = Payment {
            amount: 100,
            ..ok.clone()
        };
        let dollars = Payment {
            currency: "usd".into(),
            ..ok.clone()
        };
        let another = Payment {
            id: "pi_2".into(),
            ..ok.clone()
        };
        for wrong in [other_key, cheaper, dollars, another] {
            assert!(!attached.paid_by(&wrong), "{wrong:?}");
        }
        let paid = attached.paid(&ok, at);
        assert_eq!(
            (paid.state, paid.version, paid.paid_at),
            (UpgradeState::Paid, 3, Some(at))
        );
        let purchased = crate::crm::model::Interaction::upgrade_paid(&paid).unwrap();
        assert_eq!(
            (purchased.stage, purchased.booking_id, purchased.upsell),
            (
                crate::crm::model::Stage::UpsellPurchased,
                Some(parent.id),
                Some(crate::crm::model::UpsellKind::PremiumUpgrade)
            )
        );
        assert_eq!(
            crate::crm::model::Interaction::upgrade_paid(&attached),
            None
        );
    }
}
