//! Email delivery through SES v2.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use tracing::instrument;

use crate::domain::Email;
use crate::error::{Error, Result};

/// One email, already rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingEmail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Sends email.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email.
    async fn send(&self, email: &OutgoingEmail) -> Result<()>;
}

/// [`Mailer`] on SES v2.
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    /// A mailer sending from `from`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, from: impl Into<String>) -> Self {
        Self {
            client: Client::new(sdk),
            from: from.into(),
        }
    }
}

fn content(text: &str) -> Result<Content> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(Error::unexpected)
}

#[async_trait]
impl Mailer for SesMailer {
    #[instrument(skip_all)]
    async fn send(&self, email: &OutgoingEmail) -> Result<()> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }
}
