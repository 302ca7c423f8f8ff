//! HTTP API Lambda authorizer: verifies the bearer token with the public keys.

use gigwire::lambda::{self, BoxError, authorizer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    authorizer::run_http(lambda::init_verifying()?).await
}
