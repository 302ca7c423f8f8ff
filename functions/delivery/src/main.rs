//! The notification delivery functions (see `gigwire::notifications::routes::DELIVERY`): the
//! escalation sweep, the missed-message notifier and the admin broadcast.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[gigwire::notifications::routes::DELIVERY]).await
}
