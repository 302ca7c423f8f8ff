//! The HTTP API's `$default` route: 404 or 405 with the API's error body.

use gigwire::entrypoints::fallback;
use gigwire::lambda::{self, BoxError, http};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    lambda::init_config()?;
    http::run_public(fallback::unmatched).await
}
