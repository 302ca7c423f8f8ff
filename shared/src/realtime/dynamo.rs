//! WebSocket connections on the table.

use async_trait::async_trait;
use tracing::instrument;

use super::store::*;
use crate::domain::*;
use crate::error::Result;
use crate::store::dynamo::*;

#[async_trait]
impl ConnectionStore for DynamoStore {
    #[instrument(skip_all, fields(connection_id = %connection.connection_id))]
    async fn put_connection(&self, connection: &Connection) -> Result<()> {
        let key = crate::realtime::keys::connection(&connection.connection_id);
        let gsi1 = crate::realtime::keys::connection_by_user(
            &connection.user_id,
            &connection.connection_id,
        );
        let item = to_item(&key, ENTITY_CONNECTION, Some(&gsi1), connection)?;
        self.put(item).await
    }

    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>> {
        self.get(&crate::realtime::keys::connection(id)).await
    }

    async fn touch_connection(&self, id: &ConnectionId, expires_at: i64) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::realtime::keys::connection(id))))
            .update_expression("SET expires_at = :exp")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await;
        conditional(result).await
    }

    #[instrument(skip_all, fields(connection_id = %id))]
    async fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
        self.delete(&crate::realtime::keys::connection(id)).await
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
