//! Keys of notifications, inboxes, preferences, producer claims, escalations, devices, push-token holders, statistics, missed-message hand-offs, subscriptions and fan-outs. Built here and nowhere else, from typed ids;
//! the tests pin every string (changing one is a data migration, not a refactor).

use super::model::Target;
use crate::domain::{MessageId, NotificationId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &[
    "NOTIF#",
    "INBOX",
    "NOTIFPREFS",
    "NOTIFKEY#",
    "ESC#",
    "ESCALATE",
    "DEVICE#",
    "DEVICE$",
    "PUSHTOKEN#",
    "STATS#",
    "MISSED#",
    "SUB#",
    "SUBS#",
    "SUBSCRIPTION#",
    "FANOUT#",
];

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

    fn user_id() -> UserId {
        UserId::parse(USER, "id").unwrap()
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
        use crate::{auth::keys::SESSION_PREFIX, chat::keys::ROOM_ACTIVITY_PREFIX};
        for other in [SESSION_PREFIX, ROOM_ACTIVITY_PREFIX, SUBSCRIPTION_PREFIX] {
            assert!(other > REACH_END, "{other}");
        }
        assert!(
            crate::realtime::keys::CONNECTION_PREFIX < DEVICE_PREFIX && DEVICE_PREFIX < REACH_END
        );
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
