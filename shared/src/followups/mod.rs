//! Follow-up requests: the customer of a completed booking asks its provider for more (a
//! quick question, a mini extension, a new issue) within a window the admins set. The
//! follow-up is a booking of its own, linked to its parent, with the same provider and the
//! parent's chat thread, so the talk stays one history. It is free for premium customers (a
//! flag admins set) and costs the admins' small price otherwise, paid through the normal
//! purchase flow. Built into the `bookings` binary beside the purchase it shares.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
