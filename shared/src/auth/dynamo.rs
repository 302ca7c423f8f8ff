//! Sign-in codes and refresh sessions on the table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::instrument;

use super::store::*;
use crate::cursor::Position;
use crate::domain::*;
use crate::error::Result;
use crate::store::dynamo::*;
use crate::store::*;

#[async_trait]
impl OtpStore for DynamoStore {
    #[instrument(skip_all)]
    async fn put_code(&self, email: &Email, record: &OtpRecord) -> Result<()> {
        let item = to_item(&crate::auth::keys::otp(email), ENTITY_OTP, None, record)?;
        self.put(item).await
    }

    async fn get_code(&self, email: &Email) -> Result<Option<OtpRecord>> {
        self.get(&crate::auth::keys::otp(email)).await
    }

    #[instrument(skip_all)]
    async fn record_failure(&self, email: &Email, code_hash: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::auth::keys::otp(email))))
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
            .set_key(Some(key_item(&crate::auth::keys::otp(email))))
            .condition_expression("code_hash = :hash AND attempts < :max")
            .expression_attribute_values(":hash", s(code_hash))
            .expression_attribute_values(":max", n(max_attempts))
            .send()
            .await;
        conditional(result).await
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    #[instrument(skip_all, fields(session_id = %session.id))]
    async fn create_session(&self, session: &Session) -> Result<()> {
        let item = to_item(
            &crate::auth::keys::session(&session.id),
            ENTITY_SESSION,
            Some(&crate::auth::keys::session_by_user(
                &session.user_id,
                &session.id,
            )),
            session,
        )?;
        self.put(item).await
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        self.get(&crate::auth::keys::session(id)).await
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
            .set_key(Some(key_item(&crate::auth::keys::session(id))))
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
        self.delete(&crate::auth::keys::session(id)).await
    }

    async fn list_sessions(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Session>> {
        self.user_list(user, crate::auth::keys::SESSION_PREFIX, limit, after)
            .await
    }
}
