//! Bookings: the transaction between a customer and a provider, whatever its source. The one
//! state machine, the cancellation policy and the ledger (`model`), purchase of an offer
//! through a Stripe PaymentIntent, the Stripe webhook, the parties' steps, listings and the
//! timer sweep (`service`), their storage (`store`, `dynamo`, `keys`), routes (`api`,
//! `routes`).

pub mod api;
pub mod dynamo;
pub mod keys;
pub mod model;
pub mod routes;
pub mod service;
pub mod store;
