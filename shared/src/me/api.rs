//! The caller's own resources: `GET /me`, `PATCH /me`, `GET /me/sessions`.

use crate::adapters::ApiGatewayPusher;
use crate::cursor::CursorCodec;
use crate::domain::ProfilePatch;
use crate::error::Result;
use crate::lambda::Init;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::me::service as users;
use crate::store::dynamo::DynamoStore;

/// `GET /me`.
pub struct GetMe {
    store: DynamoStore,
}

impl GetMe {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(&users::get_me(&self.store, req.caller()?).await?)
    }
}

/// `PATCH /me`.
pub struct UpdateMe {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
}

impl UpdateMe {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let patch: ProfilePatch = req.json()?;
        HttpResponse::ok(
            &users::update_me(
                &self.store,
                &self.store,
                &self.pusher,
                req.caller()?,
                patch,
                now(),
            )
            .await?,
        )
    }
}

/// `GET /me/sessions?limit&cursor`.
pub struct ListSessions {
    store: DynamoStore,
    cursors: CursorCodec,
}

impl ListSessions {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            cursors: CursorCodec::new(&init.config.app_secret),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let limit = users::page_size(req.query("limit"))?;
        HttpResponse::ok(
            &users::list_sessions(
                &self.store,
                &self.cursors,
                req.caller()?,
                limit,
                req.cursor(),
                now(),
            )
            .await?,
        )
    }
}
