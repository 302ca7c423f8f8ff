//! The single-table client and its helpers; each feature's `dynamo` module implements its
//! storage ports on it. Items are (de)serialized with `serde_dynamo`; keys come only from the
//! features' `keys` modules; invariants (one user per address, a code
//! or refresh token redeemed once, rate windows) are conditional writes, and a failed condition
//! is reported as the domain outcome it stands for rather than as a 500.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::cursor::Position;
use crate::domain::*;
use crate::error::Error;
use crate::keys::{self, Key};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The part of a connection item fan-out and session closing read.
#[derive(serde::Deserialize)]
pub(crate) struct ConnectionRow {
    pub(crate) connection_id: ConnectionId,
    #[serde(default)]
    pub(crate) session_id: Option<SessionId>,
    pub(crate) expires_at: i64,
}

/// All storage ports on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoStore {
    /// A store on `table` through `client` (built once per cold start).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Builds the client from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            // Codes, sessions and claims are read right after they are written: a stale read
            // would refuse a just-sent code or a just-rotated token.
            .consistent_read(true)
            .send()
            .await
            .map_err(Error::unexpected)?;
        out.item.map(from_item).transpose()
    }

    pub(crate) async fn put(&self, item: Item) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }

    /// Puts `item` unless an item with its key exists: `false` when one did.
    pub(crate) async fn put_new(&self, item: Item) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        conditional(result).await
    }

    pub(crate) async fn delete(&self, key: &Key) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }

    /// Every live connection row of a user, all pages (a user has a handful of devices).
    /// DynamoDB deletes expired items only eventually (within days), so a ghost whose TTL
    /// has passed is skipped here rather than posted to or counted as presence.
    pub(crate) async fn user_connections(&self, user: &UserId) -> Result<Vec<ConnectionRow>> {
        let now = Utc::now().timestamp();
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let (items, next) = self
                .query_gsi1(
                    &keys::user_partition(user),
                    crate::realtime::keys::CONNECTION_PREFIX,
                    None,
                    after,
                    // Fan-out reads only these: less to send and parse per connection.
                    Some("connection_id, session_id, expires_at"),
                )
                .await?;
            for item in items {
                let row: ConnectionRow = from_item(item)?;
                if row.expires_at > now {
                    rows.push(row);
                }
            }
            match next {
                Some(position) => after = Some(position),
                None => return Ok(rows),
            }
        }
    }

    /// Every item of a table partition whose sort key starts with `prefix`, all pages,
    /// strongly consistent (a handful: a provider's waiting releases, earnings lines).
    pub(crate) async fn partition_items<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        newest_first: bool,
    ) -> Result<Vec<T>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(!newest_first)
            .consistent_read(true);
        from_items(Some(self.query_all(query).await?))
    }

    /// One page of a partition (the table's, or `GSI1`'s when `index` names it) under
    /// `prefix`, newest first (ULID sort keys), keeping only items whose attribute `equals`
    /// the given value when one is given: a category's listings, a user's offers or jobs.
    pub(crate) async fn newest_first<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        pk: &str,
        prefix: &str,
        equals: Option<(&str, String)>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<T>> {
        let (pk_name, sk_name) = match index {
            Some(_) => (keys::GSI1PK, keys::GSI1SK),
            None => (keys::PK, keys::SK),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_names("#sk", sk_name)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(after.map(position_to_item));
        if let Some((attribute, value)) = equals {
            query = query
                .filter_expression("#attribute = :value")
                .expression_attribute_names("#attribute", attribute)
                .expression_attribute_values(":value", s(value));
        }
        let out = query.send().await.map_err(Error::unexpected)?;
        Ok(Page {
            items: from_items(out.items)?,
            next: out.last_evaluated_key.map(item_to_position).transpose()?,
        })
    }

    /// A page of what a user's index partition lists under `prefix` (sessions,
    /// subscriptions…).
    pub(crate) async fn user_list<T: DeserializeOwned>(
        &self,
        user: &UserId,
        prefix: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<T>> {
        let (items, next) = self
            .query_gsi1(
                &keys::user_partition(user),
                prefix,
                Some(limit),
                after,
                None,
            )
            .await?;
        Ok(Page {
            items: from_items(Some(items))?,
            next,
        })
    }

    /// The items of a due-time `GSI1` partition (sort keys `{due ms:015}#…`) due at `now`,
    /// soonest first: what the scheduled sweeps read, so their cost grows with what is due,
    /// never with the table.
    pub(crate) async fn due_items<T: DeserializeOwned>(
        &self,
        partition: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<T>> {
        // `~` sorts after every digit and `#`: everything due up to this millisecond.
        let bound = format!("{:015}~", now.timestamp_millis().max(0));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk <= :bound")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":bound", s(bound))
            .limit(limit as i32)
            .send()
            .await
            .map_err(Error::unexpected)?;
        from_items(out.items)
    }

    /// Queries `GSI1` for a partition and sort-key prefix, one page.
    pub(crate) async fn query_gsi1(
        &self,
        pk: &str,
        prefix: &str,
        limit: Option<u32>,
        after: Option<Position>,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, Option<Position>)> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .set_projection_expression(projection.map(str::to_owned))
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .set_limit(limit.map(|l| l as i32))
            .set_exclusive_start_key(after.map(position_to_item))
            .send()
            .await
            .map_err(Error::unexpected)?;
        let next = out.last_evaluated_key.map(item_to_position).transpose()?;
        Ok((out.items.unwrap_or_default(), next))
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(&key.pk)),
        (keys::SK.to_owned(), s(&key.sk)),
    ])
}

/// Serializes `value` and adds its keys, entity type and (optionally) index keys.
pub(crate) fn to_item<T: Serialize>(
    key: &Key,
    entity: &str,
    gsi1: Option<&Key>,
    value: &T,
) -> Result<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(Error::unexpected)?;
    item.extend(key_item(key));
    item.insert(keys::ENTITY_TYPE.to_owned(), s(entity));
    if let Some(gsi1) = gsi1 {
        item.insert(keys::GSI1PK.to_owned(), s(&gsi1.pk));
        item.insert(keys::GSI1SK.to_owned(), s(&gsi1.sk));
    }
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(Error::unexpected)
}

/// The items of one response page, deserialized.
pub(crate) fn from_items<T: DeserializeOwned>(items: Option<Vec<Item>>) -> Result<Vec<T>> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect()
}

/// Our keys are strings only; anything else in a last-evaluated key is a bug, not input.
pub(crate) fn item_to_position(item: Item) -> Result<Position> {
    item.into_iter()
        .map(|(name, value)| match value {
            AttributeValue::S(text) => Ok((name, text)),
            _ => Err(Error::unexpected(anyhow::anyhow!(
                "non-string key attribute {name}"
            ))),
        })
        .collect()
}

pub(crate) fn position_to_item(position: Position) -> Item {
    position
        .into_iter()
        .map(|(name, value)| (name, s(value)))
        .collect()
}

/// Whether an SDK error is a failed condition of a single-item write.
pub(crate) fn condition_failed<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// The cancellation reason codes of a cancelled transaction, by action position.
pub(crate) fn cancellation_codes<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<String>> {
    cancellation_reasons(err).map(|reasons| reasons.into_iter().map(|r| r.code).collect())
}

/// Why one action of a cancelled transaction failed.
#[derive(Debug)]
pub(crate) struct Cancelled {
    /// `ConditionalCheckFailed`, `TransactionConflict`, `None`, …
    pub(crate) code: String,
    /// The item as it was, when the action asked for it
    /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) and its condition failed.
    pub(crate) item: Option<Item>,
}

/// The cancellation reasons of a cancelled transaction, by action position.
fn cancellation_reasons<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<Cancelled>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| Cancelled {
                    code: r.code().unwrap_or("None").to_owned(),
                    item: r.item().cloned(),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Retries of a transaction cancelled by a conflicting one.
pub(crate) const CONFLICT_RETRIES: u32 = 4;

impl DynamoStore {
    /// Runs a transaction once; `Some(reasons)` (by action position) when it was cancelled,
    /// with no retry of a conflict: for callers that decide themselves, under a deadline,
    /// what a conflict or a failed condition means (a chat send).
    pub(crate) async fn transact_once(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<Cancelled>>> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(err) => match cancellation_reasons(&err) {
                Some(reasons) => Ok(Some(reasons)),
                None => Err(Error::unexpected(err)),
            },
        }
    }

    /// Runs a transaction; `Some(reasons)` (by action position) when it was cancelled.
    /// Conflicts with concurrent transactions on the same items (a burst on one counter) are
    /// retried here with jittered backoff before they are reported.
    pub(crate) async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>> {
        self.transact_retrying(actions, CONFLICT_RETRIES).await
    }

    /// [`DynamoStore::transact`] with `retries` retries of a conflict: for transactions that
    /// many writers aim at one item at once (a provider's rating aggregates).
    pub(crate) async fn transact_retrying(
        &self,
        actions: Vec<TransactWriteItem>,
        retries: u32,
    ) -> Result<Option<Vec<String>>> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let codes = match result {
                Ok(_) => return Ok(None),
                Err(err) => match cancellation_codes(&err) {
                    Some(codes) => codes,
                    None => return Err(Error::unexpected(err)),
                },
            };
            let conflict = codes.iter().any(|c| c == "TransactionConflict");
            if !conflict || attempt >= retries {
                return Ok(Some(codes));
            }
            // Exponential up to 640 ms, jittered over the whole step so that writers that
            // collided once do not collide again in lockstep.
            let step = 10u64 << attempt.min(6);
            let jitter = u64::from(ulid::Ulid::generate().random() as u16) % step;
            tokio::time::sleep(std::time::Duration::from_millis(step + jitter)).await;
            attempt += 1;
        }
    }

    /// A transaction's put of one item, with an optional condition.
    pub(crate) fn put_action(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(Error::unexpected)
    }

    /// A transaction's delete of one item.
    pub(crate) fn delete_action(&self, key: &Key) -> Result<TransactWriteItem> {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .build()
            .map(|delete| TransactWriteItem::builder().delete(delete).build())
            .map_err(Error::unexpected)
    }

    /// Runs a query to its last page and returns every item.
    pub(crate) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(Error::unexpected)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// Runs a transaction whose only expected refusal is a condition: `false` when one failed.
    pub(crate) async fn transact_conditional(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<bool> {
        self.transact_conditional_retrying(actions, CONFLICT_RETRIES)
            .await
    }

    /// [`DynamoStore::transact_conditional`] with `retries` retries of a conflict (see
    /// [`DynamoStore::transact_retrying`]).
    pub(crate) async fn transact_conditional_retrying(
        &self,
        actions: Vec<TransactWriteItem>,
        retries: u32,
    ) -> Result<bool> {
        match self.transact_retrying(actions, retries).await? {
            None => Ok(true),
            Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => Ok(false),
            Some(codes) => Err(Error::unexpected(anyhow::anyhow!(
                "transaction cancelled: {codes:?}"
            ))),
        }
    }
}

/// Runs a conditional write: `Ok(true)` when it applied, `Ok(false)` when its condition failed.
pub(crate) async fn conditional<T, E>(result: std::result::Result<T, E>) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(Error::unexpected(err)),
    }
}

pub(crate) const ENTITY_USER: &str = "user";
pub(crate) const ENTITY_EMAIL: &str = "email_claim";
pub(crate) const ENTITY_OTP: &str = "otp";
pub(crate) const ENTITY_SESSION: &str = "session";
pub(crate) const ENTITY_RATE: &str = "rate_window";
pub(crate) const ENTITY_CONNECTION: &str = "connection";
pub(crate) const ENTITY_FILE: &str = "file";

#[async_trait]
impl RateLimiter for DynamoStore {
    async fn hit(
        &self,
        scope: &str,
        subject: &str,
        limit: u32,
        window_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision> {
        let rate = RateLimit {
            scope,
            subject,
            limit,
            window_secs,
        };
        let hit = self.rate_hit(&rate, now)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(hit.key))
            .update_expression(hit.update_expression)
            .set_condition_expression(hit.condition_expression)
            .set_expression_attribute_names(hit.expression_attribute_names)
            .set_expression_attribute_values(hit.expression_attribute_values)
            .send()
            .await;
        Ok(if conditional(result).await? {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after_secs: rate.retry_after(now),
            }
        })
    }
}

impl DynamoStore {
    /// One hit of a rate window, refused (by its condition) when the window is full: on its
    /// own for [`RateLimiter::hit`], or inside a transaction, so a limit counts only what
    /// the transaction really did (a purchase that created a booking).
    pub(crate) fn rate_hit(
        &self,
        rate: &RateLimit<'_>,
        now: DateTime<Utc>,
    ) -> Result<aws_sdk_dynamodb::types::Update> {
        let (start, end) = rate.window(now);
        self.update(&keys::rate_window(rate.scope, rate.subject, start))
            .update_expression("SET #ttl = :end, entity_type = :entity ADD hits :one")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#ttl", keys::EXPIRES_AT)
            .expression_attribute_values(":end", n(end))
            .expression_attribute_values(":entity", s(ENTITY_RATE))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(rate.limit))
            .build()
            .map_err(Error::unexpected)
    }
}
