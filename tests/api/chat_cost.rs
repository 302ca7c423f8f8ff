//! The cost of sending a message, counted on the real SDK against the emulator's DynamoDB:
//! every call is recorded by an interceptor with its start and end, and the critical path
//! (everything before the posts) must be two sequential round trips. And the write units of
//! the send transaction, which must not grow with the room.

use chrono::Utc;
use futures::StreamExt;
use gigwire::auth::Caller;
use gigwire::chat::model::{MAX_MEMBERS, SendMessage};
use gigwire::domain::{RoomId, SessionId, UserId};
use gigwire::notifications::model::Kind;
use gigwire::notifications::service::{NotifyRequest, Recipients};
use gigwire_tests::{Recorder, Stack, WriteUnits, expect_event, round_trips};
use serde_json::json;

/// A group room created by the first of `people` (token, user id) with the others as members.
async fn group_of(stack: &Stack, people: &[(String, String)], name: &str) -> RoomId {
    let ids: Vec<&str> = people[1..].iter().map(|(_, id)| id.as_str()).collect();
    let (status, room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&people[0].0),
            Some(json!({ "kind": "group", "name": name, "memberIds": ids })),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    RoomId::parse(room["room"]["id"].as_str().unwrap(), "id").unwrap()
}

#[tokio::test]
async fn sending_a_message_takes_two_sequential_dynamodb_round_trips() {
    let stack = Stack::from_env();
    let mut people = Vec::new();
    for tag in ["ana", "ben", "cid", "dan"] {
        let (token, body) = stack.new_user(tag).await;
        people.push((token, body["user"]["id"].as_str().unwrap().to_owned()));
    }
    let room = group_of(&stack, &people, "cost").await;
    // Two members online, one offline.
    let mut ben = stack.connect(Some(&people[1].0)).await.unwrap();
    let mut cid = stack.connect(Some(&people[2].0)).await.unwrap();
    for ws in [&mut ben, &mut cid] {
        gigwire_tests::send(ws, json!({ "action": "ping" })).await;
        expect_event(ws, "pong").await;
    }

    let recorder = Recorder::default();
    let services = stack.in_process(Some(recorder.store(&stack).await)).await;
    let chat = services.chat();
    let caller = Caller {
        user_id: UserId::parse(&people[0].1, "id").unwrap(),
        session_id: SessionId::new(),
        roles: Default::default(),
    };
    let request = SendMessage {
        client_message_id: "cost-1".into(),
        text: Some("How many round trips?".into()),
        attachments: Vec::new(),
        reply_to: None,
    };
    chat.send(&caller, &room, request, Utc::now(), None)
        .await
        .unwrap();
    expect_event(&mut ben, "message.new").await;

    let calls = recorder.calls();
    let depth = round_trips(&calls);
    let critical: Vec<(&str, usize)> = calls
        .iter()
        .zip(&depth)
        .filter(|(_, d)| **d <= 2)
        .map(|(c, d)| (c.operation.as_str(), *d))
        .collect();
    let count = |op: &str| critical.iter().filter(|(o, _)| *o == op).count();
    // Round 1: the rate window, the room's members and the room (its sequence number);
    // round 2: the transaction and the four members' connections. Nothing else comes
    // before the posts.
    assert_eq!(count("UpdateItem"), 1, "{critical:?}");
    assert_eq!(count("GetItem"), 1, "{critical:?}");
    assert_eq!(count("TransactWriteItems"), 1, "{critical:?}");
    assert_eq!(count("Query"), 1 + 4, "{critical:?}");
    assert_eq!(critical.len(), 8, "{critical:?}");
    assert!(critical.iter().any(|(_, d)| *d == 2), "{critical:?}");
    // The offline member's missed message is recorded after the posts, off the critical path
    // (the stream-triggered notifier turns it into a notification).
    let later: Vec<&str> = calls
        .iter()
        .zip(&depth)
        .filter(|(_, d)| **d > 2)
        .map(|(c, _)| c.operation.as_str())
        .collect();
    assert!(
        later.contains(&"PutItem"),
        "missed messages recorded: {later:?}"
    );
}

#[tokio::test]
async fn notifying_one_online_user_takes_two_sequential_round_trips() {
    let stack = Stack::from_env();
    let (token, body) = stack.new_user("notified").await;
    let user = UserId::parse(body["user"]["id"].as_str().unwrap(), "id").unwrap();
    let mut ws = stack.connect(Some(&token)).await.unwrap();
    gigwire_tests::send(&mut ws, json!({ "action": "ping" })).await;
    expect_event(&mut ws, "pong").await;

    let recorder = Recorder::default();
    let services = stack.in_process(Some(recorder.store(&stack).await)).await;
    let request = NotifyRequest {
        recipients: Recipients::Users(vec![user]),
        kind: Kind::PaymentReceived,
        actor: None,
        room: None,
        data: json!({ "actor": "Ana", "amount": "€40.00" }),
        idempotency_key: "cost-payment".into(),
    };
    let report = services
        .notifications()
        .notify(&request, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.live, 1);
    assert_eq!(
        expect_event(&mut ws, "notification.new").await["notification"]["body"],
        "Ana paid €40.00."
    );
    let calls = recorder.calls();
    let depth = round_trips(&calls);
    let before_post: Vec<(&str, usize)> = calls
        .iter()
        .zip(&depth)
        .filter(|(_, d)| **d <= 2)
        .map(|(c, d)| (c.operation.as_str(), *d))
        .collect();
    // The recipient's connections, then one transaction; then the post (and, after it,
    // only the statistics counters).
    assert_eq!(before_post, [("Query", 1), ("TransactWriteItems", 2)]);
    assert!(
        calls
            .iter()
            .zip(&depth)
            .all(|(c, d)| *d <= 2 || c.operation == "UpdateItem"),
        "{calls:?}"
    );
}

/// The write units of one text message in a room of `size` members, as the emulator's
/// DynamoDB reports them for the send transaction (table and index writes together).
async fn send_write_units(stack: &Stack, size: usize) -> f64 {
    let people: Vec<(String, String)> = futures::stream::iter(0..size)
        .map(|i| async move {
            let (token, body) = stack.new_user(&format!("w{i}")).await;
            (token, body["user"]["id"].as_str().unwrap().to_owned())
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let room = group_of(stack, &people, "units").await;
    let units = WriteUnits::default();
    let services = stack.in_process(Some(units.store(stack).await)).await;
    let caller = Caller {
        user_id: UserId::parse(&people[0].1, "id").unwrap(),
        session_id: SessionId::new(),
        roles: Default::default(),
    };
    let request = SendMessage {
        client_message_id: "units-1".into(),
        text: Some("What does this cost?".into()),
        attachments: Vec::new(),
        reply_to: None,
    };
    services
        .chat()
        .send(&caller, &room, request, Utc::now(), None)
        .await
        .unwrap();
    let transactions = units.transactions();
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    transactions[0]
}

#[tokio::test]
async fn a_send_costs_the_same_write_units_in_a_room_of_2_and_of_80() {
    let stack = Stack::from_env();
    let small = send_write_units(&stack, 2).await;
    let large = send_write_units(&stack, MAX_MEMBERS).await;
    eprintln!("write units per message: 2 members {small}, {MAX_MEMBERS} members {large}");
    // Claim 2, message 2 + 1 (its sequence index entry), room 2, sender's marker 2 + 1 (its
    // list entry): nothing per recipient. Writing every member's counter and list position
    // cost 4 units each (14 units at 2 members, 326 at 80).
    assert_eq!(small, large);
    assert!(large <= 10.0, "{large}");
}
