//! # gigwire
//!
//! The library every gigwire Lambda links: domain rules, services, storage and messaging
//! adapters, and the glue that turns API Gateway events into typed requests. Function crates
//! under `functions/` only build their dependencies once and hand events to an entrypoint here.
//!
//! # Layout
//! - [`config`]: typed configuration read once at cold start.
//! - [`error`]: the one error type and its mapping to HTTP status and JSON body.
//! - [`domain`]: validated newtypes and pure rules (ids, emails, phones, users, one-time codes,
//!   files, chat).
//! - [`auth`]: access tokens (EdDSA JWTs: issuer with the private key, verifier with public
//!   keys), refresh tokens and code hashing.
//! - [`keys`]: every DynamoDB key string, built in one place.
//! - [`cursor`]: opaque, tamper-evident pagination cursors.
//! - [`store`]: narrow storage traits; [`store::dynamo`] implements them on one table.
//! - [`adapters`]: email (SES), real-time push (API Gateway Management API), files (S3), the
//!   token signing key (SSM).
//! - [`services`]: use cases, written against the traits.
//! - [`entrypoints`]: one async function per route or event, used by the function binaries.
//! - [`lambda`]: runtime glue for HTTP, WebSocket, authorizer and scheduled events.
//! - [`templates`]: email rendering (minijinja) from `shared/templates/email/`.
//! - [`api_doc`]: the OpenAPI 3.1 description of the HTTP API and the WebSocket messages.
//!
//! # Single-table access patterns
//! One DynamoDB table with `PK`/`SK`, one index `GSI1` (`GSI1PK`/`GSI1SK`), `entity_type` on
//! every item and `expires_at` (epoch seconds) as the TTL attribute. Keys come from [`keys`].
//!
//! | entity | PK | SK | GSI1PK / GSI1SK | served queries |
//! |---|---|---|---|---|
//! | user | `USER#{user}` | `PROFILE` | – | get a profile by id |
//! | email claim | `EMAIL#{email}` | `EMAIL` | – | find a user by email; one user per address (conditional put) |
//! | sign-in code | `OTP#{email}` | `OTP` | – | the pending code of an address (TTL 10 min) |
//! | session | `SESSION#{session}` | `SESSION` | `USER#{user}` / `SESSION#{session}` | refresh by id; list a user's sessions (GSI1, begins_with) |
//! | rate window | `RATE#{scope}#{subject}` | `WINDOW#{start}` | – | fixed-window counters (TTL) |
//! | connection | `CONN#{connection}` | `CONN` | `USER#{user}` / `CONN#{connection}` | a connection by id; a user's open connections (GSI1) — never a Scan |
//! | file | `FILE#{file}` | `FILE` | `UPLOADS#PENDING` / `FILE#{file}` while pending (sparse) | a file by id; stale pending uploads, oldest first (GSI1, `<` bound) |
//! | room | `ROOM#{room}` | `ROOM` | – | a room by id (preview, last activity, newest `seq`, unread counter); batch-read for room lists, which order by its activity |
//! | member | `ROOM#{room}` | `MEMBER#{user}` | `USER#{user}` / `ROOM#{activity ms at joining, 15 digits}#{room}` while active | a room's members (one consistent query); a user's rooms (GSI1; sends do not rewrite it); leaving removes the GSI keys |
//! | message | `ROOM#{room}` | `MSG#{message}` | `ROOM#{room}` / `SEQ#{seq, 15 digits}` | history newest first / `before` (ULIDs sort by time); `after`/`afterSeq` in commit order (GSI1, from the next `seq`); reactions are a map on the item |
//! | client message claim | `ROOM#{room}` | `CLIENTMSG#{sender}#{clientId}` | – | a retried send finds its first message (written in the send transaction) |
//! | direct / subject claim | `DIRECT#{low}#{high}` or `SUBJECT#{type}#{id}` | `DIRECT` / `SUBJECT` | – | one room per pair or subject (conditional put in the create transaction) |
//! | pin | `USER#{user}` | `PIN#{room}` | – | a user's pinned rooms (one query, listed first) |
//! | presence | `USER#{user}` | `PRESENCE` | – | when a user was last online |
//! | notification | `USER#{user}` | `NOTIF#{notification}` | – | the inbox newest first (one query; unread/kind filters) |
//! | inbox | `USER#{user}` | `INBOX` | – | unread count, last seen |
//! | preferences | `USER#{user}` | `NOTIFPREFS` | – | channels, per-kind switches, quiet hours |
//! | notification claim | `NOTIFKEY#{user}#{key}` | `NOTIFKEY` | – | a producer's idempotency key notifies once (conditional put in the write transaction) |
//! | escalation | `ESC#{user}#{group}` | `ESC` | `ESCALATE` / `{due ms, 15 digits}#{user}#{group}` | one pending SMS/email per user and digest group; the sweep reads only what is due (GSI1, `<=` now) |
//! | delivery stats | `STATS#{day}` | `{kind}#{channel}` | – | sent / failed / clicked counters per day |
//!
//! S3 objects: uploads land at `uploads/{owner}/{file}` ([`crate::files::keys::upload_staging`]), never
//! served; completion copies the exact object it checked to `files/{owner}/{file}`
//! ([`crate::files::keys::stored_file`]), the only key a download link is signed for.

pub mod adapters;
pub mod api_doc;
pub mod auth;
pub mod chat;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod files;
pub mod keys;
pub mod lambda;
pub mod me;
pub mod notifications;
pub mod realtime;
// Generated: kept exactly as written, so the staleness check compares like with like.
#[rustfmt::skip]
pub mod route_table;
pub mod routes;
pub mod store;
pub mod templates;

pub use config::Config;
pub use error::{Error, Result};

/// Every feature and its functions: the template's wiring, the OpenAPI security and the
/// binaries all come from this list.
pub const FEATURES: &[routes::Feature] = &[
    auth::routes::FEATURE,
    me::routes::FEATURE,
    files::routes::FEATURE,
    chat::routes::FEATURE,
    notifications::routes::FEATURE,
    realtime::routes::FEATURE,
];
