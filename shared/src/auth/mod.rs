//! Sign-in and tokens: emailed one-time codes ([`otp`]), access tokens (EdDSA JWTs, made with
//! the private key by the two issuing functions, verified with public keys by the API
//! authorizers in [`authorizer`]) and rotating refresh sessions.

pub mod api;
pub mod authorizer;
pub mod dynamo;
pub mod keys;
pub mod otp;
pub mod routes;
pub mod service;
pub mod store;

mod tokens;

pub use tokens::*;
