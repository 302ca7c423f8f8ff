//! The sign-in functions, the authorizers and the HTTP API's unmatched-route answer.

use super::authorizer;
use crate::auth::api::{Logout, Refresh, RequestCode, VerifyCode};
use crate::lambda::unmatched::unmatched;
use crate::lambda::{self, http};
use crate::routes::{Access, Allow, Feature, Function, Trigger};
use crate::serve_http;

/// Built into the `auth` binary.
pub const FEATURE: Feature = Feature {
    binary: "auth",
    functions: &[
        Function {
            name: "http-authorizer",
            description: "Validates the bearer access token of HTTP API requests.",
            trigger: Trigger::Authorizer,
            allow: &[],
            env: &[("JWT_PUBLIC_KEYS", "!Ref JwtPublicKeys")],
            timeout: None,
            run: |_| Box::pin(async { authorizer::run_http(lambda::init_verifying()?).await }),
        },
        Function {
            name: "ws-authorizer",
            description: "Validates the access token of a WebSocket handshake.",
            trigger: Trigger::Authorizer,
            allow: &[],
            env: &[("JWT_PUBLIC_KEYS", "!Ref JwtPublicKeys")],
            timeout: None,
            run: |_| Box::pin(async { authorizer::run_ws(lambda::init_verifying()?).await }),
        },
        Function {
            name: "auth-otp-start",
            description: "Starts an e-mail sign-in by sending a one-time code.",
            trigger: Trigger::Http(&[("POST", "/auth/otp")], Access::Public),
            allow: &[
                Allow::Table(&["GetItem", "PutItem", "UpdateItem"]),
                Allow::SendEmail,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(RequestCode::new, handle),
        },
        Function {
            name: "auth-otp-verify",
            description: "Exchanges a one-time code for an access token and a refresh session.",
            trigger: Trigger::Http(&[("POST", "/auth/otp/verify")], Access::Public),
            allow: &[
                Allow::Table(&[
                    "GetItem",
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                    "ConditionCheckItem",
                ]),
                Allow::SigningKey,
            ],
            env: &[
                ("JWT_SIGNING_KEY_PARAMETER", "!Ref SigningKeyParameter"),
                ("ADMIN_EMAILS", "!Ref AdminEmails"),
            ],
            timeout: None,
            run: |function| {
                Box::pin(async move {
                    let (init, issuer) = lambda::init_issuing().await?;
                    let entry = VerifyCode::new(&init, issuer);
                    http::serve(function.http_access(), |req| entry.handle(req)).await
                })
            },
        },
        Function {
            name: "auth-refresh",
            description: "Rotates a refresh session and issues a new access token.",
            trigger: Trigger::Http(&[("POST", "/auth/refresh")], Access::Public),
            allow: &[
                Allow::Table(&["GetItem", "UpdateItem", "DeleteItem"]),
                Allow::SigningKey,
                Allow::Indexes,
                Allow::CloseConnections,
            ],
            env: &[("JWT_SIGNING_KEY_PARAMETER", "!Ref SigningKeyParameter")],
            timeout: None,
            run: |function| {
                Box::pin(async move {
                    let (init, issuer) = lambda::init_issuing().await?;
                    let entry = Refresh::new(&init, issuer);
                    http::serve(function.http_access(), |req| entry.handle(req)).await
                })
            },
        },
        Function {
            name: "auth-logout",
            description: "Ends a refresh session and closes its WebSocket connections.",
            trigger: Trigger::Http(&[("POST", "/auth/logout")], Access::Public),
            allow: &[
                Allow::Table(&["GetItem", "DeleteItem"]),
                Allow::Indexes,
                Allow::CloseConnections,
            ],
            env: &[],
            timeout: None,
            run: serve_http!(Logout::new, handle),
        },
        Function {
            name: "unmatched-route",
            description: "Answers requests no route matches with the API's error body (404, or 405 with Allow).",
            trigger: Trigger::HttpDefault,
            allow: &[],
            env: &[],
            timeout: None,
            run: |_| {
                Box::pin(async {
                    lambda::init_config()?;
                    http::run_public(unmatched).await
                })
            },
        },
    ],
};
