//! `DELETE /files/{id}`: deletes the caller's file.

use gigwire::entrypoints::files::Files;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let files = Files::new(&init);
    http::run(|req| files.delete(req)).await
}
