//! Real-time pushes to WebSocket clients through the API Gateway Management API. A post to a
//! connection that is gone answers 410; that is an expected outcome ([`Delivery::Gone`]) the
//! caller uses to delete exactly that connection, not an error.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::domain::ConnectionId;
use crate::error::{Error, Result};

/// What happened to one post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The gateway accepted it for the client.
    Delivered,
    /// The connection no longer exists.
    Gone,
}

/// Posts to open WebSocket connections.
#[async_trait]
pub trait Pusher: Send + Sync {
    /// Sends `payload` to one connection.
    async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> Result<Delivery>;
    /// Closes one connection; one already gone is not an error.
    async fn close(&self, connection: &ConnectionId) -> Result<()>;
}

/// [`Pusher`] on the Management API of one WebSocket stage.
#[derive(Clone, Debug)]
pub struct ApiGatewayPusher {
    client: Client,
}

impl ApiGatewayPusher {
    /// A pusher for the stage at `endpoint` (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

#[async_trait]
impl Pusher for ApiGatewayPusher {
    async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> Result<Delivery> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection.as_str())
            .data(Blob::new(payload))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Delivery::Delivered),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception()) =>
            {
                Ok(Delivery::Gone)
            }
            Err(err) => Err(Error::unexpected(err)),
        }
    }

    async fn close(&self, connection: &ConnectionId) -> Result<()> {
        let result = self
            .client
            .delete_connection()
            .connection_id(connection.as_str())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(Error::unexpected(err)),
        }
    }
}
