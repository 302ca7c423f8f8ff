//! `PATCH /me`: changes the caller's profile.

use gigwire::entrypoints::me::UpdateMe;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = UpdateMe::new(&init);
    http::run(|req| entry.handle(req)).await
}
