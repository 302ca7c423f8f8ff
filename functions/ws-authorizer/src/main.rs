//! WebSocket `$connect` authorizer: verifies the `token` query parameter with the public keys.

use gigwire::lambda::{self, BoxError, authorizer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    authorizer::run_ws(lambda::init_verifying()?).await
}
