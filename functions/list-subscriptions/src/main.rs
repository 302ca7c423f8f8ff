//! `GET /me/subscriptions`: lists the targets the caller follows.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run(|req| api.subscriptions_of(req)).await
}
