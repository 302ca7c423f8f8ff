//! Credentials: short-lived access tokens (HS256 JWTs that the authorizers verify without any
//! I/O), opaque rotating refresh tokens (`{session}.{secret}`, only a hash is stored), and the
//! keyed hash under which sign-in codes are stored. Every secret is derived from the one
//! signing key in configuration, each under its own label, so one leak does not become another.

use std::collections::BTreeSet;

use aws_lc_rs::{constant_time, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::domain::otp;
use crate::domain::{Email, Role, SessionId, UserId};
use crate::error::Error;

/// Lifetime of an access token, in seconds.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;
/// Lifetime of a session without use, in seconds; each refresh extends it.
pub const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

/// Who is calling, as established by an authorizer from a verified access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub user_id: UserId,
    /// The session the token was issued to.
    pub session_id: SessionId,
    /// Roles at the time the token was issued.
    pub roles: BTreeSet<Role>,
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Roles, space separated.
    pub roles: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at, epoch seconds.
    pub iat: i64,
    /// Expiry, epoch seconds.
    pub exp: i64,
}

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl TokenService {
    /// Builds the service from configuration (once, at cold start).
    pub fn new(config: &Config) -> Self {
        Self::from_parts(
            &config.signing_key,
            &config.jwt_issuer,
            &config.jwt_audience,
        )
    }

    /// Builds the service from its parts.
    pub fn from_parts(key: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is exact: a stolen token should not live on through clock-skew slack.
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A signed access token for `user` in `session`, valid [`ACCESS_TOKEN_TTL_SECS`].
    pub fn issue(
        &self,
        user: &UserId,
        session: &SessionId,
        roles: &BTreeSet<Role>,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            roles: roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + ACCESS_TOKEN_TTL_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::unexpected)
    }

    /// Verifies signature, algorithm, issuer, audience and expiry; any failure is a 401.
    pub fn verify(&self, token: &str) -> Result<Caller, Error> {
        self.verify_with_expiry(token).map(|(caller, _)| caller)
    }

    /// Like [`Self::verify`], also returning the token's expiry (epoch seconds).
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Caller, i64), Error> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthorized("invalid or expired access token".into()))?;
        let claims = data.claims;
        let bad = || Error::Unauthorized("invalid access token".into());
        let caller = Caller {
            user_id: UserId::parse(&claims.sub, "sub").map_err(|_| bad())?,
            session_id: SessionId::parse(&claims.sid, "sid").map_err(|_| bad())?,
            roles: claims
                .roles
                .split_whitespace()
                .map(|r| Role::parse(r).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
        };
        Ok((caller, claims.exp))
    }
}

/// Takes the token out of an `Authorization: Bearer …` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Issues and checks refresh tokens `{session}.{generation}.{tag}`, where `tag` is an HMAC of
/// the session id, the generation and a per-session salt under a key derived from the
/// deployment secret. The store keeps only the salt and the current generation: a leaked table
/// cannot mint tokens, and an old token stays *recognisable* after rotation — presenting a
/// genuine token of an earlier generation proves it was copied, however many rotations the
/// thief made since, while a forged token (wrong tag) revokes nothing.
#[derive(Clone)]
pub struct RefreshTokens {
    key: hmac::Key,
}

/// The parts of a presented refresh token.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedRefresh {
    /// The session it names.
    pub session_id: SessionId,
    /// Its generation (0 at sign-in, +1 per rotation).
    pub generation: u64,
    tag: Vec<u8>,
}

impl RefreshTokens {
    /// Keys derived from the deployment secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: derive_key(secret, "refresh"),
        }
    }

    /// A new random per-session salt.
    pub fn new_salt() -> Result<String, Error> {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt).map_err(|_| Error::unexpected(anyhow::anyhow!("no randomness")))?;
        Ok(URL_SAFE_NO_PAD.encode(salt))
    }

    fn tag(&self, session: &SessionId, generation: u64, salt: &str) -> hmac::Tag {
        hmac::sign(
            &self.key,
            format!("{session}\0{generation}\0{salt}").as_bytes(),
        )
    }

    /// The client's token for `generation` of a session.
    pub fn issue(&self, session: &SessionId, generation: u64, salt: &str) -> String {
        let tag = self.tag(session, generation, salt);
        format!(
            "{session}.{generation}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Splits a presented token; a malformed one is a 401 like a wrong one.
    pub fn parse(token: &str) -> Result<PresentedRefresh, Error> {
        let invalid = || Error::Unauthorized("invalid refresh token".into());
        let mut parts = token.trim().splitn(3, '.');
        let (Some(session), Some(generation), Some(tag)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(PresentedRefresh {
            session_id: SessionId::parse(session, "refreshToken").map_err(|_| invalid())?,
            generation: generation.parse().map_err(|_| invalid())?,
            tag: URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?,
        })
    }

    /// Whether `presented` was really issued by us for a session with this salt.
    pub fn is_genuine(&self, presented: &PresentedRefresh, salt: &str) -> bool {
        let expected = self.tag(&presented.session_id, presented.generation, salt);
        constant_time::verify_slices_are_equal(expected.as_ref(), &presented.tag).is_ok()
    }
}

/// An HMAC key for one purpose, derived from the deployment secret under `label`, so a key
/// recovered from one use (cursors, codes) says nothing about the others.
pub fn derive_key(secret: &[u8], label: &str) -> hmac::Key {
    let derived = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret),
        format!("gigwire/{label}/v1").as_bytes(),
    );
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// Compares two stored hashes in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Generates and hashes sign-in codes. Six digits are guessable offline from a plain hash,
/// so codes are hashed with a key only the functions hold.
#[derive(Clone)]
pub struct CodeHasher {
    key: hmac::Key,
}

impl CodeHasher {
    /// A hasher keyed from the deployment secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: derive_key(secret, "otp"),
        }
    }

    /// A new uniformly random six-digit code.
    pub fn generate() -> Result<String, Error> {
        loop {
            let mut bytes = [0u8; 4];
            rand::fill(&mut bytes)
                .map_err(|_| Error::unexpected(anyhow::anyhow!("no randomness")))?;
            if let Some(code) = otp::code_from_random(u32::from_le_bytes(bytes)) {
                return Ok(code);
            }
        }
    }

    /// The stored form of `code` for `email`: binding the address stops one hash from
    /// matching another account's code.
    pub fn hash(&self, email: &Email, code: &str) -> String {
        let tag = hmac::sign(&self.key, format!("{email}\0{code}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> TokenService {
        TokenService::from_parts(KEY, "gigwire", "gigwire-api")
    }

    fn roles() -> BTreeSet<Role> {
        BTreeSet::from([Role::Customer, Role::Provider])
    }

    #[test]
    fn an_issued_token_verifies_to_its_caller() {
        let (user, session) = (UserId::new(), SessionId::new());
        let token = tokens()
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        assert_eq!(
            tokens().verify(&token).unwrap(),
            Caller {
                user_id: user,
                session_id: session,
                roles: roles()
            }
        );
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let (user, session) = (UserId::new(), SessionId::new());
        let expired = tokens()
            .issue(&user, &session, &roles(), Utc::now() - Duration::hours(1))
            .unwrap();
        let forged = TokenService::from_parts(
            b"another-key-another-key-another!!",
            "gigwire",
            "gigwire-api",
        )
        .issue(&user, &session, &roles(), Utc::now())
        .unwrap();
        let foreign = TokenService::from_parts(KEY, "gigwire", "other-app")
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        for token in [expired, forged, foreign, "garbage".into()] {
            assert_eq!(tokens().verify(&token).unwrap_err().status(), 401);
        }
    }

    #[test]
    fn bearer_headers_are_parsed_case_insensitively() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    #[test]
    fn refresh_tokens_are_recognised_per_generation_and_salt() {
        let refresh = RefreshTokens::new(KEY);
        let session = SessionId::new();
        let salt = RefreshTokens::new_salt().unwrap();
        let token = refresh.issue(&session, 3, &salt);
        let presented = RefreshTokens::parse(&token).unwrap();
        assert_eq!((presented.session_id, presented.generation), (session, 3));
        assert!(refresh.is_genuine(&presented, &salt));
        assert!(!refresh.is_genuine(&presented, &RefreshTokens::new_salt().unwrap()));
        let bumped = RefreshTokens::parse(&token.replacen(".3.", ".2.", 1)).unwrap();
        assert!(
            !refresh.is_genuine(&bumped, &salt),
            "a generation cannot be edited"
        );
        for bad in [
            "nope",
            "a.b.c",
            &format!("{session}.x.AAAA"),
            &format!("{session}.1"),
        ] {
            assert!(RefreshTokens::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn code_hashes_are_bound_to_the_address() {
        let hasher = CodeHasher::new(KEY);
        let ana = Email::parse("ana@example.com", "e").unwrap();
        let bob = Email::parse("bob@example.com", "e").unwrap();
        assert_eq!(hasher.hash(&ana, "123456"), hasher.hash(&ana, "123456"));
        assert_ne!(hasher.hash(&ana, "123456"), hasher.hash(&bob, "123456"));
        assert!(otp::is_well_formed(&CodeHasher::generate().unwrap()));
    }
}
