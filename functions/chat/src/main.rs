//! The `chat` binary's Lambda functions — rooms and messages (`gigwire::chat::routes`) and the
//! WebSocket layer that carries them (`gigwire::realtime::routes`: its `ws-default` sends,
//! types and marks read through the same chat rules): each Lambda runs the one its template
//! wiring names in `GIGWIRE_FUNCTION`.

use gigwire::lambda::BoxError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    gigwire::routes::run(&[
        gigwire::chat::routes::FEATURE,
        gigwire::realtime::routes::FEATURE,
    ])
    .await
}
