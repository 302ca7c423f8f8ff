//! `PATCH /me/notification-preferences`: changes the caller's notification preferences and time zone.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run(|req| api.update_preferences(req)).await
}
