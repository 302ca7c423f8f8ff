//! Bookings on the table. The booking item carries its pending timer's `GSI1` keys (the sweep
//! reads only what is due); each party has a copy in their own partition (the provider once
//! it is paid) ("my orders", "my
//! tasks": one query, newest first, filtered on the copy's state, category and source). Every
//! change is one transaction conditioned on the version read, which rewrites both copies and
//! writes whatever the transition implies (ledger step, room, shared files, consumed Stripe
//! event), so a copy never disagrees with its booking and nothing happens twice.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use tracing::instrument;

use super::model::{Booking, PartyRole, SessionSettings};
use super::store::{Announcement, BookingStore, Creation, Effects, LedgerStep, ListFilter, Outbox};
use crate::bookings::keys as booking_keys;
use crate::chat::model::SubjectType;
use crate::chat::store::RoomClaim;
use crate::cursor::Position;
use crate::domain::{BookingId, UserId, wire_name};
use crate::error::{Error, Result};
use crate::keys::{self, Key};
use crate::store::dynamo::*;
use crate::store::{Page, RateLimit};

/// Entity type of booking items: the job bookings' writes move their jobs.
pub const ENTITY_BOOKING: &str = "booking";
const ENTITY_PARTY_ROW: &str = "booking_party";
const ENTITY_LEDGER: &str = "ledger_step";
const ENTITY_PURCHASE: &str = "purchase";
const ENTITY_STRIPE_EVENT: &str = "stripe_event";
const ENTITY_WAITING_RELEASE: &str = "waiting_release";
const ENTITY_BUSY_CELL: &str = "busy_cell";
const ENTITY_PAYMENT_CUSTOMER: &str = "payment_customer";
/// Entity type of outbox items: the stream consumer's filter.
pub const ENTITY_OUTBOX: &str = "booking_outbox";
/// How long an outbox item is kept (its stream record is what matters; a day leaves room to
/// inspect one).
const OUTBOX_RETENTION_HOURS: i64 = 24;

/// How long a processed Stripe event id is kept: Stripe retries for 3 days; a month leaves
/// room for manual redeliveries from the dashboard.
const EVENT_RETENTION_DAYS: i64 = 35;
/// Queries one filtered listing page may take before it answers with what it found.
const LIST_QUERIES: u32 = 5;

impl DynamoStore {
    fn booking_item(&self, booking: &Booking) -> Result<Item> {
        let due = booking
            .timer
            .map(|t| booking_keys::timer_due(t.due_at.timestamp_millis(), &booking.id));
        to_item(
            &booking_keys::booking(&booking.id),
            ENTITY_BOOKING,
            due.as_ref(),
            booking,
        )
    }

    fn party_row_item(&self, booking: &Booking, role: PartyRole) -> Result<Item> {
        let user = match role {
            PartyRole::Customer => booking.customer_id,
            PartyRole::Provider => booking.provider_id,
        };
        let mut item = to_item(
            &booking_keys::party_row(&user, &booking.id),
            ENTITY_PARTY_ROW,
            None,
            booking,
        )?;
        // The copy carries no timer index keys (only the booking is swept).
        item.insert("partyRole".into(), s(wire_name(&role)));
        Ok(item)
    }

    /// Creates `booking` in one transaction after `guards` (each a conditioned write: a
    /// purchase's key claim, an application's acceptance) and the rate hits of `limits`:
    /// `KeyTaken` when a guard's condition failed (someone else got there first), `Limited`
    /// when a limit is reached.
    pub(crate) async fn create_guarded(
        &self,
        guards: Vec<TransactWriteItem>,
        limits: &[RateLimit<'_>],
        booking: &Booking,
        now: DateTime<Utc>,
    ) -> Result<Creation> {
        let writes = self.booking_writes(booking, None)?;
        self.create_claimed(guards, limits, writes, now).await
    }

    /// Writes `writes` in one transaction after `guards` and the rate hits of `limits`:
    /// `KeyTaken` when a guard's condition failed, `Limited` when a limit is reached,
    /// `TimeTaken` when one of `writes`' conditions failed (a booking's time cells).
    pub(crate) async fn create_claimed(
        &self,
        guards: Vec<TransactWriteItem>,
        limits: &[RateLimit<'_>],
        writes: Vec<TransactWriteItem>,
        now: DateTime<Utc>,
    ) -> Result<Creation> {
        let guarded = guards.len();
        let mut actions = guards;
        for limit in limits {
            let hit = self.rate_hit(limit, now)?;
            actions.push(TransactWriteItem::builder().update(hit).build());
        }
        actions.extend(writes);
        let Some(codes) = self.transact(actions).await? else {
            return Ok(Creation::Created);
        };
        let failed = |i: usize| codes.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
        if (0..guarded).any(failed) {
            return Ok(Creation::KeyTaken);
        }
        let full: Vec<u64> = (0..limits.len())
            .filter(|i| failed(guarded + i))
            .map(|i| limits[i].retry_after(now))
            .collect();
        if let Some(retry_after_secs) = full.into_iter().max() {
            return Ok(Creation::Limited { retry_after_secs });
        }
        // What is left is the writes: a booking's time cells are the ones another booking
        // can hold.
        if (guarded + limits.len()..codes.len()).any(failed) {
            return Ok(Creation::TimeTaken);
        }
        Err(Error::unexpected(anyhow::anyhow!(
            "creation cancelled: {codes:?}"
        )))
    }

    /// The booking and both party rows; the booking only if `version` is the stored one
    /// (`None`: only if it does not exist).
    pub(crate) fn booking_writes(
        &self,
        booking: &Booking,
        version: Option<u32>,
    ) -> Result<Vec<TransactWriteItem>> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.booking_item(booking)?));
        put = match version {
            Some(v) => put
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(v)),
            None => put.condition_expression("attribute_not_exists(PK)"),
        };
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(Error::unexpected)?)
                .build(),
            self.put_action(self.party_row_item(booking, PartyRole::Customer)?, None)?,
        ];
        // "My tasks" lists a booking once it is paid (it then has its room) or a request to
        // answer; an unpaid or expired checkout is the customer's alone.
        if booking.provider_party() {
            writes.push(self.put_action(self.party_row_item(booking, PartyRole::Provider)?, None)?);
        }
        // A new booking of a slot claims its time: each cell once, so of two bookings that
        // overlap only one is written.
        if version.is_none() {
            writes.extend(self.time_claims(booking)?);
        }
        Ok(writes)
    }

    /// The conditioned puts of the cells of the provider's time `booking` holds (none for a
    /// booking without a time). Each cell carries the booking's own start and end (the slot
    /// query reads them) and expires a week after it.
    fn time_claims(&self, booking: &Booking) -> Result<Vec<TransactWriteItem>> {
        let (Some((start, until)), Some(schedule)) = (booking.holds(), &booking.schedule) else {
            return Ok(Vec::new());
        };
        let expires = (schedule.end + Duration::days(7)).timestamp();
        crate::scheduling::model::cells(start, until)
            .into_iter()
            .map(|cell| {
                let mut item = to_item(
                    &crate::scheduling::keys::busy_cell(&booking.provider_id, cell),
                    ENTITY_BUSY_CELL,
                    None,
                    &serde_json::json!({ "bookingId": booking.id, "start": schedule.start,
                        "end": schedule.end }),
                )?;
                item.insert(keys::EXPIRES_AT.into(), n(expires));
                self.put_action(item, Some("attribute_not_exists(PK)"))
            })
            .collect()
    }

    /// The put of `after`'s outbox item (once per version), which the table's stream sends.
    fn outbox_action(&self, after: &Booking, outbox: &Outbox) -> Result<TransactWriteItem> {
        let mut item = to_item(
            &booking_keys::outbox(&after.id, after.version),
            ENTITY_OUTBOX,
            None,
            outbox,
        )?;
        let expires = after.updated_at + Duration::hours(OUTBOX_RETENTION_HOURS);
        item.insert(keys::EXPIRES_AT.into(), n(expires.timestamp()));
        self.put_action(item, Some("attribute_not_exists(PK)"))
    }

    /// Stripe's event `event_id` consumed at `now` (kept while Stripe may deliver it again).
    pub(crate) fn event_item(&self, event_id: &str, now: DateTime<Utc>) -> Result<Item> {
        let expires = (now + Duration::days(EVENT_RETENTION_DAYS)).timestamp();
        let mut item = to_item(
            &booking_keys::stripe_event(event_id),
            ENTITY_STRIPE_EVENT,
            None,
            &serde_json::json!({ "eventId": event_id, "at": now }),
        )?;
        item.insert(keys::EXPIRES_AT.into(), n(expires));
        Ok(item)
    }
}

/// The attributes a listing filters on and their wanted values (all must match).
fn filter_values(filter: &ListFilter) -> Vec<(&'static str, String)> {
    [
        ("partyRole", filter.role.map(|r| wire_name(&r))),
        ("state", filter.state.map(|s| wire_name(&s))),
        ("category", filter.category.clone()),
        ("source", filter.source.map(|s| wire_name(&s))),
    ]
    .into_iter()
    .filter_map(|(attribute, value)| value.map(|v| (attribute, v)))
    .collect()
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn get_booking(&self, id: &BookingId) -> Result<Option<Booking>> {
        self.get(&booking_keys::booking(id)).await
    }

    async fn purchase_of(&self, buyer: &UserId, key: &str) -> Result<Option<BookingId>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Claim {
            booking_id: BookingId,
        }
        Ok(self
            .get::<Claim>(&booking_keys::purchase(buyer, key))
            .await?
            .map(|c| c.booking_id))
    }

    #[instrument(skip_all, fields(booking_id = %booking.id))]
    async fn create_booking(
        &self,
        booking: &Booking,
        key: &str,
        limits: &[RateLimit<'_>],
        news: &[Announcement],
        now: DateTime<Utc>,
    ) -> Result<Creation> {
        let claim = to_item(
            &booking_keys::purchase(&booking.customer_id, key),
            ENTITY_PURCHASE,
            None,
            &serde_json::json!({ "bookingId": booking.id }),
        )?;
        let mut guards = vec![self.put_action(claim, Some("attribute_not_exists(PK)"))?];
        let effects = Effects {
            announcements: news.to_vec(),
            ..Effects::default()
        };
        if let Some(outbox) = Outbox::of(booking, &effects) {
            // New, like the booking: it fails only with the claim, which is checked first.
            guards.push(self.outbox_action(booking, &outbox)?);
        }
        self.create_guarded(guards, limits, booking, now).await
    }

    #[instrument(skip_all, fields(booking_id = %after.id, state = %after.state))]
    async fn transition(
        &self,
        before: &Booking,
        after: &Booking,
        effects: Effects<'_>,
    ) -> Result<bool> {
        let mut actions = self.booking_writes(after, Some(before.version))?;
        for step in &effects.ledger {
            let item = to_item(
                &booking_keys::ledger_step(&after.id, after.version, &step.step),
                ENTITY_LEDGER,
                None,
                step,
            )?;
            actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
        }
        if let Some(event) = effects.stripe_event {
            let item = self.event_item(event, after.updated_at)?;
            actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
        }
        if let Some(outbox) = Outbox::of(after, &effects) {
            actions.push(self.outbox_action(after, &outbox)?);
        }
        if let Some((room, members)) = effects.room {
            let claim = room.subject.clone().map(RoomClaim::Subject);
            debug_assert!(
                room.subject
                    .as_ref()
                    .is_some_and(|s| s.kind == SubjectType::Booking)
            );
            actions.extend(self.room_actions(room, members, claim.as_ref())?);
        }
        if let Some(tally) = &effects.tally {
            actions.extend(self.commission_tally_actions(tally)?);
        }
        if let Some(provider) = &effects.park {
            let row = to_item(
                &booking_keys::waiting_release(provider, &after.id),
                ENTITY_WAITING_RELEASE,
                None,
                &serde_json::json!({ "bookingId": after.id }),
            )?;
            actions.push(self.put_action(row, None)?);
            // Only while the account cannot be paid: one enabled since it was read fails
            // this, and the release is decided again on what is stored now.
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&crate::payouts::keys::payout_account(
                    provider,
                ))))
                .condition_expression("attribute_not_exists(PK) OR canBePaid = :no")
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .build()
                .map_err(Error::unexpected)?;
            actions.push(TransactWriteItem::builder().condition_check(check).build());
        }
        // A booking that stops holding its time (declined, expired, cancelled) frees it.
        if let (Some((start, end)), None) = (before.holds(), after.holds()) {
            for cell in crate::scheduling::model::cells(start, end) {
                let key = crate::scheduling::keys::busy_cell(&after.provider_id, cell);
                actions.push(self.delete_action(&key)?);
            }
        }
        if let Some(provider) = &effects.unpark {
            actions.push(self.delete_action(&booking_keys::waiting_release(provider, &after.id))?);
        }
        if let Some((owner, files)) = effects.files {
            for file in files {
                // The file learns the booking's room, so the room's members (the two
                // parties) may download it.
                let purpose = Some(crate::files::model::Purpose::ProofOfWork);
                actions.push(self.share_file_action(file, &after.room(), owner, purpose)?);
            }
        }
        self.transact_conditional(actions).await
    }

    async fn record_event(&self, event_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.event_item(event_id, now)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        conditional(put).await
    }

    async fn ledger(&self, id: &BookingId) -> Result<Vec<LedgerStep>> {
        let Key { pk, .. } = booking_keys::booking(id);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(booking_keys::LEDGER_PREFIX))
            .consistent_read(true);
        let mut steps: Vec<LedgerStep> = from_items(Some(self.query_all(query).await?))?;
        steps.sort_by_key(|step| step.at);
        Ok(steps)
    }

    async fn bookings_of(
        &self,
        user: &UserId,
        filter: &ListFilter,
        limit: u32,
        mut after: Option<Position>,
    ) -> Result<Page<Booking>> {
        let values = filter_values(filter);
        let expression = (!values.is_empty()).then(|| {
            let parts: Vec<String> = values
                .iter()
                .map(|(attribute, _)| format!("#{attribute} = :{attribute}"))
                .collect();
            parts.join(" AND ")
        });
        let mut items = Vec::new();
        // A filter may leave a page short: read on (a few queries at most) so a client gets
        // full pages, and hand over the cursor of where the last query stopped.
        for _ in 0..LIST_QUERIES {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(keys::user_partition(user)))
                .expression_attribute_values(":prefix", s(booking_keys::BOOKING_PREFIX))
                .scan_index_forward(false)
                .limit((limit as usize - items.len()) as i32)
                .set_filter_expression(expression.clone())
                .set_exclusive_start_key(after.take().map(position_to_item));
            for (attribute, value) in &values {
                query = query
                    .expression_attribute_names(format!("#{attribute}"), *attribute)
                    .expression_attribute_values(format!(":{attribute}"), s(value.clone()));
            }
            let out = query.send().await.map_err(Error::unexpected)?;
            items.extend(from_items::<Booking>(out.items)?);
            after = out.last_evaluated_key.map(item_to_position).transpose()?;
            if after.is_none() || items.len() >= limit as usize {
                break;
            }
        }
        Ok(Page { items, next: after })
    }

    async fn due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Booking>> {
        self.due_items(booking_keys::TIMERS, now, limit).await
    }

    async fn waiting_releases(&self, provider: &UserId) -> Result<Vec<BookingId>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            booking_id: BookingId,
        }
        let pk = keys::user_partition(provider);
        let rows: Vec<Row> = self
            .partition_items(&pk, booking_keys::WAITING_PREFIX, false)
            .await?;
        Ok(rows.into_iter().map(|r| r.booking_id).collect())
    }

    async fn payment_customer(&self, user: &UserId) -> Result<Option<String>> {
        Ok(self
            .get::<PaymentCustomer>(&booking_keys::payment_customer(user))
            .await?
            .map(|c| c.customer))
    }

    async fn save_payment_customer(&self, user: &UserId, customer: &str) -> Result<String> {
        let item = to_item(
            &booking_keys::payment_customer(user),
            ENTITY_PAYMENT_CUSTOMER,
            None,
            &PaymentCustomer {
                customer: customer.to_owned(),
            },
        )?;
        if self.put_new(item).await? {
            return Ok(customer.to_owned());
        }
        self.payment_customer(user)
            .await?
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("payment customer vanished")))
    }

    async fn session_settings(&self) -> Result<SessionSettings> {
        Ok(self
            .get(&booking_keys::session_settings())
            .await?
            .unwrap_or_default())
    }

    async fn put_session_settings(&self, settings: &SessionSettings) -> Result<()> {
        let item = to_item(
            &booking_keys::session_settings(),
            ENTITY_SESSION_SETTINGS,
            None,
            settings,
        )?;
        self.put(item).await
    }
}

/// Entity type of the session settings item.
const ENTITY_SESSION_SETTINGS: &str = "session_settings";

/// A user's Stripe Customer record.
#[derive(serde::Serialize, serde::Deserialize)]
struct PaymentCustomer {
    customer: String,
}
