//! Secrets from SSM Parameter Store: the access-token signing key, a SecureString that only the
//! token-issuing functions may read, and Stripe's secret key and webhook secret, which only the
//! functions that call Stripe (and, for the webhook secret, the webhook) may read. They are
//! fetched once per cold start (one HTTPS round trip, decrypted by SSM with the account's
//! `aws/ssm` KMS key; started at init and awaited at first use, see `lambda::Prefetch`),
//! never per request.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::DisplayErrorContext;

use crate::auth::SigningKey;

/// Reads SecureString parameters.
#[derive(Clone, Debug)]
pub struct SsmParameters {
    client: Client,
}

impl SsmParameters {
    /// A client from the SDK's standard environment.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    /// The decrypted value of parameter `name`.
    pub async fn secure_string(&self, name: &str) -> anyhow::Result<String> {
        let output = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("reading SSM parameter {name}: {}", DisplayErrorContext(e))
            })?;
        output
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| anyhow::anyhow!("SSM parameter {name} has no value"))
    }

    /// The decrypted values of parameters `names`, in their order, read concurrently (one
    /// round trip's wait). One `GetParameter` each rather than one `GetParameters`: IAM then
    /// authorizes each read against that parameter alone.
    pub async fn secure_strings(&self, names: &[&str]) -> anyhow::Result<Vec<String>> {
        futures::future::try_join_all(names.iter().map(|name| async move {
            let value = self.secure_string(name).await?;
            if value.trim().is_empty() {
                anyhow::bail!("SSM parameter {name} is empty");
            }
            Ok(value)
        }))
        .await
    }

    /// Stores `value` under `name` as a SecureString, replacing what is there when
    /// `overwrite` (Stripe's secrets are rotated in place: the functions read them again on
    /// their next cold start).
    pub async fn put_secret(&self, name: &str, value: &str, overwrite: bool) -> anyhow::Result<()> {
        self.put(name, value, None, overwrite).await
    }

    async fn put(
        &self,
        name: &str,
        value: &str,
        description: Option<String>,
        overwrite: bool,
    ) -> anyhow::Result<()> {
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .set_description(description)
            .overwrite(overwrite)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("storing SSM parameter {name}: {}", DisplayErrorContext(e))
            })?;
        Ok(())
    }

    /// The signing key stored in parameter `name` (see [`SigningKey::to_stored`]).
    pub async fn signing_key(&self, name: &str) -> anyhow::Result<SigningKey> {
        let text = self.secure_string(name).await?;
        SigningKey::from_stored(&text).map_err(|e| anyhow::anyhow!("SSM parameter {name}: {e}"))
    }

    /// Stores `key` under `name` as a SecureString. An existing parameter is never overwritten:
    /// a new key gets a new parameter, so the running issuers keep theirs until redeployed.
    pub async fn put_signing_key(&self, name: &str, key: &SigningKey) -> anyhow::Result<()> {
        let description = format!("gigwire access-token signing key {}", key.kid());
        self.put(name, &key.to_stored(), Some(description), false)
            .await
    }

    /// Whether parameter `name` exists.
    pub async fn exists(&self, name: &str) -> anyhow::Result<bool> {
        match self.client.get_parameter().name(name).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(false)
            }
            Err(e) => Err(anyhow::anyhow!(
                "reading SSM parameter {name}: {}",
                DisplayErrorContext(e)
            )),
        }
    }
}
