//! `POST /auth/refresh`: rotates a refresh token.

use gigwire::entrypoints::auth::Refresh;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = Refresh::new(&init);
    http::run_public(|req| entry.handle(req)).await
}
