//! Scheduling: a provider's availability (a weekly plan in their time zone with peak
//! multipliers, date overrides, notice and buffer) and the free slots it offers for each of
//! their offers, priced, in UTC and in the provider's local time.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
