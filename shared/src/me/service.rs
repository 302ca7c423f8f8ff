//! The signed-in user's own profile and sessions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, instrument};
use utoipa::ToSchema;

use crate::adapters::Pusher;
use crate::auth::Caller;
use crate::auth::store::SessionStore;
use crate::cursor::CursorCodec;
use crate::domain::{ProfilePatch, SessionId, User};
use crate::error::{Error, Result};
use crate::me::store::UserStore;
use crate::realtime::service::{self as realtime, ServerEvent};
use crate::realtime::store::ConnectionStore;

/// Default and largest page size of list endpoints.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Parses the `limit` query parameter.
pub fn page_size(raw: Option<&str>) -> Result<u32> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                Error::field(
                    "limit",
                    format!("must be an integer from 1 to {MAX_PAGE_SIZE}"),
                )
            }),
    }
}

/// The caller's profile.
pub async fn get_me(users: &dyn UserStore, caller: &Caller) -> Result<User> {
    users
        .get_user(&caller.user_id)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Applies a profile patch and tells the user's other devices.
#[instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn update_me(
    users: &dyn UserStore,
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    caller: &Caller,
    patch: ProfilePatch,
    now: DateTime<Utc>,
) -> Result<User> {
    let current = get_me(users, caller).await?;
    let changes = patch.validate(&current)?;
    if changes.is_empty() {
        return Ok(current);
    }
    let user = users.update_profile(&caller.user_id, &changes, now).await?;
    info!("profile updated");
    // Best effort: the profile is saved whatever happens to the notification.
    if let Err(err) = realtime::send_to_user(
        connections,
        pusher,
        &user.id,
        &ServerEvent::UserUpdated { user: user.clone() },
    )
    .await
    {
        tracing::warn!(error = ?err, "could not push user.updated");
    }
    Ok(user)
}

/// One signed-in device.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// First sign-in.
    pub created_at: DateTime<Utc>,
    /// Last token refresh.
    pub last_used_at: DateTime<Utc>,
    /// The device's `User-Agent` at sign-in.
    pub user_agent: Option<String>,
    /// Whether this is the session of the calling token.
    pub current: bool,
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPage {
    /// Oldest first.
    pub items: Vec<SessionView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The caller's sessions, one page. Expired sessions are left out: TTL deletion lags.
pub async fn list_sessions(
    sessions: &dyn SessionStore,
    cursors: &CursorCodec,
    caller: &Caller,
    limit: u32,
    cursor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SessionPage> {
    let scope = format!("sessions:{}", caller.user_id);
    let after = cursor.map(|c| cursors.decode(&scope, c)).transpose()?;
    let page = sessions
        .list_sessions(&caller.user_id, limit, after)
        .await?;
    Ok(SessionPage {
        items: page
            .items
            .into_iter()
            .filter(|s| s.expires_at > now.timestamp())
            .map(|s| SessionView {
                current: s.id == caller.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
            })
            .collect(),
        next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_and_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some("5")).unwrap(), 5);
        for bad in ["0", "101", "-1", "ten"] {
            assert_eq!(page_size(Some(bad)).unwrap_err().status(), 400, "{bad}");
        }
    }
}
