//! The two Lambda authorizers and the context they hand to handlers. They verify access tokens
//! with public keys only (see [`crate::auth`]).
//!
//! HTTP API: a Lambda authorizer can only answer "deny", which the gateway turns into a 403 with
//! its own body, while clients (and RFC 6750) expect 401 `invalid_token` to know they should
//! refresh. So the HTTP authorizer admits every request that carries an `Authorization` header
//! and states the verdict in the context (`authenticated`, user, session, roles, expiry); the
//! HTTP glue refuses an unauthenticated caller with our 401 before any handler runs. The
//! authorizer declares no identity source, so it also runs for a request without the header
//! (which the gateway would otherwise answer with its own body): every 401 carries our
//! `ErrorBody`. The price is no verdict cache; a verification is one Ed25519 check.
//!
//! WebSocket `$connect`: the token travels in the `token` query parameter (browsers cannot set
//! headers on a WebSocket); an invalid one fails the authorizer with `Unauthorized`, which the
//! gateway answers with 401 and no connection.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use chrono::Utc;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::auth::{self, Caller, TokenVerifier};
use crate::domain::{Role, SessionId, UserId};
use crate::error::Error;
use crate::lambda::BoxError;

/// What the authorizer tells the handlers (string values: the gateway stringifies them).
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthContext {
    /// `true` when the token verified.
    pub authenticated: bool,
    /// User id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Roles, space separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
    /// Token expiry, epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// Verifies a bearer token into an [`AuthContext`].
pub fn context_for(tokens: &TokenVerifier, token: Option<&str>) -> AuthContext {
    match token.map(|t| tokens.verify_with_expiry(t)) {
        Some(Ok((caller, expires_at))) => AuthContext {
            authenticated: true,
            user_id: Some(caller.user_id.to_string()),
            session_id: Some(caller.session_id.to_string()),
            roles: Some(
                caller
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            expires_at: Some(expires_at),
        },
        _ => AuthContext::default(),
    }
}

/// Reads the caller back out of the context the gateway passes to a handler. Values may come
/// back as strings or as JSON scalars depending on the API type, so both are accepted.
pub fn caller_from_context(fields: &HashMap<String, Value>) -> Option<Caller> {
    let text = |name: &str| match fields.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if text("authenticated")? != "true" {
        return None;
    }
    let expires_at: i64 = text("expiresAt")?.parse().ok()?;
    if expires_at <= Utc::now().timestamp() {
        return None;
    }
    Some(Caller {
        user_id: UserId::parse(&text("userId")?, "userId").ok()?,
        session_id: SessionId::parse(&text("sessionId")?, "sessionId").ok()?,
        roles: text("roles")?
            .split_whitespace()
            .map(Role::parse)
            .collect::<Option<_>>()?,
    })
}

/// The HTTP API authorizer's answer (simple response format).
pub fn http_answer(tokens: &TokenVerifier, event: &ApiGatewayV2CustomAuthorizerV2Request) -> Value {
    let header = event
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let context = context_for(tokens, header.and_then(auth::bearer));
    if !context.authenticated {
        warn!("invalid access token");
    }
    json!({ "isAuthorized": true, "context": context })
}

/// Serves the HTTP API authorizer.
pub async fn run_http(tokens: TokenVerifier) -> Result<(), BoxError> {
    let tokens = &tokens;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, BoxError>(http_answer(tokens, &event.payload))
        },
    ))
    .await
}

/// The part of a WebSocket `$connect` authorizer event we read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsAuthorizerEvent {
    /// ARN of the route being authorized.
    #[serde(default)]
    pub method_arn: String,
    /// Query string of the connect request.
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
}

/// The WebSocket authorizer's answer: an IAM policy allowing this connect, or `Unauthorized`.
pub fn ws_answer(tokens: &TokenVerifier, event: &WsAuthorizerEvent) -> Result<Value, Error> {
    let token = event
        .query_string_parameters
        .as_ref()
        .and_then(|q| q.get("token"))
        .map(String::as_str);
    let context = context_for(tokens, token);
    if !context.authenticated {
        warn!("websocket connect refused");
        // The gateway maps exactly this message to a 401.
        return Err(Error::Unauthorized("Unauthorized".into()));
    }
    info!(
        user_id = context.user_id.as_deref().unwrap_or_default(),
        "websocket connect allowed"
    );
    Ok(json!({
        "principalId": context.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{ "Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event.method_arn }]
        },
        "context": context,
    }))
}

/// Serves the WebSocket authorizer.
pub async fn run_ws(tokens: TokenVerifier) -> Result<(), BoxError> {
    let tokens = &tokens;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<WsAuthorizerEvent>| async move {
            ws_answer(tokens, &event.payload).map_err(|_| BoxError::from("Unauthorized"))
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use crate::auth::{PublicKeys, SigningKey, TokenIssuer};
    use std::sync::LazyLock;

    static KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate("k1").unwrap());

    fn tokens() -> TokenVerifier {
        let keys = PublicKeys::parse(&KEY.public_entry()).unwrap();
        TokenVerifier::new(keys, "gigwire", "gigwire-api")
    }

    fn token() -> (String, UserId) {
        let user = UserId::new();
        (
            TokenIssuer::new(&KEY, "gigwire", "gigwire-api")
                .issue(
                    &user,
                    &SessionId::new(),
                    &BTreeSet::from([Role::Provider]),
                    Utc::now(),
                )
                .unwrap(),
            user,
        )
    }

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_valid_token_round_trips_through_the_context() {
        let (token, user) = token();
        let context = serde_json::to_value(context_for(&tokens(), Some(&token))).unwrap();
        let fields: HashMap<String, Value> = serde_json::from_value(context).unwrap();
        let caller = caller_from_context(&fields).unwrap();
        assert_eq!(caller.user_id, user);
        assert!(caller.roles.contains(&Role::Provider));
    }

    #[test]
    fn an_http_request_with_a_forged_token_is_admitted_as_unauthenticated() {
        let event: ApiGatewayV2CustomAuthorizerV2Request =
            fixture("http-authorizer/forged-token.json");
        let answer = http_answer(&tokens(), &event);
        assert_eq!(answer["isAuthorized"], true);
        assert_eq!(answer["context"]["authenticated"], false);
        assert!(answer["context"].get("userId").is_none());
    }

    #[test]
    fn a_stale_or_unauthenticated_context_yields_no_caller() {
        let mut fields: HashMap<String, Value> = serde_json::from_value(json!({
            "authenticated": "true", "userId": UserId::new().to_string(), "sessionId": SessionId::new().to_string(),
            "roles": "customer", "expiresAt": (Utc::now().timestamp() - 1).to_string()
        }))
        .unwrap();
        assert!(caller_from_context(&fields).is_none(), "expired");
        fields.insert("expiresAt".into(), json!(Utc::now().timestamp() + 60));
        assert!(caller_from_context(&fields).is_some());
        fields.insert("authenticated".into(), json!("false"));
        assert!(caller_from_context(&fields).is_none());
    }

    #[test]
    fn the_websocket_authorizer_allows_exactly_the_connect_route() {
        let (token, user) = token();
        let mut event: WsAuthorizerEvent = fixture("ws-authorizer/connect.json");
        event.query_string_parameters = Some(HashMap::from([("token".into(), token)]));
        let answer = ws_answer(&tokens(), &event).unwrap();
        assert_eq!(answer["principalId"], user.to_string());
        assert_eq!(
            answer["policyDocument"]["Statement"][0]["Resource"],
            event.method_arn
        );
        event.query_string_parameters = None;
        assert!(ws_answer(&tokens(), &event).is_err());
    }
}
