//! `PUT /rooms/{id}/messages/{messageId}/reactions/{emoji}` and `DELETE /rooms/{id}/messages/{messageId}/reactions/{emoji}`: adds or removes the caller's reaction to a message.

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.react(req)).await
}
