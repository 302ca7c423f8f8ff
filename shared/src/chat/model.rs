//! Chat rules: rooms, members, messages and reactions, and the validation of everything a
//! client sends about them. Pure: storage and delivery live in the store and the chat service.
//!
//! Limits are chosen for the transport, not for taste: a message travels in one WebSocket
//! frame (32 KB) and the send is one DynamoDB transaction (at most 100 actions), which bounds
//! the members of a room and the attachments of a message.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{FileId, MessageId, RoomId, UserId};
use crate::error::{Error, Result};

/// Longest message text, in characters (far below the 32 KB frame even in 4-byte UTF-8).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Most files attached to one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Most members of a room: the send transaction updates every member's counters, and
/// DynamoDB allows 100 actions per transaction (message, idempotency claim, room, reply
/// check and up to 10 attachments leave room for 80 members).
pub const MAX_MEMBERS: usize = 80;
/// Longest room name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Largest sequence number a room can reach: the by-sequence index key holds 15 digits (a
/// thousand messages a second for 31,000 years).
pub const MAX_SEQ: u64 = 999_999_999_999_999;
/// Most distinct (user, emoji) reactions on one message.
pub const MAX_REACTIONS: usize = 200;
/// Most pinned rooms per user: pins are listed in full on the first page.
pub const MAX_PINS: usize = 20;
/// Characters of text kept in a room's last-message preview.
pub const PREVIEW_CHARS: usize = 140;

/// What a room is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Two people; at most one such room per pair.
    Direct,
    /// Named, with an owner who manages members.
    Group,
    /// Tied to a job, booking or lead; at most one per subject.
    Subject,
}

/// The kind of marketplace object a subject room belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    /// A posted job.
    Job,
    /// A booking.
    Booking,
    /// A lead.
    Lead,
}

impl SubjectType {
    /// The name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Job => "job",
            Self::Booking => "booking",
            Self::Lead => "lead",
        }
    }
}

/// The marketplace object a room is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Kind of object.
    #[serde(rename = "type")]
    pub kind: SubjectType,
    /// Its id (1–64 letters, digits, `-` or `_`).
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
}

impl Subject {
    fn validate(&self) -> Result<()> {
        let ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(Error::field(
                "subject.id",
                "must be 1–64 letters, digits, '-' or '_'",
            ))
        }
    }
}

/// The latest message of a room, as shown in room lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePreview {
    /// Message id.
    pub id: MessageId,
    /// Sender.
    pub sender_id: UserId,
    /// Kind.
    pub kind: MessageKind,
    /// The start of the text.
    pub text: Option<String>,
    /// Number of attachments.
    pub attachments: usize,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// A room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    /// Id (ULID).
    pub id: RoomId,
    /// Kind.
    pub kind: RoomKind,
    /// Name (group and subject rooms).
    pub name: Option<String>,
    /// Avatar image (group rooms).
    pub avatar_file_id: Option<FileId>,
    /// The object a subject room is about.
    pub subject: Option<Subject>,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Latest message.
    pub last_message: Option<MessagePreview>,
    /// Latest message or creation.
    pub last_activity_at: DateTime<Utc>,
    /// Sequence of the newest message: the room's messages are numbered 1, 2, 3… in the
    /// order their sends committed, without gaps (0 before the first). Assigned by the
    /// committing write itself, so a message that commits later always has a higher number,
    /// whatever its id says.
    #[serde(default)]
    pub seq: u64,
    /// How many of those messages count as unread (all but system messages): a member's
    /// unread count is this minus their `readCounted`.
    #[serde(default)]
    pub counted: u64,
    /// Active members. Kept in the same transactions that add or remove members, so it caps
    /// the room at [`MAX_MEMBERS`] even under concurrent adds, and a send whose member list
    /// went stale fails its condition and reads the members again.
    #[serde(default)]
    pub member_count: u32,
}

/// A member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Manages the room's members and name.
    Owner,
    /// Takes part.
    Member,
}

/// One user's place in a room, and their reading state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Room.
    pub room_id: RoomId,
    /// User.
    pub user_id: UserId,
    /// Role.
    pub role: MemberRole,
    /// Kind of the room (lets presence find direct peers from memberships alone).
    pub room_kind: RoomKind,
    /// The other member of a direct room.
    pub peer_id: Option<UserId>,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// The newest message they have read.
    pub last_read_message_id: Option<MessageId>,
    /// When they read it.
    pub last_read_at: Option<DateTime<Utc>>,
    /// The newest message delivered to one of their devices.
    pub last_delivered_message_id: Option<MessageId>,
    /// Sequence of that message; only moves forward, in the order history shows.
    #[serde(default)]
    pub delivered_seq: u64,
    /// Sequence of the newest message they have read (sending reads up to one's own
    /// message); only moves forward.
    #[serde(default)]
    pub read_seq: u64,
    /// The room's `counted` at that message.
    #[serde(default)]
    pub read_counted: u64,
    /// Messages from others after the read one, in sequence order: the room's `counted`
    /// minus `readCounted` (own messages never count, as sending reads up to them). Worked
    /// out when read, never stored, so a send writes no recipient's item.
    #[serde(default, skip_deserializing)]
    pub unread: u32,
    /// Muted: events still arrive, but no offline notification and no badge count.
    #[serde(default)]
    pub muted: bool,
    /// Pinned: listed first.
    #[serde(default)]
    pub pinned: bool,
    /// When they left or were removed; a member who left sees nothing new. Absent (not
    /// `null`) while a member: write conditions test for the attribute's existence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<DateTime<Utc>>,
}

impl Room {
    /// A subject room of exactly two plain members, `people` (the first its creator): a
    /// booking's, or a job application's thread. Nobody adds a third person to it.
    pub fn pair(
        id: RoomId,
        subject: Subject,
        name: &str,
        people: [UserId; 2],
        now: DateTime<Utc>,
    ) -> (Room, [Member; 2]) {
        let room = Room {
            id,
            kind: RoomKind::Subject,
            name: Some(name.to_owned()),
            avatar_file_id: None,
            subject: Some(subject),
            created_by: people[0],
            created_at: now,
            last_message: None,
            last_activity_at: now,
            member_count: 2,
            seq: 0,
            counted: 0,
        };
        let members = people.map(|user| Member::new(&room, user, MemberRole::Member, None));
        (room, members)
    }
}

impl Member {
    /// A new member of `room`.
    pub fn new(room: &Room, user: UserId, role: MemberRole, peer: Option<UserId>) -> Self {
        Self {
            room_id: room.id,
            user_id: user,
            role,
            room_kind: room.kind,
            peer_id: peer,
            joined_at: room.created_at,
            last_read_message_id: None,
            last_read_at: None,
            last_delivered_message_id: None,
            delivered_seq: 0,
            // A newcomer has nothing unread: the count starts at the room's present.
            read_seq: room.seq,
            read_counted: room.counted,
            unread: 0,
            muted: false,
            pinned: false,
            left_at: None,
        }
    }

    /// Whether the member is in the room now.
    pub fn is_active(&self) -> bool {
        self.left_at.is_none()
    }

    /// The member with `unread` worked out against the room's present counters.
    pub fn with_unread(mut self, room: &Room) -> Self {
        self.unread = unread(room.counted, self.read_counted);
        self
    }
}

/// Messages from others after a read marker: the counting messages committed since, by
/// sequence. Saturates rather than wraps should a marker ever be ahead of a stale room read.
pub fn unread(room_counted: u64, read_counted: u64) -> u32 {
    u32::try_from(room_counted.saturating_sub(read_counted)).unwrap_or(u32::MAX)
}

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Text from a member.
    Text,
    /// Files from a member, with an optional caption.
    Attachment,
    /// Written by the server (members added or removed, room renamed); never unread.
    System,
}

/// A file attached to a message, as it was when sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// The file (download it with `GET /files/{id}`).
    pub file_id: FileId,
    /// Its name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// True when the owner has deleted the file since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// The users who reacted with one emoji.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// How many.
    pub count: usize,
    /// Who, in reaction order.
    pub user_ids: Vec<UserId>,
}

impl Message {
    /// Whether `user` reacted with `emoji`.
    pub fn has_reaction(&self, user: &UserId, emoji: &str) -> bool {
        self.reactions
            .iter()
            .any(|r| r.emoji == emoji && r.user_ids.contains(user))
    }
}

/// A message. Deleted messages stay as tombstones (`deletedAt` set, content removed) so
/// replies and history keep their place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id (ULID of when the send began; ids of concurrent sends need not follow the order
    /// they committed in — `seq` does).
    pub id: MessageId,
    /// Room.
    pub room_id: RoomId,
    /// Position in the room, 1, 2, 3… in commit order without gaps: a client that saw `n`
    /// and then receives `n + 2` knows it missed one and asks `afterSeq=n`.
    #[serde(default)]
    pub seq: u64,
    /// The room's `counted` once this message committed (marking it read sets the reader's
    /// `readCounted` to this).
    #[serde(default)]
    pub counted: u64,
    /// Sender.
    pub sender_id: UserId,
    /// Kind.
    pub kind: MessageKind,
    /// Text or caption.
    pub text: Option<String>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The message this one answers.
    pub reply_to: Option<MessageId>,
    /// The sender's idempotency id.
    pub client_message_id: Option<String>,
    /// Reactions, grouped by emoji.
    #[serde(default, skip_deserializing)]
    pub reactions: Vec<Reaction>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was deleted (absent, not `null`, until then: write conditions test for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Message {
    /// The preview shown in room lists.
    pub fn preview(&self) -> MessagePreview {
        MessagePreview {
            id: self.id,
            sender_id: self.sender_id,
            kind: self.kind,
            text: self
                .text
                .as_ref()
                .map(|t| t.chars().take(PREVIEW_CHARS).collect()),
            attachments: self.attachments.len(),
            created_at: self.created_at,
        }
    }

    /// Whether it raises the unread count of the other members.
    pub fn counts_as_unread(&self) -> bool {
        self.kind != MessageKind::System
    }
}

/// Groups stored reactions (`{userId}{emoji}` → time) by emoji, in the order they were given.
pub fn group_reactions(stored: &HashMap<String, DateTime<Utc>>) -> Vec<Reaction> {
    let mut entries: Vec<(&DateTime<Utc>, UserId, &str)> = stored
        .iter()
        .filter_map(|(key, at)| {
            let (user, emoji) = split_reaction_key(key)?;
            Some((at, user, emoji))
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    let mut order: Vec<&str> = Vec::new();
    let mut by_emoji: BTreeMap<&str, Vec<UserId>> = BTreeMap::new();
    for (_, user, emoji) in entries {
        let users = by_emoji.entry(emoji).or_default();
        if users.is_empty() {
            order.push(emoji);
        }
        users.push(user);
    }
    order
        .into_iter()
        .map(|emoji| {
            let user_ids = by_emoji.remove(emoji).unwrap_or_default();
            Reaction {
                emoji: emoji.to_owned(),
                count: user_ids.len(),
                user_ids,
            }
        })
        .collect()
}

/// The stored key of one user's reaction: user ids are fixed-length, so no separator is needed.
pub fn reaction_key(user: &UserId, emoji: &Emoji) -> String {
    format!("{user}{}", emoji.0)
}

fn split_reaction_key(key: &str) -> Option<(UserId, &str)> {
    let (user, emoji) = (key.get(..26)?, key.get(26..)?);
    Some((UserId::parse(user, "user").ok()?, emoji))
}

/// A reaction emoji: a short run of non-space, non-control characters (one emoji may be
/// several code points, e.g. skin tones and ZWJ sequences).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    /// Parses a path segment.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw.chars().count() <= 8
            && !raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c.is_ascii_punctuation());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::field("emoji", "must be one emoji"))
        }
    }

    /// The emoji.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who owns a room after `leaving` goes: the earliest-joined remaining member.
pub fn next_owner<'a>(members: &'a [Member], leaving: &UserId) -> Option<&'a Member> {
    let leaving_owns = members
        .iter()
        .any(|m| &m.user_id == leaving && m.role == MemberRole::Owner && m.is_active());
    if !leaving_owns {
        return None;
    }
    members
        .iter()
        .filter(|m| m.is_active() && &m.user_id != leaving)
        .min_by_key(|m| (m.joined_at, m.user_id))
}

/// `POST /rooms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreateRoom {
    /// Get or create the direct room with another user.
    Direct {
        /// The other user.
        #[serde(rename = "userId")]
        user_id: UserId,
    },
    /// Create a group owned by the caller.
    Group {
        /// Name (1–100 characters, trimmed).
        #[schema(pattern = "\\S", max_length = 100)]
        name: String,
        /// Avatar: one of the caller's ready profile or portfolio images.
        #[serde(rename = "avatarFileId")]
        avatar_file_id: Option<FileId>,
        /// Other members (the caller is added as owner).
        #[serde(rename = "memberIds", default)]
        #[schema(max_items = 79)]
        member_ids: Vec<UserId>,
    },
    /// Get or create the room of a job, booking or lead.
    Subject {
        /// The object.
        #[serde(deserialize_with = "crate::domain::object::object")]
        subject: Subject,
        /// Name (defaults to none).
        name: Option<String>,
        /// Other members (the caller is added as owner).
        #[serde(rename = "memberIds", default)]
        member_ids: Vec<UserId>,
    },
}

impl CreateRoom {
    /// Checks the request; returns the distinct other members.
    pub fn validate(&self, caller: &UserId) -> Result<Vec<UserId>> {
        let others = match self {
            Self::Direct { user_id } => {
                if user_id == caller {
                    return Err(Error::field(
                        "userId",
                        "cannot open a direct room with yourself",
                    ));
                }
                vec![*user_id]
            }
            Self::Group {
                name, member_ids, ..
            } => {
                validate_name(name)?;
                member_ids.clone()
            }
            Self::Subject {
                subject,
                name,
                member_ids,
            } => {
                subject.validate()?;
                if let Some(name) = name {
                    validate_name(name)?;
                }
                member_ids.clone()
            }
        };
        let mut others: Vec<UserId> = others.into_iter().filter(|u| u != caller).collect();
        others.sort();
        others.dedup();
        if others.len() + 1 > MAX_MEMBERS {
            return Err(Error::field(
                "memberIds",
                format!("a room has at most {MAX_MEMBERS} members"),
            ));
        }
        Ok(others)
    }
}

/// Checks a room name.
pub fn validate_name(name: &str) -> Result<()> {
    let chars = name.trim().chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::field(
            "name",
            format!("must be 1–{MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

/// `PATCH /rooms/{id}` (owner of a group or subject room).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomPatch {
    /// New name: 1–100 characters, trimmed.
    #[schema(pattern = "\\S", max_length = 100)]
    pub name: Option<String>,
    /// New avatar (`null` removes it).
    #[serde(default, deserialize_with = "crate::domain::user::present")]
    pub avatar_file_id: Option<Option<FileId>>,
}

/// `POST /rooms/{id}/members` (owner).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMembers {
    /// Users to add.
    #[schema(max_items = 79)]
    pub user_ids: Vec<UserId>,
}

/// `PATCH /rooms/{id}/membership`: the caller's own settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MembershipPatch {
    /// Mute the room.
    pub muted: Option<bool>,
    /// Pin the room.
    pub pinned: Option<bool>,
}

/// `POST /rooms/{id}/read` (also the `markRead` and `markDelivered` WebSocket actions).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadUpTo {
    /// The newest message seen.
    pub message_id: MessageId,
}

/// `POST /rooms/{id}/messages` (also the `sendMessage` WebSocket action).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessage {
    /// The client's id for this message (1–64 of `A-Za-z0-9._:-`): a retried send with the
    /// same id returns the first message instead of sending twice.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub client_message_id: String,
    /// Text (or caption with attachments), at most 4,000 characters. A message needs text or
    /// attachments.
    #[schema(max_length = 4000)]
    pub text: Option<String>,
    /// Ready files of the sender, at most 10, each once.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachments: Vec<FileId>,
    /// A message of the same room this one answers.
    pub reply_to: Option<MessageId>,
}

impl SendMessage {
    /// Checks the request and returns the kind and the normalised text.
    pub fn validate(&self) -> Result<(MessageKind, Option<String>)> {
        validate_client_id(&self.client_message_id)?;
        let text = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if let Some(text) = &text {
            validate_text(text)?;
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(Error::field(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} files"),
            ));
        }
        let mut distinct = self.attachments.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != self.attachments.len() {
            return Err(Error::field("attachments", "a file is attached twice"));
        }
        match (&text, self.attachments.is_empty()) {
            (None, true) => Err(Error::field("text", "a message needs text or attachments")),
            (_, false) => Ok((MessageKind::Attachment, text)),
            (Some(_), true) => Ok((MessageKind::Text, text)),
        }
    }
}

/// `PATCH /rooms/{id}/messages/{messageId}` (sender only).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditMessage {
    /// The new text: not blank, at most 4,000 characters.
    #[schema(pattern = "\\S", max_length = 4000)]
    pub text: String,
}

impl EditMessage {
    /// The normalised new text.
    pub fn validate(&self) -> Result<String> {
        let text = self.text.trim();
        if text.is_empty() {
            return Err(Error::field("text", "must not be empty"));
        }
        validate_text(text)?;
        Ok(text.to_owned())
    }
}

fn validate_text(text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::field(
            "text",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

fn validate_client_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::field(
            "clientMessageId",
            "must be 1–64 letters, digits or ._:-",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(text: Option<&str>, files: usize) -> SendMessage {
        SendMessage {
            client_message_id: "c-1".into(),
            text: text.map(str::to_owned),
            attachments: (0..files).map(|_| FileId::new()).collect(),
            reply_to: None,
        }
    }

    #[test]
    fn a_message_needs_text_or_files_within_limits() {
        assert_eq!(
            send(Some("  hi "), 0).validate().unwrap(),
            (MessageKind::Text, Some("hi".into()))
        );
        assert_eq!(send(None, 2).validate().unwrap().0, MessageKind::Attachment);
        let field = |r: Result<(MessageKind, Option<String>)>| match r {
            Err(Error::Validation { field, .. }) => field.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(send(Some("   "), 0).validate()), "text");
        assert_eq!(field(send(Some(&"é".repeat(4_001)), 0).validate()), "text");
        assert!(send(Some(&"é".repeat(4_000)), 0).validate().is_ok());
        assert_eq!(field(send(None, 11).validate()), "attachments");
        let mut bad_id = send(Some("x"), 0);
        bad_id.client_message_id = "has space".into();
        assert_eq!(field(bad_id.validate()), "clientMessageId");
    }

    #[test]
    fn unread_is_what_counted_since_the_marker_and_never_wraps() {
        assert_eq!(unread(7, 4), 3);
        assert_eq!(unread(4, 4), 0);
        // A marker read against a newer room than the one at hand.
        assert_eq!(unread(3, 4), 0);
    }

    #[test]
    fn room_requests_drop_the_caller_and_duplicates() {
        let me = UserId::new();
        let other = UserId::new();
        let request = CreateRoom::Group {
            name: "Kitchen".into(),
            avatar_file_id: None,
            member_ids: vec![other, me, other],
        };
        assert_eq!(request.validate(&me).unwrap(), vec![other]);
        assert!(CreateRoom::Direct { user_id: me }.validate(&me).is_err());
        let too_many = CreateRoom::Group {
            name: "Big".into(),
            avatar_file_id: None,
            member_ids: (0..MAX_MEMBERS).map(|_| UserId::new()).collect(),
        };
        assert!(too_many.validate(&me).is_err());
    }

    #[test]
    fn reactions_group_by_emoji_in_order_given() {
        let (ana, ben) = (UserId::new(), UserId::new());
        let thumbs = Emoji::parse("👍").unwrap();
        let heart = Emoji::parse("❤️").unwrap();
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let stored = HashMap::from([
            (reaction_key(&ben, &thumbs), t(3)),
            (reaction_key(&ana, &heart), t(2)),
            (reaction_key(&ana, &thumbs), t(1)),
        ]);
        let grouped = group_reactions(&stored);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].emoji, "👍");
        assert_eq!(grouped[0].user_ids, vec![ana, ben]);
        assert_eq!(grouped[1].count, 1);
    }

    #[test]
    fn emoji_rejects_text_and_separators() {
        assert!(Emoji::parse("👍🏽").is_ok());
        for bad in ["", "a b", "#", "/", "\n"] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
