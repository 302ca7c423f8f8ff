//! `POST /auth/refresh`: rotates a refresh token and issues a new access token.

use gigwire::entrypoints::auth::Refresh;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let (init, issuer) = lambda::init_issuing().await?;
    let entry = Refresh::new(&init, issuer);
    http::run_public(|req| entry.handle(req)).await
}
