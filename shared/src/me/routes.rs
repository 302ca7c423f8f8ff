//! The signed-in user: profile and sessions.

use crate::me::api::{GetMe, ListSessions, UpdateMe};
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Built into the `me` binary.
pub const FEATURE: Feature = Feature {
    binary: "me",
    functions: &[
        Function {
            name: "get-me",
            description: "Returns the signed-in user's profile.",
            trigger: Trigger::Http(&[("GET", "/me")], Access::Bearer),
            allow: &[Allow::Table(&["GetItem"])],
            env: &[],
            timeout: None,
            run: serve_http!(GetMe::new, handle),
        },
        Function {
            name: "update-me",
            description: "Updates the signed-in user's profile and tells the user's open connections.",
            trigger: Trigger::Http(&[("PATCH", "/me")], Access::Bearer),
            allow: &[
                Allow::Table(&["GetItem", "UpdateItem", "DeleteItem"]),
                Allow::Indexes,
                Allow::PostToConnections,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(UpdateMe::new, handle),
        },
        Function {
            name: "list-sessions",
            description: "Lists the signed-in user's refresh sessions.",
            trigger: Trigger::Http(&[("GET", "/me/sessions")], Access::Bearer),
            allow: &[Allow::Indexes],
            env: &[],
            timeout: None,
            run: serve_http!(ListSessions::new, handle),
        },
    ],
};
