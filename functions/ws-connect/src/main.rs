//! WebSocket `$connect`: registers the connection.

use gigwire::entrypoints::ws::Connections;
use gigwire::lambda::{self, BoxError, ws};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = Connections::new(&init);
    ws::run(|req| entry.connect(req)).await
}
