//! `GET /rooms/{id}/messages`: pages the history of a room, to members only.

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.history(req)).await
}
