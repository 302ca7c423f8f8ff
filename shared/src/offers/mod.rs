//! Provider profiles and fixed-price offers: providers publish what they sell, everyone signed
//! in browses it by category or by provider. Purchases, bookings and payments build on these.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
