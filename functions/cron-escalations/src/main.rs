//! Every minute: sends the SMS and emails of notifications still unread after their delay.

use gigwire::entrypoints::notify::EscalationSweep;
use gigwire::lambda::{self, BoxError, schedule};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let sweep = EscalationSweep::new(&init);
    schedule::run(|at| sweep.run(at)).await
}
