//! Storage ports of sign-in: pending codes and refresh sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::{Email, SessionId, UserId};
use crate::error::Result;
use crate::store::*;

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
