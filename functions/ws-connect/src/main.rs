//! WebSocket `$connect`: registers the connection.

use gigwire::entrypoints::ws::Realtime;
use gigwire::lambda::{self, BoxError, ws};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let entry = Realtime::new(&init);
    ws::run(|req| entry.connect(req)).await
}
