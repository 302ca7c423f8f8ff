//! `GET /files/{id}`: a short-lived download link.

use gigwire::entrypoints::files::Files;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let files = Files::new(&init);
    http::run(|req| files.download(req)).await
}
