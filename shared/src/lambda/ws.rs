//! WebSocket API glue for `$connect`, `$disconnect`, `$default` and named action routes.
//! The answer is only a status: on `$connect` a non-2xx refuses the connection; on the other
//! routes replies travel as posts to the connection (see [`crate::realtime::service`]), so a
//! handler error is logged and, where it helps the client, sent as an `error` event by the
//! service itself.

use std::future::Future;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use tracing::warn;

use super::BoxError;
use crate::auth::Caller;
use crate::auth::authorizer::caller_from_context;
use crate::domain::ConnectionId;
use crate::error::{Error, Result};

/// One WebSocket event as a handler sees it.
#[derive(Debug)]
pub struct WsRequest {
    /// `$connect`, `$disconnect`, `$default` or an action name.
    pub route: String,
    /// The connection the event belongs to.
    pub connection_id: ConnectionId,
    /// The caller, on `$connect` (from the authorizer that just ran).
    pub caller: Option<Caller>,
    /// The message text (empty on connect/disconnect).
    pub body: String,
    /// When the function's timeout ends this invocation (`None` outside the runtime).
    pub deadline: Option<std::time::Instant>,
}

impl WsRequest {
    /// Builds the request from the gateway's event.
    pub fn from_event(event: ApiGatewayWebsocketProxyRequest) -> Result<Self> {
        let context = event.request_context;
        let connection_id =
            ConnectionId::parse(context.connection_id.as_deref().unwrap_or_default())?;
        // Sizes are judged by the message handler: a refusal here would only reach the
        // gateway, never the client (see `realtime::MAX_MESSAGE_BYTES`).
        let body = event.body.unwrap_or_default();
        Ok(Self {
            route: context.route_key.unwrap_or_default(),
            connection_id,
            caller: caller_from_context(&context.authorizer.fields),
            body,
            deadline: None,
        })
    }

    /// The caller, required on `$connect`.
    pub fn caller(&self) -> Result<&Caller> {
        self.caller
            .as_ref()
            .ok_or_else(|| Error::Unauthorized("missing or invalid access token".into()))
    }
}

/// Turns one event into the gateway's answer.
pub async fn handle<F, Fut>(event: ApiGatewayWebsocketProxyRequest, handler: F) -> Value
where
    F: FnOnce(WsRequest) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let result = match WsRequest::from_event(event) {
        Ok(request) => handler(request).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => json!({ "statusCode": 200 }),
        Err(err) => {
            warn!(
                status = err.status(),
                code = err.code(),
                "websocket event refused"
            );
            json!({ "statusCode": err.status(), "body": serde_json::to_string(&err.body()).unwrap_or_default() })
        }
    }
}

/// Serves a WebSocket route until the runtime stops.
pub async fn run<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(WsRequest) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let deadline = super::deadline_of(&event.context);
            let handler = |mut request: WsRequest| {
                request.deadline = Some(deadline);
                handler(request)
            };
            Ok::<_, BoxError>(handle(event.payload, handler).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> ApiGatewayWebsocketProxyRequest {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_default_message_reaches_the_handler_with_its_connection() {
        let answer = handle(fixture("ws-default/ping.json"), |req| async move {
            assert_eq!(req.route, "$default");
            assert_eq!(req.connection_id.as_str(), "L0SM9cOFvHcCIhw=");
            assert!(req.body.contains("ping"));
            Ok(())
        })
        .await;
        assert_eq!(answer["statusCode"], 200);
    }

    #[tokio::test]
    async fn a_connect_without_a_verified_caller_is_refused() {
        let mut event = fixture("ws-connect/connect.json");
        event.request_context.authorizer = Default::default();
        let answer = handle(event, |req| async move { req.caller().map(drop) }).await;
        assert_eq!(answer["statusCode"], 401);
    }
}
