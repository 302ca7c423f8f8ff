//! Storage ports: one narrow trait per aggregate, so services state exactly what they read and
//! write and unit tests can stand in a double for one concern. [`dynamo::DynamoStore`]
//! implements all of them on the single table.

pub mod dynamo;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::chat::{Emoji, Member, Message, Room, Subject};
use crate::domain::files::FileRecord;
use crate::domain::notify::{
    Device, Escalation, Kind, Notification, Preferences, Subscription, Target,
};
use crate::domain::{
    ConnectionId, Email, FileId, MessageId, NotificationId, ProfileChanges, RoomId, SessionId,
    User, UserId,
};
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

/// What makes a room unique.
#[derive(Clone, Debug)]
pub enum RoomClaim {
    /// The direct room of a pair.
    Direct(UserId, UserId),
    /// The room of a subject.
    Subject(Subject),
}

/// Everything the send transaction writes and checks.
#[derive(Debug)]
pub struct Append<'a> {
    /// The message, numbered: its `seq` must be the room's next (the write fails otherwise).
    pub message: &'a Message,
    /// Active members when read (must still be the room's count at write time).
    pub member_count: usize,
    /// Files to attach: each must be a ready file of the sender.
    pub files: &'a [FileId],
}

/// How the send transaction ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Written.
    Created,
    /// The sender's idempotency id was used before: nothing written.
    Duplicate,
    /// The room moved on since it was read (another message took the sequence number, or
    /// members joined or left): read it again and retry with the next number.
    RoomChanged,
    /// Another transaction touched the same items at the same moment: retry.
    Contended,
}

/// Which part of the history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryAnchor {
    /// The newest messages, newest first.
    Latest,
    /// Messages older than this one, newest first.
    Before(MessageId),
    /// Messages after this sequence number, in sequence order (catching up after a
    /// reconnect): the longest run without a gap, as the index may not have caught up.
    AfterSeq(u64),
}

/// A chat message none of a recipient's devices received.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfflineMessage {
    /// Who missed it.
    pub user_id: UserId,
    /// Room.
    pub room_id: RoomId,
    /// Message.
    pub message_id: MessageId,
    /// Sender.
    pub sender_id: UserId,
    /// Preview text.
    pub preview: Option<String>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// Chat messages some members missed, as recorded for the notifier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MissedMessages {
    /// One per member a message reached on no device.
    pub messages: Vec<OfflineMessage>,
}

/// Rooms, members and messages.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Creates a room with its members, and its claim if it has one; `false` when the claim
    /// was taken first (the caller then reads the winner with [`ChatStore::claimed_room`]).
    async fn create_room(
        &self,
        room: &Room,
        members: &[Member],
        claim: Option<&RoomClaim>,
    ) -> Result<bool>;
    /// The room holding a claim.
    async fn claimed_room(&self, claim: &RoomClaim) -> Result<Option<RoomId>>;
    /// A room.
    async fn get_room(&self, id: &RoomId) -> Result<Option<Room>>;
    /// Several rooms (missing ones are left out).
    async fn rooms(&self, ids: &[RoomId]) -> Result<Vec<Room>>;
    /// Renames a room or changes its avatar (`Some(None)` removes it).
    async fn update_room(
        &self,
        id: &RoomId,
        name: Option<&str>,
        avatar: Option<Option<FileId>>,
    ) -> Result<Room>;
    /// One member (also one who left).
    async fn get_member(&self, room: &RoomId, user: &UserId) -> Result<Option<Member>>;
    /// Every member of a room, also those who left (one strongly consistent query).
    async fn members(&self, room: &RoomId) -> Result<Vec<Member>>;
    /// A user's active memberships, most recently joined first (the room list orders them
    /// by the rooms' own activity).
    async fn memberships(
        &self,
        user: &UserId,
        limit: Option<u32>,
        after: Option<Position>,
    ) -> Result<Page<Member>>;
    /// One user's memberships of several rooms.
    async fn memberships_of(&self, user: &UserId, rooms: &[RoomId]) -> Result<Vec<Member>>;
    /// Adds (or re-adds) members, listed at the room's last activity; `false` (nothing
    /// written) when they would take the room over its member limit or a message committed
    /// after the sequence their read markers start at.
    async fn add_members(
        &self,
        room: &RoomId,
        members: &[Member],
        activity_ms: i64,
    ) -> Result<bool>;
    /// Marks a member as gone (and hands ownership on); `false` if they were not a member.
    async fn leave_room(
        &self,
        room: &RoomId,
        user: &UserId,
        now: DateTime<Utc>,
        new_owner: Option<&UserId>,
    ) -> Result<bool>;
    /// Changes a member's own settings; a pin is also listed in the user's partition.
    async fn set_membership(
        &self,
        room: &RoomId,
        user: &UserId,
        muted: Option<bool>,
        pinned: Option<bool>,
    ) -> Result<Option<Member>>;
    /// The rooms a user pinned.
    async fn pinned_rooms(&self, user: &UserId) -> Result<Vec<RoomId>>;
    /// Writes a message with the room's preview and next sequence number, and the sender's
    /// read marker, atomically.
    async fn append_message(&self, append: &Append<'_>) -> Result<AppendOutcome>;
    /// The message a sender's idempotency id was used for.
    async fn client_message(
        &self,
        room: &RoomId,
        sender: &UserId,
        client_id: &str,
    ) -> Result<Option<MessageId>>;
    /// One message.
    async fn get_message(&self, room: &RoomId, id: &MessageId) -> Result<Option<Message>>;
    /// One page of history; `true` when there is more in the same direction.
    async fn messages(
        &self,
        room: &RoomId,
        anchor: HistoryAnchor,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)>;
    /// Replaces the text of the sender's live message; `None` if it is not theirs or gone.
    async fn edit_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        sender: &UserId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>>;
    /// Turns the sender's message into a tombstone; `None` if it is not theirs or gone.
    async fn delete_message(
        &self,
        room: &RoomId,
        id: &MessageId,
        sender: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>>;
    /// Adds or removes one user's reaction; `None` if the message is gone or deleted.
    async fn react(
        &self,
        room: &RoomId,
        id: &MessageId,
        user: &UserId,
        emoji: &Emoji,
        add: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>>;
    /// Moves a member's read marker forward to `message` (which must carry its sequence);
    /// `false` if they are no member or already read that far.
    async fn mark_read(
        &self,
        room: &RoomId,
        user: &UserId,
        message: &Message,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Moves a member's delivered marker forward; `false` if it was not newer.
    async fn mark_delivered(
        &self,
        room: &RoomId,
        user: &UserId,
        message: &MessageId,
    ) -> Result<bool>;
    /// Records when a user went offline.
    async fn set_last_seen(&self, user: &UserId, at: DateTime<Utc>) -> Result<()>;
    /// When a user was last online.
    async fn last_seen(&self, user: &UserId) -> Result<Option<DateTime<Utc>>>;
}

/// The notifier port: where chat hands the recipients none of whose devices got a message.
/// Until notifications deliver them, the table implementation records each as due.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Hands over messages that reached none of their recipient's devices.
    async fn messages_missed(&self, due: &[OfflineMessage]) -> Result<()>;
}

/// How writing a notification ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// Written (with its escalation, if asked).
    Created,
    /// The producer's idempotency key was used before for this recipient: nothing written.
    Duplicate,
    /// Another write touched the same counters at the same moment: retry.
    Contended,
}

/// A user's inbox counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Unread notifications.
    #[serde(default)]
    pub unread: i64,
    /// When the user last looked at the list.
    pub seen_at: Option<DateTime<Utc>>,
}

/// One day's delivery counters for one kind and channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounters {
    /// The kind's name.
    pub kind: String,
    /// The channel's name.
    pub channel: String,
    /// Outcome → count.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Notifications, inbox counters, preferences, escalations and delivery statistics.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Writes a notification, its idempotency claim and the unread counter, and joins or opens
    /// its group's escalation due at `escalate_at`, atomically.
    async fn create_notification(
        &self,
        notification: &Notification,
        idempotency_key: &str,
        escalate_at: Option<DateTime<Utc>>,
    ) -> Result<Created>;
    /// Joins or opens the escalation of a notification after the fact (its live delivery
    /// reached no device).
    async fn escalate_later(&self, notification: &Notification, at: DateTime<Utc>) -> Result<()>;
    /// One notification.
    async fn get_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
    ) -> Result<Option<Notification>>;
    /// A page of the inbox, newest first.
    async fn notifications(
        &self,
        user: &UserId,
        unread_only: bool,
        kind: Option<Kind>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Notification>>;
    /// The inbox counters.
    async fn inbox(&self, user: &UserId) -> Result<Inbox>;
    /// Marks one notification read (and clicked); `false` if it was read already or is gone.
    async fn mark_read(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
        clicked: bool,
    ) -> Result<bool>;
    /// Records when the user last looked at the list.
    async fn mark_seen(&self, user: &UserId, now: DateTime<Utc>) -> Result<()>;
    /// Deletes a notification (keeping the unread counter exact); `false` if it is gone.
    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool>;
    /// A user's preferences (defaults when never set).
    async fn preferences(&self, user: &UserId) -> Result<Preferences>;
    /// Stores a user's preferences.
    async fn put_preferences(&self, user: &UserId, preferences: &Preferences) -> Result<()>;
    /// Escalations due at `now`, soonest first.
    async fn due_escalations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Escalation>>;
    /// A group's unread notifications from `since` on, oldest first.
    async fn unread_in_group(
        &self,
        user: &UserId,
        group: &str,
        since: &NotificationId,
    ) -> Result<Vec<Notification>>;
    /// Leases a due escalation to one sweep until `until` (overlapping sweeps or a retried
    /// invocation must not send twice; a crashed sweep's lease runs out and the next resumes);
    /// `false` if another sweep holds it or it changed.
    async fn lease_escalation(
        &self,
        escalation: &Escalation,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Moves an escalation to `due` with `attempts`; `false` if it changed meanwhile.
    async fn reschedule(
        &self,
        escalation: &Escalation,
        due: DateTime<Utc>,
        attempts: u32,
    ) -> Result<bool>;
    /// Closes an escalation whose notifications up to `handled` were dealt with. If more
    /// joined meanwhile, it stays open for those only, due at `next_due`.
    async fn close_escalation(
        &self,
        escalation: &Escalation,
        handled: &NotificationId,
        next_due: DateTime<Utc>,
    ) -> Result<()>;
    /// Registers a device to `user`, taking its token from whoever held it (one holder per
    /// token: the previous holder's registration is removed in the same transaction). Returns
    /// the previous holder when it was another user.
    async fn claim_device(&self, user: &UserId, device: &Device) -> Result<Option<UserId>>;
    /// A user's live connections and registered devices, in one read.
    async fn reach(&self, user: &UserId) -> Result<Reach>;
    /// Forgets `user`'s registration of a device: the removed one, if it existed, and whether
    /// nobody holds its token any more (only then may its platform endpoint be deleted).
    async fn release_device(&self, user: &UserId, id: &str) -> Result<Option<(Device, bool)>>;
    /// The delivery counters of one day (`YYYY-MM-DD`), per kind and channel.
    async fn delivery_stats(&self, day: &str) -> Result<Vec<DeliveryCounters>>;
    /// Adds `by` to one delivery outcome (`sent`, `failed`, `read`, `clicked`…) of a day.
    async fn count_delivery(
        &self,
        day: &str,
        kind: Kind,
        channel: &str,
        outcome: &str,
        by: u64,
    ) -> Result<()>;
    /// Creates or replaces a subscription.
    async fn put_subscription(&self, subscription: &Subscription) -> Result<()>;
    /// Deletes a subscription; `false` if there was none.
    async fn delete_subscription(&self, user: &UserId, target: &Target) -> Result<bool>;
    /// A page of a user's subscriptions, by target.
    async fn subscriptions_of(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Subscription>>;
    /// Up to `limit` subscribers of a target whose user id sorts after `after`, in user-id
    /// order (the order a fan-out's cursor moves in).
    async fn subscribers(
        &self,
        target: &Target,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<Subscription>>;
    /// Starts a fan-out under a producer's key, or returns where an earlier run got to.
    async fn fan_out_progress(
        &self,
        target: &Target,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<FanOutProgress>;
    /// Writes one batch of a fan-out (each notification, its recipient's unread counter and
    /// its escalation when due is set) and moves the cursor from `from` to `to` in the same
    /// transaction; `false` when the cursor was no longer at `from` (another run wrote the
    /// batch). `last` marks the fan-out done.
    async fn write_fan_out_batch(
        &self,
        target: &Target,
        idempotency_key: &str,
        cursor: FanOutCursor<'_>,
        batch: &[(Notification, Option<DateTime<Utc>>)],
    ) -> Result<bool>;
}

/// How a user can be reached right now.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Open connections (expired ones skipped).
    pub connections: Vec<ConnectionId>,
    /// Registered push devices.
    pub devices: Vec<Device>,
}

/// Where a fan-out got to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOutProgress {
    /// The last subscriber written (absent before the first batch).
    #[serde(default)]
    pub cursor: Option<UserId>,
    /// Every subscriber was written.
    #[serde(default)]
    pub done: bool,
    /// Notifications written so far.
    #[serde(default)]
    pub created: u64,
}

/// How one fan-out batch moves the cursor.
#[derive(Clone, Copy, Debug)]
pub struct FanOutCursor<'a> {
    /// Where the batch starts (the previous batch's last subscriber).
    pub from: Option<&'a UserId>,
    /// The batch's last subscriber.
    pub to: Option<&'a UserId>,
    /// No subscriber comes after this batch.
    pub last: bool,
}
