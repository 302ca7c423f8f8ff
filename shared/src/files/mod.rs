//! Files: what may be uploaded for which purpose, presigned uploads checked after the fact,
//! download links per access rule, and the cleanup of uploads never completed.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
