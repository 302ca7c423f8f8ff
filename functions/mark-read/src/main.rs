//! `POST /rooms/{id}/read`: moves the caller's read marker and unread count.

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.mark_read(req)).await
}
