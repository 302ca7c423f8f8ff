//! The WebSocket API: connections, presence and the chat actions.

pub mod routes;
