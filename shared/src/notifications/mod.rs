//! The inbox, preferences, devices, subscriptions, escalations and statistics.

pub mod routes;
