//! Typed configuration, read once at cold start from the environment that template.yaml's
//! `Globals` sets. A missing or malformed variable fails start-up with its name, so a broken
//! deployment shows up in the first log line rather than as a 500 on some later request.
//!
//! Token keys are not part of [`Config`]: only the functions that issue access tokens read
//! [`SigningKeyConfig`] (where the private key is stored), and only the authorizers read
//! [`VerifierConfig`] (the public keys). Every other function never sees either.

use std::env;

use crate::auth::PublicKeys;
use crate::domain::AdminEmails;

/// Everything a function needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The private file bucket (`BUCKET_NAME`).
    pub bucket_name: String,
    /// Deployment secret from which the HMAC keys of refresh tokens, sign-in codes, cursors and
    /// email links are derived (`APP_SECRET`). It cannot sign access tokens.
    pub app_secret: Vec<u8>,
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
    /// Addresses that get the `admin` role when they sign in (`ADMIN_EMAILS`, comma-separated,
    /// optional; only the sign-in function has it).
    pub admin_emails: AdminEmails,
}

/// Shortest deployment secret accepted: an HMAC-SHA256 key wants at least 256 bits.
pub const MIN_APP_SECRET_BYTES: usize = 32;

/// Looks a variable up and fails with its name when it is missing or blank.
fn required(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<String> {
    match lookup(name) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => anyhow::bail!("environment variable {name} is missing or empty"),
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the real environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| required(&lookup, name);
        let app_secret = var("APP_SECRET")?.into_bytes();
        if app_secret.len() < MIN_APP_SECRET_BYTES {
            anyhow::bail!(
                "environment variable APP_SECRET must be at least {MIN_APP_SECRET_BYTES} bytes"
            );
        }
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            bucket_name: var("BUCKET_NAME")?,
            app_secret,
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
            app_url: lookup("APP_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            public_api_url: lookup("PUBLIC_API_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            push_application_arn: lookup("PUSH_PLATFORM_APPLICATION_ARN")
                .filter(|arn| !arn.trim().is_empty()),
            admin_emails: AdminEmails::parse(&lookup("ADMIN_EMAILS").unwrap_or_default())
                .map_err(|err| anyhow::anyhow!("environment variable ADMIN_EMAILS: {err}"))?,
        })
    }
}

/// Where a token-issuing function finds its private signing key (`JWT_SIGNING_KEY_PARAMETER`):
/// the name of an SSM SecureString parameter, read once at cold start. Only the sign-in and
/// refresh functions have this variable, and only their roles may read that parameter.
#[derive(Clone, Debug)]
pub struct SigningKeyConfig {
    /// Parameter name, e.g. `/gigwire/prod/jwt-signing-key/2026-11-a`.
    pub parameter: String,
}

impl SigningKeyConfig {
    /// Reads it from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads it through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            parameter: required(&lookup, "JWT_SIGNING_KEY_PARAMETER")?
                .trim()
                .to_owned(),
        })
    }
}

/// The public keys the authorizers accept (`JWT_PUBLIC_KEYS`: `kid:base64url-key`, comma
/// separated; two during a key rotation).
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    /// The parsed keys.
    pub public_keys: PublicKeys,
}

impl VerifierConfig {
    /// Reads it from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads it through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let text = required(&lookup, "JWT_PUBLIC_KEYS")?;
        let public_keys = PublicKeys::parse(&text)
            .map_err(|e| anyhow::anyhow!("environment variable JWT_PUBLIC_KEYS: {e}"))?;
        Ok(Self { public_keys })
    }
}

/// Where the Stripe-calling functions find Stripe (`STRIPE_SECRET_KEY_PARAMETER`, and for the
/// webhook alone `STRIPE_WEBHOOK_SECRET_PARAMETER`: names of SSM SecureString parameters, read
/// once at cold start, so the secrets never sit in a function's environment where anyone who
/// may read its configuration sees them; `STRIPE_API_BASE`, optional, points the client at
/// another server than api.stripe.com, such as the local Stripe-compatible test server).
#[derive(Clone, Debug)]
pub struct StripeLocation {
    /// Parameter holding the secret API key (`sk_…`).
    pub secret_key_parameter: String,
    /// Parameter holding the webhook endpoint's signing secret (`whsec_…`): only the webhook
    /// function is told it (and may read it).
    pub webhook_secret_parameter: Option<String>,
    /// Another API base URL than Stripe's.
    pub api_base: Option<String>,
}

impl StripeLocation {
    /// Reads it from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads it through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let parameter = |name: &str| -> anyhow::Result<Option<String>> {
            match lookup(name).map(|v| v.trim().to_owned()) {
                Some(value) if value.starts_with('/') => Ok(Some(value)),
                Some(value) if value.is_empty() => Ok(None),
                Some(_) => {
                    anyhow::bail!("environment variable {name} must name an SSM parameter (/…)")
                }
                None => Ok(None),
            }
        };
        Ok(Self {
            secret_key_parameter: parameter("STRIPE_SECRET_KEY_PARAMETER")?.ok_or_else(|| {
                anyhow::anyhow!(
                    "environment variable STRIPE_SECRET_KEY_PARAMETER is missing or empty"
                )
            })?,
            webhook_secret_parameter: parameter("STRIPE_WEBHOOK_SECRET_PARAMETER")?,
            api_base: lookup("STRIPE_API_BASE")
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
        })
    }
}

/// Stripe's secrets as a function holds them once read (see [`StripeLocation`]).
#[derive(Clone)]
pub struct StripeSecrets {
    /// The secret API key (`sk_…`).
    pub secret_key: String,
    /// The webhook endpoint's signing secret (`whsec_…`), for the webhook function only.
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for StripeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets, even in a debug log.
        f.debug_struct("StripeSecrets")
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    fn full() -> HashMap<&'static str, String> {
        HashMap::from([
            ("TABLE_NAME", "t".into()),
            ("BUCKET_NAME", "b".into()),
            ("APP_SECRET", "k".repeat(32)),
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
    fn stripe_is_found_through_parameter_names_and_its_secrets_never_printed() {
        let vars = HashMap::from([
            (
                "STRIPE_SECRET_KEY_PARAMETER",
                "/gigwire/prod/stripe/secret-key".to_owned(),
            ),
            ("STRIPE_API_BASE", "http://localhost:12111/".to_owned()),
        ]);
        let location = StripeLocation::from_lookup(|n| vars.get(n).cloned()).unwrap();
        assert_eq!(location.api_base.as_deref(), Some("http://localhost:12111"));
        assert_eq!(
            location.secret_key_parameter,
            "/gigwire/prod/stripe/secret-key"
        );
        assert_eq!(location.webhook_secret_parameter, None);
        let err = StripeLocation::from_lookup(|_| None).unwrap_err();
        assert!(
            err.to_string().contains("STRIPE_SECRET_KEY_PARAMETER"),
            "{err}"
        );
        // A secret pasted where its parameter's name belongs is refused, not used.
        let err = StripeLocation::from_lookup(|n| {
            (n == "STRIPE_SECRET_KEY_PARAMETER").then(|| "sk_live_abc".to_owned())
        })
        .unwrap_err();
        assert!(!err.to_string().contains("sk_live"), "{err}");
        let config = StripeSecrets {
            secret_key: "sk_test_abc".into(),
            webhook_secret: Some("whsec_abc".into()),
        };
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("sk_test") && !printed.contains("whsec"),
            "{printed}"
        );
    }

    #[test]
    fn a_short_app_secret_is_refused() {
        let mut vars = full();
        vars.insert("APP_SECRET", "short".into());
        let err = Config::from_lookup(|n| vars.get(n).cloned()).unwrap_err();
        assert!(err.to_string().contains("APP_SECRET"), "{err}");
    }

    /// Every function reads `Config`; none of it may be token key material, so a function that
    /// neither issues nor verifies tokens never even asks for a key variable.
    #[test]
    fn the_common_config_never_reads_a_token_key() {
        let vars = full();
        let asked = std::cell::RefCell::new(Vec::new());
        Config::from_lookup(|n| {
            asked.borrow_mut().push(n.to_owned());
            vars.get(n).cloned()
        })
        .unwrap();
        for name in asked.borrow().iter() {
            assert!(
                !name.starts_with("JWT_") || name == "JWT_ISSUER" || name == "JWT_AUDIENCE",
                "Config reads {name}"
            );
        }
    }

    #[test]
    fn key_variables_are_named_when_missing_or_malformed() {
        let err = SigningKeyConfig::from_lookup(|_| None).unwrap_err();
        assert!(
            err.to_string().contains("JWT_SIGNING_KEY_PARAMETER"),
            "{err}"
        );
        let err = VerifierConfig::from_lookup(|_| Some("k1:short".into())).unwrap_err();
        assert!(err.to_string().contains("JWT_PUBLIC_KEYS"), "{err}");
    }

    /// The template's resources, each as (logical id, its text).
    fn template_resources() -> Vec<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let template = std::fs::read_to_string(path).unwrap();
        let (_, resources) = template.split_once("\nResources:\n").unwrap();
        let mut blocks: Vec<(String, String)> = Vec::new();
        for line in resources.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let top = line.strip_prefix("  ").filter(|l| !l.starts_with(' '));
            match top.and_then(|l| l.strip_suffix(':')) {
                Some(id) if !id.starts_with('#') => blocks.push((id.to_owned(), String::new())),
                _ => {
                    if let Some((_, text)) = blocks.last_mut() {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
            }
        }
        blocks
    }

    /// The resources whose text holds `needle` — a function also when its execution role
    /// does (functions with the same permissions share one role); roles are not listed.
    fn holding(needle: &str) -> BTreeSet<String> {
        let resources = template_resources();
        let is_role = |text: &str| text.contains("Type: AWS::IAM::Role");
        let roles: Vec<String> = resources
            .iter()
            .filter(|(_, text)| is_role(text) && text.contains(needle))
            .map(|(id, _)| format!("Role: !GetAtt {id}.Arn"))
            .collect();
        resources
            .into_iter()
            .filter(|(_, text)| !is_role(text))
            .filter(|(_, text)| text.contains(needle) || roles.iter().any(|r| text.contains(r)))
            .map(|(id, _)| id)
            .collect()
    }

    /// Reading a function's configuration must not be enough to mint tokens: no key material
    /// in `Globals`, the private key's location and the right to read it only on the two
    /// functions that issue tokens, the public keys only on the authorizers.
    #[test]
    fn only_the_issuing_functions_can_reach_the_signing_key() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let template = std::fs::read_to_string(path).unwrap();
        let globals = template
            .split_once("\nGlobals:\n")
            .and_then(|(_, rest)| rest.split_once("\nResources:\n"))
            .map(|(globals, _)| globals)
            .unwrap();
        for secret in ["JWT_SIGNING_KEY", "JWT_PUBLIC_KEYS", "SigningKeyParameter"] {
            assert!(!globals.contains(secret), "Globals hold {secret}");
        }
        let issuing =
            BTreeSet::from(["AuthOtpVerifyFunction".into(), "AuthRefreshFunction".into()]);
        assert_eq!(holding("JWT_SIGNING_KEY_PARAMETER"), issuing);
        assert_eq!(holding("parameter${SigningKeyParameter}"), issuing);
        assert_eq!(holding("SigningKeyParameter"), issuing);
        assert_eq!(
            holding("JWT_PUBLIC_KEYS"),
            BTreeSet::from([
                "HttpAuthorizerFunction".into(),
                "WsAuthorizerFunction".into()
            ])
        );
        // Stripe's secrets: never in an environment, the webhook's only on the webhook, and
        // every reader of the secret key is told where it is by the same declaration.
        for raw in [
            "STRIPE_SECRET_KEY:",
            "STRIPE_WEBHOOK_SECRET:",
            "sk_",
            "whsec_",
        ] {
            assert!(holding(raw).is_empty(), "{raw} in {:?}", holding(raw));
        }
        assert_eq!(
            holding("StripeWebhookSecretParameter"),
            BTreeSet::from(["StripeWebhookFunction".into()])
        );
        assert_eq!(
            holding("STRIPE_SECRET_KEY_PARAMETER"),
            holding("parameter${StripeSecretKeyParameter}")
        );
        // In the declarations, the right to read the key and its location go together.
        for function in crate::FEATURES.iter().flat_map(|f| f.functions) {
            let reads = function
                .allow
                .iter()
                .any(|a| matches!(a, crate::routes::Allow::SigningKey));
            let told = function
                .env
                .iter()
                .any(|(name, _)| *name == "JWT_SIGNING_KEY_PARAMETER");
            assert_eq!(reads, told, "{}", function.name);
        }
    }
}
