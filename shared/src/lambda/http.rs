//! HTTP API (payload format 2.0) glue. [`HttpRequest`] is the typed view handlers see: body
//! bytes with a size limit, JSON parsing whose errors name the field, query and path
//! parameters, and the caller established by the authorizer. [`run`] serves authenticated
//! routes and refuses any request without a verified caller before the handler runs;
//! [`run_public`] serves the sign-in routes.

use std::collections::HashMap;
use std::future::Future;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::BoxError;
use crate::auth::Caller;
use crate::auth::authorizer::caller_from_context;
use crate::error::{Error, Result};

/// Largest request body accepted, in bytes: every JSON body of the API is far smaller.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest body of a route that takes another service's payloads (Stripe's events are not
/// bounded by our own bodies' size): 1 MiB, still well below API Gateway's 10 MB.
pub const MAX_FOREIGN_BODY_BYTES: usize = 1024 * 1024;

/// A request as a handler sees it.
#[derive(Debug, Default)]
pub struct HttpRequest {
    /// Route key, e.g. `PATCH /me` (`$default` for a request no route matched).
    pub route: String,
    /// The request's method, e.g. `PATCH`.
    pub method: String,
    /// The path as requested, e.g. `/rooms/01J…/read`.
    pub raw_path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Query parameters (first value of each).
    pub query: HashMap<String, String>,
    /// Path parameters.
    pub path: HashMap<String, String>,
    /// Raw body.
    pub body: Vec<u8>,
    /// Client IP as the gateway saw it.
    pub source_ip: String,
    /// The verified caller, if the authorizer admitted a valid token.
    pub caller: Option<Caller>,
    /// When the function's timeout ends this invocation (`None` outside the runtime).
    pub deadline: Option<std::time::Instant>,
}

impl HttpRequest {
    /// Builds the request from the gateway's event, refusing a body over `limit` bytes.
    pub fn from_event(event: ApiGatewayV2httpRequest, limit: usize) -> Result<Self> {
        let raw = event.body.unwrap_or_default();
        let body = if event.is_base64_encoded {
            STANDARD
                .decode(raw.as_bytes())
                .map_err(|_| Error::BadRequest("body is not valid base64".into()))?
        } else {
            raw.into_bytes()
        };
        if body.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        let context = event.request_context;
        Ok(Self {
            route: context.route_key.or(event.route_key).unwrap_or_default(),
            method: context.http.method.to_string(),
            raw_path: event.raw_path.unwrap_or_default(),
            headers: event.headers,
            query: event
                .query_string_parameters
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            path: event.path_parameters,
            body,
            source_ip: context.http.source_ip.unwrap_or_default(),
            caller: context
                .authorizer
                .and_then(|a| caller_from_context(&a.fields)),
            deadline: None,
        })
    }

    /// Parses the body as `T`, or `T::default()` when there is none (a body of optional
    /// fields the client may leave out).
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T> {
        if self.body.is_empty() {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// Parses the body as `T`. Unknown fields, wrong types and missing fields are validation
    /// errors naming the field; unreadable JSON is a bad request. Every body of the API is a
    /// JSON object: serde would otherwise map an array onto a struct's fields by position
    /// (`["renamed", null]` as a room patch), so anything else is refused before parsing.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        match self.body.iter().find(|b| !b.is_ascii_whitespace()) {
            None => return Err(Error::BadRequest("a JSON body is required".into())),
            Some(b'{') => {}
            Some(_) => {
                return Err(Error::Validation {
                    field: None,
                    message: "the body must be a JSON object".into(),
                });
            }
        }
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_data() {
                let field = match path.as_str() {
                    "." | "" => unknown_field(&inner.to_string()),
                    path => Some(path.to_owned()),
                };
                Error::Validation {
                    field,
                    message: strip_position(&inner.to_string()),
                }
            } else {
                Error::BadRequest(format!("malformed JSON: {inner}"))
            }
        })?;
        de.end()
            .map_err(|err| Error::BadRequest(format!("malformed JSON: {err}")))?;
        Ok(value)
    }

    /// The verified caller; the authenticated glue guarantees one.
    pub fn caller(&self) -> Result<&Caller> {
        self.caller
            .as_ref()
            .ok_or_else(|| Error::Unauthorized("missing or invalid access token".into()))
    }

    /// A path parameter (empty when absent: the id parsers then name it).
    pub fn path_param(&self, name: &str) -> &str {
        self.path.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The `cursor` query parameter of a list: absent or empty is the first page (a client
    /// that holds no cursor yet may send `cursor=`).
    pub fn cursor(&self) -> Option<&str> {
        self.query("cursor").filter(|c| !c.is_empty())
    }

    /// A snake_case enum from a query parameter; anything else is a 400 naming it.
    pub fn query_enum<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.query(name).map(|raw| wire_enum(raw, name)).transpose()
    }

    /// A snake_case enum from a path parameter; anything else is a 400 naming it.
    pub fn path_enum<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T> {
        wire_enum(self.path_param(name), name)
    }

    /// A boolean query parameter: absent is `false`; only `true` and `false` are accepted, so a
    /// mistyped filter (`unreadOnly=1`, `=null`) is refused instead of silently read as false.
    pub fn query_flag(&self, name: &str) -> Result<bool> {
        match self.query(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(Error::field(name, "must be true or false")),
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// serde names an unknown or missing top-level field only inside its message.
fn unknown_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// What a handler answers.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<serde_json::Value>,
    /// Where a redirect leads.
    pub location: Option<String>,
}

impl HttpResponse {
    /// `status` with `value` as JSON.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Self> {
        Ok(Self {
            status,
            body: Some(serde_json::to_value(value).map_err(Error::unexpected)?),
            location: None,
        })
    }

    /// `200` with `value`.
    pub fn ok<T: Serialize>(value: &T) -> Result<Self> {
        Self::json(200, value)
    }

    /// `204`, no body.
    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            location: None,
        }
    }

    /// `302` to `url`.
    pub fn redirect(url: String) -> Self {
        Self {
            status: 302,
            body: None,
            location: Some(url),
        }
    }
}

fn response(status: u16, body: Option<String>, headers: HeaderMap) -> ApiGatewayV2httpResponse {
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(status);
    out.headers = headers;
    if body.is_some() {
        out.headers
            .insert("content-type", HeaderValue::from_static("application/json"));
    }
    out.body = body.map(Body::Text);
    out
}

/// The one place an [`Error`] becomes an HTTP response.
pub fn error_response(err: &Error) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    match err {
        Error::RateLimited { retry_after_secs }
        | Error::Busy {
            retry_after_secs, ..
        } => {
            headers.insert("retry-after", HeaderValue::from(*retry_after_secs));
        }
        Error::MethodNotAllowed { allow } => {
            if let Ok(allow) = HeaderValue::from_str(allow) {
                headers.insert("allow", allow);
            }
        }
        Error::Unauthorized(_) => {
            headers.insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        _ => {}
    }
    let body = serde_json::to_string(&err.body()).unwrap_or_default();
    response(err.status(), Some(body), headers)
}

fn success_response(resp: HttpResponse) -> ApiGatewayV2httpResponse {
    let body = resp.body.map(|b| b.to_string());
    let mut headers = HeaderMap::new();
    if let Some(location) = resp.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert("location", location);
        headers.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    response(resp.status, body, headers)
}

/// Whether a route needs a verified caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only with a valid access token.
    Authenticated,
    /// Open to anyone (sign-in).
    Public,
}

/// Turns one event into a response: parse (a body of at most `limit` bytes), check access,
/// call the handler, map errors.
pub async fn handle<F, Fut>(
    access: Access,
    limit: usize,
    event: ApiGatewayV2httpRequest,
    handler: F,
) -> ApiGatewayV2httpResponse
where
    F: FnOnce(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse>>,
{
    let result = async {
        let request = HttpRequest::from_event(event, limit)?;
        let literal = crate::lambda::unmatched::literal_methods(&request.raw_path);
        if !literal.is_empty() && !literal.contains(&request.method.as_str()) {
            return Err(Error::MethodNotAllowed {
                allow: literal.join(", "),
            });
        }
        if access == Access::Authenticated {
            request.caller()?;
        }
        let route = request.route.clone();
        let response = handler(request).await;
        match &response {
            Ok(r) => info!(route, status = r.status, "request served"),
            Err(e) => warn!(
                route,
                status = e.status(),
                code = e.code(),
                "request refused"
            ),
        }
        response
    }
    .await;
    match result {
        Ok(resp) => success_response(resp),
        Err(err) => error_response(&err),
    }
}

/// Serves an authenticated route until the runtime stops.
pub async fn run<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse>>,
{
    serve(Access::Authenticated, handler).await
}

/// Serves a public route until the runtime stops.
pub async fn run_public<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse>>,
{
    serve(Access::Public, handler).await
}

/// Serves a route with the given access until the runtime stops.
pub async fn serve<F, Fut>(access: Access, handler: F) -> Result<(), BoxError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse>>,
{
    serve_limited(access, MAX_BODY_BYTES, handler).await
}

/// [`serve`] with a body limit of `limit` bytes instead of [`MAX_BODY_BYTES`].
pub async fn serve_limited<F, Fut>(access: Access, limit: usize, handler: F) -> Result<(), BoxError>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let deadline = super::deadline_of(&event.context);
            let handler = |mut request: HttpRequest| {
                request.deadline = Some(deadline);
                handler(request)
            };
            Ok::<_, BoxError>(handle(access, limit, event.payload, handler).await)
        },
    ))
    .await
}

/// `raw` read as the snake_case enum it names on the wire; anything else is a 400 naming
/// the parameter `name`.
fn wire_enum<T: serde::de::DeserializeOwned>(raw: &str, name: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| Error::field(name, format!("unknown {name} '{raw}'")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Payload {
        email: String,
        count: Option<u8>,
    }

    fn request(body: &str) -> HttpRequest {
        HttpRequest {
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    fn fixture(name: &str) -> ApiGatewayV2httpRequest {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = request(r#"{"email":"a@b.co","nickname":1}"#)
            .json::<Payload>()
            .unwrap_err();
        assert!(
            matches!(err, Error::Validation { field: Some(ref f), .. } if f == "nickname"),
            "{err:?}"
        );
        let err = request(r#"{"email":"a@b.co","count":"x"}"#)
            .json::<Payload>()
            .unwrap_err();
        assert!(
            matches!(err, Error::Validation { field: Some(ref f), .. } if f == "count"),
            "{err:?}"
        );
        let err = request(r#"{}"#).json::<Payload>().unwrap_err();
        assert!(
            matches!(err, Error::Validation { field: Some(ref f), .. } if f == "email"),
            "{err:?}"
        );
    }

    #[test]
    fn malformed_or_missing_json_is_a_bad_request() {
        for body in [
            r#"{"email":"#,
            "",
            r#"{"email":"a@b.co"} trailing"#,
            r#"{"email":"a@b.co","#,
        ] {
            assert!(
                matches!(
                    request(body).json::<Payload>().unwrap_err(),
                    Error::BadRequest(_)
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused_not_mapped_by_position() {
        for body in [r#"["a@b.co", 1]"#, " [] ", "null", "\"a@b.co\"", "7"] {
            let err = request(body).json::<Payload>().unwrap_err();
            assert!(matches!(err, Error::Validation { .. }), "{body}: {err:?}");
        }
    }

    #[test]
    fn flags_are_true_or_false_and_nothing_else() {
        let mut req = HttpRequest::default();
        assert!(!req.query_flag("unreadOnly").unwrap());
        for (raw, want) in [("true", true), ("false", false)] {
            req.query.insert("unreadOnly".into(), raw.into());
            assert_eq!(req.query_flag("unreadOnly").unwrap(), want);
        }
        for raw in ["null", "-5", "1", "", "TRUE"] {
            req.query.insert("unreadOnly".into(), raw.into());
            let err = req.query_flag("unreadOnly").unwrap_err();
            assert_eq!(err.status(), 400, "{raw}");
        }
    }

    #[tokio::test]
    async fn an_authenticated_route_refuses_a_request_without_a_verified_caller() {
        let response = handle(
            Access::Authenticated,
            MAX_BODY_BYTES,
            fixture("get-me/unauthenticated.json"),
            |_| async { Ok(HttpResponse::no_content()) },
        )
        .await;
        assert_eq!(response.status_code, 401);
        assert!(response.headers.contains_key("www-authenticate"));
    }

    #[tokio::test]
    async fn the_authorizer_context_becomes_the_caller() {
        let response = handle(
            Access::Authenticated,
            MAX_BODY_BYTES,
            fixture("get-me/authenticated.json"),
            |req| async move {
                let caller = req.caller()?;
                HttpResponse::ok(&caller.user_id)
            },
        )
        .await;
        assert_eq!(response.status_code, 200);
        assert_eq!(
            response.body,
            Some(Body::Text("\"01JD0000000000000000000001\"".into()))
        );
    }

    #[tokio::test]
    async fn oversize_bodies_are_refused_before_the_handler() {
        let mut event = fixture("auth-otp-start/request.json");
        event.body = Some("x".repeat(MAX_BODY_BYTES + 1));
        let response = handle(Access::Public, MAX_BODY_BYTES, event.clone(), |_| async {
            panic!("handler must not run")
        })
        .await;
        assert_eq!(response.status_code, 413);
        // A route with a larger limit (Stripe's webhook) takes it.
        let response = handle(
            Access::Public,
            MAX_FOREIGN_BODY_BYTES,
            event,
            |req| async move { HttpResponse::json(200, &req.body.len()) },
        )
        .await;
        assert_eq!(response.status_code, 200);
    }

    #[test]
    fn rate_limits_carry_retry_after_and_internal_errors_stay_generic() {
        let response = error_response(&Error::RateLimited {
            retry_after_secs: 7,
        });
        assert_eq!(response.status_code, 429);
        assert_eq!(response.headers["retry-after"], "7");
        let response = error_response(&Error::unexpected(anyhow::anyhow!("secret table name")));
        assert_eq!(response.status_code, 500);
        assert!(!format!("{:?}", response.body).contains("secret"));
    }
}
