//! The `offers` binary's Lambda functions — offers and provider profiles (`gigwire::offers::routes`),
//! scheduling (`gigwire::scheduling::routes`), reviews (`gigwire::reviews::routes`) and the CRM
//! (`gigwire::crm::routes`): each Lambda runs the one its template wiring names in
//! `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[
        gigwire::offers::routes::FEATURE,
        gigwire::scheduling::routes::FEATURE,
        gigwire::reviews::routes::FEATURE,
        gigwire::crm::routes::FEATURE,
    ])
    .await
}
