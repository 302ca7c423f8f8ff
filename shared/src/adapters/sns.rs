//! Text messages through SNS (`Publish` to a phone number), behind a narrow trait so the
//! escalation service can be tested without SNS and SNS can be swapped for another provider.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::Phone;
use crate::error::{Error, Result};

/// Sends text messages.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one transactional text message.
    async fn send_sms(&self, to: &Phone, text: &str) -> Result<()>;
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
