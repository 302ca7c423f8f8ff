//! `POST /auth/otp/verify`: exchanges a code for tokens.

use gigwire::entrypoints::auth::VerifyCode;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let (init, issuer) = lambda::init_issuing().await?;
    let entry = VerifyCode::new(&init, issuer);
    http::run_public(|req| entry.handle(req)).await
}
