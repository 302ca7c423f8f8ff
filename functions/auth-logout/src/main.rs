//! `POST /auth/logout`: ends a session.

use gigwire::entrypoints::auth::Logout;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = Logout::new(&init);
    http::run_public(|req| entry.handle(req)).await
}
