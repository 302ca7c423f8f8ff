//! Notifications on the single table. A notification lives in its recipient's partition with
//! the inbox counters, so the inbox is one query and the unread count one read. Creating one
//! is a transaction of the idempotency claim, the notification, the counter and the group's
//! escalation; the escalations are on `GSI1` under one key sorted by due time, so the sweep
//! reads exactly what is due and never the table.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tracing::instrument;

use crate::chat::store::{MissedMessages, OfflineMessage};
use crate::cursor::Position;
use crate::error::{Error, Result};
use crate::keys;
use crate::store::dynamo::*;
use crate::store::*;

use super::store::*;
use crate::domain::*;
use crate::notifications::model::{
    Device, Escalation, Kind, Notification, Preferences, Subscription, Target,
};

const ENTITY_NOTIFICATION: &str = "notification";
const ENTITY_CLAIM: &str = "notification_claim";
const ENTITY_PREFERENCES: &str = "notification_preferences";
const ENTITY_SUBSCRIPTION: &str = "subscription";
const ENTITY_FAN_OUT: &str = "fan_out";
const ENTITY_DEVICE: &str = "device";
const ENTITY_PUSH_TOKEN: &str = "push_token";

/// Who holds a push token (see [`crate::notifications::keys::push_token`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenHolder {
    user_id: UserId,
}

/// Entity type of the missed-messages record (the stream trigger filters on it).
pub const ENTITY_MISSED: &str = "missed_messages";

impl DynamoStore {
    /// The update joining (or opening) a notification's escalation: the first notification
    /// of a group fixes the due time; later ones only count and refresh the digest's names.
    fn escalation_update(
        &self,
        notification: &Notification,
        due: DateTime<Utc>,
    ) -> Result<aws_sdk_dynamodb::types::Update> {
        self.escalation_update_in(notification, &notification.group, due, false)
    }

    /// [`Self::escalation_update`] of `group`; `mail_only` for a milestone's own email.
    fn escalation_update_in(
        &self,
        notification: &Notification,
        group: &str,
        due: DateTime<Utc>,
        mail_only: bool,
    ) -> Result<aws_sdk_dynamodb::types::Update> {
        let user = &notification.user_id;
        let data =
            serde_dynamo::to_attribute_value(&notification.data).map_err(Error::unexpected)?;
        // A group keeps the due time of its first notification, except that a critical one
        // makes it due at once (its own due time, now), and marks it `urgent` so a sweep
        // that is sending the group right now keeps what remains due at once too.
        let critical = crate::notifications::model::spec(notification.kind).critical;
        let due_times = if critical || mail_only {
            "dueAt = :due, dueMs = :dueMs, #gsk = :gsk, urgent = :true"
        } else {
            "dueAt = if_not_exists(dueAt, :due), dueMs = if_not_exists(dueMs, :dueMs), \
             #gsk = if_not_exists(#gsk, :gsk)"
        };
        let builder = self
            .update(&crate::notifications::keys::escalation(user, group))
            .update_expression(format!(
                "SET userId = :user, #group = :group, kind = :kind, #data = :data, \
                 firstId = if_not_exists(firstId, :id), lastId = :id, \
                 attempts = if_not_exists(attempts, :zero), #gpk = :gpk, \
                 entity_type = :entity, {due_times}{mail}",
                mail = if mail_only { ", mailOnly = :true" } else { "" }
            ));
        let builder = if critical || mail_only {
            builder.expression_attribute_values(":true", AttributeValue::Bool(true))
        } else {
            builder
        };
        builder
            .expression_attribute_names("#group", "group")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":user", s(user.to_string()))
            .expression_attribute_values(":group", s(group))
            .expression_attribute_values(":kind", s(notification.kind.as_str()))
            .expression_attribute_values(":data", data)
            .expression_attribute_values(":due", s(due.to_rfc3339()))
            .expression_attribute_values(":dueMs", n(due.timestamp_millis()))
            .expression_attribute_values(":id", s(notification.id.to_string()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":gpk", s(crate::notifications::keys::ESCALATIONS))
            .expression_attribute_values(
                ":gsk",
                s(
                    crate::notifications::keys::escalation_due(due.timestamp_millis(), user, group)
                        .sk,
                ),
            )
            .expression_attribute_values(":entity", s("escalation"))
            .build()
            .map_err(Error::unexpected)
    }

    fn counter_action(&self, user: &UserId, delta: i64) -> Result<TransactWriteItem> {
        let update = self
            .update(&crate::notifications::keys::inbox(user))
            .update_expression("ADD unread :delta SET entity_type = :entity")
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":entity", s("inbox"))
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl NotificationStore for DynamoStore {
    #[instrument(skip_all, fields(user_id = %notification.user_id, notification_id = %notification.id))]
    async fn create_notification(
        &self,
        notification: &Notification,
        idempotency_key: &str,
        escalate_at: Option<DateTime<Utc>>,
    ) -> Result<Created> {
        let user = &notification.user_id;
        let claim = to_item(
            &crate::notifications::keys::notification_claim(user, idempotency_key),
            ENTITY_CLAIM,
            None,
            &serde_json::json!({ "notificationId": notification.id }),
        )?;
        let item = to_item(
            &crate::notifications::keys::notification(user, &notification.id),
            ENTITY_NOTIFICATION,
            None,
            notification,
        )?;
        let mut actions = vec![
            self.put_action(claim, Some("attribute_not_exists(PK)"))?,
            self.put_action(item, Some("attribute_not_exists(PK)"))?,
            self.counter_action(user, 1)?,
        ];
        if let Some(due) = escalate_at {
            let update = self.escalation_update(notification, due)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        // A milestone's email goes at once, whatever is read later: its own escalation,
        // written with the notification, so a repeated notify (same key) mails nobody twice.
        if notification.emailed_at_once {
            let group = crate::notifications::model::mail_group(&notification.id);
            let update =
                self.escalation_update_in(notification, &group, notification.created_at, true)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(match self.transact(actions).await? {
            None => Created::Created,
            Some(codes) if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") => {
                Created::Duplicate
            }
            Some(codes) if codes.iter().any(|c| c == "TransactionConflict") => Created::Contended,
            Some(codes) => {
                return Err(Error::unexpected(anyhow::anyhow!(
                    "notification write cancelled: {codes:?}"
                )));
            }
        })
    }

    async fn escalate_later(&self, notification: &Notification, at: DateTime<Utc>) -> Result<()> {
        let update = self.escalation_update(notification, at)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }

    async fn get_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
    ) -> Result<Option<Notification>> {
        self.get(&crate::notifications::keys::notification(user, id))
            .await
    }

    async fn notifications(
        &self,
        user: &UserId,
        unread_only: bool,
        kind: Option<Kind>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Notification>> {
        let mut filters = Vec::new();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::user_partition(user)))
            .expression_attribute_values(
                ":prefix",
                s(crate::notifications::keys::NOTIFICATION_PREFIX),
            )
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(after.map(position_to_item));
        if unread_only {
            filters.push("attribute_not_exists(readAt)");
        }
        if let Some(kind) = kind {
            filters.push("kind = :kind");
            query = query.expression_attribute_values(":kind", s(kind.as_str()));
        }
        if !filters.is_empty() {
            query = query.filter_expression(filters.join(" AND "));
        }
        let out = query.send().await.map_err(Error::unexpected)?;
        Ok(Page {
            items: out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(from_item)
                .collect::<Result<_>>()?,
            next: out.last_evaluated_key.map(item_to_position).transpose()?,
        })
    }

    async fn inbox(&self, user: &UserId) -> Result<Inbox> {
        Ok(self
            .get(&crate::notifications::keys::inbox(user))
            .await?
            .unwrap_or_default())
    }

    #[instrument(skip_all, fields(user_id = %user, notification_id = %id))]
    async fn mark_read(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
        clicked: bool,
    ) -> Result<bool> {
        let at = s(now.to_rfc3339());
        let expression = if clicked {
            "SET readAt = :now, clickedAt = if_not_exists(clickedAt, :now)"
        } else {
            "SET readAt = :now"
        };
        let read = self
            .update(&crate::notifications::keys::notification(user, id))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(readAt)")
            .expression_attribute_values(":now", at.clone())
            .build()
            .map_err(Error::unexpected)?;
        let actions = vec![
            TransactWriteItem::builder().update(read).build(),
            self.counter_action(user, -1)?,
        ];
        match self.transact(actions).await? {
            None => Ok(true),
            Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => {
                if clicked {
                    // Already read: a click still counts once.
                    let result = self
                        .update_item(&crate::notifications::keys::notification(user, id))
                        .update_expression("SET clickedAt = if_not_exists(clickedAt, :now)")
                        .condition_expression("attribute_exists(PK)")
                        .expression_attribute_values(":now", at)
                        .send()
                        .await;
                    conditional(result).await?;
                }
                Ok(false)
            }
            Some(codes) => Err(Error::unexpected(anyhow::anyhow!(
                "mark read cancelled: {codes:?}"
            ))),
        }
    }

    async fn mark_seen(&self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        self.update_item(&crate::notifications::keys::inbox(user))
            .update_expression("SET seenAt = :now, entity_type = :entity")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":entity", s("inbox"))
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }

    #[instrument(skip_all, fields(user_id = %user, notification_id = %id))]
    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool> {
        // Two tries: the notification may be read between the read and the delete.
        for _ in 0..2 {
            let Some(current) = self.get_notification(user, id).await? else {
                return Ok(false);
            };
            let unread = current.read_at.is_none();
            let condition = if unread {
                "attribute_exists(PK) AND attribute_not_exists(readAt)"
            } else {
                "attribute_exists(PK)"
            };
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(&crate::notifications::keys::notification(
                    user, id,
                ))))
                .condition_expression(condition)
                .build()
                .map_err(Error::unexpected)?;
            let mut actions = vec![TransactWriteItem::builder().delete(delete).build()];
            if unread {
                actions.push(self.counter_action(user, -1)?);
            }
            if self.transact(actions).await?.is_none() {
                return Ok(true);
            }
        }
        Err(Error::Conflict(
            "the notification changed meanwhile; retry".into(),
        ))
    }

    async fn preferences(&self, user: &UserId) -> Result<Preferences> {
        Ok(self
            .get(&crate::notifications::keys::notification_preferences(user))
            .await?
            .unwrap_or_default())
    }

    async fn put_preferences(&self, user: &UserId, preferences: &Preferences) -> Result<()> {
        let item = to_item(
            &crate::notifications::keys::notification_preferences(user),
            ENTITY_PREFERENCES,
            None,
            preferences,
        )?;
        self.put(item).await
    }

    async fn due_escalations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Escalation>> {
        self.due_items(crate::notifications::keys::ESCALATIONS, now, limit)
            .await
    }

    async fn unread_in_group(
        &self,
        user: &UserId,
        group: &str,
        since: &NotificationId,
    ) -> Result<Vec<Notification>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
            .filter_expression("#group = :group AND attribute_not_exists(readAt)")
            .expression_attribute_names("#group", "group")
            .expression_attribute_values(":pk", s(keys::user_partition(user)))
            .expression_attribute_values(
                ":low",
                s(crate::notifications::keys::notification(user, since).sk),
            )
            // `NOTIF$` sorts right after every `NOTIF#…` key.
            .expression_attribute_values(":high", s("NOTIF$"))
            .expression_attribute_values(":group", s(group))
            .consistent_read(true);
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn lease_escalation(
        &self,
        escalation: &Escalation,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let user = &escalation.user_id;
        let group = &escalation.group;
        // The lease also moves the index key to its end, so a held escalation leaves the due
        // range (other sweeps page past it) and comes back by itself if this sweep dies.
        // The due time is checked on the table, not the (eventually consistent) index.
        let result = self
            .update_item(&crate::notifications::keys::escalation(user, group))
            .update_expression("SET leasedUntil = :until, #gsk = :gsk")
            .condition_expression(
                "firstId = :first AND dueMs <= :now \
                 AND (attribute_not_exists(leasedUntil) OR leasedUntil < :now)",
            )
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(
                ":gsk",
                s(crate::notifications::keys::escalation_due(
                    until.timestamp_millis(),
                    user,
                    group,
                )
                .sk),
            )
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":first", s(escalation.first_id.to_string()))
            .send()
            .await;
        conditional(result).await
    }

    async fn reschedule(
        &self,
        escalation: &Escalation,
        due: DateTime<Utc>,
        attempts: u32,
    ) -> Result<bool> {
        let user = &escalation.user_id;
        let group = &escalation.group;
        let result = self
            .update_item(&crate::notifications::keys::escalation(user, group))
            .update_expression(
                "SET dueAt = :due, dueMs = :dueMs, attempts = :attempts, #gsk = :gsk \
                 REMOVE leasedUntil",
            )
            .expression_attribute_values(":dueMs", n(due.timestamp_millis()))
            .condition_expression("firstId = :first")
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":due", s(due.to_rfc3339()))
            .expression_attribute_values(":attempts", n(attempts))
            .expression_attribute_values(
                ":gsk",
                s(
                    crate::notifications::keys::escalation_due(due.timestamp_millis(), user, group)
                        .sk,
                ),
            )
            .expression_attribute_values(":first", s(escalation.first_id.to_string()))
            .send()
            .await;
        conditional(result).await
    }

    async fn close_escalation(
        &self,
        escalation: &Escalation,
        handled: &NotificationId,
        next_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let user = &escalation.user_id;
        let group = &escalation.group;
        let key = crate::notifications::keys::escalation(user, group);
        let first = s(escalation.first_id.to_string());
        let handled = s(handled.to_string());
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .condition_expression("firstId = :first AND lastId = :handled")
            .expression_attribute_values(":first", first.clone())
            .expression_attribute_values(":handled", handled.clone())
            .send()
            .await;
        if conditional(deleted).await? {
            return Ok(());
        }
        // Notifications joined while this round was sending: keep the group open for them,
        // with a fresh window, instead of losing them with the delete — or due at once when
        // a critical one was among them (`urgent`).
        let keep = |due: DateTime<Utc>, condition: &str| {
            self.update_item(&key)
                .update_expression(
                    "SET afterId = :handled, dueAt = :due, dueMs = :dueMs, #gsk = :gsk \
                     REMOVE leasedUntil, urgent",
                )
                .condition_expression(condition)
                .expression_attribute_names("#gsk", keys::GSI1SK)
                .expression_attribute_values(":handled", handled.clone())
                .expression_attribute_values(":due", s(due.to_rfc3339()))
                .expression_attribute_values(":dueMs", n(due.timestamp_millis()))
                .expression_attribute_values(
                    ":gsk",
                    s(crate::notifications::keys::escalation_due(
                        due.timestamp_millis(),
                        user,
                        group,
                    )
                    .sk),
                )
                .expression_attribute_values(":first", first.clone())
                .send()
        };
        if conditional(
            keep(
                next_due,
                "firstId = :first AND attribute_not_exists(urgent)",
            )
            .await,
        )
        .await?
        {
            return Ok(());
        }
        conditional(keep(now, "firstId = :first").await)
            .await
            .map(drop)
    }

    async fn reach(&self, user: &UserId) -> Result<Reach> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(keys::user_partition(user)))
            .expression_attribute_values(":from", s(crate::realtime::keys::CONNECTION_PREFIX))
            .expression_attribute_values(":to", s(crate::notifications::keys::REACH_END));
        let now = Utc::now().timestamp();
        let mut reach = Reach::default();
        for item in self.query_all(query).await? {
            let sk = match item.get(keys::GSI1SK) {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            if sk.starts_with(crate::notifications::keys::DEVICE_PREFIX) {
                reach.devices.push(from_item(item)?);
            } else {
                let row: ConnectionRow = from_item(item)?;
                // A ghost whose TTL passed is skipped, as in every connection lookup.
                if row.expires_at > now {
                    reach.connections.push(row.connection_id);
                }
            }
        }
        Ok(reach)
    }

    async fn claim_device(&self, user: &UserId, device: &Device) -> Result<Option<UserId>> {
        let holder_key = crate::notifications::keys::push_token(&device.id);
        let mut registration = to_item(
            &crate::notifications::keys::device(user, &device.id),
            ENTITY_DEVICE,
            Some(&crate::notifications::keys::device_by_user(
                user, &device.id,
            )),
            device,
        )?;
        // `endpoint` is kept from API answers, not from the table.
        registration.insert("endpoint".into(), s(&device.endpoint));
        let holder = to_item(
            &holder_key,
            ENTITY_PUSH_TOKEN,
            None,
            &TokenHolder { user_id: *user },
        )?;
        // Optimistic: read the holder, then move the token conditioned on that holder, so two
        // users registering one token at once end with exactly one registration.
        for _ in 0..=CONFLICT_RETRIES {
            let current = self
                .get::<TokenHolder>(&holder_key)
                .await?
                .map(|h| h.user_id);
            let mut take = Put::builder()
                .table_name(&self.table)
                .set_item(Some(holder.clone()));
            take = match current {
                None => take.condition_expression("attribute_not_exists(PK)"),
                Some(held_by) => take
                    .condition_expression("userId = :held")
                    .expression_attribute_values(":held", s(held_by.to_string())),
            };
            let mut actions = vec![
                TransactWriteItem::builder()
                    .put(take.build().map_err(Error::unexpected)?)
                    .build(),
                self.put_action(registration.clone(), None)?,
            ];
            let previous = current.filter(|held_by| held_by != user);
            if let Some(previous) = &previous {
                let forget = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_item(&crate::notifications::keys::device(
                        previous, &device.id,
                    ))))
                    .build()
                    .map_err(Error::unexpected)?;
                actions.push(TransactWriteItem::builder().delete(forget).build());
            }
            if self.transact_conditional(actions).await? {
                return Ok(previous);
            }
        }
        Err(Error::Conflict(
            "this device is being registered by another request; try again".into(),
        ))
    }

    async fn release_device(&self, user: &UserId, id: &str) -> Result<Option<(Device, bool)>> {
        let registration = crate::notifications::keys::device(user, id);
        let Some(device) = self.get::<Device>(&registration).await? else {
            return Ok(None);
        };
        let forget = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&registration)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(Error::unexpected)?;
        let let_go = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::notifications::keys::push_token(id))))
            .condition_expression("attribute_not_exists(PK) OR userId = :user")
            .expression_attribute_values(":user", s(user.to_string()))
            .build()
            .map_err(Error::unexpected)?;
        let actions = vec![
            TransactWriteItem::builder().delete(forget).build(),
            TransactWriteItem::builder().delete(let_go).build(),
        ];
        if self.transact_conditional(actions).await? {
            return Ok(Some((device, true)));
        }
        // Removed concurrently, or the token has moved to another user since this read: remove
        // only this user's registration (if still there) and keep the endpoint for its holder.
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&registration)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(Error::unexpected)?;
        out.attributes
            .map(from_item)
            .transpose()
            .map(|d| d.map(|d| (d, false)))
    }

    async fn delivery_stats(&self, day: &str) -> Result<Vec<DeliveryCounters>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                s(crate::notifications::keys::delivery_stats(day, "", "").pk),
            )
            .send()
            .await
            .map_err(Error::unexpected)?;
        let mut rows = Vec::new();
        for item in out.items.unwrap_or_default() {
            let sk = match item.get(keys::SK) {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            let Some((kind, channel)) = sk.split_once('#') else {
                continue;
            };
            let counts = item
                .iter()
                .filter_map(|(name, value)| match value {
                    AttributeValue::N(count) => Some((name.clone(), count.parse().ok()?)),
                    _ => None,
                })
                .collect();
            rows.push(DeliveryCounters {
                kind: kind.to_owned(),
                channel: channel.to_owned(),
                counts,
            });
        }
        Ok(rows)
    }

    async fn count_delivery(
        &self,
        day: &str,
        kind: Kind,
        channel: &str,
        outcome: &str,
        by: u64,
    ) -> Result<()> {
        self.update_item(&crate::notifications::keys::delivery_stats(
            day,
            kind.as_str(),
            channel,
        ))
        .update_expression("ADD #outcome :by SET entity_type = :entity")
        .expression_attribute_names("#outcome", outcome)
        .expression_attribute_values(":by", n(by))
        .expression_attribute_values(":entity", s("delivery_stats"))
        .send()
        .await
        .map_err(Error::unexpected)?;
        Ok(())
    }

    async fn put_subscription(&self, subscription: &Subscription) -> Result<()> {
        let item = to_item(
            &crate::notifications::keys::subscription(&subscription.target, &subscription.user_id),
            ENTITY_SUBSCRIPTION,
            Some(&crate::notifications::keys::subscription_by_user(
                &subscription.user_id,
                &subscription.target,
            )),
            subscription,
        )?;
        self.put(item).await
    }

    async fn delete_subscription(&self, user: &UserId, target: &Target) -> Result<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::notifications::keys::subscription(
                target, user,
            ))))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        conditional(result).await
    }

    async fn subscriptions_of(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Subscription>> {
        self.user_list(
            user,
            crate::notifications::keys::SUBSCRIPTION_PREFIX,
            limit,
            after,
        )
        .await
    }

    async fn subscribers(
        &self,
        target: &Target,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<Subscription>> {
        // Every sort key of the partition is `SUB#<user>`: "after the cursor's key" and
        // "from the prefix on" are both a plain `>`.
        let bound = match after {
            Some(user) => crate::notifications::keys::subscription(target, user).sk,
            None => crate::notifications::keys::SUBSCRIBER_PREFIX.to_owned(),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :after")
            .expression_attribute_values(
                ":pk",
                s(crate::notifications::keys::fan_out_partition(target)),
            )
            .expression_attribute_values(":after", s(bound))
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(Error::unexpected)?;
        from_items(out.items)
    }

    async fn fan_out_progress(
        &self,
        target: &Target,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<FanOutProgress> {
        let key = crate::notifications::keys::fan_out(target, idempotency_key);
        let result = self
            .update_item(&key)
            .update_expression(
                "SET startedAt = if_not_exists(startedAt, :now), done = if_not_exists(done, :no), \
                 created = if_not_exists(created, :zero), entity_type = :entity",
            )
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":entity", s(ENTITY_FAN_OUT))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(Error::unexpected)?;
        result
            .attributes
            .map(from_item)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    #[instrument(skip_all, fields(target = %target, batch = batch.len()))]
    async fn write_fan_out_batch(
        &self,
        target: &Target,
        idempotency_key: &str,
        cursor: FanOutCursor<'_>,
        batch: &[(Notification, Option<DateTime<Utc>>)],
    ) -> Result<bool> {
        // The cursor only moves forward from where this batch started, so of two runs
        // writing the same batch exactly one commits.
        let (set, from_condition) = match (cursor.to, cursor.from) {
            (Some(_), Some(_)) => ("SET done = :last, #cursor = :to", "#cursor = :from"),
            (Some(_), None) => (
                "SET done = :last, #cursor = :to",
                "attribute_not_exists(#cursor)",
            ),
            (None, Some(_)) => ("SET done = :last", "#cursor = :from"),
            (None, None) => ("SET done = :last", "attribute_not_exists(#cursor)"),
        };
        let progress = self
            .update(&crate::notifications::keys::fan_out(
                target,
                idempotency_key,
            ))
            .update_expression(format!("{set} ADD created :n"))
            .condition_expression(format!("done = :no AND {from_condition}"))
            .expression_attribute_names("#cursor", "cursor")
            .set_expression_attribute_values(Some(
                [
                    cursor.to.map(|to| (":to".to_owned(), s(to.to_string()))),
                    cursor
                        .from
                        .map(|from| (":from".to_owned(), s(from.to_string()))),
                ]
                .into_iter()
                .flatten()
                .chain([
                    (":last".to_owned(), AttributeValue::Bool(cursor.last)),
                    (":n".to_owned(), n(batch.len())),
                    (":no".to_owned(), AttributeValue::Bool(false)),
                ])
                .collect(),
            ));
        let mut actions = vec![
            TransactWriteItem::builder()
                .update(progress.build().map_err(Error::unexpected)?)
                .build(),
        ];
        for (notification, due) in batch {
            let item = to_item(
                &crate::notifications::keys::notification(&notification.user_id, &notification.id),
                ENTITY_NOTIFICATION,
                None,
                notification,
            )?;
            actions.push(self.put_action(item, None)?);
            actions.push(self.counter_action(&notification.user_id, 1)?);
            if let Some(due) = due {
                let update = self.escalation_update(notification, *due)?;
                actions.push(TransactWriteItem::builder().update(update).build());
            }
        }
        if actions.len() > 100 {
            return Err(Error::unexpected(anyhow::anyhow!(
                "fan-out batch of {} actions",
                actions.len()
            )));
        }
        self.transact_conditional(actions).await
    }
}

/// Chat's notifier as the chat functions wire it: the messages members missed are recorded in
/// one write, and the stream-triggered `notify-missed-messages` function turns them into
/// notifications. The send stays off the notifier's latency and its code (push, templates,
/// time zones) out of the chat functions.
#[async_trait]
impl Notifier for DynamoStore {
    async fn messages_missed(&self, due: &[OfflineMessage]) -> Result<()> {
        let Some(first) = due.first() else {
            return Ok(());
        };
        let mut item = to_item(
            &crate::notifications::keys::missed_messages(&first.message_id),
            ENTITY_MISSED,
            None,
            &MissedMessages {
                messages: due.to_vec(),
            },
        )?;
        let expires = first.created_at + chrono::Duration::days(1);
        item.insert(keys::EXPIRES_AT.to_owned(), n(expires.timestamp()));
        self.put(item).await
    }
}
