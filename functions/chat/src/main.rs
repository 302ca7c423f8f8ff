//! The `chat` binary's Lambda functions — rooms and messages (`gigwire::chat::routes`), the
//! WebSocket layer that carries them (`gigwire::realtime::routes`: its `ws-default` sends,
//! types and marks read through the same chat rules) and the notification inbox
//! (`gigwire::notifications::routes::FEATURE`): each Lambda runs the one its template wiring
//! names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[
        gigwire::chat::routes::FEATURE,
        gigwire::realtime::routes::FEATURE,
        gigwire::notifications::routes::FEATURE,
    ])
    .await
}
