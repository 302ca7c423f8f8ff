//! `DELETE /rooms/{id}/members/{userId}`: removes a member (owner) or leaves a room (self).

use gigwire::entrypoints::chat::ChatApi;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let api = ChatApi::new(&init);
    http::run(|req| api.remove_member(req)).await
}
