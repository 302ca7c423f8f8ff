//! Runtime glue: everything between the Lambda Runtime API and a handler. A function's runner
//! (declared in its feature's `routes`) calls [`init`] once (tracing, configuration, AWS
//! configuration), builds the dependencies its handler needs, and hands the handler to one of
//! the `run`/`serve` functions here, which parse the event, establish the caller, and map the
//! one error type to the event's answer.

pub mod http;
mod prefetch;
pub mod schedule;
pub mod stream;
pub mod unmatched;
pub mod ws;

pub use lambda_runtime::Error as BoxError;
pub use prefetch::Prefetch;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::info;

use crate::adapters::SsmParameters;
use crate::auth::{TokenIssuer, TokenVerifier};
use crate::config::{Config, SigningKeyConfig, StripeSecrets, VerifierConfig};

/// When the runtime ends this invocation (its timeout), on this process's monotonic clock:
/// work that retries under contention stops in time to answer instead of being cut off.
pub fn deadline_of(context: &lambda_runtime::Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// What a cold start builds once and every invocation shares.
pub struct Init {
    /// The deployment's configuration.
    pub config: Config,
    /// AWS configuration from the SDK's standard environment.
    pub sdk: aws_config::SdkConfig,
}

/// Sets up logging and reads the configuration, without AWS configuration (for functions
/// that call no AWS service, such as the authorizers).
pub fn init_config() -> Result<Config, BoxError> {
    lambda_runtime::tracing::init_default_subscriber();
    Ok(Config::from_env()?)
}

/// Sets up logging and reads the configuration and the AWS configuration.
pub async fn init() -> Result<Init, BoxError> {
    let config = init_config()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Ok(Init { config, sdk })
}

/// [`init`] for the functions that issue access tokens: also starts reading the private
/// signing key from SSM (the parameter named by `JWT_SIGNING_KEY_PARAMETER`), once per cold
/// start, in the background (see [`Prefetch`]); a request awaits it where it issues a token.
pub async fn init_issuing() -> Result<(Init, Prefetch<TokenIssuer>), BoxError> {
    let init = init().await?;
    let location = SigningKeyConfig::from_env()?;
    let ssm = SsmParameters::from_sdk(&init.sdk);
    let (issuer, audience) = (
        init.config.jwt_issuer.clone(),
        init.config.jwt_audience.clone(),
    );
    let tokens = Prefetch::start(move || {
        let (ssm, parameter) = (ssm.clone(), location.parameter.clone());
        let (issuer, audience) = (issuer.clone(), audience.clone());
        async move {
            let key = ssm.signing_key(&parameter).await?;
            info!(kid = key.kid(), "signing key loaded");
            Ok(TokenIssuer::new(&key, &issuer, &audience))
        }
    });
    Ok((init, tokens))
}

/// What the functions that call Stripe build at cold start: [`init`], Stripe's secrets (being
/// read) and the Stripe client that asks for them.
pub struct StripeInit {
    /// Configuration and AWS configuration.
    pub base: Init,
    /// Stripe's secrets, read from SSM in the background from cold start.
    pub secrets: Prefetch<StripeSecrets>,
    /// The Stripe client.
    pub payments: gigwire_payments::StripePayments,
}

/// The Stripe client's key, from the secrets being read.
struct PrefetchedKey(Prefetch<StripeSecrets>);

impl gigwire_payments::SecretKey for PrefetchedKey {
    fn secret_key(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>
    {
        Box::pin(async move {
            self.0
                .get()
                .await
                .map(|secrets| secrets.secret_key.clone())
                .map_err(|e| format!("{e:#}"))
        })
    }
}

/// [`init`] for the functions that call Stripe: also starts reading Stripe's secrets from the
/// SSM parameters named by `STRIPE_*_PARAMETER` (concurrently, once per cold start, in the
/// background: see [`Prefetch`]) and builds the Stripe client, which awaits them at its
/// first call.
pub async fn init_stripe() -> Result<StripeInit, BoxError> {
    let base = init().await?;
    let location = crate::config::StripeLocation::from_env()?;
    let ssm = SsmParameters::from_sdk(&base.sdk);
    let names = location.clone();
    let secrets = Prefetch::start(move || {
        let (ssm, names) = (ssm.clone(), names.clone());
        async move {
            let mut wanted = vec![names.secret_key_parameter.as_str()];
            wanted.extend(names.webhook_secret_parameter.as_deref());
            let mut values = ssm.secure_strings(&wanted).await?.into_iter();
            Ok(StripeSecrets {
                secret_key: values.next().unwrap_or_default(),
                webhook_secret: values.next(),
            })
        }
    });
    let payments = gigwire_payments::StripePayments::with_key(
        std::sync::Arc::new(PrefetchedKey(secrets.clone())),
        location.api_base.as_deref(),
    )?;
    Ok(StripeInit {
        base,
        secrets,
        payments,
    })
}

/// [`init_config`] for the authorizers: also reads the public keys (`JWT_PUBLIC_KEYS`). No AWS
/// call and no private key: an authorizer can check tokens but not make them.
pub fn init_verifying() -> Result<TokenVerifier, BoxError> {
    let config = init_config()?;
    let keys = VerifierConfig::from_env()?.public_keys;
    info!(kids = ?keys.kids(), "public keys loaded");
    Ok(TokenVerifier::new(
        keys,
        &config.jwt_issuer,
        &config.jwt_audience,
    ))
}

/// The time a request is handled; one read per request so a request sees one "now".
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::apigw::{
        ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
        ApiGatewayWebsocketProxyRequest,
    };
    use aws_lambda_events::eventbridge::EventBridgeEvent;

    /// A stream fixture holding exactly one `T` that `function`'s declared stream takes.
    fn written_one<T: serde::de::DeserializeOwned + std::fmt::Debug>(
        text: &str,
        function: &str,
    ) -> Result<(), serde_json::Error> {
        let stream = crate::FEATURES
            .iter()
            .flat_map(|f| f.functions)
            .find_map(|f| match f.trigger {
                crate::routes::Trigger::Stream(stream) if f.name == function => Some(stream),
                _ => None,
            })
            .expect("a stream consumer");
        let event = serde_json::from_str::<super::stream::StreamEvent>(text)?;
        let items = super::stream::written::<T>(event, &stream);
        assert_eq!(items.as_ref().map(Vec::len).ok(), Some(1), "{items:?}");
        Ok(())
    }

    /// Every fixture under `events/` must be a valid event of the kind its function receives,
    /// so `cargo lambda invoke --data-file` and `sam local invoke` can use any of them.
    #[test]
    fn every_event_fixture_parses_as_its_functions_event() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut checked = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            let function = dir.file_name().unwrap().to_string_lossy().into_owned();
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let parsed = match function.as_str() {
                    "http-authorizer" => {
                        serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(&text)
                            .map(drop)
                    }
                    "ws-authorizer" => {
                        serde_json::from_str::<crate::auth::authorizer::WsAuthorizerEvent>(&text)
                            .map(drop)
                    }
                    f if f.starts_with("ws-") => {
                        serde_json::from_str::<ApiGatewayWebsocketProxyRequest>(&text).map(drop)
                    }
                    "notify-missed-messages" | "send-booking-news" => {
                        let event = serde_json::from_str::<super::stream::StreamEvent>(&text);
                        event.map(drop)
                    }
                    // The job consumers read the item itself: the fixture's image must be one.
                    "send-job-news" => written_one::<crate::jobs::model::Job>(&text, &function),
                    "send-application-news" => {
                        written_one::<crate::jobs::model::Application>(&text, &function)
                    }
                    "measure-first-responses" => {
                        written_one::<crate::chat::model::Message>(&text, &function)
                    }
                    "record-premium-upgrades" => {
                        written_one::<crate::followups::model::PremiumUpgrade>(&text, &function)
                    }
                    "follow-job-bookings" | "record-interactions" => {
                        written_one::<crate::bookings::model::Booking>(&text, &function)
                    }
                    f if f.starts_with("cron-") || f == "schedule" => {
                        serde_json::from_str::<EventBridgeEvent>(&text).map(drop)
                    }
                    _ => serde_json::from_str::<ApiGatewayV2httpRequest>(&text).map(drop),
                };
                assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
                checked += 1;
            }
        }
        assert!(checked > 0);
        for function in crate::FEATURES.iter().flat_map(|f| f.functions) {
            assert!(
                root.join(function.name).is_dir(),
                "no fixture for function {}",
                function.name
            );
        }
    }
}
