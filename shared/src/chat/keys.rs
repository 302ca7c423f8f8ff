//! Keys of rooms, members, messages, idempotent sends, direct/subject claims, pins and presence. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use super::model::Subject;
use crate::domain::{MessageId, RoomId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &[
    "ROOM#",
    "MEMBER#",
    "MSG#",
    "SEQ#",
    "CLIENTMSG#",
    "DIRECT#",
    "SUBJECT#",
    "PIN#",
    "PRESENCE",
];

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

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
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
}
