//! Access-token keys: reading a function's configuration must not be enough to mint a token,
//! and during a key rotation the authorizers accept tokens of both keys and nothing else.

use std::collections::{BTreeSet, HashSet};

use chrono::Utc;
use gigwire::auth::{Claims, SigningKey};
use gigwire::domain::{Role, SessionId, UserId};
use gigwire_tests::Stack;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn claims_for(stack: &Stack, user: &UserId) -> Claims {
    // The claims of a genuine token, so only the signature can make it fail.
    let genuine = stack
        .tokens()
        .issue(user, &SessionId::new(), &roles(), Utc::now())
        .unwrap();
    let payload = genuine.split('.').nth(1).unwrap();
    use base64::Engine;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn roles() -> BTreeSet<Role> {
    BTreeSet::from([Role::Customer])
}

/// An HS256 token with `secret` as its key, under the stack's key id and without one.
fn hs256(claims: &Claims, secret: &[u8], kid: &str) -> [String; 2] {
    let sign = |kid: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    [sign(Some(kid)), sign(None)]
}

#[tokio::test]
async fn no_function_configuration_holds_what_mints_a_token() {
    let stack = Stack::from_env();
    let (_, tokens) = stack.new_user("config-leak").await;
    let user = UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let claims = claims_for(&stack, &user);
    let kid = stack.signing_key().kid().to_owned();

    let environments = stack.function_environments().await;
    assert!(
        environments.len() > 40,
        "found only {} functions",
        environments.len()
    );
    let holding_location: BTreeSet<&str> = environments
        .iter()
        .filter(|(_, vars)| vars.contains_key("JWT_SIGNING_KEY_PARAMETER"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(holding_location.len(), 2, "{holding_location:?}");
    assert!(
        holding_location
            .iter()
            .all(|n| n.contains("AuthOtpVerify") || n.contains("AuthRefresh")),
        "{holding_location:?}"
    );

    // Every value any function is configured with, tried as a shared HS256 secret (what the
    // old design signed with) and as a stored private key.
    let values: HashSet<&String> = environments
        .values()
        .flat_map(|vars| vars.values())
        .collect();
    for value in values {
        assert!(
            SigningKey::from_stored(value).is_err(),
            "a function's configuration holds a private key"
        );
        for token in hs256(&claims, value.as_bytes(), &kid) {
            let (status, body) = stack.call("GET", "/me", Some(&token), None).await;
            assert_eq!(
                status, 401,
                "a token signed with a configured value passed: {body}"
            );
        }
    }
}

#[tokio::test]
async fn during_a_rotation_tokens_of_both_keys_and_no_others_are_accepted() {
    let stack = Stack::from_env();
    let (current, tokens) = stack.new_user("rotation").await;
    let user = UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let next = stack.next_signing_key();
    assert_ne!(next.kid(), stack.signing_key().kid());
    let issue = |key: &SigningKey| {
        stack
            .issuer_with(key)
            .issue(&user, &SessionId::new(), &roles(), Utc::now())
            .unwrap()
    };

    let signed_by_next = issue(&next);
    for (name, token) in [("current key", &current), ("next key", &signed_by_next)] {
        let (status, me) = stack.call("GET", "/me", Some(token), None).await;
        assert_eq!(status, 200, "{name}: {me}");
        assert_eq!(me["id"], user.to_string(), "{name}");
        assert!(
            stack.connect(Some(token)).await.is_ok(),
            "{name}: websocket"
        );
    }

    let claims = claims_for(&stack, &user);
    let [shared_secret, _] = hs256(&claims, b"any-shared-secret-any-shared-secret", next.kid());
    for (name, token) in [
        (
            "another key under the next kid",
            issue(&SigningKey::generate(next.kid()).unwrap()),
        ),
        (
            "an unknown kid",
            issue(&SigningKey::generate("local-9").unwrap()),
        ),
        ("HS256 under a trusted kid", shared_secret),
    ] {
        let (status, body) = stack.call("GET", "/me", Some(&token), None).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert!(
            stack.connect(Some(&token)).await.is_err(),
            "{name}: websocket"
        );
    }
}
