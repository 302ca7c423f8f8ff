//! Text messages through SNS (`Publish` to a phone number), behind a narrow trait so the
//! escalation service can be tested without SNS and SNS can be swapped for another provider.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::Phone;
use crate::error::{Error, Result};

/// Sends text messages.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one transactional text message.
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<()>;
}

/// What happened to a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Accepted for delivery.
    Sent,
    /// The endpoint is disabled (app uninstalled, token expired): forget the device.
    Disabled,
}

/// Mobile push through platform endpoints.
#[async_trait]
pub trait PushSender: Send + Sync {
    /// Registers a device token; returns its endpoint.
    async fn register(&self, token: &str) -> Result<String>;
    /// Pushes a title and body (and data for the app) to one endpoint.
    async fn push(
        &self,
        endpoint: &str,
        title: &str,
        body: &str,
        data: &serde_json::Value,
    ) -> Result<Pushed>;
    /// Deletes an endpoint (idempotent).
    async fn unregister(&self, endpoint: &str) -> Result<()>;
}

/// [`PushSender`] on SNS platform endpoints of one platform application.
#[derive(Clone, Debug)]
pub struct SnsPush {
    client: Client,
    application_arn: String,
}

impl SnsPush {
    /// Builds the client; `None` when no platform application is configured.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, application_arn: Option<&str>) -> Option<Self> {
        application_arn.map(|arn| Self {
            client: Client::new(sdk),
            application_arn: arn.to_owned(),
        })
    }
}

#[async_trait]
impl PushSender for SnsPush {
    async fn register(&self, token: &str) -> Result<String> {
        // SNS returns the existing endpoint for a token it already knows.
        let out = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(&self.application_arn)
            .token(token)
            .send()
            .await
            .map_err(Error::unexpected)?;
        out.endpoint_arn
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("no endpoint returned")))
    }

    async fn push(
        &self,
        endpoint: &str,
        title: &str,
        body: &str,
        data: &serde_json::Value,
    ) -> Result<Pushed> {
        let fcm =
            serde_json::json!({ "notification": { "title": title, "body": body }, "data": data });
        let apns = serde_json::json!({ "aps": { "alert": { "title": title, "body": body } }, "data": data });
        let message = serde_json::json!({
            "default": body,
            "GCM": fcm.to_string(),
            "APNS": apns.to_string(),
            "APNS_SANDBOX": apns.to_string(),
        });
        let result = self
            .client
            .publish()
            .target_arn(endpoint)
            .message_structure("json")
            .message(message.to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Pushed::Sent),
            Err(err) if err.code() == Some("EndpointDisabled") => Ok(Pushed::Disabled),
            Err(err) => Err(Error::unexpected(err)),
        }
    }

    async fn unregister(&self, endpoint: &str) -> Result<()> {
        self.client
            .delete_endpoint()
            .endpoint_arn(endpoint)
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }
}

/// [`SmsSender`] on SNS.
#[derive(Clone, Debug)]
pub struct SnsSms {
    client: Client,
}

impl SnsSms {
    /// Builds the client from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }
}

#[async_trait]
impl SmsSender for SnsSms {
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<()> {
        // Transactional: delivered with priority and not subject to marketing opt-outs.
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(Error::unexpected)?;
        self.client
            .publish()
            .phone_number(to.as_str())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", kind)
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }
}
