//! The WebSocket API: connections, presence and the chat actions.

use crate::realtime::api::Realtime;
use crate::routes::{Allow, Feature, Function, Trigger};
use crate::serve_ws;

/// Built into the `chat` binary: the WebSocket actions run the chat rules, so the two share
/// their code (and one release link).
pub const FEATURE: Feature = Feature {
    binary: "chat",
    functions: &[
        Function {
            name: "ws-connect",
            description: "Records a new WebSocket connection and announces the user online.",
            trigger: Trigger::Ws("$connect"),
            allow: &[
                Allow::Table(&["PutItem", "DeleteItem"]),
                Allow::Indexes,
                Allow::PostToConnections,
            ],
            env: &[],
            timeout: None,
            run: serve_ws!(Realtime::new, connect),
        },
        Function {
            name: "ws-disconnect",
            description: "Forgets a closed WebSocket connection and announces the user offline.",
            trigger: Trigger::Ws("$disconnect"),
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "DeleteItem"]),
                Allow::Indexes,
                Allow::PostToConnections,
            ],
            env: &[],
            timeout: None,
            run: serve_ws!(Realtime::new, disconnect),
        },
        Function {
            name: "ws-default",
            description: "Handles WebSocket actions (ping, chat) and pushes events to connections.",
            trigger: Trigger::Ws("$default"),
            allow: crate::chat::routes::WRITE_AND_TELL,
            env: &[],
            timeout: None,
            run: serve_ws!(Realtime::new, handle),
        },
    ],
};
