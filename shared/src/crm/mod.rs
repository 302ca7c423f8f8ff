//! The CRM: an append-only interaction log per customer (intake, session booked, session
//! completed, summary viewed, upsell shown, clicked and purchased), written by the flows
//! themselves — the bookings' and jobs' stream consumers, the upsell routes — never claimed
//! by a client; the admins' funnel read from per-day counters moved with each interaction;
//! and the upsell recommendations a completed booking leaves its customer, bought through the
//! normal purchase flows.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
