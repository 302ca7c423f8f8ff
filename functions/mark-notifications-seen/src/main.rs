//! `POST /notifications/seen`: records that the caller looked at the notification list.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run(|req| api.mark_seen(req)).await
}
