//! WebSocket connection bookkeeping and fan-out.
//!
//! A connection is registered on `$connect` with a TTL of the gateway's two-hour maximum plus a
//! margin, so one whose `$disconnect` never fires disappears by itself; a `ping` pushes the TTL
//! out. Fan-out reads a user's connections from the index (never a Scan), posts with bounded
//! concurrency, and deletes exactly the connections that answer 410.

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::{Delivery, Pusher};
use crate::auth::Caller;
use crate::chat::model::{Message, Reaction, Room};
use crate::domain::{ConnectionId, FileId, MessageId, RoomId, SessionId, User, UserId};
use crate::error::{Error, ErrorBody, Result};
use crate::notifications::model::Notification;
use crate::realtime::store::{Connection, ConnectionStore};

/// API Gateway closes a connection after 2 h; the margin covers clock skew and TTL lag.
pub const CONNECTION_TTL_SECS: i64 = 2 * 3600 + 10 * 60;
/// Posts in flight at once during a fan-out.
pub const FANOUT_CONCURRENCY: usize = 32;

/// A message a client sends over the WebSocket (`action` selects the kind). Every action may
/// carry a `requestId`, echoed in the `error` event if it fails. At most 32 KiB of JSON: a
/// larger message is answered with an `error` event, code `payload_too_large`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Keeps the connection (and its registration) alive; answered by `pong`.
    #[serde(rename_all = "camelCase")]
    Ping {
        /// Echoed in the answer, to match it to this request.
        request_id: Option<String>,
    },
    /// Sends a chat message (as `POST /rooms/{id}/messages`); every member's connections,
    /// this one included, receive `message.new`.
    #[serde(rename_all = "camelCase")]
    SendMessage {
        /// Echoed in an `error` event.
        request_id: Option<String>,
        /// The room.
        room_id: RoomId,
        /// The client's idempotency id.
        client_message_id: String,
        /// Text or caption.
        text: Option<String>,
        /// Ready files of the sender.
        #[serde(default)]
        attachments: Vec<FileId>,
        /// The message answered.
        reply_to: Option<MessageId>,
    },
    /// The user started or stopped typing; other members receive `typing.start`/`typing.stop`.
    #[serde(rename_all = "camelCase")]
    Typing {
        /// Echoed in an `error` event.
        request_id: Option<String>,
        /// The room.
        room_id: RoomId,
        /// Started or stopped.
        state: TypingState,
    },
    /// The user has read up to a message; members receive a `receipt` (read).
    #[serde(rename_all = "camelCase")]
    MarkRead {
        /// Echoed in an `error` event.
        request_id: Option<String>,
        /// The room.
        room_id: RoomId,
        /// The newest message read.
        message_id: MessageId,
    },
    /// A message reached this device; members receive a `receipt` (delivered).
    #[serde(rename_all = "camelCase")]
    MarkDelivered {
        /// Echoed in an `error` event.
        request_id: Option<String>,
        /// The room.
        room_id: RoomId,
        /// The newest message received.
        message_id: MessageId,
    },
}

impl ClientMessage {
    /// The client's request id.
    pub fn request_id(&self) -> Option<String> {
        match self {
            Self::Ping { request_id }
            | Self::SendMessage { request_id, .. }
            | Self::Typing { request_id, .. }
            | Self::MarkRead { request_id, .. }
            | Self::MarkDelivered { request_id, .. } => request_id.clone(),
        }
    }
}

/// Typing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    /// Started typing.
    Start,
    /// Stopped.
    Stop,
}

/// Which receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// Reached one of the member's devices.
    Delivered,
    /// Read by the member.
    Read,
}

/// Online or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// At least one open connection.
    Online,
    /// None.
    Offline,
}

/// Why a room changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomChange {
    /// Created (or joined for the first time).
    Created,
    /// Renamed or new avatar.
    Updated,
    /// Members added (`userIds`).
    MembersAdded,
    /// Members left or were removed (`userIds`); they receive this event too.
    MembersRemoved,
}

/// An event the server pushes to clients (`type` selects the kind). Room events go to every
/// open connection of every member of the room, and to nobody else.
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
    /// A new message (also to the sender's devices; match it by `clientMessageId`).
    #[serde(rename = "message.new")]
    MessageNew {
        /// The message.
        message: Message,
    },
    /// A message was edited.
    #[serde(rename = "message.updated")]
    MessageUpdated {
        /// The message.
        message: Message,
    },
    /// A message was deleted: the tombstone.
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        /// The tombstone.
        message: Message,
    },
    /// The reactions of a message changed.
    #[serde(rename = "reaction.updated", rename_all = "camelCase")]
    ReactionUpdated {
        /// Room.
        room_id: RoomId,
        /// Message.
        message_id: MessageId,
        /// All its reactions now.
        reactions: Vec<Reaction>,
    },
    /// A member started typing; forget it after `expiresInSecs` without a new one.
    #[serde(rename = "typing.start", rename_all = "camelCase")]
    TypingStart {
        /// Room.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// How long the indicator lives.
        expires_in_secs: u32,
    },
    /// A member stopped typing.
    #[serde(rename = "typing.stop", rename_all = "camelCase")]
    TypingStop {
        /// Room.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
    },
    /// A member's delivered or read marker moved.
    #[serde(rename = "receipt", rename_all = "camelCase")]
    Receipt {
        /// Room.
        room_id: RoomId,
        /// Whose marker.
        user_id: UserId,
        /// Which marker.
        kind: ReceiptKind,
        /// Up to this message.
        message_id: MessageId,
        /// Its sequence number in the room.
        seq: u64,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user you share a direct room with came online or went offline.
    #[serde(rename = "presence", rename_all = "camelCase")]
    Presence {
        /// Who.
        user_id: UserId,
        /// Now.
        status: PresenceStatus,
        /// When they were last online (on `offline`).
        last_seen_at: Option<DateTime<Utc>>,
    },
    /// A room was created, renamed, or its members changed.
    #[serde(rename = "room.updated", rename_all = "camelCase")]
    RoomUpdated {
        /// The room now.
        room: Room,
        /// What happened.
        change: RoomChange,
        /// The users added or removed.
        user_ids: Vec<UserId>,
    },
    /// A new in-app notification.
    #[serde(rename = "notification.new")]
    NotificationNew {
        /// The notification.
        notification: Notification,
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

/// Handles the actions of [`ClientMessage`] other than `ping` (the chat service does).
#[async_trait::async_trait]
pub trait Actions: Send + Sync {
    /// Handles one action of `caller`, sent on `connection`, to be answered before
    /// `deadline` (the invocation's end, when known).
    async fn act(
        &self,
        caller: &Caller,
        connection: &ConnectionId,
        message: ClientMessage,
        now: DateTime<Utc>,
        deadline: Option<Instant>,
    ) -> Result<()>;
}

impl ServerEvent {
    /// The event as sent.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
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

/// Largest client message handled, in bytes. API Gateway delivers messages of up to 128 KB
/// (sent in frames of at most 32 KB); anything over this is answered with a
/// `payload_too_large` error event rather than dropped, so the client always hears back.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// The `requestId` of a message we cannot otherwise read, when it has one.
fn request_id_of(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        request_id: Option<String>,
    }
    serde_json::from_str::<Envelope>(body)
        .ok()
        .and_then(|e| e.request_id)
}

/// Handles one client message. `ping` is answered here; other actions go to `actions`. A bad
/// or failing message is answered with an `error` event on the same connection: a client bug
/// must not cost the user their connection.
#[instrument(skip_all, fields(connection_id = %connection_id))]
#[allow(clippy::too_many_arguments)]
pub async fn handle_message(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    actions: &dyn Actions,
    connection_id: &ConnectionId,
    caller: Option<&Caller>,
    body: &str,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<()> {
    let reply = if body.len() > MAX_MESSAGE_BYTES {
        warn!(bytes = body.len(), "message too large");
        error_event(
            request_id_of(body),
            &Error::PayloadTooLarge {
                limit: MAX_MESSAGE_BYTES,
            },
        )
    } else {
        match reply_to(
            connections,
            actions,
            connection_id,
            caller,
            body,
            now,
            deadline,
        )
        .await?
        {
            Some(reply) => reply,
            None => return Ok(()),
        }
    };
    if pusher.post(connection_id, &reply.to_bytes()?).await? == Delivery::Gone {
        connections.delete_connection(connection_id).await?;
    }
    Ok(())
}

/// Handles one message of a size we accept; `None` when it needs no reply of its own (an
/// action answers through its own events).
async fn reply_to(
    connections: &dyn ConnectionStore,
    actions: &dyn Actions,
    connection_id: &ConnectionId,
    caller: Option<&Caller>,
    body: &str,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<Option<ServerEvent>> {
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
        Ok(message) => {
            let request_id = message.request_id();
            let result = match caller {
                Some(caller) => {
                    actions
                        .act(caller, connection_id, message, now, deadline)
                        .await
                }
                None => Err(Error::Unauthorized(
                    "connection has no caller; reconnect".into(),
                )),
            };
            match result {
                Ok(()) => return Ok(None),
                Err(err) => {
                    if err.status() >= 500 {
                        warn!(error = ?err, "action failed");
                    }
                    error_event(request_id, &err)
                }
            }
        }
        Err(err) => error_event(
            request_id_of(body),
            &Error::BadRequest(format!("unsupported message: {err}")),
        ),
    };
    Ok(Some(reply))
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
    /// The users at least one of whose connections accepted the post.
    pub reached: BTreeSet<UserId>,
}

/// Sends `event` to every open connection of `user`.
pub async fn send_to_user(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    user: &UserId,
    event: &ServerEvent,
) -> Result<FanoutReport> {
    send_to_users(connections, pusher, std::slice::from_ref(user), event).await
}

/// Sends `event` to every open connection of each of `users`.
pub async fn send_to_users(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    users: &[UserId],
    event: &ServerEvent,
) -> Result<FanoutReport> {
    let targets = connections_of_users(connections, users).await?;
    fan_out(connections, pusher, &targets, &event.to_bytes()?).await
}

/// The open connections of each of `users`, read concurrently from the per-user index.
pub async fn connections_of_users(
    connections: &dyn ConnectionStore,
    users: &[UserId],
) -> Result<Vec<(UserId, ConnectionId)>> {
    // Owned items: closures over borrowed items are not general enough for `Send` futures
    // boxed by `async_trait` callers.
    let mut reads = futures::stream::iter(users.iter().copied())
        .map(|user| async move { (user, connections.connections_of(&user).await) })
        .buffer_unordered(FANOUT_CONCURRENCY);
    let mut targets = Vec::new();
    while let Some((user, found)) = reads.next().await {
        targets.extend(found?.into_iter().map(|id| (user, id)));
    }
    Ok(targets)
}

/// Posts `payload` to every connection in `targets`, at most [`FANOUT_CONCURRENCY`] at once.
#[instrument(skip_all, fields(targets = targets.len()))]
pub async fn fan_out(
    connections: &dyn ConnectionStore,
    pusher: &dyn Pusher,
    targets: &[(UserId, ConnectionId)],
    payload: &[u8],
) -> Result<FanoutReport> {
    let mut outcomes = futures::stream::iter(targets.iter().cloned())
        .map(|(user, id)| async move {
            let outcome = match pusher.post(&id, payload).await {
                Ok(Delivery::Gone) => connections
                    .delete_connection(&id)
                    .await
                    .map(|()| Delivery::Gone),
                other => other,
            };
            (user, id, outcome)
        })
        .buffer_unordered(FANOUT_CONCURRENCY);
    let mut report = FanoutReport::default();
    while let Some((user, id, outcome)) = outcomes.next().await {
        match outcome {
            Ok(Delivery::Delivered) => {
                report.delivered += 1;
                report.reached.insert(user);
            }
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
        payloads: Mutex<Vec<Vec<u8>>>,
        closed: Mutex<Vec<String>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    #[async_trait]
    impl Pusher for RecordingPusher {
        async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> Result<Delivery> {
            self.payloads.lock().unwrap().push(payload.to_vec());
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

    struct NoActions;

    #[async_trait]
    impl Actions for NoActions {
        async fn act(
            &self,
            _: &Caller,
            _: &ConnectionId,
            _: ClientMessage,
            _: DateTime<Utc>,
            _: Option<Instant>,
        ) -> Result<()> {
            Err(Error::Forbidden("no actions here".into()))
        }
    }

    #[tokio::test]
    async fn a_failing_action_is_answered_with_an_error_event_carrying_its_request_id() {
        let store = RecordingConnections::default();
        let who = caller(UserId::new(), SessionId::new());
        let ids = connected(&store, &who, 1, "c").await;
        let body = format!(
            r#"{{"action":"markRead","requestId":"r1","roomId":"{}","messageId":"{}"}}"#,
            RoomId::new(),
            MessageId::new()
        );
        let event = only_answer(&store, &who, &ids[0], &body).await;
        assert_eq!(event["type"], "error");
        assert_eq!(event["requestId"], "r1");
        assert_eq!(event["error"]["code"], "forbidden");
    }

    /// Handles `body` from `who` on `connection` (no actions available) and returns the one
    /// event posted back to that connection.
    async fn only_answer(
        store: &RecordingConnections,
        who: &Caller,
        connection: &ConnectionId,
        body: &str,
    ) -> serde_json::Value {
        let pusher = RecordingPusher::default();
        handle_message(
            store,
            &pusher,
            &NoActions,
            connection,
            Some(who),
            body,
            Utc::now(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(*pusher.posted.lock().unwrap(), vec![connection.to_string()]);
        let sent = pusher.payloads.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "answered once");
        serde_json::from_slice(&sent[0]).unwrap()
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

        let targets: Vec<_> = ids.iter().map(|id| (user.user_id, id.clone())).collect();
        let report = fan_out(&store, &pusher, &targets, b"{}").await.unwrap();

        assert_eq!(
            report,
            FanoutReport {
                delivered: 90,
                gone: 10,
                failed: 0,
                reached: BTreeSet::from([user.user_id]),
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
            &NoActions,
            &ids[0],
            None,
            r#"{"action":"teleport","requestId":"r9"}"#,
            Utc::now(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(*pusher.posted.lock().unwrap(), vec![ids[0].to_string()]);
        assert!(
            store.get_connection(&ids[0]).await.unwrap().is_some(),
            "the connection is kept"
        );
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_answered_with_payload_too_large_and_its_request_id() {
        let store = RecordingConnections::default();
        let who = caller(UserId::new(), SessionId::new());
        let ids = connected(&store, &who, 1, "c").await;
        // Just over the limit, and far over it (the gateway delivers up to 128 KB).
        for size in [MAX_MESSAGE_BYTES + 1, 100 * 1024] {
            let head = format!(
                r#"{{"action":"sendMessage","requestId":"big","roomId":"{}","text":""#,
                RoomId::new()
            );
            let body = format!("{head}{}\"}}", "x".repeat(size - head.len() - 2));
            assert_eq!(body.len(), size);
            let event = only_answer(&store, &who, &ids[0], &body).await;
            assert_eq!(event["type"], "error", "{size} bytes");
            assert_eq!(event["requestId"], "big");
            assert_eq!(event["error"]["code"], "payload_too_large");
        }
        // Unreadable and too large: still answered, without a request id.
        let junk = "{".repeat(MAX_MESSAGE_BYTES + 1);
        let event = only_answer(&store, &who, &ids[0], &junk).await;
        assert_eq!(event["error"]["code"], "payload_too_large");
        assert!(event.get("requestId").is_none_or(|v| v.is_null()));
    }
}
