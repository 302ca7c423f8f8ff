//! The single-table implementation of every storage port. Items are (de)serialized with
//! `serde_dynamo`; keys come only from [`crate::keys`]; invariants (one user per address, a code
//! or refresh token redeemed once, rate windows) are conditional writes, and a failed condition
//! is reported as the domain outcome it stands for rather than as a 500.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::instrument;

use super::*;
use crate::cursor::Position;
use crate::error::Error;
use crate::keys::{self, Key};

mod chat;
mod notify;

pub use notify::ENTITY_MISSED;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The part of a connection item fan-out and session closing read.
#[derive(serde::Deserialize)]
struct ConnectionRow {
    connection_id: ConnectionId,
    #[serde(default)]
    session_id: Option<SessionId>,
    expires_at: i64,
}

/// All storage ports on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
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

    async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>> {
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

    async fn put(&self, item: Item) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }

    async fn delete(&self, key: &Key) -> Result<()> {
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
    async fn user_connections(&self, user: &UserId) -> Result<Vec<ConnectionRow>> {
        let now = Utc::now().timestamp();
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let (items, next) = self
                .query_gsi1(
                    &keys::user_partition(user),
                    keys::CONNECTION_PREFIX,
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

    /// A page of what a user's index partition lists under `prefix` (sessions,
    /// subscriptions…).
    async fn user_list<T: DeserializeOwned>(
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

    /// Queries `GSI1` for a partition and sort-key prefix, one page.
    async fn query_gsi1(
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(&key.pk)),
        (keys::SK.to_owned(), s(&key.sk)),
    ])
}

/// Serializes `value` and adds its keys, entity type and (optionally) index keys.
fn to_item<T: Serialize>(key: &Key, entity: &str, gsi1: Option<&Key>, value: &T) -> Result<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(Error::unexpected)?;
    item.extend(key_item(key));
    item.insert(keys::ENTITY_TYPE.to_owned(), s(entity));
    if let Some(gsi1) = gsi1 {
        item.insert(keys::GSI1PK.to_owned(), s(&gsi1.pk));
        item.insert(keys::GSI1SK.to_owned(), s(&gsi1.sk));
    }
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(Error::unexpected)
}

/// The items of one response page, deserialized.
fn from_items<T: DeserializeOwned>(items: Option<Vec<Item>>) -> Result<Vec<T>> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect()
}

/// Our keys are strings only; anything else in a last-evaluated key is a bug, not input.
fn item_to_position(item: Item) -> Result<Position> {
    item.into_iter()
        .map(|(name, value)| match value {
            AttributeValue::S(text) => Ok((name, text)),
            _ => Err(Error::unexpected(anyhow::anyhow!(
                "non-string key attribute {name}"
            ))),
        })
        .collect()
}

fn position_to_item(position: Position) -> Item {
    position
        .into_iter()
        .map(|(name, value)| (name, s(value)))
        .collect()
}

/// Whether an SDK error is a failed condition of a single-item write.
fn condition_failed<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// The cancellation reason codes of a cancelled transaction, by action position.
fn cancellation_codes<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<String>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Retries of a transaction cancelled by a conflicting one.
const CONFLICT_RETRIES: u32 = 4;

impl DynamoStore {
    /// Runs a transaction; `Some(reasons)` (by action position) when it was cancelled.
    /// Conflicts with concurrent transactions on the same items (a burst on one counter) are
    /// retried here with jittered backoff before they are reported.
    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>> {
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
            if !conflict || attempt >= CONFLICT_RETRIES {
                return Ok(Some(codes));
            }
            let jitter = u64::from(ulid::Ulid::generate().random() as u8) % 10;
            tokio::time::sleep(std::time::Duration::from_millis((10 << attempt) + jitter)).await;
            attempt += 1;
        }
    }

    /// Runs a query to its last page and returns every item.
    async fn query_all(
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
    async fn transact_conditional(&self, actions: Vec<TransactWriteItem>) -> Result<bool> {
        match self.transact(actions).await? {
            None => Ok(true),
            Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => Ok(false),
            Some(codes) => Err(Error::unexpected(anyhow::anyhow!(
                "transaction cancelled: {codes:?}"
            ))),
        }
    }
}

/// Runs a conditional write: `Ok(true)` when it applied, `Ok(false)` when its condition failed.
async fn conditional<T, E>(result: std::result::Result<T, E>) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(Error::unexpected(err)),
    }
}

const ENTITY_USER: &str = "user";
const ENTITY_EMAIL: &str = "email_claim";
const ENTITY_OTP: &str = "otp";
const ENTITY_SESSION: &str = "session";
const ENTITY_RATE: &str = "rate_window";
const ENTITY_CONNECTION: &str = "connection";
const ENTITY_FILE: &str = "file";

#[async_trait]
impl OtpStore for DynamoStore {
    #[instrument(skip_all)]
    async fn put_code(&self, email: &Email, record: &OtpRecord) -> Result<()> {
        let item = to_item(&keys::otp(email), ENTITY_OTP, None, record)?;
        self.put(item).await
    }

    async fn get_code(&self, email: &Email) -> Result<Option<OtpRecord>> {
        self.get(&keys::otp(email)).await
    }

    #[instrument(skip_all)]
    async fn record_failure(&self, email: &Email, code_hash: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::otp(email))))
            .update_expression("ADD attempts :one")
            .condition_expression("code_hash = :hash")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":hash", s(code_hash))
            .send()
            .await;
        // A failed condition means a newer code replaced this one: nothing to count.
        conditional(result).await.map(drop)
    }

    #[instrument(skip_all)]
    async fn consume_code(
        &self,
        email: &Email,
        code_hash: &str,
        max_attempts: u32,
    ) -> Result<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::otp(email))))
            .condition_expression("code_hash = :hash AND attempts < :max")
            .expression_attribute_values(":hash", s(code_hash))
            .expression_attribute_values(":max", n(max_attempts))
            .send()
            .await;
        conditional(result).await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn get_user(&self, id: &UserId) -> Result<Option<User>> {
        self.get(&keys::user(id)).await
    }

    async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>> {
        #[derive(serde::Deserialize)]
        struct Claim {
            user_id: UserId,
        }
        Ok(self
            .get::<Claim>(&keys::email_claim(email))
            .await?
            .map(|c| c.user_id))
    }

    #[instrument(skip_all, fields(user_id = %user.id))]
    async fn create_user(&self, user: &User) -> Result<bool> {
        let claim = to_item(
            &keys::email_claim(&user.email),
            ENTITY_EMAIL,
            None,
            &serde_json::json!({"user_id": user.id}),
        )?;
        let profile = to_item(&keys::user(&user.id), ENTITY_USER, None, user)?;
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(Error::unexpected)
        };
        // Only a failed condition means "address already claimed"; anything else is an error
        // to retry, not an answer.
        self.transact_conditional(vec![put(claim)?, put(profile)?])
            .await
    }

    #[instrument(skip_all, fields(user_id = %id))]
    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<User> {
        // Attribute names always go through placeholders: some (`roles`, `timeZone`) are
        // DynamoDB reserved words.
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut assign = |name: &'static str, value: Option<AttributeValue>| {
            names.insert(format!("#{name}"), name.to_owned());
            match value {
                Some(value) => {
                    set.push(format!("#{name} = :{name}"));
                    values.insert(format!(":{name}"), value);
                }
                None => remove.push(format!("#{name}")),
            }
        };
        assign("updatedAt", Some(s(now.to_rfc3339())));
        if let Some(name) = &changes.display_name {
            assign("displayName", Some(s(name)));
        }
        if let Some(roles) = &changes.roles {
            assign(
                "roles",
                Some(serde_dynamo::to_attribute_value(roles).map_err(Error::unexpected)?),
            );
        }
        if let Some(tz) = &changes.time_zone {
            assign("timeZone", Some(s(tz.as_str())));
        }
        if let Some(locale) = &changes.locale {
            assign("locale", Some(s(locale.as_str())));
        }
        if let Some(phone) = &changes.phone {
            assign("phone", phone.as_ref().map(|p| s(p.as_str())));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::user(id))))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => from_item(out.attributes.unwrap_or_default()),
            Err(err) if condition_failed(&err) => Err(Error::NotFound("user")),
            Err(err) => Err(Error::unexpected(err)),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    #[instrument(skip_all, fields(session_id = %session.id))]
    async fn create_session(&self, session: &Session) -> Result<()> {
        let item = to_item(
            &keys::session(&session.id),
            ENTITY_SESSION,
            Some(&keys::session_by_user(&session.user_id, &session.id)),
            session,
        )?;
        self.put(item).await
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        self.get(&keys::session(id)).await
    }

    #[instrument(skip_all, fields(session_id = %id))]
    async fn rotate_session(
        &self,
        id: &SessionId,
        generation: u64,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::session(id))))
            .update_expression("SET generation = :next, last_used_at = :now, expires_at = :exp")
            .condition_expression("generation = :current")
            .expression_attribute_values(":current", n(generation))
            .expression_attribute_values(":next", n(generation + 1))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await;
        conditional(result).await
    }

    async fn delete_session(&self, id: &SessionId) -> Result<()> {
        self.delete(&keys::session(id)).await
    }

    async fn list_sessions(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Session>> {
        self.user_list(user, keys::SESSION_PREFIX, limit, after)
            .await
    }
}

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
        let start = now.timestamp() - now.timestamp().rem_euclid(window_secs);
        let end = start + window_secs;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::rate_window(scope, subject, start))))
            .update_expression("SET #ttl = :end, entity_type = :entity ADD hits :one")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#ttl", keys::EXPIRES_AT)
            .expression_attribute_values(":end", n(end))
            .expression_attribute_values(":entity", s(ENTITY_RATE))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        Ok(if conditional(result).await? {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after_secs: (end - now.timestamp()).max(1) as u64,
            }
        })
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    #[instrument(skip_all, fields(connection_id = %connection.connection_id))]
    async fn put_connection(&self, connection: &Connection) -> Result<()> {
        let key = keys::connection(&connection.connection_id);
        let gsi1 = keys::connection_by_user(&connection.user_id, &connection.connection_id);
        let item = to_item(&key, ENTITY_CONNECTION, Some(&gsi1), connection)?;
        self.put(item).await
    }

    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>> {
        self.get(&keys::connection(id)).await
    }

    async fn touch_connection(&self, id: &ConnectionId, expires_at: i64) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::connection(id))))
            .update_expression("SET expires_at = :exp")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await;
        conditional(result).await
    }

    #[instrument(skip_all, fields(connection_id = %id))]
    async fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
        self.delete(&keys::connection(id)).await
    }

    async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>> {
        Ok(self
            .user_connections(user)
            .await?
            .into_iter()
            .map(|row| row.connection_id)
            .collect())
    }

    async fn connections_of_session(
        &self,
        user: &UserId,
        session: &SessionId,
    ) -> Result<Vec<ConnectionId>> {
        let rows = self.user_connections(user).await?;
        Ok(rows
            .into_iter()
            .filter(|row| row.session_id.as_ref() == Some(session))
            .map(|row| row.connection_id)
            .collect())
    }
}

#[async_trait]
impl FileStore for DynamoStore {
    #[instrument(skip_all, fields(file_id = %file.id))]
    async fn create_file(&self, file: &FileRecord) -> Result<()> {
        let item = to_item(
            &keys::file(&file.id),
            ENTITY_FILE,
            Some(&keys::pending_upload(&file.id)),
            file,
        )?;
        self.put(item).await
    }

    async fn get_file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        self.get(&keys::file(id)).await
    }

    #[instrument(skip_all, fields(file_id = %id))]
    async fn mark_ready(&self, id: &FileId, now: DateTime<Utc>) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::file(id))))
            // Leaving the sparse index is what takes the file off the cleanup job's list.
            .update_expression("SET #status = :ready, completedAt = :now REMOVE #gpk, #gsk")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":ready", s("ready"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .send()
            .await;
        conditional(result).await
    }

    #[instrument(skip_all, fields(file_id = %id))]
    async fn delete_file(&self, id: &FileId) -> Result<()> {
        self.delete(&keys::file(id)).await
    }

    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>> {
        let bound = keys::pending_upload(&FileId::floor_at(before));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk < :bound")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(&bound.pk))
            .expression_attribute_values(":bound", s(&bound.sk))
            .limit(limit as i32)
            .send()
            .await
            .map_err(Error::unexpected)?;
        from_items(out.items)
    }
}
