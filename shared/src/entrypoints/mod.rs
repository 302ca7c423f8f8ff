//! One type per function: it owns the dependencies that function builds at cold start and
//! handles one event by calling one service. Function binaries construct it and pass its
//! `handle` to the matching runtime glue, so `functions/` holds no logic at all.

pub mod auth;
pub mod chat;
pub mod fallback;
pub mod files;
pub mod me;
pub mod notify;
pub mod ws;

use chrono::{DateTime, Utc};

/// The time a request is handled; one read per request so a request sees one "now".
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}
