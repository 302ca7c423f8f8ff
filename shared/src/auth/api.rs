//! Sign-in routes: `POST /auth/otp`, `POST /auth/otp/verify`, `POST /auth/refresh`,
//! `POST /auth/logout`.

use crate::adapters::{ApiGatewayPusher, SesMailer};
use crate::auth::service::{
    self as auth, CodeRequest, RefreshRequest, Requester, SessionEnd, Tokens, VerifyRequest,
};
use crate::auth::{CodeHasher, RefreshTokens, TokenIssuer};
use crate::domain::{AdminEmails, Email};
use crate::error::{Error, Result};
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::lambda::{Init, Prefetch};
use crate::store::dynamo::DynamoStore;
use crate::templates::EmailTemplates;

/// `POST /auth/otp`: emails a sign-in code.
pub struct RequestCode {
    store: DynamoStore,
    mailer: SesMailer,
    templates: EmailTemplates,
    codes: CodeHasher,
    ip_limit: u32,
}

impl RequestCode {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            mailer: SesMailer::from_sdk(&init.sdk, &init.config.email_from),
            templates: EmailTemplates::new(),
            codes: CodeHasher::new(&init.config.app_secret),
            ip_limit: init.config.otp_requests_per_ip,
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: CodeRequest = req.json()?;
        let email = Email::parse(&body.email, "email")?;
        let requester = Requester {
            ip: &req.source_ip,
            ip_limit: self.ip_limit,
        };
        let sent = auth::request_code(
            &self.store,
            &self.store,
            &self.mailer,
            &self.templates,
            &self.codes,
            &email,
            requester,
            now(),
        )
        .await?;
        HttpResponse::json(202, &sent)
    }
}

/// `POST /auth/otp/verify`: exchanges a code for tokens.
pub struct VerifyCode {
    store: DynamoStore,
    codes: CodeHasher,
    access: Prefetch<TokenIssuer>,
    refresh: RefreshTokens,
    admins: AdminEmails,
}

impl VerifyCode {
    /// Builds the dependencies once; `access` comes from [`crate::lambda::init_issuing`].
    pub fn new(init: &Init, access: Prefetch<TokenIssuer>) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            codes: CodeHasher::new(&init.config.app_secret),
            access,
            refresh: RefreshTokens::new(&init.config.app_secret),
            admins: init.config.admin_emails.clone(),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: VerifyRequest = req.json()?;
        let email = Email::parse(&body.email, "email")?;
        let tokens = Tokens {
            access: self.access.get().await.map_err(Error::unexpected)?,
            refresh: &self.refresh,
        };
        let store = &self.store;
        let response = auth::verify_code(
            store,
            store,
            store,
            store,
            &self.codes,
            &tokens,
            &self.admins,
            &email,
            body.code.trim(),
            req.header("user-agent"),
            now(),
        )
        .await?;
        HttpResponse::ok(&response)
    }
}

/// `POST /auth/refresh`: rotates a refresh token.
pub struct Refresh {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    access: Prefetch<TokenIssuer>,
    refresh: RefreshTokens,
}

impl Refresh {
    /// Builds the dependencies once; `access` comes from [`crate::lambda::init_issuing`].
    pub fn new(init: &Init, access: Prefetch<TokenIssuer>) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            access,
            refresh: RefreshTokens::new(&init.config.app_secret),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: RefreshRequest = req.json()?;
        let tokens = Tokens {
            access: self.access.get().await.map_err(Error::unexpected)?,
            refresh: &self.refresh,
        };
        let ending = SessionEnd {
            connections: &self.store,
            pusher: &self.pusher,
        };
        let response = auth::refresh(
            &self.store,
            &ending,
            &self.store,
            &tokens,
            &body.refresh_token,
            now(),
        )
        .await?;
        HttpResponse::ok(&response)
    }
}

/// `POST /auth/logout`: ends the session of a refresh token.
pub struct Logout {
    store: DynamoStore,
    pusher: ApiGatewayPusher,
    refresh: RefreshTokens,
}

impl Logout {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            pusher: ApiGatewayPusher::from_sdk(&init.sdk, &init.config.ws_management_endpoint),
            refresh: RefreshTokens::new(&init.config.app_secret),
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: RefreshRequest = req.json()?;
        let ending = SessionEnd {
            connections: &self.store,
            pusher: &self.pusher,
        };
        auth::logout(&self.store, &ending, &self.refresh, &body.refresh_token).await?;
        Ok(HttpResponse::no_content())
    }
}
