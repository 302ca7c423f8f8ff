//! Email one-time-code sign-in, refresh-token rotation and sign-out.
//!
//! The code request answers the same whatever the address (no account enumeration) and is rate
//! limited per client network (IPv4 address, IPv6 /64), per address and network, and per
//! address under a larger ceiling — so a stranger who knows an address cannot spend its
//! owner's requests from one network, while guesses per address stay bounded. A code is stored hashed, dies after
//! [`otp::MAX_ATTEMPTS`] wrong guesses, and is consumed by a conditional delete so it signs in
//! once even under concurrent requests. Refresh tokens rotate on every use; presenting the one
//! a rotation replaced means it was copied, and ends the whole session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::{Mailer, Pusher};
use crate::auth::otp;
use crate::auth::store::{OtpRecord, OtpStore, Session, SessionStore};
use crate::auth::{self, CodeHasher, RefreshTokens, TokenIssuer, hashes_match};
use crate::domain::{AdminEmails, Email, ProfileChanges, Role, SessionId, User};
use crate::error::{Error, Result};
use crate::me::store::UserStore;
use crate::realtime::service as realtime;
use crate::realtime::store::ConnectionStore;
use crate::store::{RateDecision, RateLimiter};
use crate::templates::EmailTemplates;

/// `POST /auth/otp`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CodeRequest {
    /// Address to send the code to.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// `POST /auth/otp/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyRequest {
    /// Address the code was sent to.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The six digits from the email.
    #[schema(pattern = "^[0-9]{6}$", example = "123456")]
    pub code: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The refresh token last received.
    pub refresh_token: String,
}

/// A fresh pair of tokens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// Bearer token for the HTTP API and the WebSocket `token` query parameter.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use token for `POST /auth/refresh`; store it securely.
    pub refresh_token: String,
    /// The signed-in user.
    pub user: User,
}

/// `202` body of `POST /auth/otp`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Always `sent`, whether or not the address has an account.
    pub status: &'static str,
}

async fn limit(
    limiter: &dyn RateLimiter,
    scope: &str,
    subject: &str,
    max: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    match limiter
        .hit(scope, subject, max, otp::REQUEST_WINDOW_SECS, now)
        .await?
    {
        RateDecision::Allowed => Ok(()),
        RateDecision::Limited { retry_after_secs } => {
            warn!(scope, "rate limited");
            Err(Error::RateLimited { retry_after_secs })
        }
    }
}

/// Who asks for a code, and how often their IP may.
pub struct Requester<'a> {
    /// Client IP as the gateway saw it.
    pub ip: &'a str,
    /// Requests allowed per IP per window.
    pub ip_limit: u32,
}

/// Emails a new sign-in code to `email`.
#[allow(clippy::too_many_arguments)]
#[instrument(skip_all)]
pub async fn request_code(
    otps: &dyn OtpStore,
    limiter: &dyn RateLimiter,
    mailer: &dyn Mailer,
    templates: &EmailTemplates,
    codes: &CodeHasher,
    email: &Email,
    requester: Requester<'_>,
    now: DateTime<Utc>,
) -> Result<CodeSent> {
    let network = otp::client_network(requester.ip);
    limit(limiter, "otp-ip", &network, requester.ip_limit, now).await?;
    // Per address and network first: a stranger's burst is refused here, on their own share,
    // before it can spend the address's ceiling below.
    limit(
        limiter,
        "otp-email-net",
        &format!("{}#{network}", email.as_str()),
        otp::REQUESTS_PER_EMAIL_AND_NETWORK,
        now,
    )
    .await?;
    limit(
        limiter,
        "otp-email",
        email.as_str(),
        otp::REQUESTS_PER_EMAIL,
        now,
    )
    .await?;
    let code = CodeHasher::generate()?;
    let record = OtpRecord {
        code_hash: codes.hash(email, &code),
        attempts: 0,
        expires_at: now.timestamp() + otp::CODE_TTL_SECS,
    };
    otps.put_code(email, &record).await?;
    let message = templates.sign_in(email, &code, otp::CODE_TTL_SECS / 60)?;
    mailer.send(&message).await?;
    info!("sign-in code sent");
    Ok(CodeSent { status: "sent" })
}

/// Checks a code and signs the user in, creating the account on first sign-in.
#[allow(clippy::too_many_arguments)]
#[instrument(skip_all)]
pub async fn verify_code(
    otps: &dyn OtpStore,
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
    limiter: &dyn RateLimiter,
    codes: &CodeHasher,
    tokens: &Tokens<'_>,
    admins: &AdminEmails,
    email: &Email,
    code: &str,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenResponse> {
    if !otp::is_well_formed(code) {
        return Err(Error::field("code", "must be 6 digits"));
    }
    // Five wrong guesses kill one code, but codes can be re-requested: this caps guesses per
    // address across codes.
    limit(
        limiter,
        "otp-verify",
        email.as_str(),
        otp::VERIFICATIONS_PER_EMAIL,
        now,
    )
    .await?;
    let invalid = || Error::Unauthorized("invalid or expired code".into());
    let record = otps
        .get_code(email)
        .await?
        .filter(|r| r.expires_at > now.timestamp())
        .ok_or_else(invalid)?;
    if record.attempts >= otp::MAX_ATTEMPTS {
        return Err(Error::Unauthorized(
            "too many wrong attempts; request a new code".into(),
        ));
    }
    let hash = codes.hash(email, code);
    if !hashes_match(&hash, &record.code_hash) {
        otps.record_failure(email, &record.code_hash).await?;
        warn!(attempts = record.attempts + 1, "wrong sign-in code");
        return Err(invalid());
    }
    if !otps.consume_code(email, &hash, otp::MAX_ATTEMPTS).await? {
        return Err(invalid());
    }
    let mut user = find_or_create_user(users, email, now).await?;
    if admins.contains(email) && !user.has_role(Role::Admin) {
        let mut roles = user.roles.clone();
        roles.insert(Role::Admin);
        let changes = ProfileChanges {
            roles: Some(roles),
            ..Default::default()
        };
        user = users.update_profile(&user.id, &changes, now).await?;
        info!(user_id = %user.id, "admin role granted: the address is in AdminEmails");
    }
    start_session(sessions, tokens, user, user_agent, now).await
}

async fn find_or_create_user(
    users: &dyn UserStore,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<User> {
    if let Some(id) = users.user_id_by_email(email).await? {
        return users.get_user(&id).await?.ok_or(Error::NotFound("user"));
    }
    let user = User::new(email.clone(), now);
    if users.create_user(&user).await? {
        info!(user_id = %user.id, "user created");
        return Ok(user);
    }
    // Another sign-in for the same address created the account first: use that one.
    let id = users
        .user_id_by_email(email)
        .await?
        .ok_or_else(|| Error::Conflict("account is being created, retry".into()))?;
    users.get_user(&id).await?.ok_or(Error::NotFound("user"))
}

async fn start_session(
    sessions: &dyn SessionStore,
    tokens: &Tokens<'_>,
    user: User,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenResponse> {
    let session = Session {
        id: SessionId::new(),
        user_id: user.id,
        generation: 0,
        salt: RefreshTokens::new_salt()?,
        created_at: now,
        last_used_at: now,
        expires_at: now.timestamp() + auth::SESSION_TTL_SECS,
        user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
    };
    sessions.create_session(&session).await?;
    info!(user_id = %user.id, session_id = %session.id, "signed in");
    token_response(tokens, user, &session, 0, now)
}

/// The two token issuers a sign-in or refresh needs.
pub struct Tokens<'a> {
    /// Access tokens.
    pub access: &'a TokenIssuer,
    /// Refresh tokens.
    pub refresh: &'a RefreshTokens,
}

fn token_response(
    tokens: &Tokens<'_>,
    user: User,
    session: &Session,
    generation: u64,
    now: DateTime<Utc>,
) -> Result<TokenResponse> {
    Ok(TokenResponse {
        access_token: tokens
            .access
            .issue(&user.id, &session.id, &user.roles, now)?,
        token_type: "Bearer",
        expires_in: auth::ACCESS_TOKEN_TTL_SECS,
        refresh_token: tokens.refresh.issue(&session.id, generation, &session.salt),
        user,
    })
}

/// What ending a session touches besides the session: its open WebSocket connections.
pub struct SessionEnd<'a> {
    /// Where connections are registered.
    pub connections: &'a dyn ConnectionStore,
    /// Closes them.
    pub pusher: &'a dyn Pusher,
}

async fn end_session(
    sessions: &dyn SessionStore,
    ending: &SessionEnd<'_>,
    session: &Session,
) -> Result<()> {
    sessions.delete_session(&session.id).await?;
    // The session is over whatever happens to its sockets; a socket left open still cannot
    // refresh, and its registration expires with its TTL.
    if let Err(err) = realtime::close_session(
        ending.connections,
        ending.pusher,
        &session.user_id,
        &session.id,
    )
    .await
    {
        warn!(error = ?err, "could not close the session's connections");
    }
    Ok(())
}

/// Redeems a refresh token for a new pair; the old token stops working, and presenting it
/// again later revokes the session.
#[instrument(skip_all)]
pub async fn refresh(
    sessions: &dyn SessionStore,
    ending: &SessionEnd<'_>,
    users: &dyn UserStore,
    tokens: &Tokens<'_>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<TokenResponse> {
    let presented = RefreshTokens::parse(token)?;
    let invalid = || Error::Unauthorized("invalid refresh token".into());
    let session = sessions
        .get_session(&presented.session_id)
        .await?
        .filter(|s| s.expires_at > now.timestamp())
        .filter(|s| tokens.refresh.is_genuine(&presented, &s.salt))
        .ok_or_else(invalid)?;
    if presented.generation != session.generation {
        // A genuine token of another generation: somebody kept a copy of a redeemed token.
        warn!(session_id = %session.id, "refresh token reuse; session revoked");
        end_session(sessions, ending, &session).await?;
        return Err(invalid());
    }
    let expires_at = now.timestamp() + auth::SESSION_TTL_SECS;
    if !sessions
        .rotate_session(&session.id, session.generation, now, expires_at)
        .await?
    {
        return Err(invalid());
    }
    // Roles are read afresh so a token minted now carries the profile as it is now.
    let user = users
        .get_user(&session.user_id)
        .await?
        .ok_or_else(invalid)?;
    token_response(tokens, user, &session, session.generation + 1, now)
}

/// Ends the session of a refresh token. Idempotent: an unknown or already ended session is
/// not an error, so a client can always sign out.
#[instrument(skip_all)]
pub async fn logout(
    sessions: &dyn SessionStore,
    ending: &SessionEnd<'_>,
    refresh: &RefreshTokens,
    token: &str,
) -> Result<()> {
    let presented = RefreshTokens::parse(token)?;
    if let Some(session) = sessions.get_session(&presented.session_id).await? {
        if !refresh.is_genuine(&presented, &session.salt) {
            return Err(Error::Unauthorized("invalid refresh token".into()));
        }
        end_session(sessions, ending, &session).await?;
        info!(session_id = %session.id, "signed out");
    }
    Ok(())
}
