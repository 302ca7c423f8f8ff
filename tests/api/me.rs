//! The authenticated routes: token checks, profile validation, session listing and cursors.

use chrono::{Duration, Utc};
use gigwire::auth::SigningKey;
use gigwire::domain::{Role, SessionId, UserId};
use gigwire_tests::{Stack, unique_email};
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn missing_expired_forged_and_foreign_tokens_are_401() {
    let stack = Stack::from_env();
    let (_, tokens) = stack.new_user("tokens").await;
    let user = UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let roles = BTreeSet::from([Role::Customer]);
    let expired = stack
        .tokens()
        .issue(
            &user,
            &SessionId::new(),
            &roles,
            Utc::now() - Duration::hours(1),
        )
        .unwrap();
    let foreign = stack
        .foreign_tokens()
        .issue(&user, &SessionId::new(), &roles, Utc::now())
        .unwrap();
    // Another key under the stack's own key id.
    let forged = stack
        .issuer_with(&SigningKey::generate(stack.signing_key().kid()).unwrap())
        .issue(&user, &SessionId::new(), &roles, Utc::now())
        .unwrap();
    let (status, _) = stack.call("GET", "/me", None, None).await;
    assert_eq!(status, 401, "missing");
    for (name, token) in [
        ("expired", expired),
        ("foreign audience", foreign),
        ("forged", forged),
        ("garbage", "garbage".into()),
    ] {
        let (status, body) = stack.call("GET", "/me", Some(&token), None).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
    }
}

#[tokio::test]
async fn a_profile_patch_is_validated_and_persisted() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("profile").await;
    let token = Some(token.as_str());
    let patch = json!({ "displayName": " Ana Lima ", "roles": ["customer", "provider"], "phone": "+1 415 555 0123", "timeZone": "Europe/Lisbon", "locale": "pt-pt" });
    let (status, me) = stack.call("PATCH", "/me", token, Some(patch)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["displayName"], "Ana Lima");
    assert_eq!(me["phone"], "+14155550123");
    assert_eq!(me["locale"], "pt-PT");
    assert_eq!(me["roles"], json!(["customer", "provider"]));
    let (_, read) = stack.call("GET", "/me", token, None).await;
    assert_eq!(read, me);

    let bad = [
        (json!({ "phone": "4155550123" }), 400, Some("phone")),
        (json!({ "timeZone": "Mars/Olympus" }), 400, Some("timeZone")),
        (json!({ "locale": "not a tag" }), 400, Some("locale")),
        (json!({ "roles": [] }), 400, Some("roles")),
        (json!({ "roles": ["wizard"] }), 400, Some("roles[0]")),
        (json!({ "nickname": "x" }), 400, Some("nickname")),
        (json!({ "roles": ["admin"] }), 403, None),
    ];
    for (body, status, field) in bad {
        let (got, resp) = stack.call("PATCH", "/me", token, Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {resp}");
        assert_eq!(resp["error"]["field"].as_str(), field, "{body}: {resp}");
    }
    // Nothing of the refused patches was written; clearing the phone works.
    let (_, after) = stack
        .call("PATCH", "/me", token, Some(json!({ "phone": null })))
        .await;
    assert_eq!(after["displayName"], "Ana Lima");
    assert!(
        after.get("phone").is_none() || after["phone"].is_null(),
        "{after}"
    );
}

#[tokio::test]
async fn sessions_page_with_opaque_cursors_that_cannot_be_tampered_with() {
    let stack = Stack::from_env();
    let email = unique_email("sessions");
    let mut last = json!(null);
    for _ in 0..3 {
        last = stack.sign_in(&email).await;
    }
    let token = last["accessToken"].as_str();
    let (status, page1) = stack.call("GET", "/me/sessions?limit=2", token, None).await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["nextCursor"].as_str().unwrap().to_owned();
    let (status, page2) = stack
        .call(
            "GET",
            &format!("/me/sessions?limit=2&cursor={cursor}"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{page2}");
    let rest = page2["items"].as_array().unwrap();
    assert!(!rest.is_empty());
    assert_eq!(
        rest.last().unwrap()["current"],
        true,
        "the newest session is the caller's: {page2}"
    );
    let ids: BTreeSet<_> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest)
        .map(|s| s["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 3);

    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (other, _) = stack.new_user("intruder").await;
    for (who, bad, caller) in [
        ("tampered", tampered.as_str(), token),
        ("garbage", "%%%", token),
        ("other user's", cursor.as_str(), Some(other.as_str())),
    ] {
        let (status, body) = stack
            .call("GET", &format!("/me/sessions?cursor={bad}"), caller, None)
            .await;
        assert_eq!(status, 400, "{who}: {body}");
        assert_eq!(body["error"]["field"], "cursor", "{who}");
    }
    let (status, _) = stack
        .call("GET", "/me/sessions?limit=1000", token, None)
        .await;
    assert_eq!(status, 400);
}
