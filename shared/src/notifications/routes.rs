//! The inbox, preferences, devices, subscriptions, escalations and statistics.

use crate::notifications::api::{EscalationSweep, MissedMessagesNotifier, NotificationsApi};
use crate::notifications::dynamo::ENTITY_MISSED;
use crate::routes::{Access, Allow, Feature, Function, Stream, Trigger};
use crate::{serve_http, serve_schedule, serve_stream};

/// The table actions of notifying (and of a booking transition that notifies): reads, and
/// transactions that put, update, delete and check.
pub(crate) const NOTIFY_TABLE: Allow = Allow::Table(&[
    "GetItem",
    "Query",
    "BatchGetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheckItem",
]);

/// What a stream consumer that notifies needs: read its stream, write inbox items, counters,
/// escalations and claims (reading names, connections and subscribers), post to open
/// connections and publish mobile pushes. The missed-message notifier, the bookings' outbox
/// sender and the job news share it.
pub(crate) const NOTIFY_FROM_STREAM: &[Allow] = &[
    NOTIFY_TABLE,
    Allow::Indexes,
    Allow::ReadStream,
    Allow::PostToConnections,
    Allow::Sns(&["Publish", "DeleteEndpoint"]),
];

/// Built into the `chat` binary, next to [`crate::chat::routes::FEATURE`]: the inbox and the
/// rooms share the connection registry and the live posts; one release link fewer.
pub const FEATURE: Feature = Feature {
    binary: "chat",
    functions: &[
        Function {
            name: "list-notifications",
            description: "Lists the caller's notifications, newest first.",
            trigger: Trigger::Http(&[("GET", "/notifications")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "Query"]), Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, list),
        },
        Function {
            name: "get-notification-count",
            description: "Counts the caller's unread notifications.",
            trigger: Trigger::Http(&[("GET", "/notifications/unread-count")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, unread),
        },
        Function {
            name: "mark-notifications-read",
            description: "Marks the caller's notifications read (some or all).",
            trigger: Trigger::Http(&[("POST", "/notifications/read")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "Query", "UpdateItem"]),
                Allow::Indexes,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, mark_read),
        },
        Function {
            name: "mark-notifications-seen",
            description: "Records that the caller looked at the notification list.",
            trigger: Trigger::Http(&[("POST", "/notifications/seen")], Access::Bearer),
            allow: &[Allow::Table(&["UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, mark_seen),
        },
        Function {
            name: "click-notification",
            description: "Records that the caller opened a notification.",
            trigger: Trigger::Http(&[("POST", "/notifications/{id}/click")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "Query", "UpdateItem"]),
                Allow::Indexes,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, click),
        },
        Function {
            name: "delete-notification",
            description: "Deletes one of the caller's notifications.",
            trigger: Trigger::Http(&[("DELETE", "/notifications/{id}")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "Query", "UpdateItem", "DeleteItem"]),
                Allow::Indexes,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, delete),
        },
        Function {
            name: "get-notification-preferences",
            description: "Returns the caller's notification preferences.",
            trigger: Trigger::Http(&[("GET", "/me/notification-preferences")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, preferences),
        },
        Function {
            name: "update-notification-preferences",
            description: "Changes the caller's notification preferences and time zone.",
            trigger: Trigger::Http(&[("PATCH", "/me/notification-preferences")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, update_preferences),
        },
        Function {
            name: "get-notification-stats",
            description: "Returns delivery statistics per channel and kind over a period (admins).",
            trigger: Trigger::Http(&[("GET", "/admin/notification-stats")], Access::Admin),
            allow: &[Allow::Table(&["Query"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, stats),
        },
        Function {
            name: "register-device",
            description: "Registers a device's push token with the SNS platform application.",
            trigger: Trigger::Http(&[("POST", "/me/devices")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "DeleteItem"]),
                Allow::Sns(&["CreatePlatformEndpoint"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, register_device),
        },
        Function {
            name: "unregister-device",
            description: "Forgets one of the caller's devices and its push endpoint.",
            trigger: Trigger::Http(&[("DELETE", "/me/devices/{id}")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "DeleteItem"]),
                Allow::Sns(&["DeleteEndpoint"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, unregister_device),
        },
        Function {
            name: "subscribe",
            description: "Follows a target (room, job, user or topic) with channel flags.",
            trigger: Trigger::Http(&[("PUT", "/me/subscriptions/{target}")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem", "PutItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, subscribe),
        },
        Function {
            name: "unsubscribe",
            description: "Stops following a target.",
            trigger: Trigger::Http(&[("DELETE", "/me/subscriptions/{target}")], Access::Bearer),
            allow: &[Allow::Table(&["DeleteItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, unsubscribe),
        },
        Function {
            name: "list-subscriptions",
            description: "Lists the targets the caller follows.",
            trigger: Trigger::Http(&[("GET", "/me/subscriptions")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, subscriptions_of),
        },
        Function {
            name: "open-notification-link",
            description: "Records the click of a tracked email link and redirects into the app.",
            trigger: Trigger::Http(&[("GET", "/n/{token}")], Access::Public),
            allow: &[Allow::Table(&["GetItem", "UpdateItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, open_link),
        },
    ],
};

/// The functions that produce and deliver notifications off the request path of the inbox:
/// the escalation sweep (the only one that sends email), the missed-message notifier and the
/// admin broadcast. They render the texts and reach every channel; keeping them out of the
/// inbox's binary keeps both binaries under the size budget.
pub const DELIVERY: Feature = Feature {
    binary: "delivery",
    functions: &[
        Function {
            name: "notify-missed-messages",
            description: "Turns the chat messages members missed into notifications (push, escalation).",
            trigger: Trigger::Stream(Stream::inserted(ENTITY_MISSED)),
            allow: NOTIFY_FROM_STREAM,
            env: &[],
            timeout: Some(60),
            run: serve_stream!(MissedMessagesNotifier::new, handle),
        },
        Function {
            name: "broadcast-notification",
            description: "Notifies every subscriber of a target (admins), in batched transactions.",
            trigger: Trigger::Http(&[("POST", "/admin/notifications")], Access::Admin),
            allow: &[
                Allow::Table(&[
                    "GetItem",
                    "Query",
                    "UpdateItem",
                    "PutItem",
                    "DeleteItem",
                    "ConditionCheckItem",
                ]),
                Allow::Indexes,
                Allow::PostToConnections,
                Allow::Sns(&["Publish", "DeleteEndpoint"]),
            ],
            env: &[],
            timeout: None,
            run: serve_http!(NotificationsApi::new, broadcast),
        },
        Function {
            name: "cron-escalations",
            description: "Sends SMS and email for notifications still unread after their delay (reads only due escalations).",
            trigger: Trigger::Schedule("EveryMinute", "rate(1 minute)"),
            allow: &[
                Allow::Table(&["GetItem", "Query", "UpdateItem", "DeleteItem"]),
                Allow::Indexes,
                Allow::Sns(&["Publish"]),
                Allow::SendEmail,
            ],
            env: &[],
            timeout: Some(60),
            run: serve_schedule!(EscalationSweep::new, run),
        },
    ],
};
