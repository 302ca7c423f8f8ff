//! WebSocket connection bookkeeping and fan-out.
//!
//! A connection is registered on `$connect` with a TTL of the gateway's two-hour maximum plus a
//! margin, so one whose `$disconnect` never fires disappears by itself; a `ping` pushes the TTL
//! out. Fan-out reads a user's connections from the index (never a Scan), posts with bounded
//! concurrency, and deletes exactly the connections that answer 410.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::{Delivery, Pusher};
use crate::auth::Caller;
use crate::domain::{ConnectionId, SessionId, User, UserId};
use crate::error::{Error, ErrorBody, Result};
use crate::store::{Connection, ConnectionStore};

/// API Gateway closes a connection after 2 h; the margin covers clock skew and TTL lag.
pub const CONNECTION_TTL_SECS: i64 = 2 * 3600 + 10 * 60;
/// Posts in flight at once during a fan-out.
pub const FANOUT_CONCURRENCY: usize = 32;

/// A message a client sends over the WebSocket (`action` selects the kind).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Keeps the connection (and its registration) alive; answered by `pong`.
    Ping {
        /// Echoed in the answer, to match it to this request.
        #[serde(rename = "requestId")]
        request_id: Option<String>,
    },
}

/// An event the server pushes to clients (`type` selects the kind).
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum ServerEvent {
    /// Answer to `ping`.
    #[serde(rename = "pong")]
    Pong {
        /// The `requestId` of the ping.
        #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// The user's profile changed (sent to all of the user's connections).
    #[serde(rename = "user.updated")]
    UserUpdated {
        /// The new profile.
        user: User,
    },
    /// A message could not be handled; the connection stays open.
    #[serde(rename = "error")]
    Error {
        /// The `requestId` of the failed message, when it had one.
        #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        /// What went wrong.
        #[serde(flatten)]
        body: ErrorBody,
    },
}

impl ServerEvent {
    fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(Error::unexpected)
    }
}

/// Registers a connection the authorizer admitted.
#[instrument(skip_all, fields(connection_id = %connection_id, user_id = %caller.user_id))]
pub async fn connect(
    connections: &dyn ConnectionStore,
    connection_id: ConnectionId,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<()> {
    let connection = Connection {
        connection_id,
        user_id: caller.user_id,
        session_id: Some(caller.session_id),
        connected_at: now,
        expires_at: now.timestamp() + CONNECTION_TTL_SECS,
    };
    connections.put_connection(&connection).await?;
    info!("connected");
    Ok(())
}

/// Forgets a closed connection.
#[instrument(skip_all, fields(connection_id = %connection_id))]
pub async fn disconnect(
    connections: &dyn ConnectionStore,
    connection_id: &ConnectionId,
) -> Result<()> {
    connections.delete_connection(connection_id).await?;
    info!("disconnected");
    Ok(())
}

/// Handles one client message. Bad messages are answered with an `error` event on the same
/// connection: a client bug must not cost the user their connection.
#[instrument(skip_all, fields(connection_id = %connection_id))]
pub async fn handle_message(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    connection_id: &ConnectionId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let reply = match serde_json::from_str::<ClientMessage>(body) {
        Ok(ClientMessage::Ping { request_id }) => {
            if connections
                .touch_connection(connection_id, now.timestamp() + CONNECTION_TTL_SECS)
                .await?
            {
                ServerEvent::Pong { request_id }
            } else {
                error_event(
                    None,
                    &Error::Unauthorized("connection is not registered; reconnect".into()),
                )
            }
        }
        Err(err) => {
            let request_id = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["requestId"].as_str().map(str::to_owned));
            error_event(
                request_id,
                &Error::BadRequest(format!("unsupported message: {err}")),
            )
        }
    };
    if pusher.post(connection_id, &reply.to_bytes()?).await? == Delivery::Gone {
        connections.delete_connection(connection_id).await?;
    }
    Ok(())
}

fn error_event(request_id: Option<String>, err: &Error) -> ServerEvent {
    ServerEvent::Error {
        request_id,
        body: err.body(),
    }
}

/// Closes every open connection of one session (sign-out, revoked session): a socket must not
/// outlive the credentials that opened it.
#[instrument(skip_all, fields(session_id = %session))]
pub async fn close_session(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    user: &UserId,
    session: &SessionId,
) -> Result<usize> {
    let targets = connections.connections_of_session(user, session).await?;
    for id in &targets {
        pusher.close(id).await?;
        connections.delete_connection(id).await?;
    }
    info!(closed = targets.len(), "session connections closed");
    Ok(targets.len())
}

/// What a fan-out achieved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FanoutReport {
    /// Posts the gateway accepted.
    pub delivered: usize,
    /// Connections found gone and deleted.
    pub gone: usize,
    /// Posts that failed otherwise (logged; the connection is kept).
    pub failed: usize,
}

/// Sends `event` to every open connection of `user`.
pub async fn send_to_user(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    user: &UserId,
    event: &ServerEvent,
) -> Result<FanoutReport> {
    let targets = connections.connections_of(user).await?;
    fan_out(connections, pusher, &targets, &event.to_bytes()?).await
}

/// Posts `payload` to every connection in `targets`, at most [`FANOUT_CONCURRENCY`] at once.
#[instrument(skip_all, fields(targets = targets.len()))]
pub async fn fan_out(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    targets: &[ConnectionId],
    payload: &[u8],
) -> Result<FanoutReport> {
    let mut outcomes = futures::stream::iter(targets)
        .map(|id| async move {
            let outcome = match pusher.post(id, payload).await {
                Ok(Delivery::Gone) => connections
                    .delete_connection(id)
                    .await
                    .map(|()| Delivery::Gone),
                other => other,
            };
            (id, outcome)
        })
        .buffer_unordered(FANOUT_CONCURRENCY);
    let mut report = FanoutReport::default();
    while let Some((id, outcome)) = outcomes.next().await {
        match outcome {
            Ok(Delivery::Delivered) => report.delivered += 1,
            Ok(Delivery::Gone) => {
                info!(connection_id = %id, "stale connection removed");
                report.gone += 1;
            }
            Err(err) => {
                warn!(connection_id = %id, error = ?err, "post failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use crate::domain::SessionId;

    /// Answers 410 for the connections in `gone`, records everything, and tracks how many
    /// posts are in flight at once.
    #[derive(Default)]
    struct RecordingPusher {
        gone: HashSet<String>,
        posted: Mutex<Vec<String>>,
        closed: Mutex<Vec<String>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    #[async_trait]
    impl Pusher for RecordingPusher {
        async fn post(&self, connection: &ConnectionId, _payload: &[u8]) -> Result<Delivery> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.posted.lock().unwrap().push(connection.to_string());
            Ok(if self.gone.contains(connection.as_str()) {
                Delivery::Gone
            } else {
                Delivery::Delivered
            })
        }

        async fn close(&self, connection: &ConnectionId) -> Result<()> {
            self.closed.lock().unwrap().push(connection.to_string());
            Ok(())
        }
    }

    /// Connections in memory, keyed by id.
    #[derive(Default)]
    struct RecordingConnections {
        items: Mutex<HashMap<String, Connection>>,
    }

    #[async_trait]
    impl ConnectionStore for RecordingConnections {
        async fn put_connection(&self, connection: &Connection) -> Result<()> {
            self.items
                .lock()
                .unwrap()
                .insert(connection.connection_id.to_string(), connection.clone());
            Ok(())
        }
        async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>> {
            Ok(self.items.lock().unwrap().get(id.as_str()).cloned())
        }
        async fn touch_connection(&self, id: &ConnectionId, expires_at: i64) -> Result<bool> {
            Ok(self
                .items
                .lock()
                .unwrap()
                .get_mut(id.as_str())
                .map(|c| c.expires_at = expires_at)
                .is_some())
        }
        async fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
            self.items.lock().unwrap().remove(id.as_str());
            Ok(())
        }
        async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>> {
            let items = self.items.lock().unwrap();
            Ok(items
                .values()
                .filter(|c| c.user_id == *user)
                .map(|c| c.connection_id.clone())
                .collect())
        }
        async fn connections_of_session(
            &self,
            user: &UserId,
            session: &SessionId,
        ) -> Result<Vec<ConnectionId>> {
            let items = self.items.lock().unwrap();
            Ok(items
                .values()
                .filter(|c| c.user_id == *user && c.session_id.as_ref() == Some(session))
                .map(|c| c.connection_id.clone())
                .collect())
        }
    }

    fn caller(user: UserId, session: SessionId) -> Caller {
        Caller {
            user_id: user,
            session_id: session,
            roles: Default::default(),
        }
    }

    async fn connected(
        store: &RecordingConnections,
        caller: &Caller,
        count: usize,
        prefix: &str,
    ) -> Vec<ConnectionId> {
        let mut ids = Vec::new();
        for i in 0..count {
            let id = ConnectionId::parse(&format!("{prefix}{i}")).unwrap();
            connect(store, id.clone(), caller, Utc::now())
                .await
                .unwrap();
            ids.push(id);
        }
        ids
    }

    #[tokio::test]
    async fn fan_out_is_bounded_and_deletes_exactly_the_gone_connections() {
        let store = RecordingConnections::default();
        let user = caller(UserId::new(), SessionId::new());
        let ids = connected(&store, &user, 100, "c").await;
        let gone: HashSet<String> = ids.iter().step_by(10).map(|id| id.to_string()).collect();
        let pusher = RecordingPusher {
            gone: gone.clone(),
            ..Default::default()
        };

        let report = fan_out(&store, &pusher, &ids, b"{}").await.unwrap();

        assert_eq!(
            report,
            FanoutReport {
                delivered: 90,
                gone: 10,
                failed: 0
            }
        );
        assert_eq!(pusher.posted.lock().unwrap().len(), 100);
        assert!(pusher.max_in_flight.load(Ordering::SeqCst) <= FANOUT_CONCURRENCY);
        let left: HashSet<String> = store.items.lock().unwrap().keys().cloned().collect();
        assert!(left.is_disjoint(&gone));
        assert_eq!(left.len(), 90);
    }

    #[tokio::test]
    async fn closing_a_session_closes_only_its_own_connections() {
        let store = RecordingConnections::default();
        let user = UserId::new();
        let (laptop, phone) = (
            caller(user, SessionId::new()),
            caller(user, SessionId::new()),
        );
        let laptop_ids = connected(&store, &laptop, 2, "laptop").await;
        connected(&store, &phone, 1, "phone").await;
        let pusher = RecordingPusher::default();

        let closed = close_session(&store, &pusher, &user, &laptop.session_id)
            .await
            .unwrap();

        assert_eq!(closed, 2);
        let mut was_closed = pusher.closed.lock().unwrap().clone();
        was_closed.sort();
        assert_eq!(
            was_closed,
            laptop_ids
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(store.connections_of(&user).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_bad_message_is_answered_with_an_error_event_on_the_same_connection() {
        let store = RecordingConnections::default();
        let ids = connected(&store, &caller(UserId::new(), SessionId::new()), 1, "c").await;
        let pusher = RecordingPusher::default();
        handle_message(
            &store,
            &pusher,
            &ids[0],
            r#"{"action":"teleport","requestId":"r9"}"#,
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(*pusher.posted.lock().unwrap(), vec![ids[0].to_string()]);
        assert!(
            store.get_connection(&ids[0]).await.unwrap().is_some(),
            "the connection is kept"
        );
    }
}
