//! `POST /files`: declares an upload and signs its S3 POST form.

use gigwire::entrypoints::files::Files;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let files = Files::new(&init);
    http::run(|req| files.create(req)).await
}
