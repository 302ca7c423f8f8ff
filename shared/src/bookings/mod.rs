//! Bookings: the transaction between a customer and a provider, whatever its source. So far
//! the rules: the one state machine, the cancellation policy and the ledger each step writes;
//! purchases, the Stripe webhook and the booking routes build on them.

pub mod model;
