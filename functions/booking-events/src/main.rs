//! The booking functions no person's request starts (see `gigwire::bookings::routes::EVENTS`):
//! Stripe's webhook, the timer sweep and the outbox sender. Each Lambda runs the one its
//! template wiring names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[gigwire::bookings::routes::EVENTS]).await
}
