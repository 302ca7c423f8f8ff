//! The signed-in user: profile and sessions.

pub mod routes;
