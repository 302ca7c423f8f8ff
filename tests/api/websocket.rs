//! The WebSocket API: authorized connect, ping/pong, error events, fan-out to every device,
//! and cleanup of connections that are gone.

use std::time::Duration;

use chrono::Utc;
use gigwire::domain::{ConnectionId, UserId};
use gigwire::realtime::store::{Connection, ConnectionStore};
use gigwire_tests::{Stack, expect_event, next_event, send, try_send};
use serde_json::json;

#[tokio::test]
async fn an_authorized_client_pings_and_gets_error_events_for_bad_messages() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("ping").await;
    let mut ws = stack.connect(Some(&token)).await.expect("connect");
    send(&mut ws, json!({ "action": "ping", "requestId": "r-1" })).await;
    let pong = expect_event(&mut ws, "pong").await;
    assert_eq!(pong["requestId"], "r-1");
    send(&mut ws, json!({ "action": "teleport", "requestId": "r-2" })).await;
    let error = expect_event(&mut ws, "error").await;
    assert_eq!(error["requestId"], "r-2");
    assert_eq!(error["error"]["code"], "bad_request");
    // The connection survived the bad message.
    send(&mut ws, json!({ "action": "ping" })).await;
    expect_event(&mut ws, "pong").await;
}

#[tokio::test]
async fn a_message_over_32_kib_is_answered_with_an_error_event_not_dropped() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("big").await;
    let mut ws = stack.connect(Some(&token)).await.expect("connect");
    let limit = gigwire::realtime::service::MAX_MESSAGE_BYTES;
    for (i, size) in [limit + 1, 100 * 1024].into_iter().enumerate() {
        let request_id = format!("big-{i}");
        let mut message = json!({ "action": "sendMessage", "requestId": request_id,
            "roomId": gigwire::domain::RoomId::new().to_string(), "text": "" });
        let padding = size - message.to_string().len();
        message["text"] = json!("x".repeat(padding));
        assert_eq!(message.to_string().len(), size);
        send(&mut ws, message).await;
        let error = expect_event(&mut ws, "error").await;
        assert_eq!(error["requestId"], request_id.as_str(), "{size} bytes");
        assert_eq!(error["error"]["code"], "payload_too_large", "{size} bytes");
    }
    // The connection is still served.
    send(&mut ws, json!({ "action": "ping", "requestId": "after" })).await;
    assert_eq!(expect_event(&mut ws, "pong").await["requestId"], "after");
}

#[tokio::test]
async fn a_client_without_a_valid_token_cannot_connect() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("wsauth").await;
    assert!(stack.connect(None).await.is_err(), "no token");
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [forged.as_str(), "garbage"] {
        match stack.connect(Some(bad)).await {
            Err(_) => {}
            Ok(mut ws) => {
                // Some gateways accept the upgrade and close at once: nothing may get through.
                send(&mut ws, json!({ "action": "ping" })).await;
                assert!(
                    next_event(&mut ws, Duration::from_secs(3)).await.is_none(),
                    "{bad} was served"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_profile_change_reaches_every_device_and_gone_connections_are_removed() {
    let stack = Stack::from_env();
    let (token, tokens) = stack.new_user("devices").await;
    let user = UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let mut phone = stack.connect(Some(&token)).await.expect("phone");
    let mut laptop = stack.connect(Some(&token)).await.expect("laptop");
    // Make sure both registrations are in place before the change.
    for ws in [&mut phone, &mut laptop] {
        send(ws, json!({ "action": "ping" })).await;
        expect_event(ws, "pong").await;
    }
    // A connection whose $disconnect never came: the gateway answers 410 for it.
    let store = stack.store().await;
    let ghost = ConnectionId::parse(&format!("ghost{}=", ulid::Ulid::generate())).unwrap();
    let now = Utc::now();
    store
        .put_connection(&Connection {
            connection_id: ghost.clone(),
            user_id: user,
            session_id: None,
            connected_at: now,
            expires_at: now.timestamp() + 60,
        })
        .await
        .unwrap();

    let (status, body) = stack
        .call(
            "PATCH",
            "/me",
            Some(&token),
            Some(json!({ "displayName": "Multi Device" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for ws in [&mut phone, &mut laptop] {
        let event = expect_event(ws, "user.updated").await;
        assert_eq!(event["user"]["displayName"], "Multi Device");
    }
    assert!(
        store.get_connection(&ghost).await.unwrap().is_none(),
        "the stale connection was deleted"
    );
    assert_eq!(store.connections_of(&user).await.unwrap().len(), 2);

    // Another user's change never reaches these connections.
    let (other, _) = stack.new_user("stranger").await;
    stack
        .call(
            "PATCH",
            "/me",
            Some(&other),
            Some(json!({ "displayName": "Stranger" })),
        )
        .await;
    assert!(
        next_event(&mut phone, Duration::from_secs(2))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn closing_a_connection_removes_its_registration() {
    let stack = Stack::from_env();
    let (token, tokens) = stack.new_user("close").await;
    let user = UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let mut ws = stack.connect(Some(&token)).await.expect("connect");
    send(&mut ws, json!({ "action": "ping" })).await;
    expect_event(&mut ws, "pong").await;
    let store = stack.store().await;
    assert_eq!(store.connections_of(&user).await.unwrap().len(), 1);
    ws.close(None).await.unwrap();
    for _ in 0..50 {
        if store.connections_of(&user).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the connection was not removed after close");
}

#[tokio::test]
async fn signing_out_closes_the_sessions_connections_and_only_those() {
    let stack = Stack::from_env();
    let email = gigwire_tests::unique_email("signout");
    let laptop = stack.sign_in(&email).await;
    let phone = stack.sign_in(&email).await;
    let mut laptop_ws = stack
        .connect(laptop["accessToken"].as_str())
        .await
        .expect("laptop");
    let mut phone_ws = stack
        .connect(phone["accessToken"].as_str())
        .await
        .expect("phone");
    for ws in [&mut laptop_ws, &mut phone_ws] {
        send(ws, json!({ "action": "ping" })).await;
        expect_event(ws, "pong").await;
    }
    let (status, _) = stack
        .call(
            "POST",
            "/auth/logout",
            None,
            Some(json!({ "refreshToken": laptop["refreshToken"] })),
        )
        .await;
    assert_eq!(status, 204);
    // The laptop's socket is closed by the server; the phone's session is untouched.
    // (The send itself may fail once the close has arrived.)
    try_send(&mut laptop_ws, json!({ "action": "ping" })).await;
    assert!(
        next_event(&mut laptop_ws, Duration::from_secs(3))
            .await
            .is_none(),
        "laptop still served"
    );
    send(&mut phone_ws, json!({ "action": "ping" })).await;
    expect_event(&mut phone_ws, "pong").await;
    let user = UserId::parse(phone["user"]["id"].as_str().unwrap(), "id").unwrap();
    assert_eq!(
        stack
            .store()
            .await
            .connections_of(&user)
            .await
            .unwrap()
            .len(),
        1
    );
}
