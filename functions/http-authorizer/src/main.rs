//! HTTP API Lambda authorizer: verifies the bearer token.

use gigwire::auth::TokenService;
use gigwire::lambda::{self, BoxError, authorizer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let config = lambda::init_config()?;
    authorizer::run_http(TokenService::new(&config)).await
}
