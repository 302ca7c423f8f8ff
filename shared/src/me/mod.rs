//! The signed-in user: profile (the [`crate::domain::User`] model is shared by every feature)
//! and the list of signed-in devices.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod routes;
pub mod service;
pub mod store;
