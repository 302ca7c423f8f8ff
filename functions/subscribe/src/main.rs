//! `PUT /me/subscriptions/{target}`: follows a target (room, job, user or topic) with channel flags.

use gigwire::entrypoints::notify::NotificationsApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = NotificationsApi::new(&init);
    http::run(|req| api.subscribe(req)).await
}
