//! WebSocket routes: `$connect`, `$disconnect`, `$default`.

use crate::chat::api::ChatApi;
use crate::error::Result;
use crate::lambda::Init;
use crate::lambda::now;
use crate::lambda::ws::WsRequest;
use crate::realtime::service as realtime;

/// `$connect`, `$disconnect` and `$default`: connection bookkeeping, presence and client
/// actions, over the chat dependencies.
pub struct Realtime {
    api: ChatApi,
}

impl Realtime {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            api: ChatApi::new(init),
        }
    }

    /// `$connect`: registers the connection of the caller the authorizer admitted.
    pub async fn connect(&self, req: WsRequest) -> Result<()> {
        let caller = req.caller()?.clone();
        self.api
            .chat()
            .connected(req.connection_id, &caller, now())
            .await
    }

    /// `$disconnect`: forgets the connection.
    pub async fn disconnect(&self, req: WsRequest) -> Result<()> {
        self.api
            .chat()
            .disconnected(&req.connection_id, now())
            .await
    }

    /// `$default`: one client message.
    pub async fn handle(&self, req: WsRequest) -> Result<()> {
        let chat = self.api.chat();
        realtime::handle_message(
            chat.connections,
            chat.pusher,
            &chat,
            &req.connection_id,
            req.caller.as_ref(),
            &req.body,
            now(),
            req.deadline,
        )
        .await
    }
}
