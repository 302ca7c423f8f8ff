//! `POST /files`: declares an upload and signs its S3 POST form.

use gigwire::entrypoints::files::CreateUpload;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = CreateUpload::new(&init);
    http::run(|req| entry.handle(req)).await
}
