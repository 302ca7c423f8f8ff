//! The WebSocket API: connections (with a TTL, and deleted when a post answers 410), presence,
//! typing and receipts, and the client and server message schemas.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod routes;
pub mod service;
pub mod store;
