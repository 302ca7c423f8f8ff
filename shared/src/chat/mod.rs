//! Chat: rooms (direct, group, subject), members, messages with a per-room sequence, receipts,
//! reactions, and the hand-off of missed messages to notifications. The WebSocket side lives in
//! [`crate::realtime`], which shares this feature's service.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
