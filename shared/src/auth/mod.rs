//! Sign-in and tokens: emailed one-time codes, access tokens (verified by the two API
//! authorizers with public keys only) and rotating refresh sessions; also the HTTP API's
//! `$default` answer for requests no route matches.

pub mod routes;
mod tokens;

pub use tokens::*;
