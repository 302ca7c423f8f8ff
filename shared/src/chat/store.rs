//! Storage ports of chat: rooms, members, messages, and missed-message hand-off.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::model::{Emoji, Member, Message, Room, Subject};
use crate::cursor::Position;
use crate::domain::{FileId, MessageId, RoomId, UserId};
use crate::error::Result;
use crate::store::*;

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
    /// Another message took the sequence number. The room as the failed write found it,
    /// when the store could tell: a send whose members are unchanged renumbers from it
    /// without reading the room again.
    Overtaken(Option<RoomHead>),
    /// The room moved on in another way (members joined or left, the sender left): read it
    /// again and retry with the next number.
    RoomChanged,
    /// Another transaction touched the same items at the same moment: retry.
    Contended,
}

/// The part of a room a send numbers its message from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomHead {
    /// The newest sequence number.
    #[serde(default)]
    pub seq: u64,
    /// Messages that count as unread, up to `seq`.
    #[serde(default)]
    pub counted: u64,
    /// Active members.
    #[serde(default)]
    pub member_count: usize,
}

/// Which part of the history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryAnchor {
    /// The newest messages, newest first.
    Latest,
    /// Messages before this sequence number, newest first (older pages).
    BeforeSeq(u64),
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
    /// Moves a member's delivered marker forward to `message` (by its sequence); `false` if
    /// they are no member or it was not newer.
    async fn mark_delivered(&self, room: &RoomId, user: &UserId, message: &Message)
    -> Result<bool>;
    /// Records when a user went offline.
    async fn set_last_seen(&self, user: &UserId, at: DateTime<Utc>) -> Result<()>;
    /// When a user was last online.
    async fn last_seen(&self, user: &UserId) -> Result<Option<DateTime<Utc>>>;
}
