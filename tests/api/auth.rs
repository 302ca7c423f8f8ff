//! Sign-in with emailed codes, token rotation, sign-out, and the sign-in routes' bad inputs.

use gigwire_tests::{Stack, unique_email};
use serde_json::{Value, json};

#[tokio::test]
async fn a_new_user_signs_in_with_the_emailed_code_and_reads_their_profile() {
    let stack = Stack::from_env();
    let email = unique_email("signin");
    let tokens = stack.sign_in(&email).await;
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(tokens["user"]["email"], email.as_str());
    let access = tokens["accessToken"].as_str().unwrap();
    let (status, me) = stack.call("GET", "/me", Some(access), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["roles"], json!(["customer"]));
    assert_eq!(me["id"], tokens["user"]["id"]);
    // A second sign-in finds the same account.
    let again = stack.sign_in(&email).await;
    assert_eq!(again["user"]["id"], tokens["user"]["id"]);
}

#[tokio::test]
async fn the_code_request_answers_the_same_for_known_and_unknown_addresses() {
    let stack = Stack::from_env();
    let known = unique_email("known");
    stack.sign_in(&known).await;
    let (s1, b1) = stack
        .call("POST", "/auth/otp", None, Some(json!({ "email": known })))
        .await;
    let (s2, b2) = stack
        .call(
            "POST",
            "/auth/otp",
            None,
            Some(json!({ "email": unique_email("unknown") })),
        )
        .await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(s1, 202);
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code_even_for_the_right_one() {
    let stack = Stack::from_env();
    let email = unique_email("guess");
    let code = stack.request_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let (status, body) = stack.verify(&email, wrong).await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    let (status, body) = stack.verify(&email, &code).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many"),
        "{body}"
    );
    // A new code works again.
    stack.sign_in(&email).await;
}

#[tokio::test]
async fn a_code_signs_in_only_once() {
    let stack = Stack::from_env();
    let email = unique_email("once");
    let code = stack.request_code(&email).await;
    // Both at once: the conditional delete lets exactly one of them through.
    let ((first, _), (second, _)) =
        tokio::join!(stack.verify(&email, &code), stack.verify(&email, &code));
    let mut statuses = [first, second];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
    let (third, _) = stack.verify(&email, &code).await;
    assert_eq!(third, 401);
}

#[tokio::test]
async fn code_requests_are_rate_limited_per_address() {
    let stack = Stack::from_env();
    let email = unique_email("limited");
    for _ in 0..5 {
        let (status, _) = stack
            .call("POST", "/auth/otp", None, Some(json!({ "email": email })))
            .await;
        assert_eq!(status, 202);
    }
    let resp = stack
        .client
        .post(format!("{}/auth/otp", stack.http))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session() {
    let stack = Stack::from_env();
    let (_, first) = stack.new_user("refresh").await;
    let old = &first["refreshToken"];
    let (status, second) = stack.refresh(old).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refreshToken"], *old);
    let (status, me) = stack
        .call("GET", "/me", second["accessToken"].as_str(), None)
        .await;
    assert_eq!(status, 200, "{me}");
    // A forged token naming the session is refused and revokes nothing.
    let current = second["refreshToken"].as_str().unwrap();
    let (sid_and_generation, _) = current.rsplit_once('.').unwrap();
    let (status, _) = stack
        .refresh(&json!(format!("{sid_and_generation}.AAAAAAAAAAAA")))
        .await;
    assert_eq!(status, 401);
    // Rotate once more, so the stolen token is two generations old: still recognised.
    let (status, third) = stack.refresh(&second["refreshToken"]).await;
    assert_eq!(status, 200, "{third}");
    // The replaced token comes back: treated as stolen, the session ends for everyone.
    assert_eq!(stack.refresh(old).await.0, 401);
    assert_eq!(stack.refresh(&third["refreshToken"]).await.0, 401);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_and_is_idempotent() {
    let stack = Stack::from_env();
    let (_, tokens) = stack.new_user("logout").await;
    let refresh = json!({ "refreshToken": tokens["refreshToken"] });
    let (status, _) = stack
        .call("POST", "/auth/logout", None, Some(refresh.clone()))
        .await;
    assert_eq!(status, 204);
    let (status, _) = stack
        .call("POST", "/auth/refresh", None, Some(refresh.clone()))
        .await;
    assert_eq!(status, 401);
    let (status, _) = stack
        .call("POST", "/auth/logout", None, Some(refresh))
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn bad_sign_in_bodies_are_clear_client_errors() {
    let stack = Stack::from_env();
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            Value::String("{\"email\": ".into()),
            400,
            "bad_request",
            None,
        ),
        (Value::String("".into()), 400, "bad_request", None),
        (
            json!({ "email": "a@example.com", "admin": true }),
            400,
            "validation",
            Some("admin"),
        ),
        (json!({ "email": 42 }), 400, "validation", Some("email")),
        (
            json!({ "email": "not-an-address" }),
            400,
            "validation",
            Some("email"),
        ),
        (
            json!({ "email": format!("{}@example.com", "a".repeat(20_000)) }),
            413,
            "payload_too_large",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, resp) = stack
            .call("POST", "/auth/otp", None, Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {resp}");
        assert_eq!(resp["error"]["code"], code, "{resp}");
        assert_eq!(resp["error"]["field"].as_str(), field, "{resp}");
    }
    let (status, resp) = stack
        .call(
            "POST",
            "/auth/otp/verify",
            None,
            Some(json!({ "email": "a@example.com", "code": "12ab56" })),
        )
        .await;
    assert_eq!(
        (status, resp["error"]["field"].as_str()),
        (400, Some("code")),
        "{resp}"
    );
    let (status, _) = stack
        .call(
            "POST",
            "/auth/refresh",
            None,
            Some(json!({ "refreshToken": "forged.token" })),
        )
        .await;
    assert_eq!(status, 401);
}

/// Asks for a code for `email` as a client on `ip` would, through the deployed table's rate
/// limits and the emulator's SES (the HTTP emulator reports every caller as 127.0.0.1, so
/// other networks are exercised in-process); the status the route would answer.
async fn request_from(stack: &Stack, email: &str, ip: &str) -> u16 {
    use gigwire::adapters::SesMailer;
    use gigwire::auth::CodeHasher;
    use gigwire::auth::service::{Requester, request_code};
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = stack.store().await;
    let mailer = SesMailer::from_sdk(&sdk, "no-reply@gigwire.example");
    let result = request_code(
        &store,
        &store,
        &mailer,
        &gigwire::templates::EmailTemplates::new(),
        // The stranger's codes are never entered: any key will do.
        &CodeHasher::new(&[7u8; 32]),
        &gigwire::domain::Email::parse(email, "email").unwrap(),
        Requester { ip, ip_limit: 1000 },
        chrono::Utc::now(),
    )
    .await;
    match result {
        Ok(_) => 202,
        Err(err) => err.status(),
    }
}

#[tokio::test]
async fn a_strangers_burst_does_not_stop_the_owner_from_signing_in_from_another_network() {
    let stack = Stack::from_env();
    let email = unique_email("victim");
    // A stranger on one IPv4 address spends that network's share, then is refused.
    for _ in 0..5 {
        assert_eq!(request_from(&stack, &email, "198.51.100.7").await, 202);
    }
    assert_eq!(request_from(&stack, &email, "198.51.100.7").await, 429);
    // Rotating addresses inside one IPv6 /64 is one network.
    for i in 0..5 {
        let ip = format!("2001:db8:77:1::{:x}", i + 1);
        assert_eq!(request_from(&stack, &email, &ip).await, 202, "{ip}");
    }
    assert_eq!(
        request_from(&stack, &email, "2001:db8:77:1::ffff").await,
        429
    );
    // The owner, on their own network, still gets a code and signs in.
    let code = stack.request_code(&email).await;
    let (status, body) = stack.verify(&email, &code).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn brute_force_still_dies_at_the_per_address_guess_ceiling_across_fresh_codes() {
    let stack = Stack::from_env();
    let email = unique_email("brute");
    // Three codes, five wrong guesses each: every code dies, and the address has spent its
    // guesses for the window.
    for round in 0..3 {
        let code = stack.request_code(&email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for attempt in 0..5 {
            let (status, body) = stack.verify(&email, wrong).await;
            assert_eq!(status, 401, "round {round}, attempt {attempt}: {body}");
        }
    }
    // A fourth code (requests are still within this network's share): even the right code is
    // refused now, so more codes never buy more guesses.
    let code = stack.request_code(&email).await;
    let (status, body) = stack.verify(&email, &code).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("rate_limited")),
        "{body}"
    );
}

/// The test stack is deployed with `AdminEmails` naming this address (infra/test.sh).
const LISTED_ADMIN: &str = "first-admin@example.com";

#[tokio::test]
async fn an_address_listed_in_admin_emails_signs_in_as_admin_and_others_do_not() {
    let stack = Stack::from_env();
    let admin = stack.sign_in(LISTED_ADMIN).await;
    let roles = admin["user"]["roles"].as_array().unwrap();
    assert!(roles.contains(&json!("admin")), "{admin}");
    // The token carries the role: an admin-only route answers.
    let token = admin["accessToken"].as_str().unwrap();
    let (status, body) = stack
        .call("GET", "/admin/notification-stats", Some(token), None)
        .await;
    assert_eq!(status, 200, "{body}");

    let other = stack.sign_in(&unique_email("not-listed")).await;
    assert_eq!(other["user"]["roles"], json!(["customer"]));
    let token = other["accessToken"].as_str().unwrap();
    let (status, _) = stack
        .call("GET", "/admin/notification-stats", Some(token), None)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn every_401_carries_the_api_error_body_even_without_an_authorization_header() {
    let stack = Stack::from_env();
    for token in [None, Some("not-a-token")] {
        let (status, body) = stack.call("GET", "/me", token, None).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{token:?}: {body}");
    }
}
