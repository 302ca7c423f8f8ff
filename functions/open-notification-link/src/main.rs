//! `GET /n/{token}` (public): a tracked link from a notification email; records the click and
//! redirects into the app.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run_public(|req| api.open_link(req)).await
}
