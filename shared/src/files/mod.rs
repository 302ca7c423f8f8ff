//! Uploads, downloads and the cleanup of uploads never completed.

pub mod routes;
