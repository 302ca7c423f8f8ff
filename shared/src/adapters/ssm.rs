//! Secrets from SSM Parameter Store: the access-token signing key, a SecureString that only the
//! token-issuing functions may read. It is fetched once per cold start (one HTTPS round trip,
//! decrypted by SSM with the account's `aws/ssm` KMS key), never per request.

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

    /// The signing key stored in parameter `name` (see [`SigningKey::to_stored`]).
    pub async fn signing_key(&self, name: &str) -> anyhow::Result<SigningKey> {
        let text = self.secure_string(name).await?;
        SigningKey::from_stored(&text).map_err(|e| anyhow::anyhow!("SSM parameter {name}: {e}"))
    }

    /// Stores `key` under `name` as a SecureString. An existing parameter is never overwritten:
    /// a new key gets a new parameter, so the running issuers keep theirs until redeployed.
    pub async fn put_signing_key(&self, name: &str, key: &SigningKey) -> anyhow::Result<()> {
        self.client
            .put_parameter()
            .name(name)
            .value(key.to_stored())
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .description(format!("gigwire access-token signing key {}", key.kid()))
            .overwrite(false)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("storing SSM parameter {name}: {}", DisplayErrorContext(e))
            })?;
        Ok(())
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
