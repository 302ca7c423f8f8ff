//! Notifications: the in-app inbox with live push, mobile push devices, SMS/email escalation
//! with digests and quiet hours, preferences, subscriptions and fan-out, tracked email links
//! ([`click`]) and delivery statistics.

pub mod api;
pub mod click;
pub mod dynamo;
pub mod escalation;
pub mod keys;
pub mod missed;
pub mod model;
pub mod routes;
pub mod service;
pub mod settings;
pub mod store;
pub mod subscriptions;
