//! `DELETE /rooms/{id}/messages/{messageId}`: deletes the caller's message, leaving a tombstone.

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.delete(req)).await
}
