//! `GET /notifications/unread-count`: counts the caller's unread notifications.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run(|req| api.unread(req)).await
}
