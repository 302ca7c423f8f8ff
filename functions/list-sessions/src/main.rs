//! `GET /me/sessions`: the caller's signed-in devices.

use gigwire::entrypoints::me::ListSessions;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = ListSessions::new(&init);
    http::run(|req| entry.handle(req)).await
}
