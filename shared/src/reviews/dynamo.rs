//! [`ReviewStore`] on the single table. A review lives in its booking's reviews partition
//! under its author's side; once published (and while not hidden) it also carries `GSI1`
//! keys in its subject's partition, so a provider's latest reviews are one query and hiding
//! one is removing those keys. Aggregates are counters moved by `ADD` in the transactions
//! that publish or hide, retried on conflicts: exact under concurrent publications. The
//! first-response measures are [`ResponseStore`] here too.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::keys as review_keys;
use super::model::{Hidden, Rating, RatingCounters, Reply, Review, stars_attribute};
use super::response::{BOUNDS_MINUTES, ResponseState, bucket_attribute};
use super::store::{ResponseStore, ReviewStore, Written};
use crate::bookings::dynamo::ENTITY_OUTBOX;
use crate::bookings::model::{Booking, PartyRole};
use crate::bookings::store::{Announcement, Audience, Outbox};
use crate::chat::model::Subject;
use crate::cursor::Position;
use crate::domain::{BookingId, RoomId, UserId, wire_name};
use crate::error::{Error, Result};
use crate::keys;
use crate::notifications::model::Kind;
use crate::store::Page;
use crate::store::dynamo::{DynamoStore, Item, key_item, n, s, to_item};

const ENTITY_REVIEW: &str = "review";
const ENTITY_WINDOW: &str = "review_window";
const ENTITY_VOTE: &str = "review_vote";
const ENTITY_RATING: &str = "rating";
/// Conflict retries of a publication: many customers may publish reviews of one provider at
/// once, and each transaction moves the provider's one aggregates item.
const PUBLISH_RETRIES: u32 = 8;
/// How long an announcement item is kept (its stream record is what matters).
const OUTBOX_RETENTION_HOURS: i64 = 24;

/// A booking's open review window, on the due-time index.
#[derive(Serialize, Deserialize)]
struct Window {
    booking_id: BookingId,
    closes_at: DateTime<Utc>,
}

impl DynamoStore {
    fn review_item(&self, review: &Review) -> Result<Item> {
        let index = review
            .published_at
            .filter(|_| review.hidden.is_none())
            .map(|at| {
                review_keys::published(
                    &review.subject_id,
                    review.subject_role(),
                    at.timestamp_millis(),
                    &review.booking_id,
                )
            });
        to_item(
            &review_keys::review(&review.booking_id, review.author),
            ENTITY_REVIEW,
            index.as_ref(),
            review,
        )
    }

    fn transact_update(update: Update) -> TransactWriteItem {
        TransactWriteItem::builder().update(update).build()
    }

    /// Moves `review`'s subject's aggregates by `sign` (1 to count it, -1 to take it out).
    fn rating_action(&self, review: &Review, sign: i64) -> Result<TransactWriteItem> {
        let update = self
            .update(&review_keys::rating(
                &review.subject_id,
                review.subject_role(),
            ))
            .update_expression(
                "SET entity_type = :entity ADD #count :one, #total :stars, #star :one",
            )
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#star", stars_attribute(review.rating))
            .expression_attribute_values(":entity", s(ENTITY_RATING))
            .expression_attribute_values(":one", n(sign))
            .expression_attribute_values(":stars", n(sign * i64::from(review.rating)))
            .build()
            .map_err(Error::unexpected)?;
        Ok(Self::transact_update(update))
    }

    /// An announcement of `review`, sent by the bookings' outbox sender from the stream.
    fn announce_action(
        &self,
        review: &Review,
        room: Option<crate::domain::RoomId>,
        step: &str,
        announcement: Announcement,
    ) -> Result<TransactWriteItem> {
        let outbox = Outbox {
            booking_id: review.booking_id,
            version: 0,
            room_id: room,
            opened: None,
            parties: vec![review.author_id, review.subject_id],
            announcements: vec![announcement],
        };
        let mut item = to_item(
            &review_keys::outbox(&review.booking_id, review.author, step),
            ENTITY_OUTBOX,
            None,
            &outbox,
        )?;
        let at = review.published_at.unwrap_or(review.created_at);
        let expires = at.max(Utc::now()) + Duration::hours(OUTBOX_RETENTION_HOURS);
        item.insert(keys::EXPIRES_AT.into(), n(expires.timestamp()));
        self.put_action(item, Some("attribute_not_exists(PK)"))
    }
}

#[async_trait]
impl ReviewStore for DynamoStore {
    async fn booking(&self, id: &BookingId) -> Result<Option<Booking>> {
        self.get(&crate::bookings::keys::booking(id)).await
    }

    async fn reviews_of(&self, booking: &BookingId) -> Result<Vec<Review>> {
        let key = review_keys::review(booking, PartyRole::Customer);
        self.partition_items(&key.pk, review_keys::BY_PREFIX, false)
            .await
    }

    async fn write_unpublished(&self, review: &Review, closes: DateTime<Utc>) -> Result<Written> {
        let other = review_keys::review(&review.booking_id, super::model::other(review.author));
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&other)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(Error::unexpected)?;
        let window = to_item(
            &review_keys::window(&review.booking_id),
            ENTITY_WINDOW,
            Some(&review_keys::window_due(
                closes.timestamp_millis(),
                &review.booking_id,
            )),
            &Window {
                booking_id: review.booking_id,
                closes_at: closes,
            },
        )?;
        let actions = vec![
            self.put_action(self.review_item(review)?, Some("attribute_not_exists(PK)"))?,
            TransactWriteItem::builder().condition_check(check).build(),
            self.put_action(window, None)?,
        ];
        Ok(match self.transact(actions).await? {
            None => Written::Stored,
            Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                Written::Exists
            }
            Some(codes) if codes.get(1).is_some_and(|c| c == "ConditionalCheckFailed") => {
                Written::OtherArrived
            }
            Some(codes) => {
                return Err(Error::unexpected(anyhow::anyhow!(
                    "review transaction cancelled: {codes:?}"
                )));
            }
        })
    }

    async fn publish(
        &self,
        booking: &Booking,
        written: Option<&Review>,
        existing: &[Review],
    ) -> Result<bool> {
        let mut actions = Vec::new();
        if let Some(review) = written {
            actions.push(
                self.put_action(self.review_item(review)?, Some("attribute_not_exists(PK)"))?,
            );
        }
        for review in existing {
            actions.push(self.put_action(
                self.review_item(review)?,
                Some("attribute_exists(PK) AND attribute_not_exists(publishedAt)"),
            )?);
        }
        for review in written.into_iter().chain(existing) {
            actions.push(self.rating_action(review, 1)?);
            let announcement = Announcement {
                kind: Kind::ReviewSubmitted,
                to: Audience::Users(vec![review.subject_id]),
                actor: Some(review.author_id),
                data: serde_json::json!({ "title": review.title, "rating": review.rating }),
                step: format!("review:{}", wire_name(&review.author)),
            };
            actions.push(self.announce_action(
                review,
                booking.room_id,
                "published",
                announcement,
            )?);
        }
        actions.push(self.delete_action(&review_keys::window(&booking.id))?);
        self.transact_conditional_retrying(actions, PUBLISH_RETRIES)
            .await
    }

    async fn close_window(&self, booking: &BookingId) -> Result<()> {
        self.delete(&review_keys::window(booking)).await
    }

    async fn due_windows(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<BookingId>> {
        let due: Vec<Window> = self.due_items(review_keys::WINDOWS, now, limit).await?;
        Ok(due.into_iter().map(|w| w.booking_id).collect())
    }

    async fn vote(&self, review: &Review, voter: &UserId, now: DateTime<Utc>) -> Result<bool> {
        let mut vote: Item = std::collections::HashMap::new();
        vote.extend(key_item(&review_keys::helpful(
            &review.booking_id,
            review.author,
            voter,
        )));
        vote.insert(keys::ENTITY_TYPE.into(), s(ENTITY_VOTE));
        vote.insert("at".into(), s(now.to_rfc3339()));
        let count = self
            .update(&review_keys::review(&review.booking_id, review.author))
            .update_expression("ADD helpful :one")
            .condition_expression("attribute_exists(publishedAt) AND attribute_not_exists(#hidden)")
            .expression_attribute_names("#hidden", "hidden")
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::unexpected)?;
        let actions = vec![
            self.put_action(vote, Some("attribute_not_exists(PK)"))?,
            Self::transact_update(count),
        ];
        match self.transact(actions).await? {
            None => Ok(true),
            Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                Ok(false)
            }
            Some(_) => Err(Error::Conflict(
                "the review changed meanwhile; read it again".into(),
            )),
        }
    }

    async fn reply(&self, review: &Review, reply: &Reply) -> Result<bool> {
        let value = serde_dynamo::to_attribute_value(reply).map_err(Error::unexpected)?;
        let result = self
            .update_item(&review_keys::review(&review.booking_id, review.author))
            .update_expression("SET reply = :reply")
            .condition_expression(
                "attribute_exists(publishedAt) AND attribute_not_exists(#hidden) AND attribute_not_exists(reply)",
            )
            .expression_attribute_names("#hidden", "hidden")
            .expression_attribute_values(":reply", value)
            .send()
            .await;
        crate::store::dynamo::conditional(result).await
    }

    async fn hide(&self, review: &Review, hidden: &Hidden) -> Result<bool> {
        let value = serde_dynamo::to_attribute_value(hidden).map_err(Error::unexpected)?;
        let update = self
            .update(&review_keys::review(&review.booking_id, review.author))
            .update_expression("SET #hidden = :hidden REMOVE #gpk, #gsk")
            .condition_expression("attribute_exists(publishedAt) AND attribute_not_exists(#hidden)")
            .expression_attribute_names("#hidden", "hidden")
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":hidden", value)
            .build()
            .map_err(Error::unexpected)?;
        let announcement = Announcement {
            kind: Kind::ReviewSubmitted,
            to: Audience::Users(vec![review.author_id]),
            actor: None,
            data: serde_json::json!({
                "title": review.title,
                "hidden": true,
                "reason": hidden.reason,
            }),
            step: format!("review:{}:hidden", wire_name(&review.author)),
        };
        let actions = vec![
            Self::transact_update(update),
            self.rating_action(review, -1)?,
            self.announce_action(review, None, "hidden", announcement)?,
        ];
        self.transact_conditional_retrying(actions, PUBLISH_RETRIES)
            .await
    }

    async fn rating(&self, user: &UserId, as_role: PartyRole) -> Result<Rating> {
        let counters: Option<RatingCounters> =
            self.get(&review_keys::rating(user, as_role)).await?;
        Ok(counters.unwrap_or_default().into())
    }

    async fn published_of(
        &self,
        user: &UserId,
        as_role: PartyRole,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Review>> {
        self.newest_first(
            Some(keys::GSI1),
            &keys::user_partition(user),
            &review_keys::published_prefix(as_role),
            None,
            limit,
            after,
        )
        .await
    }
}

const ENTITY_RESPONSE_STATE: &str = "first_response";
const ENTITY_RESPONSES: &str = "first_responses";

/// The part of a room item the measure reads.
#[derive(Deserialize)]
struct RoomSubject {
    #[serde(default)]
    subject: Option<Subject>,
}

/// The part of a booking item the measure reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookingProvider {
    provider_id: UserId,
}

#[async_trait]
impl ResponseStore for DynamoStore {
    async fn room_subject(&self, room: &RoomId) -> Result<Option<Subject>> {
        let found: Option<RoomSubject> = self.get(&crate::chat::keys::room(room)).await?;
        Ok(found.and_then(|r| r.subject))
    }

    async fn booking_provider(&self, booking: &BookingId) -> Result<Option<UserId>> {
        let found: Option<BookingProvider> =
            self.get(&crate::bookings::keys::booking(booking)).await?;
        Ok(found.map(|b| b.provider_id))
    }

    async fn response_state(&self, room: &RoomId) -> Result<Option<ResponseState>> {
        self.get(&review_keys::first_response(room)).await
    }

    async fn start_measure(&self, state: &ResponseState) -> Result<()> {
        let item = to_item(
            &review_keys::first_response(&state.room_id),
            ENTITY_RESPONSE_STATE,
            None,
            state,
        )?;
        // A state already there came from an earlier delivery of the same record.
        self.put_new(item).await.map(drop)
    }

    async fn ask(&self, state: &ResponseState) -> Result<()> {
        let Some(at) = state.asked_at else {
            return Ok(());
        };
        let result = self
            .update_item(&review_keys::first_response(&state.room_id))
            .update_expression("SET askedAt = :at")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(askedAt)")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await;
        crate::store::dynamo::conditional(result).await.map(drop)
    }

    async fn answer(&self, state: &ResponseState, bucket: usize) -> Result<()> {
        let (Some(at), Some(responder)) = (state.answered_at, state.responder) else {
            return Ok(());
        };
        let measured = self
            .update(&review_keys::first_response(&state.room_id))
            .update_expression("SET answeredAt = :at")
            .condition_expression("attribute_exists(askedAt) AND attribute_not_exists(answeredAt)")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .build()
            .map_err(Error::unexpected)?;
        let counted = self
            .update(&review_keys::first_responses(&responder))
            .update_expression("SET entity_type = :entity ADD #bucket :one")
            .expression_attribute_names("#bucket", bucket_attribute(bucket))
            .expression_attribute_values(":entity", s(ENTITY_RESPONSES))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::unexpected)?;
        let actions = vec![
            Self::transact_update(measured),
            Self::transact_update(counted),
        ];
        // A failed condition: this answer (a redelivered record) was counted already.
        self.transact_conditional(actions).await.map(drop)
    }

    async fn first_responses(&self, user: &UserId) -> Result<Vec<u64>> {
        let item: Option<std::collections::HashMap<String, serde_json::Value>> =
            self.get(&review_keys::first_responses(user)).await?;
        let item = item.unwrap_or_default();
        Ok((0..=BOUNDS_MINUTES.len())
            .map(|i| {
                item.get(&bucket_attribute(i))
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0)
            })
            .collect())
    }
}
