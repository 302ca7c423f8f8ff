//! Money out: providers' Stripe Connect Express accounts (onboarding and the status Stripe
//! reports through `account.updated`) and the platform's commission (a default rate, rates
//! per category, and the report admins read). The release of a booking's earnings to its
//! provider is a booking transition (`crate::bookings`); this feature says whether and at
//! which rate a provider can be paid.

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
