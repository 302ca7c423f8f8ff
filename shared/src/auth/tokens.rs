//! Credentials: short-lived access tokens, opaque rotating refresh tokens
//! (`{session}.{generation}.{tag}`, only a salt is stored), and the keyed hash under which
//! sign-in codes are stored.
//!
//! Access tokens are EdDSA (Ed25519) JWTs. The private key lives only in the functions that
//! issue tokens ([`TokenIssuer`], loaded once at cold start from an SSM SecureString); the
//! authorizers hold public keys only ([`TokenVerifier`]), so reading any function's
//! configuration is not enough to mint a token. The header's `kid` names the key, and
//! authorizers accept a few keys at once, so the key can be rotated without signing anyone out.
//!
//! The HMAC keys for refresh tokens, codes, cursors and links are derived from a separate
//! deployment secret (`APP_SECRET`), each under its own label, so one leak does not become
//! another. That secret cannot mint access tokens.

use std::collections::{BTreeSet, HashMap};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use aws_lc_rs::{constant_time, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::otp;
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

impl Caller {
    /// `Forbidden` unless the caller is an admin (admin routes check it again behind their
    /// authorizer: a handler never trusts the route alone).
    pub fn admin_only(&self) -> crate::error::Result<()> {
        if self.roles.contains(&Role::Admin) {
            Ok(())
        } else {
            Err(crate::error::Error::Forbidden("admins only".into()))
        }
    }
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

/// Most public keys an authorizer accepts at once: the current one and the next (or previous)
/// during a rotation, with room for an emergency replacement.
pub const MAX_PUBLIC_KEYS: usize = 4;

fn claims_validation(issuer: &str, audience: &str) -> Validation {
    // Only EdDSA: a token naming HS256 (signed with some shared secret) or `none` is refused
    // before any key is looked at.
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Expiry is exact: a stolen token should not live on through clock-skew slack.
    validation.leeway = 0;
    validation
}

/// The Ed25519 private key that signs access tokens, with the key id (`kid`) that names its
/// public half to the authorizers. Only the functions that issue tokens hold one, fetched once
/// at cold start from an SSM SecureString parameter (see `infra/keys`).
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
}

/// How a signing key is stored: the SecureString parameter's value.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredSigningKey {
    kid: String,
    /// PKCS#8 document, base64url without padding.
    private_key: String,
}

impl SigningKey {
    /// A new random key named `kid`.
    pub fn generate(kid: &str) -> Result<Self, Error> {
        check_kid(kid).map_err(Error::unexpected)?;
        let document = Ed25519KeyPair::generate_pkcs8(&rand::SystemRandom::new())
            .map_err(|_| Error::unexpected(anyhow::anyhow!("no randomness")))?;
        Ok(Self {
            kid: kid.to_owned(),
            pkcs8: document.as_ref().to_vec(),
        })
    }

    /// Reads the stored form (what [`Self::to_stored`] wrote). The key is parsed here, so a
    /// damaged parameter fails the cold start rather than the first sign-in.
    pub fn from_stored(text: &str) -> anyhow::Result<Self> {
        let stored: StoredSigningKey = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("not a stored signing key ({e})"))?;
        check_kid(&stored.kid)?;
        let pkcs8 = URL_SAFE_NO_PAD
            .decode(stored.private_key.trim())
            .map_err(|_| anyhow::anyhow!("privateKey is not base64url"))?;
        Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| anyhow::anyhow!("privateKey is not an Ed25519 PKCS#8 key ({e})"))?;
        Ok(Self {
            kid: stored.kid,
            pkcs8,
        })
    }

    /// The stored form: JSON with `kid` and `privateKey`.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&StoredSigningKey {
            kid: self.kid.clone(),
            private_key: URL_SAFE_NO_PAD.encode(&self.pkcs8),
        })
        .unwrap_or_default()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as an entry of `JWT_PUBLIC_KEYS`: `{kid}:{base64url raw key}`.
    pub fn public_entry(&self) -> String {
        let public = Ed25519KeyPair::from_pkcs8(&self.pkcs8)
            .map(|pair| URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()))
            .unwrap_or_default();
        format!("{}:{public}", self.kid)
    }
}

fn check_kid(kid: &str) -> anyhow::Result<()> {
    let well_formed = !kid.is_empty()
        && kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    anyhow::ensure!(
        well_formed,
        "key id {kid:?} must be 1-64 letters, digits, '-', '_' or '.'"
    );
    Ok(())
}

/// Issues access tokens (the sign-in and refresh functions only).
#[derive(Clone)]
pub struct TokenIssuer {
    kid: String,
    encoding: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    /// An issuer signing with `key` (built once, at cold start).
    pub fn new(key: &SigningKey, issuer: &str, audience: &str) -> Self {
        Self {
            kid: key.kid.clone(),
            encoding: EncodingKey::from_ed_der(&key.pkcs8),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A signed access token for `user` in `session`, valid [`ACCESS_TOKEN_TTL_SECS`]; its
    /// header names the key (`kid`) so authorizers can hold two keys during a rotation.
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
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(Error::unexpected)
    }
}

/// The public keys an authorizer accepts, by key id (`JWT_PUBLIC_KEYS`).
#[derive(Clone)]
pub struct PublicKeys(HashMap<String, DecodingKey>);

impl PublicKeys {
    /// Parses `kid:base64url-key,kid:base64url-key` (at most [`MAX_PUBLIC_KEYS`] raw 32-byte
    /// Ed25519 public keys, distinct ids).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, key) = entry
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("entry {entry:?} is not kid:key"))?;
            check_kid(kid)?;
            let raw = URL_SAFE_NO_PAD
                .decode(key.trim())
                .map_err(|_| anyhow::anyhow!("the key of {kid:?} is not base64url"))?;
            anyhow::ensure!(
                raw.len() == 32,
                "the key of {kid:?} is not a 32-byte Ed25519 public key"
            );
            let duplicate = keys
                .insert(kid.to_owned(), DecodingKey::from_ed_der(&raw))
                .is_some();
            anyhow::ensure!(!duplicate, "key id {kid:?} appears twice");
        }
        anyhow::ensure!(!keys.is_empty(), "no public key given");
        anyhow::ensure!(
            keys.len() <= MAX_PUBLIC_KEYS,
            "at most {MAX_PUBLIC_KEYS} public keys are accepted"
        );
        Ok(Self(keys))
    }

    /// The key ids, sorted (for logs).
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.0.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PublicKeys").field(&self.kids()).finish()
    }
}

/// Verifies access tokens (the authorizers): public keys only, so nothing here can mint one.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: PublicKeys,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier accepting tokens signed by any of `keys` for this issuer and audience.
    pub fn new(keys: PublicKeys, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            validation: claims_validation(issuer, audience),
        }
    }

    /// Verifies signature, algorithm, key id, issuer, audience and expiry; any failure is a 401.
    pub fn verify(&self, token: &str) -> Result<Caller, Error> {
        self.verify_with_expiry(token).map(|(caller, _)| caller)
    }

    /// Like [`Self::verify`], also returning the token's expiry (epoch seconds).
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Caller, i64), Error> {
        let refused = || Error::Unauthorized("invalid or expired access token".into());
        // A token without a kid, or naming a key we do not hold, is refused outright: trying
        // every key would make a retired key valid again for tokens that omit the kid.
        let header = jsonwebtoken::decode_header(token).map_err(|_| refused())?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.0.get(kid))
            .ok_or_else(refused)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|_| refused())?;
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
    use serde_json::{Value, json};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key(kid: &str) -> SigningKey {
        SigningKey::generate(kid).unwrap()
    }

    fn verifier(keys: &[&SigningKey]) -> TokenVerifier {
        let entries: Vec<String> = keys.iter().map(|k| k.public_entry()).collect();
        TokenVerifier::new(
            PublicKeys::parse(&entries.join(",")).unwrap(),
            "gigwire",
            "gigwire-api",
        )
    }

    fn issuer(key: &SigningKey) -> TokenIssuer {
        TokenIssuer::new(key, "gigwire", "gigwire-api")
    }

    fn roles() -> BTreeSet<Role> {
        BTreeSet::from([Role::Customer, Role::Provider])
    }

    /// A token with any header, signed by hand: what an attacker holding a shared secret, or no
    /// key at all, could produce.
    fn handmade(header: Value, claims: &Claims, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let encode = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let message = format!(
            "{}.{}",
            encode(header.to_string().as_bytes()),
            encode(&serde_json::to_vec(claims).unwrap())
        );
        let signature = sign(message.as_bytes());
        format!("{message}.{}", encode(&signature))
    }

    fn claims(user: &UserId, session: &SessionId) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            roles: "customer".into(),
            iss: "gigwire".into(),
            aud: "gigwire-api".into(),
            iat: now,
            exp: now + 60,
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_caller() {
        let (user, session) = (UserId::new(), SessionId::new());
        let current = key("k1");
        let token = issuer(&current)
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some("k1")
        );
        assert_eq!(
            verifier(&[&current]).verify(&token).unwrap(),
            Caller {
                user_id: user,
                session_id: session,
                roles: roles()
            }
        );
    }

    #[test]
    fn during_a_rotation_tokens_of_either_key_verify() {
        let (old, new) = (key("old"), key("new"));
        let both = verifier(&[&old, &new]);
        for signer in [&old, &new] {
            let token = issuer(signer)
                .issue(&UserId::new(), &SessionId::new(), &roles(), Utc::now())
                .unwrap();
            assert!(both.verify(&token).is_ok(), "{}", signer.kid());
        }
        let token = issuer(&old)
            .issue(&UserId::new(), &SessionId::new(), &roles(), Utc::now())
            .unwrap();
        assert!(verifier(&[&new]).verify(&token).is_err(), "retired key");
    }

    #[test]
    fn expired_forged_foreign_and_unkeyed_tokens_are_refused() {
        let (user, session) = (UserId::new(), SessionId::new());
        let current = key("k1");
        let expired = issuer(&current)
            .issue(&user, &session, &roles(), Utc::now() - Duration::hours(1))
            .unwrap();
        // Another key under the trusted kid: the signature must not verify.
        let forged = issuer(&key("k1"))
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        let unknown_kid = issuer(&key("k9"))
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        let foreign = TokenIssuer::new(&current, "gigwire", "other-app")
            .issue(&user, &session, &roles(), Utc::now())
            .unwrap();
        let c = claims(&user, &session);
        let secret = b"0123456789abcdef0123456789abcdef";
        let hs256 = |message: &[u8]| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), message)
                .as_ref()
                .to_vec()
        };
        let shared_secret = handmade(
            json!({"alg": "HS256", "typ": "JWT", "kid": "k1"}),
            &c,
            hs256,
        );
        let unsigned = handmade(
            json!({"alg": "none", "typ": "JWT", "kid": "k1"}),
            &c,
            |_| vec![],
        );
        let no_kid = {
            let pair = Ed25519KeyPair::from_pkcs8(&current.pkcs8).unwrap();
            handmade(json!({"alg": "EdDSA", "typ": "JWT"}), &c, |m| {
                pair.sign(m).as_ref().to_vec()
            })
        };
        let verifier = verifier(&[&current]);
        for (name, token) in [
            ("expired", expired),
            ("forged", forged),
            ("unknown kid", unknown_kid),
            ("foreign", foreign),
            ("HS256", shared_secret),
            ("alg none", unsigned),
            ("no kid", no_kid),
            ("garbage", "garbage".into()),
        ] {
            assert_eq!(verifier.verify(&token).unwrap_err().status(), 401, "{name}");
        }
    }

    #[test]
    fn a_signing_key_round_trips_through_its_stored_form() {
        let original = key("2026-11-a");
        let stored = SigningKey::from_stored(&original.to_stored()).unwrap();
        assert_eq!(stored.kid(), "2026-11-a");
        assert_eq!(stored.public_entry(), original.public_entry());
        for bad in ["", "{}", r#"{"kid":"k","privateKey":"AAAA"}"#, "secret"] {
            assert!(SigningKey::from_stored(bad).is_err(), "{bad}");
        }
        assert!(SigningKey::generate("has space").is_err());
    }

    #[test]
    fn public_key_lists_are_checked() {
        let (a, b) = (key("a"), key("b"));
        let both = PublicKeys::parse(&format!(" {} , {} ", a.public_entry(), b.public_entry()));
        assert_eq!(both.unwrap().kids(), ["a", "b"]);
        let many: Vec<String> = (0..=MAX_PUBLIC_KEYS)
            .map(|i| key(&format!("k{i}")).public_entry())
            .collect();
        for bad in [
            String::new(),
            "a".into(),
            "a:not-base64!".into(),
            "a:AAAA".into(),
            format!("{},{}", a.public_entry(), a.public_entry()),
            many.join(","),
        ] {
            assert!(PublicKeys::parse(&bad).is_err(), "{bad}");
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
