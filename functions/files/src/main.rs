//! The `files` feature's Lambda functions (see `gigwire::files::routes`): each Lambda runs the one
//! its template wiring names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[gigwire::files::routes::FEATURE]).await
}
