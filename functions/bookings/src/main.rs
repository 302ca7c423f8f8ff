//! The `bookings` binary's Lambda functions — the parties' and admins' booking routes
//! (`gigwire::bookings::routes`), payouts (`gigwire::payouts::routes`), follow-ups
//! (`gigwire::followups::routes`) and buying upsells (`gigwire::crm::routes::PURCHASE`): each
//! Lambda runs the one its template wiring names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[
        gigwire::bookings::routes::FEATURE,
        gigwire::payouts::routes::FEATURE,
        gigwire::followups::routes::FEATURE,
        gigwire::crm::routes::PURCHASE,
    ])
    .await
}
