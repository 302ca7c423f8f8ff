//! The `bookings` binary's Lambda functions — the parties' and admins' booking routes
//! (`gigwire::bookings::routes`) and payouts (`gigwire::payouts::routes`): each Lambda runs the
//! one its template wiring names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[
        gigwire::bookings::routes::FEATURE,
        gigwire::payouts::routes::FEATURE,
    ])
    .await
}
