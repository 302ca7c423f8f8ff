//! `POST /auth/otp`: emails a sign-in code.

use gigwire::entrypoints::auth::RequestCode;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = RequestCode::new(&init);
    http::run_public(|req| entry.handle(req)).await
}
