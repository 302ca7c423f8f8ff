//! # gigwire
//!
//! The library every gigwire Lambda links. One folder per feature holds everything about it;
//! a small core beside them holds what every feature uses. The binaries under `functions/`
//! are one per feature: each runs the function its Lambda was deployed for.
//!
//! # Layout
//! Features — each with `routes` (its functions, declared once: trigger, access, permissions,
//! handler), `api` (handlers: parse, call the service, map the result), `service` (use cases
//! over narrow traits), `model` (validated types and pure rules, no AWS types), `store` (the
//! storage ports it needs), `dynamo` (their implementation on the single table) and `keys`
//! (every key string of its items, pinned by tests):
//! - [`auth`]: emailed one-time codes, access tokens (EdDSA JWTs: issued with the private key,
//!   verified with public keys by the two API authorizers), rotating refresh sessions.
//! - [`me`]: the caller's profile and signed-in devices.
//! - [`files`]: presigned uploads checked after the fact, download links, cleanup.
//! - [`chat`]: rooms, members, messages, receipts, reactions, unread counts.
//! - [`notifications`]: inbox, live push, mobile push, SMS/email escalation with digests,
//!   preferences, subscriptions, tracked links, statistics.
//! - [`realtime`]: the WebSocket API: connections, presence, typing, client/server messages.
//! - [`offers`]: provider profiles and fixed-price offers (the marketplace's first step).
//! - [`bookings`]: buying an offer (a Stripe PaymentIntent), the Stripe webhook, the booking
//!   state machine and its steps, cancellation policy and refunds, the ledger, listings and the
//!   timer sweep. Stripe itself is behind the `gigwire-payments` crate.
//! - [`followups`]: follow-up requests on completed bookings (child bookings in the parent's
//!   thread, free for premium customers), their window and price, premium flags.
//! - [`crm`]: the customers' interaction logs written by the flows, the admins' funnel from
//!   day counters, and upsell recommendations bought through the purchase flows.
//! - [`reviews`]: double-blind reviews of completed bookings, rating aggregates, helpful
//!   votes, replies, hiding, the review-window sweep, and providers' measured first-response
//!   time.
//!
//! Core:
//! - [`routes`]: the declaration types, the feature binaries' dispatch, and the generator of
//!   the template's function wiring; [`route_table`] is its generated list of HTTP routes.
//! - [`config`]: typed configuration read once at cold start.
//! - [`error`]: the one error type and its mapping to HTTP status and JSON body.
//! - [`domain`]: value types every feature shares (ids, email, the user profile and roles).
//! - [`keys`]: the table's attribute names, the key type, the per-user partition; the test that
//!   no two features share a key tag.
//! - [`store`]: the table client ([`store::dynamo::DynamoStore`]) and its helpers, pages, the
//!   rate limiter.
//! - [`cursor`]: opaque, tamper-evident pagination cursors.
//! - [`adapters`]: email (SES), SMS and mobile push (SNS), real-time push (API Gateway
//!   Management API), files (S3), the token signing key (SSM).
//! - [`lambda`]: runtime glue for HTTP, WebSocket, schedule and stream events, and the
//!   answer for HTTP requests no route matches.
//! - [`templates`]: email rendering (minijinja) from `shared/templates/email/`.
//! - [`api_doc`]: the OpenAPI 3.1 description of the HTTP API and the WebSocket messages.
//!
//! # Single-table access patterns
//! One DynamoDB table with `PK`/`SK`, one index `GSI1` (`GSI1PK`/`GSI1SK`), `entity_type` on
//! every item and `expires_at` (epoch seconds) as the TTL attribute. Keys come from each
//! feature's `keys` module.
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
//! | device | `USER#{user}` | `DEVICE#{digest}` | `USER#{user}` / `DEVICE#{digest}` | a user's push devices; with connections, one GSI1 range is a user's whole reach |
//! | push-token holder | `PUSHTOKEN#{digest}` | `PUSHTOKEN#` | – | the one user a token belongs to (moved in one transaction) |
//! | missed messages | `MISSED#{message}` | `MISSED` | – | a chat message some members missed; inserted by the send, read by the stream-triggered notifier |
//! | subscription | `SUBS#{target}` | `SUB#{user}` | `USER#{user}` / `SUBSCRIPTION#{target}` | a target's subscribers in user order (fan-out); a user's subscriptions (GSI1) |
//! | provider profile | `USER#{user}` | `PROVIDER` | – | a provider's public profile |
//! | offer | `OFFER#{offer}` | `OFFER` | `USER#{provider}` / `OFFER#{offer}` | an offer by id; a provider's offers newest first (GSI1, descending) |
//! | offer listing | `OFFERS#{category}` | `OFFER#{offer}` | – | a category's active offers newest first (a copy of the offer, moved or removed in the offer's own transaction) |
//! | job | `JOB#{job}` | `JOB` | `USER#{poster}` / `JOB#{job}` | a job by id; a poster's jobs newest first (GSI1, descending, state filter); on the stream, its insertion tells the category's followers and its move to assigned or cancelled declines the pending quotes |
//! | job listing | `JOBS#{category}` | `JOB#{job}` | – | a category's open jobs newest first (a copy of the job, moved or removed in the job's own transaction) |
//! | job application | `JOB#{job}` | `APPLICATION#{provider}` | `USER#{provider}` / `APPLICATION#{job}` | a job's quotes (one per provider: the key is the rule); a provider's applications newest job first (GSI1, state filter); a first one's insertion tells the poster |
//! | availability | `USER#{provider}` | `AVAILABILITY` | – | a provider's plan (time zone, weekly intervals, overrides), replaced whole; slots are computed from it |
//! | held time | `BUSY#{provider}` | `CELL#{UTC quarter hour}` | – | one per quarter hour a booking of a slot holds (start to end plus buffer), written only if absent in the booking's creating transaction (no double booking) and deleted in the transition that frees it; the slot query reads a range (TTL a week after the booking's end) |
//! | booking | `BOOKING#{booking}` | `BOOKING` | `BOOKING_TIMER` / `{due ms, 15 digits}#{booking}` while a timer is pending | a booking by id; the timer sweep reads only what is due (GSI1, `<=` now); a job booking's writes on the stream move its job |
//! | booking party row | `USER#{user}` | `BOOKING#{booking}` | – | a party's copy: my orders / my tasks newest first, filtered on role, state, category, source (rewritten in every transition's transaction) |
//! | ledger step | `BOOKING#{booking}` | `LEDGER#{version:010}#{step}` | – | a booking's ledger (`charge`, `completion`, `refund`, …); each written once, in its transition's transaction, under the version it writes (so recurring steps such as partial refunds stay distinct) |
//! | purchase claim | `USER#{buyer}` | `PURCHASE#{idempotency key}` | – | a retried purchase finds its booking (conditional put in the create transaction) |
//! | Stripe event | `STRIPE_EVENT#{event}` | `EVENT` | – | an applied event, kept 35 days (TTL); put in the transition's transaction |
//! | fan-out progress | `FANOUT#{target}#{key}` | `FANOUT` | – | where an interrupted broadcast resumes (idempotency key) |
//! | review | `REVIEW#{booking}` | `BY#{customer or provider}` | `USER#{subject}` / `REVIEW#{side}#{published ms, 15 digits}#{booking}` while published and visible (sparse) | a booking's reviews (one per side: the key is the rule; one query); a provider's published reviews newest first (GSI1, descending) |
//! | review window | `REVIEW#{booking}` | `REVIEW_WINDOW` | `REVIEW_WINDOWS` / `{closes ms, 15 digits}#{booking}` | the sweep reads only the windows due (GSI1, `<=` now) |
//! | helpful vote | `REVIEW#{booking}` | `HELPFUL#{side}#{voter}` | – | one per user and review (conditional put with the count) |
//! | rating | `USER#{user}` | `RATING#{side}` | – | count, total and per-star counters (`ADD` in the publishing transaction) |
//! | first-response measure | `FIRST_RESPONSE#{room}` | `FIRST_RESPONSE` | – | whose answers count in a thread, when it asked and was answered (conditional writes from the message stream) |
//! | first-response histogram | `USER#{provider}` | `FIRST_RESPONSES` | – | per-bucket counters; the profile's median |
//! | follow-up settings | `FOLLOW_UP_SETTINGS` | `FOLLOW_UP_SETTINGS` | – | the admins' follow-up window and price (one item) |
//! | premium flag | `USER#{user}` | `PREMIUM` | – | whether a customer's follow-ups are free |
//! | interaction | `CRM#{customer}` | `{stage}#{subject}` | `CRM#{customer}` / `{ms, 15 digits}#{stage}#{subject}` | once per stage and subject (conditional put with its counters); a customer's log newest first (GSI1, descending) |
//! | funnel day | `FUNNEL#{category or *}` | `DAY#{YYYY-MM-DD}` | – | per-stage counters (`ADD` with each interaction); a range is one query |
//! | upsell | `USER#{customer}` | `UPSELL#{booking}#{kind}` | – | a customer's recommendations newest booking first; shown, clicked and purchased set once each (conditioned on absence) |
//!
//! S3 objects: uploads land at `uploads/{owner}/{file}`
//! ([`crate::files::keys::upload_staging`]), never served; completion copies the exact object
//! it checked to `files/{owner}/{file}` ([`crate::files::keys::stored_file`]), the only key a
//! download link is signed for.

pub mod adapters;
pub mod api_doc;
pub mod auth;
pub mod bookings;
pub mod chat;
pub mod config;
pub mod crm;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod files;
pub mod followups;
pub mod jobs;
pub mod keys;
pub mod lambda;
pub mod me;
pub mod notifications;
pub mod offers;
pub mod payouts;
pub mod realtime;
pub mod reviews;
// Generated: kept exactly as written, so the staleness check compares like with like.
#[rustfmt::skip]
pub mod route_table;
pub mod routes;
pub mod scheduling;
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
    notifications::routes::DELIVERY,
    offers::routes::FEATURE,
    scheduling::routes::FEATURE,
    bookings::routes::FEATURE,
    bookings::routes::EVENTS,
    payouts::routes::FEATURE,
    followups::routes::FEATURE,
    crm::routes::PURCHASE,
    jobs::routes::FEATURE,
    reviews::routes::FEATURE,
    crm::routes::FEATURE,
    realtime::routes::FEATURE,
];

/// Checks shared by the tests that compare a committed, generated file with what the code
/// generates now.
#[cfg(test)]
pub(crate) mod generated {
    /// A file of the repository.
    pub fn repo_file(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(name)
    }

    /// Fails unless `name` holds exactly `generated`; with the environment variable `update`
    /// set, writes it first. `how` says how to regenerate.
    pub fn check(name: &str, generated: &str, update: &str, how: &str) {
        let path = repo_file(name);
        if std::env::var_os(update).is_some() {
            std::fs::write(&path, generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "{name} is stale: run `{how}`");
    }
}
