//! Storage ports: one narrow trait per aggregate, so services state exactly what they read and
//! write and unit tests can stand in a double for one concern. [`dynamo::DynamoStore`]
//! implements all of them on the single table.

pub mod dynamo;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::files::FileRecord;
use crate::domain::{ConnectionId, Email, FileId, ProfileChanges, SessionId, User, UserId};
use crate::error::Result;

/// One page of a list and where the next one starts.
#[derive(Debug)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where to resume; `None` on the last page.
    pub next: Option<Position>,
}

/// A pending sign-in code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtpRecord {
    /// Keyed hash of the code.
    pub code_hash: String,
    /// Wrong guesses so far.
    pub attempts: u32,
    /// Epoch seconds after which the code is void (also the item's TTL).
    pub expires_at: i64,
}

/// Sign-in codes, one pending per address.
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Stores a new code for `email`, replacing any pending one.
    async fn put_code(&self, email: &Email, record: &OtpRecord) -> Result<()>;
    /// The pending code of `email`, if any.
    async fn get_code(&self, email: &Email) -> Result<Option<OtpRecord>>;
    /// Counts one wrong guess against the code whose hash is `code_hash` (a newer code is
    /// left alone).
    async fn record_failure(&self, email: &Email, code_hash: &str) -> Result<()>;
    /// Deletes the code if it is still `code_hash` and alive; `false` when a concurrent
    /// request used or killed it first, so a code signs in once.
    async fn consume_code(&self, email: &Email, code_hash: &str, max_attempts: u32)
    -> Result<bool>;
}

/// User profiles and the email → user claim.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// A profile by id.
    async fn get_user(&self, id: &UserId) -> Result<Option<User>>;
    /// The owner of an address.
    async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>>;
    /// Creates a profile and claims its address in one transaction; `false` when the
    /// address was claimed concurrently (the caller then reads the winner).
    async fn create_user(&self, user: &User) -> Result<bool>;
    /// Applies validated changes and returns the new profile; `NotFound` if it is gone.
    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<User>;
}

/// A signed-in device: the current refresh-token hash and the one it replaced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Session id.
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// Generation of the only refresh token that may be redeemed now.
    pub generation: u64,
    /// Per-session salt of the refresh-token tags (see [`crate::auth::RefreshTokens`]).
    pub salt: String,
    /// First sign-in.
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    pub last_used_at: DateTime<Utc>,
    /// Epoch seconds after which it is void (the item's TTL).
    pub expires_at: i64,
    /// The client's `User-Agent` at sign-in, to tell devices apart.
    pub user_agent: Option<String>,
}

/// Sessions (refresh-token families).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// A session by id.
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>>;
    /// Moves the session from `generation` to the next one; `false` when a concurrent
    /// refresh won, so one refresh token is redeemed once.
    async fn rotate_session(
        &self,
        id: &SessionId,
        generation: u64,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool>;
    /// Deletes a session (idempotent).
    async fn delete_session(&self, id: &SessionId) -> Result<()>;
    /// A user's sessions, oldest first.
    async fn list_sessions(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Session>>;
}

/// Whether a rate-limited action may go ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit.
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
}

/// Fixed-window counters.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit of `subject` in `scope`, allowing at most `limit` per window.
    async fn hit(
        &self,
        scope: &str,
        subject: &str,
        limit: u32,
        window_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision>;
}

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

/// File records.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Stores a new pending file.
    async fn create_file(&self, file: &FileRecord) -> Result<()>;
    /// A file by id.
    async fn get_file(&self, id: &FileId) -> Result<Option<FileRecord>>;
    /// Marks a pending file ready; `false` if it was not pending (already ready, or gone).
    async fn mark_ready(&self, id: &FileId, now: DateTime<Utc>) -> Result<bool>;
    /// Deletes a file record (idempotent).
    async fn delete_file(&self, id: &FileId) -> Result<()>;
    /// Pending uploads declared before `before`, oldest first, at most `limit`.
    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>>;
}
