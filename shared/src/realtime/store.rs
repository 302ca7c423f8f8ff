//! Storage port of WebSocket connections.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ConnectionId, SessionId, UserId};
use crate::error::Result;

/// An open WebSocket connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    /// The gateway's id.
    pub connection_id: ConnectionId,
    /// Who opened it.
    pub user_id: UserId,
    /// The session whose token opened it: ending the session closes it.
    #[serde(default)]
    pub session_id: Option<SessionId>,
    /// When.
    pub connected_at: DateTime<Utc>,
    /// TTL: a connection whose `$disconnect` never came vanishes by itself.
    pub expires_at: i64,
}

/// Open connections, by id and per user.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Registers a connection.
    async fn put_connection(&self, connection: &Connection) -> Result<()>;
    /// A connection by id.
    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>>;
    /// Pushes the TTL out; `false` if the connection is not registered.
    async fn touch_connection(&self, id: &ConnectionId, expires_at: i64) -> Result<bool>;
    /// Forgets a connection (idempotent).
    async fn delete_connection(&self, id: &ConnectionId) -> Result<()>;
    /// Every open connection of a user (through the index, never a Scan).
    async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>>;
    /// The open connections a user opened with one session.
    async fn connections_of_session(
        &self,
        user: &UserId,
        session: &SessionId,
    ) -> Result<Vec<ConnectionId>>;
}
