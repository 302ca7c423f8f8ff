//! Rooms, members and messages over HTTP.

use crate::chat::api::ChatApi;
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Changes existing items and tells the members' connections.
pub const UPDATE_AND_TELL: &[Allow] = &[
    Allow::Table(&[
        "GetItem",
        "Query",
        "BatchGetItem",
        "UpdateItem",
        "DeleteItem",
    ]),
    Allow::Indexes,
    Allow::PostToConnections,
];

/// Reads rooms, members and messages.
pub const READ: &[Allow] = &[
    Allow::Table(&["GetItem", "Query", "BatchGetItem"]),
    Allow::Indexes,
];

/// Writes rooms, members or messages (transactions with their checks) and tells the members' connections.
pub const WRITE_AND_TELL: &[Allow] = &[
    Allow::Table(&[
        "GetItem",
        "Query",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "ConditionCheckItem",
        "DeleteItem",
    ]),
    Allow::Indexes,
    Allow::PostToConnections,
];

/// Built into the `chat` binary.
pub const FEATURE: Feature = Feature {
    binary: "chat",
    functions: &[
        Function {
            name: "create-room",
            description: "Creates a group, or gets or creates a direct or subject room.",
            trigger: Trigger::Http(&[("POST", "/rooms")], Access::Bearer),
            allow: &[
                Allow::Table(&[
                    "GetItem",
                    "Query",
                    "BatchGetItem",
                    "PutItem",
                    "ConditionCheckItem",
                    "DeleteItem",
                ]),
                Allow::Indexes,
                Allow::PostToConnections,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, create_room),
        },
        Function {
            name: "list-rooms",
            description: "Lists the caller's rooms, pinned first, then by last activity.",
            trigger: Trigger::Http(&[("GET", "/rooms")], Access::Bearer),
            allow: READ,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, list_rooms),
        },
        Function {
            name: "get-unread",
            description: "Counts the caller's unread messages over rooms that are not muted.",
            trigger: Trigger::Http(&[("GET", "/me/unread")], Access::Bearer),
            allow: READ,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, unread),
        },
        Function {
            name: "get-room",
            description: "Returns a room with its members, to members only.",
            trigger: Trigger::Http(&[("GET", "/rooms/{id}")], Access::Bearer),
            allow: READ,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, get_room),
        },
        Function {
            name: "update-room",
            description: "Renames a room or changes its avatar (owner).",
            trigger: Trigger::Http(&[("PATCH", "/rooms/{id}")], Access::Bearer),
            allow: WRITE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, update_room),
        },
        Function {
            name: "add-members",
            description: "Adds members to a room (owner).",
            trigger: Trigger::Http(&[("POST", "/rooms/{id}/members")], Access::Bearer),
            allow: WRITE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, add_members),
        },
        Function {
            name: "remove-member",
            description: "Removes a member (owner) or leaves a room (self).",
            trigger: Trigger::Http(
                &[("DELETE", "/rooms/{id}/members/{userId}")],
                Access::Bearer,
            ),
            allow: WRITE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, remove_member),
        },
        Function {
            name: "update-membership",
            description: "Mutes or pins a room for the caller.",
            trigger: Trigger::Http(&[("PATCH", "/rooms/{id}/membership")], Access::Bearer),
            allow: &[
                Allow::Table(&[
                    "GetItem",
                    "Query",
                    "BatchGetItem",
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                ]),
                Allow::Indexes,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, update_membership),
        },
        Function {
            name: "mark-read",
            description: "Moves the caller's read marker and unread count.",
            trigger: Trigger::Http(&[("POST", "/rooms/{id}/read")], Access::Bearer),
            allow: UPDATE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, mark_read),
        },
        Function {
            name: "list-messages",
            description: "Pages the history of a room, to members only.",
            trigger: Trigger::Http(&[("GET", "/rooms/{id}/messages")], Access::Bearer),
            allow: READ,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, history),
        },
        Function {
            name: "send-message",
            description: "Sends a chat message and delivers it to every member connection.",
            trigger: Trigger::Http(&[("POST", "/rooms/{id}/messages")], Access::Bearer),
            allow: WRITE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, send),
        },
        Function {
            name: "edit-message",
            description: "Edits the caller's message.",
            trigger: Trigger::Http(
                &[("PATCH", "/rooms/{id}/messages/{messageId}")],
                Access::Bearer,
            ),
            allow: UPDATE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, edit),
        },
        Function {
            name: "delete-message",
            description: "Deletes the caller's message, leaving a tombstone.",
            trigger: Trigger::Http(
                &[("DELETE", "/rooms/{id}/messages/{messageId}")],
                Access::Bearer,
            ),
            allow: UPDATE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, delete),
        },
        Function {
            name: "react-message",
            description: "Adds or removes the caller's reaction to a message.",
            trigger: Trigger::Http(
                &[
                    ("PUT", "/rooms/{id}/messages/{messageId}/reactions/{emoji}"),
                    (
                        "DELETE",
                        "/rooms/{id}/messages/{messageId}/reactions/{emoji}",
                    ),
                ],
                Access::Bearer,
            ),
            allow: UPDATE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_http!(ChatApi::new, react),
        },
    ],
};
