//! `GET /rooms/{id}`: returns a room with its members, to members only.

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.get_room(req)).await
}
