//! Hourly: removes uploads never completed within 24 hours.

use gigwire::entrypoints::files::Files;
use gigwire::lambda::{self, BoxError, schedule};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let files = Files::new(&init);
    schedule::run(|at| files.cleanup(at)).await
}
