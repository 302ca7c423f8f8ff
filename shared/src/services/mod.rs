//! Use cases, each a plain async function over the storage and messaging traits. They hold the
//! business rules that need I/O (sign-in, profile changes, connection bookkeeping, fan-out);
//! the pure rules they apply live in [`crate::domain`].

pub mod auth;
pub mod chat;
pub mod click;
pub mod files;
pub mod notify;
pub mod realtime;
pub mod subscriptions;
pub mod users;
