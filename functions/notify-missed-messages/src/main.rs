//! On the table's stream: turns the chat messages members missed into notifications.

use gigwire::entrypoints::notify::MissedMessagesNotifier;
use gigwire::lambda::{self, BoxError, stream};
use gigwire::store::dynamo::ENTITY_MISSED;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let init = lambda::init().await?;
    let notifier = MissedMessagesNotifier::new(&init);
    stream::run(ENTITY_MISSED, |batch| notifier.handle(batch)).await
}
