//! The HTTP transport under async-stripe's request machinery: an implementation of its
//! `StripeClient` trait (the crate's extension point for HTTP clients) on hyper with rustls,
//! the stack the AWS SDK already links.
//!
//! Why not async-stripe's own client: it reads every error answer into Stripe's `ApiErrors`,
//! which carries a whole PaymentIntent, PaymentMethod, SetupIntent and Source with their
//! deserializers and `Debug` impls; measured, that alone made every Stripe-calling binary
//! about 5 MiB larger and its cold start heavier. Here an error is read into the three fields
//! the flows use (status, code, message), and everything else — the request builder, the
//! idempotency keys, the retry strategy (`RequestStrategy::test`, Stripe's
//! `Stripe-Should-Retry`), the pinned API version — is async-stripe's.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use stripe_client_core::{
    CustomizedStripeRequest, Outcome, RequestStrategy, StripeClient, StripeClientErr, StripeMethod,
    VERSION,
};

const API_BASE: &str = "https://api.stripe.com";
const STRIPE_VERSION: HeaderName = HeaderName::from_static("stripe-version");
const STRIPE_ACCOUNT: HeaderName = HeaderName::from_static("stripe-account");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const SHOULD_RETRY: &str = "stripe-should-retry";

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Stripe answered an error status.
    Api {
        status: u16,
        /// Stripe's error code (`resource_missing`, `idempotency_key_in_use`…), or empty.
        code: String,
        message: String,
    },
    /// No answer, or one that could not be read.
    Transport(String),
}

impl StripeClientErr for Failure {
    fn deserialize_err(msg: impl Display) -> Self {
        Self::Transport(format!("unreadable answer: {msg}"))
    }
}

fn transport(err: impl Display) -> Failure {
    Failure::Transport(err.to_string())
}

/// Stripe's error body, the fields read.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn api_failure(status: u16, body: &[u8]) -> Failure {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => Failure::Api {
            status,
            code: body.error.code.unwrap_or_default(),
            message: body.error.message.unwrap_or_default(),
        },
        Err(_) => Failure::Api {
            status,
            code: String::new(),
            message: "an error answer that is not Stripe's".into(),
        },
    }
}

type Http = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Where the client finds Stripe's secret key: possibly not known yet when the client is built
/// (a function starts reading it from SSM at cold start and does not wait for it), so it is
/// asked for at each call; a source answers from memory once it has the key.
pub trait SecretKey: Send + Sync {
    /// The secret key (`sk_…`), or why it cannot be had now.
    fn secret_key(&self) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>>;
}

/// A key known when the client is built.
struct Known(String);

impl SecretKey for Known {
    fn secret_key(&self) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

/// Stripe's API over HTTPS (plain HTTP for a local test server). Cheap to clone (clones
/// share the connection stack).
#[derive(Clone)]
pub(crate) struct Transport {
    /// Built at the first call, not at cold start: loading the system's root certificates
    /// costs about a millisecond, which the many functions that hold a Stripe client but
    /// rarely call Stripe (a start, a delivery, a summary) should not pay before their first
    /// request.
    http: Arc<OnceLock<Http>>,
    /// Without a trailing slash.
    base: String,
    key: Arc<dyn SecretKey>,
    version: HeaderValue,
}

impl Transport {
    /// A transport with a key known now.
    pub(crate) fn new(secret_key: &str, base_url: Option<&str>) -> Result<Self, Failure> {
        Self::with_key(Arc::new(Known(secret_key.to_owned())), base_url)
    }

    /// A transport that asks `key` for the secret key at each call.
    pub(crate) fn with_key(
        key: Arc<dyn SecretKey>,
        base_url: Option<&str>,
    ) -> Result<Self, Failure> {
        Ok(Self {
            http: Arc::new(OnceLock::new()),
            base: base_url
                .unwrap_or(API_BASE)
                .trim_end_matches('/')
                .to_owned(),
            key,
            version: HeaderValue::from_str(VERSION.as_str())
                .map_err(|_| transport("the API version is not a header value"))?,
        })
    }

    /// The `Authorization` header's value.
    async fn authorization(&self) -> Result<HeaderValue, Failure> {
        let key = self
            .key
            .secret_key()
            .await
            .map_err(|e| Failure::Transport(format!("the secret key cannot be read: {e}")))?;
        let mut value = HeaderValue::try_from(format!("Bearer {key}"))
            .map_err(|_| transport("the secret key is not a header value"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// The HTTP client, built once.
    fn http(&self) -> Result<&Http, Failure> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(transport)?
            .https_or_http()
            .enable_http1()
            .build();
        // No idle connections kept (as async-stripe's client): a connection Stripe closed
        // while the function was frozen must not fail the next invocation's call.
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Ok(self.http.get_or_init(|| http))
    }

    /// One attempt: the status, Stripe's retry advice and the body.
    async fn attempt(
        &self,
        request: hyper::Request<Full<Bytes>>,
        timeout: Option<Duration>,
    ) -> Result<(u16, Option<bool>, Bytes), Failure> {
        let http = self.http()?;
        let exchange = async {
            let response = http.request(request).await.map_err(transport)?;
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get(SHOULD_RETRY)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(transport)?
                .to_bytes();
            Ok((status, retry, body))
        };
        match timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or_else(|_| Err(transport("timed out"))),
            None => exchange.await,
        }
    }
}

impl StripeClient for Transport {
    type Err = Failure;

    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, Failure> {
        let (request, config) = request.into_pieces();
        let strategy = config.request_strategy.unwrap_or(RequestStrategy::Once);
        let mut uri = format!("{}/v1{}", self.base, request.path);
        if let Some(query) = &request.query {
            uri.push('?');
            uri.push_str(query);
        }
        let method = match request.method {
            StripeMethod::Get => hyper::Method::GET,
            StripeMethod::Post => hyper::Method::POST,
            StripeMethod::Delete => hyper::Method::DELETE,
        };
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, self.authorization().await?)
            .header(USER_AGENT, HeaderValue::from_static("gigwire"))
            .header(STRIPE_VERSION, self.version.clone());
        if let Some(account) = &config.account_id {
            let value = HeaderValue::from_str(account.as_str())
                .map_err(|_| transport("the account id is not a header value"))?;
            builder = builder.header(STRIPE_ACCOUNT, value);
        }
        // One key for every attempt: a retried call is the same call to Stripe.
        if let Some(key) = strategy.get_key() {
            let value = HeaderValue::from_str(key.as_str())
                .map_err(|_| transport("the idempotency key is not a header value"))?;
            builder = builder.header(IDEMPOTENCY_KEY, value);
        }
        if request.body.is_some() {
            builder = builder.header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        let request = builder
            .body(Full::new(Bytes::from(request.body.unwrap_or_default())))
            .map_err(transport)?;

        let mut tries = 0;
        let mut status = None;
        let mut advice = None;
        let mut failure = transport("not sent");
        loop {
            match strategy.test(status, advice, tries) {
                Outcome::Stop => return Err(failure),
                Outcome::Continue(Some(pause)) => tokio::time::sleep(pause).await,
                Outcome::Continue(None) => {}
            }
            tries += 1;
            match self.attempt(request.clone(), config.timeout).await {
                Ok((code, _, body)) if (200..300).contains(&code) => return Ok(body),
                Ok((code, retry, body)) => {
                    failure = api_failure(code, &body);
                    status = Some(code);
                    advice = retry;
                }
                Err(err) => failure = err,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_keeps_its_status_code_and_message_only() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"resource_missing",
            "message":"No such payment_intent: 'pi_1'","payment_intent":{"id":"pi_1",
            "client_secret":"pi_1_secret_x"}}}"#;
        match api_failure(404, body) {
            Failure::Api {
                status,
                code,
                message,
            } => {
                assert_eq!(status, 404);
                assert_eq!(code, "resource_missing");
                assert_eq!(message, "No such payment_intent: 'pi_1'");
            }
            other => panic!("{other:?}"),
        }
        match api_failure(502, b"<html>bad gateway</html>") {
            Failure::Api { status, code, .. } => assert_eq!((status, code.as_str()), (502, "")),
            other => panic!("{other:?}"),
        }
    }
}
