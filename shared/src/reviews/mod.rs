//! Reviews and ratings: after a booking completes, each party may review the other once
//! within a window. Reviews are double-blind: one is published when both parties have
//! reviewed or when the window closes (a timer on the due-time index), never earlier, so
//! nobody answers a review they have read. Publishing moves the reviewed user's rating
//! aggregates in the same transaction; helpful votes, the provider's one reply and the
//! admins' hiding follow. Providers' first-response time is measured from the chat threads
//! of their bookings and applications ([`response`]). Built into the `offers` binary beside
//! the provider profiles they feed.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod response;
pub mod routes;
pub mod service;
pub mod store;
