//! WebSocket `$connect` authorizer: verifies the `token` query parameter.

use gigwire::auth::TokenService;
use gigwire::lambda::{self, BoxError, authorizer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let config = lambda::init_config()?;
    authorizer::run_ws(TokenService::new(&config)).await
}
