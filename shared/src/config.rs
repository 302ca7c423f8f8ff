//! Typed configuration, read once at cold start from the environment that template.yaml's
//! `Globals` sets. A missing or malformed variable fails start-up with its name, so a broken
//! deployment shows up in the first log line rather than as a 500 on some later request.

use std::env;

/// Everything a function needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The private file bucket (`BUCKET_NAME`).
    pub bucket_name: String,
    /// Key that signs access tokens and derives the other secrets (`JWT_SIGNING_KEY`).
    pub signing_key: Vec<u8>,
    /// `iss` of access tokens (`JWT_ISSUER`).
    pub jwt_issuer: String,
    /// `aud` of access tokens (`JWT_AUDIENCE`).
    pub jwt_audience: String,
    /// Sender address of every email (`EMAIL_FROM`).
    pub email_from: String,
    /// Base URL of the WebSocket Management API (`WS_MANAGEMENT_ENDPOINT`), e.g.
    /// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub ws_management_endpoint: String,
    /// Deployment stage name (`STAGE`).
    pub stage: String,
    /// Sign-in codes one client IP may request per 15 minutes (`OTP_REQUESTS_PER_IP`): the
    /// right value depends on how many users share an address (offices, carrier NAT).
    pub otp_requests_per_ip: u32,
    /// Largest upload in bytes (`MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
    /// Where links in emails lead (`APP_URL`, optional: no button without it).
    pub app_url: Option<String>,
    /// Public base URL of the HTTP API (`PUBLIC_API_URL`, optional): email links go through
    /// its click-tracking redirect when set.
    pub public_api_url: Option<String>,
    /// The SNS platform application devices register with (`PUSH_PLATFORM_APPLICATION_ARN`,
    /// optional: no mobile push without it).
    pub push_application_arn: Option<String>,
}

/// Shortest signing key accepted: HS256 wants at least 256 bits.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the real environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| -> anyhow::Result<String> {
            match lookup(name) {
                Some(value) if !value.trim().is_empty() => Ok(value),
                _ => anyhow::bail!("environment variable {name} is missing or empty"),
            }
        };
        let signing_key = var("JWT_SIGNING_KEY")?.into_bytes();
        if signing_key.len() < MIN_SIGNING_KEY_BYTES {
            anyhow::bail!(
                "environment variable JWT_SIGNING_KEY must be at least {MIN_SIGNING_KEY_BYTES} bytes"
            );
        }
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            bucket_name: var("BUCKET_NAME")?,
            signing_key,
            jwt_issuer: var("JWT_ISSUER")?,
            jwt_audience: var("JWT_AUDIENCE")?,
            email_from: var("EMAIL_FROM")?,
            ws_management_endpoint: var("WS_MANAGEMENT_ENDPOINT")?
                .trim_end_matches('/')
                .to_owned(),
            stage: var("STAGE")?,
            otp_requests_per_ip: var("OTP_REQUESTS_PER_IP")?.parse().map_err(|_| {
                anyhow::anyhow!(
                    "environment variable OTP_REQUESTS_PER_IP must be a positive integer"
                )
            })?,
            max_upload_bytes: var("MAX_UPLOAD_BYTES")?.parse().map_err(|_| {
                anyhow::anyhow!("environment variable MAX_UPLOAD_BYTES must be a positive integer")
            })?,
            app_url: std::env::var("APP_URL")
                .ok()
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            public_api_url: std::env::var("PUBLIC_API_URL")
                .ok()
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            push_application_arn: std::env::var("PUSH_PLATFORM_APPLICATION_ARN")
                .ok()
                .filter(|arn| !arn.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        HashMap::from([
            ("TABLE_NAME", "t".into()),
            ("BUCKET_NAME", "b".into()),
            ("JWT_SIGNING_KEY", "k".repeat(32)),
            ("JWT_ISSUER", "gigwire".into()),
            ("JWT_AUDIENCE", "gigwire-api".into()),
            ("EMAIL_FROM", "no-reply@example.com".into()),
            ("WS_MANAGEMENT_ENDPOINT", "https://x.example/dev/".into()),
            ("STAGE", "dev".into()),
            ("OTP_REQUESTS_PER_IP", "30".into()),
            ("MAX_UPLOAD_BYTES", "10485760".into()),
        ])
    }

    #[test]
    fn a_complete_environment_parses_and_trims_the_endpoint() {
        let vars = full();
        let config = Config::from_lookup(|n| vars.get(n).cloned()).unwrap();
        assert_eq!(config.ws_management_endpoint, "https://x.example/dev");
        assert_eq!(config.table_name, "t");
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let mut vars = full();
        vars.remove("TABLE_NAME");
        let err = Config::from_lookup(|n| vars.get(n).cloned()).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"), "{err}");
    }

    #[test]
    fn a_short_signing_key_is_refused() {
        let mut vars = full();
        vars.insert("JWT_SIGNING_KEY", "short".into());
        let err = Config::from_lookup(|n| vars.get(n).cloned()).unwrap_err();
        assert!(err.to_string().contains("JWT_SIGNING_KEY"), "{err}");
    }
}
