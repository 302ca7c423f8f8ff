//! WebSocket routes: `$connect`, `$disconnect`, `$default`.

use super::now;
use crate::adapters::ApiGatewayPusher;
use crate::error::Result;
use crate::lambda::Init;
use crate::lambda::ws::WsRequest;
use crate::services::realtime;
use crate::store::dynamo::DynamoStore;

/// `$connect` and `$disconnect`: connection bookkeeping.
pub struct Connections {
    store: DynamoStore,
}

impl Connections {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
        }
    }

    /// `$connect`: registers the connection of the caller the authorizer admitted.
    pub async fn connect(&self, req: WsRequest) -> Result<()> {
        let caller = req.caller()?.clone();
        realtime::connect(&self.store, req.connection_id, &caller, now()).await
    }

    /// `$disconnect`: forgets the connection.
    pub async fn disconnect(&self, req: WsRequest) -> Result<()> {
        realtime::disconnect(&self.store, &req.connection_id).await
    }
}

/// `$default`: client messages.
pub struct Messages {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
}

impl Messages {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
        }
    }

    /// Handles one message.
    pub async fn handle(&self, req: WsRequest) -> Result<()> {
        realtime::handle_message(
            &self.store,
            &self.pusher,
            &req.connection_id,
            &req.body,
            now(),
        )
        .await
    }
}
