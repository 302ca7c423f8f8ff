//! Every key string of the single table, built here and nowhere else, from typed ids. The
//! tests below pin the exact strings: changing one is a data migration, not a refactor.

use crate::chat::model::Subject;
use crate::domain::{
    ConnectionId, Email, FileId, MessageId, NotificationId, RoomId, SessionId, UserId,
};
use crate::notifications::model::Target;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// Partition key of index `GSI1`.
pub const GSI1PK: &str = "GSI1PK";
/// Sort key of index `GSI1`.
pub const GSI1SK: &str = "GSI1SK";
/// Name of the index over `GSI1PK`/`GSI1SK`.
pub const GSI1: &str = "GSI1";
/// Attribute naming the entity of an item.
pub const ENTITY_TYPE: &str = "entity_type";
/// The table's TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";

/// A primary key (or an index key pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Partition part.
    pub pk: String,
    /// Sort part.
    pub sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

/// A user's profile.
pub fn user(id: &UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}

/// The claim that an address belongs to one user.
pub fn email_claim(email: &Email) -> Key {
    key(format!("EMAIL#{email}"), "EMAIL")
}

/// The pending sign-in code of an address.
pub fn otp(email: &Email) -> Key {
    key(format!("OTP#{email}"), "OTP")
}

/// A session (refresh-token family).
pub fn session(id: &SessionId) -> Key {
    key(format!("SESSION#{id}"), "SESSION")
}

/// `GSI1` keys listing a user's sessions in creation order.
pub fn session_by_user(user: &UserId, id: &SessionId) -> Key {
    key(format!("USER#{user}"), format!("{SESSION_PREFIX}{id}"))
}

/// `GSI1SK` prefix of a user's sessions.
pub const SESSION_PREFIX: &str = "SESSION#";

/// One fixed window of a rate limit.
pub fn rate_window(scope: &str, subject: &str, window_start: i64) -> Key {
    key(
        format!("RATE#{scope}#{subject}"),
        format!("WINDOW#{window_start}"),
    )
}

/// An open WebSocket connection.
pub fn connection(id: &ConnectionId) -> Key {
    key(format!("CONN#{id}"), "CONN")
}

/// `GSI1` keys listing a user's open connections.
pub fn connection_by_user(user: &UserId, id: &ConnectionId) -> Key {
    key(format!("USER#{user}"), format!("{CONNECTION_PREFIX}{id}"))
}

/// `GSI1SK` prefix of a user's connections.
pub const CONNECTION_PREFIX: &str = "CONN#";

/// `GSI1PK` of everything listed per user.
pub fn user_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// A file's record.
pub fn file(id: &FileId) -> Key {
    key(format!("FILE#{id}"), "FILE")
}

/// `GSI1` keys of a file whose upload is not complete yet. The index is sparse: completing
/// the upload removes these attributes, so the cleanup job reads only stale pending uploads,
/// oldest first (file ids are time-ordered), never the table.
pub fn pending_upload(id: &FileId) -> Key {
    key(PENDING_UPLOADS.to_owned(), format!("{FILE_PREFIX}{id}"))
}

/// `GSI1PK` of pending uploads.
pub const PENDING_UPLOADS: &str = "UPLOADS#PENDING";
/// `GSI1SK` prefix of pending uploads.
pub const FILE_PREFIX: &str = "FILE#";

/// Where the presigned form puts a file's bytes: a staging key under its owner's prefix, named
/// by the server. Nothing is ever downloaded from here: the form can still overwrite it until
/// it expires, so only the copy completion made after checking it is served.
pub fn upload_staging(owner: &UserId, id: &FileId) -> String {
    format!("{UPLOAD_STAGING_PREFIX}{owner}/{id}")
}

/// S3 prefix of staged uploads (the lifecycle rule and upload permissions name it too).
pub const UPLOAD_STAGING_PREFIX: &str = "uploads/";

/// Where a checked file lives: written only by completion's conditional copy of the exact
/// object it checked, and the only key download links are signed for.
pub fn stored_file(owner: &UserId, id: &FileId) -> String {
    format!("{STORED_FILE_PREFIX}{owner}/{id}")
}

/// S3 prefix of checked files.
pub const STORED_FILE_PREFIX: &str = "files/";

/// A chat room's own item.
pub fn room(id: &RoomId) -> Key {
    key(room_partition(id), "ROOM")
}

/// The partition holding a room, its members and its messages, so one query reads the
/// members and another pages the history.
pub fn room_partition(id: &RoomId) -> String {
    format!("ROOM#{id}")
}

/// One member of a room.
pub fn member(room: &RoomId, user: &UserId) -> Key {
    key(room_partition(room), format!("{MEMBER_PREFIX}{user}"))
}

/// `SK` prefix of a room's members.
pub const MEMBER_PREFIX: &str = "MEMBER#";

/// `GSI1` keys listing a user's rooms (milliseconds, zero-padded so the strings sort as
/// numbers): written when they join, at the room's activity then. Sends do not rewrite them —
/// that cost four write units per member and message — so the room list orders the rooms by
/// their own `lastActivityAt` instead.
pub fn member_by_user(user: &UserId, activity_ms: i64, room: &RoomId) -> Key {
    key(
        user_partition(user),
        format!("{ROOM_ACTIVITY_PREFIX}{:015}#{room}", activity_ms.max(0)),
    )
}

/// `GSI1SK` prefix of a user's rooms.
pub const ROOM_ACTIVITY_PREFIX: &str = "ROOM#";

/// One message of a room.
pub fn message(room: &RoomId, id: &MessageId) -> Key {
    key(room_partition(room), format!("{MESSAGE_PREFIX}{id}"))
}

/// `SK` prefix of a room's messages.
pub const MESSAGE_PREFIX: &str = "MSG#";

/// `GSI1` keys of a message by its sequence in the room (zero-padded to 15 digits so the
/// strings sort as numbers): resuming after sequence `n` reads the index from `n + 1`, in
/// commit order, which message ids (taken before the commit) cannot promise.
pub fn message_by_seq(room: &RoomId, seq: u64) -> Key {
    key(room_partition(room), format!("{SEQ_PREFIX}{seq:015}"))
}

/// `GSI1SK` prefix of a room's messages by sequence.
pub const SEQ_PREFIX: &str = "SEQ#";

/// The claim of a sender's idempotency id in a room: written in the send transaction, so a
/// retried send finds it and returns the first message.
pub fn client_message(room: &RoomId, sender: &UserId, client_id: &str) -> Key {
    key(
        room_partition(room),
        format!("CLIENTMSG#{sender}#{client_id}"),
    )
}

/// The claim making a direct room unique per pair (order of the two users does not matter).
pub fn direct_room(a: &UserId, b: &UserId) -> Key {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    key(format!("DIRECT#{low}#{high}"), "DIRECT")
}

/// The claim making a subject room unique per subject.
pub fn subject_room(subject: &Subject) -> Key {
    key(
        format!("SUBJECT#{}#{}", subject.kind.as_str(), subject.id),
        "SUBJECT",
    )
}

/// A user's pin of a room (in the user's partition: listing pins is one query).
pub fn pin(user: &UserId, room: &RoomId) -> Key {
    key(user_partition(user), format!("{PIN_PREFIX}{room}"))
}

/// `SK` prefix of a user's pins.
pub const PIN_PREFIX: &str = "PIN#";

/// When a user was last seen online.
pub fn presence(user: &UserId) -> Key {
    key(user_partition(user), "PRESENCE")
}

/// One in-app notification, in its recipient's partition (the inbox is one query).
pub fn notification(user: &UserId, id: &NotificationId) -> Key {
    key(user_partition(user), format!("{NOTIFICATION_PREFIX}{id}"))
}

/// `SK` prefix of a user's notifications.
pub const NOTIFICATION_PREFIX: &str = "NOTIF#";

/// A user's inbox counters (unread, last seen).
pub fn inbox(user: &UserId) -> Key {
    key(user_partition(user), "INBOX")
}

/// A user's notification preferences.
pub fn notification_preferences(user: &UserId) -> Key {
    key(user_partition(user), "NOTIFPREFS")
}

/// The claim of a producer's idempotency key for one recipient: written with the
/// notification, so producing the same key twice notifies once.
pub fn notification_claim(user: &UserId, idempotency_key: &str) -> Key {
    key(format!("NOTIFKEY#{user}#{idempotency_key}"), "NOTIFKEY")
}

/// The pending escalation of a user's notifications of one digest group: one item per group
/// collects a burst, so a burst becomes one SMS/email.
pub fn escalation(user: &UserId, group: &str) -> Key {
    key(format!("ESC#{user}#{group}"), "ESC")
}

/// `GSI1` keys of a pending escalation, by due time: the sweep reads only what is due.
pub fn escalation_due(due_ms: i64, user: &UserId, group: &str) -> Key {
    key(
        ESCALATIONS.to_owned(),
        format!("{:015}#{user}#{group}", due_ms.max(0)),
    )
}

/// `GSI1PK` of pending escalations.
pub const ESCALATIONS: &str = "ESCALATE";

/// A user's registered device, by the digest of its token.
pub fn device(user: &UserId, id: &str) -> Key {
    key(user_partition(user), format!("{DEVICE_PREFIX}{id}"))
}

/// Who holds a push token now: one item per token (by the digest that is also the device id),
/// so a token belongs to one user at a time and its platform endpoint is deleted only when its
/// holder lets go of it.
pub fn push_token(id: &str) -> Key {
    key(format!("{PUSH_TOKEN_PREFIX}{id}"), PUSH_TOKEN_PREFIX)
}

/// `PK` prefix (and `SK`) of push-token holder items.
pub const PUSH_TOKEN_PREFIX: &str = "PUSHTOKEN#";

/// `SK` prefix of a user's devices (also their `GSI1SK` prefix).
pub const DEVICE_PREFIX: &str = "DEVICE#";

/// `GSI1` keys of a user's device, beside their connections: `CONN#…` and `DEVICE#…` are
/// adjacent in the user's index partition, so one query reads how to reach them live and by
/// push.
pub fn device_by_user(user: &UserId, id: &str) -> Key {
    key(user_partition(user), format!("{DEVICE_PREFIX}{id}"))
}

/// Sorts right after every `DEVICE#…` key: the end of a user's reach range.
pub const REACH_END: &str = "DEVICE$";

/// Delivery counters of one day, per kind and channel.
pub fn delivery_stats(day: &str, kind: &str, channel: &str) -> Key {
    key(format!("STATS#{day}"), format!("{kind}#{channel}"))
}

/// The record of a chat message some members missed: written by the send, read once by the
/// stream-triggered notifier (and expired a day later).
pub fn missed_messages(message: &MessageId) -> Key {
    key(format!("MISSED#{message}"), "MISSED")
}

/// A subscription, in its target's partition: a fan-out reads the subscribers of one target
/// in user-id order, which is also the order its progress cursor moves in.
pub fn subscription(target: &Target, user: &UserId) -> Key {
    key(
        fan_out_partition(target),
        format!("{SUBSCRIBER_PREFIX}{user}"),
    )
}

/// The partition of a target's subscribers.
pub fn fan_out_partition(target: &Target) -> String {
    format!("SUBS#{target}")
}

/// `SK` prefix of a target's subscribers.
pub const SUBSCRIBER_PREFIX: &str = "SUB#";

/// `GSI1` keys of a subscription, in its subscriber's partition (the user's own list).
pub fn subscription_by_user(user: &UserId, target: &Target) -> Key {
    key(
        user_partition(user),
        format!("{SUBSCRIPTION_PREFIX}{target}"),
    )
}

/// `GSI1SK` prefix of a user's subscriptions.
pub const SUBSCRIPTION_PREFIX: &str = "SUBSCRIPTION#";

/// The progress of one fan-out to a target's subscribers under a producer's idempotency key:
/// every batch moves its cursor in the batch's own transaction, so a batch is written once
/// even when a retry or a second runner races it.
pub fn fan_out(target: &Target, idempotency_key: &str) -> Key {
    key(format!("FANOUT#{target}#{idempotency_key}"), "FANOUT")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const SESSION: &str = "01JD0000000000000000000002";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
    }

    #[test]
    fn user_keys_are_pinned() {
        assert_eq!(
            user(&user_id()),
            Key {
                pk: format!("USER#{USER}"),
                sk: "PROFILE".into()
            }
        );
        assert_eq!(user_partition(&user_id()), format!("USER#{USER}"));
    }

    #[test]
    fn email_and_code_keys_are_pinned() {
        let email = Email::parse("Ana@Example.com", "email").unwrap();
        assert_eq!(
            email_claim(&email),
            Key {
                pk: "EMAIL#ana@example.com".into(),
                sk: "EMAIL".into()
            }
        );
        assert_eq!(
            otp(&email),
            Key {
                pk: "OTP#ana@example.com".into(),
                sk: "OTP".into()
            }
        );
    }

    #[test]
    fn session_keys_are_pinned() {
        let id = SessionId::parse(SESSION, "id").unwrap();
        assert_eq!(
            session(&id),
            Key {
                pk: format!("SESSION#{SESSION}"),
                sk: "SESSION".into()
            }
        );
        assert_eq!(
            session_by_user(&user_id(), &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("SESSION#{SESSION}")
            }
        );
    }

    #[test]
    fn file_keys_are_pinned() {
        let file = FileId::parse("01JD0000000000000000000003", "id").unwrap();
        assert_eq!(
            super::file(&file),
            Key {
                pk: "FILE#01JD0000000000000000000003".into(),
                sk: "FILE".into()
            }
        );
        assert_eq!(
            pending_upload(&file),
            Key {
                pk: "UPLOADS#PENDING".into(),
                sk: "FILE#01JD0000000000000000000003".into()
            }
        );
        assert_eq!(
            upload_staging(&user_id(), &file),
            format!("uploads/{USER}/01JD0000000000000000000003")
        );
        assert_eq!(
            stored_file(&user_id(), &file),
            format!("files/{USER}/01JD0000000000000000000003")
        );
    }

    #[test]
    fn rate_and_connection_keys_are_pinned() {
        assert_eq!(
            rate_window("otp-email", "ana@example.com", 1_700_000_000),
            Key {
                pk: "RATE#otp-email#ana@example.com".into(),
                sk: "WINDOW#1700000000".into()
            }
        );
        let conn = ConnectionId::parse("L0SM9cOFvHcCIhw=").unwrap();
        assert_eq!(
            connection(&conn),
            Key {
                pk: "CONN#L0SM9cOFvHcCIhw=".into(),
                sk: "CONN".into()
            }
        );
        assert_eq!(
            connection_by_user(&user_id(), &conn),
            Key {
                pk: format!("USER#{USER}"),
                sk: "CONN#L0SM9cOFvHcCIhw=".into()
            }
        );
    }

    #[test]
    fn chat_keys_are_pinned() {
        let room = RoomId::parse("01JD0000000000000000000004", "id").unwrap();
        let msg = MessageId::parse("01JD0000000000000000000005", "id").unwrap();
        let other = UserId::parse("01JD0000000000000000000000", "id").unwrap();
        let r = "ROOM#01JD0000000000000000000004";
        assert_eq!(
            super::room(&room),
            Key {
                pk: r.into(),
                sk: "ROOM".into()
            }
        );
        assert_eq!(
            member(&room, &user_id()),
            Key {
                pk: r.into(),
                sk: format!("MEMBER#{USER}")
            }
        );
        assert_eq!(
            member_by_user(&user_id(), 1_700_000_000_123, &room),
            Key {
                pk: format!("USER#{USER}"),
                sk: "ROOM#001700000000123#01JD0000000000000000000004".into()
            }
        );
        assert_eq!(
            message(&room, &msg),
            Key {
                pk: r.into(),
                sk: "MSG#01JD0000000000000000000005".into()
            }
        );
        assert_eq!(
            message_by_seq(&room, 42),
            Key {
                pk: r.into(),
                sk: "SEQ#000000000000042".into()
            }
        );
        assert_eq!(
            client_message(&room, &user_id(), "c-1"),
            Key {
                pk: r.into(),
                sk: format!("CLIENTMSG#{USER}#c-1")
            }
        );
        let pair = Key {
            pk: format!("DIRECT#01JD0000000000000000000000#{USER}"),
            sk: "DIRECT".into(),
        };
        assert_eq!(direct_room(&user_id(), &other), pair);
        assert_eq!(direct_room(&other, &user_id()), pair);
        let subject = Subject {
            kind: crate::chat::model::SubjectType::Job,
            id: "job-42".into(),
        };
        assert_eq!(
            subject_room(&subject),
            Key {
                pk: "SUBJECT#job#job-42".into(),
                sk: "SUBJECT".into()
            }
        );
        assert_eq!(
            pin(&user_id(), &room),
            Key {
                pk: format!("USER#{USER}"),
                sk: "PIN#01JD0000000000000000000004".into()
            }
        );
        assert_eq!(
            presence(&user_id()),
            Key {
                pk: format!("USER#{USER}"),
                sk: "PRESENCE".into()
            }
        );
    }

    #[test]
    fn notification_keys_are_pinned() {
        let id = NotificationId::parse("01JD0000000000000000000007", "id").unwrap();
        assert_eq!(
            notification(&user_id(), &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: "NOTIF#01JD0000000000000000000007".into()
            }
        );
        assert_eq!(
            inbox(&user_id()),
            Key {
                pk: format!("USER#{USER}"),
                sk: "INBOX".into()
            }
        );
        assert_eq!(
            notification_preferences(&user_id()),
            Key {
                pk: format!("USER#{USER}"),
                sk: "NOTIFPREFS".into()
            }
        );
        assert_eq!(
            notification_claim(&user_id(), "chat:m1"),
            Key {
                pk: format!("NOTIFKEY#{USER}#chat:m1"),
                sk: "NOTIFKEY".into()
            }
        );
        assert_eq!(
            escalation(&user_id(), "room:r1"),
            Key {
                pk: format!("ESC#{USER}#room:r1"),
                sk: "ESC".into()
            }
        );
        assert_eq!(
            escalation_due(1_700_000_000_000, &user_id(), "room:r1"),
            Key {
                pk: "ESCALATE".into(),
                sk: format!("001700000000000#{USER}#room:r1")
            }
        );
        assert_eq!(
            push_token("ab12"),
            Key {
                pk: "PUSHTOKEN#ab12".into(),
                sk: "PUSHTOKEN#".into()
            }
        );
        assert_eq!(
            device_by_user(&user_id(), "ab12"),
            Key {
                pk: format!("USER#{USER}"),
                sk: "DEVICE#ab12".into()
            }
        );
        // Connections and devices are adjacent in the user's index partition, and nothing else
        // the partition lists (sessions, rooms, subscriptions) sorts between them.
        for other in [SESSION_PREFIX, ROOM_ACTIVITY_PREFIX, SUBSCRIPTION_PREFIX] {
            assert!(other > REACH_END, "{other}");
        }
        assert!(CONNECTION_PREFIX < DEVICE_PREFIX && DEVICE_PREFIX < REACH_END);
        let message = MessageId::parse("01JD0000000000000000000009", "id").unwrap();
        assert_eq!(
            missed_messages(&message),
            Key {
                pk: "MISSED#01JD0000000000000000000009".into(),
                sk: "MISSED".into()
            }
        );
        let topic = Target::Topic("plumbing-lisbon".into());
        assert_eq!(
            subscription(&topic, &user_id()),
            Key {
                pk: "SUBS#topic:plumbing-lisbon".into(),
                sk: format!("SUB#{USER}")
            }
        );
        assert_eq!(
            subscription_by_user(&user_id(), &topic),
            Key {
                pk: format!("USER#{USER}"),
                sk: "SUBSCRIPTION#topic:plumbing-lisbon".into()
            }
        );
        assert_eq!(
            fan_out(&topic, "launch-1"),
            Key {
                pk: "FANOUT#topic:plumbing-lisbon#launch-1".into(),
                sk: "FANOUT".into()
            }
        );
        assert_eq!(
            delivery_stats("2026-11-22", "chat_message", "sms"),
            Key {
                pk: "STATS#2026-11-22".into(),
                sk: "chat_message#sms".into()
            }
        );
    }
}
