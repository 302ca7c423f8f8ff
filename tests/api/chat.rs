//! Chat end to end: rooms, messages over HTTP and WebSocket, history and resume, unread
//! counts, receipts, typing, presence, reactions, replies, edits, membership, attachments,
//! offline hand-off and connection cleanup — with several users and devices, and the
//! negatives for everyone outside a room.

use std::time::Duration;

use chrono::Utc;
use gigwire::domain::{ConnectionId, UserId};
use gigwire::realtime::store::{Connection, ConnectionStore};
use gigwire_tests::{Person, Stack, Ws, expect_event, next_event, send};
use serde_json::{Value, json};

async fn direct(stack: &Stack, a: &Person, b: &Person) -> String {
    let (status, body) = stack
        .call(
            "POST",
            "/rooms",
            Some(&a.token),
            Some(json!({ "kind": "direct", "userId": b.id })),
        )
        .await;
    assert!(status == 201 || status == 200, "{status} {body}");
    body["room"]["id"].as_str().unwrap().to_owned()
}

async fn group(stack: &Stack, owner: &Person, members: &[&Person]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let (status, body) = stack
        .call(
            "POST",
            "/rooms",
            Some(&owner.token),
            Some(json!({ "kind": "group", "name": "Kitchen repair", "memberIds": ids })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["room"]["id"].as_str().unwrap().to_owned()
}

/// Sends a message over HTTP, waiting out the per-user rate limit when it answers 429.
/// Ana's group room with Ben and Cid.
async fn group_of_three(stack: &Stack) -> (Person, Person, Person, String) {
    let (ana, ben, cid) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("cid").await,
    );
    let room = group(stack, &ana, &[&ben, &cid]).await;
    (ana, ben, cid, room)
}

pub(crate) async fn say(stack: &Stack, who: &Person, room: &str, text: &str) -> Value {
    say_with(stack, who, room, json!({ "text": text })).await
}

pub(crate) async fn say_with(stack: &Stack, who: &Person, room: &str, mut body: Value) -> Value {
    if body.get("clientMessageId").is_none() {
        body["clientMessageId"] = json!(ulid::Ulid::generate().to_string());
    }
    // As a client does: a rate limit (429) or a room too busy for now (409) is retried with
    // the same clientMessageId, a bounded number of times.
    for _ in 0..20 {
        let (status, message) = stack
            .call(
                "POST",
                &format!("/rooms/{room}/messages"),
                Some(&who.token),
                Some(body.clone()),
            )
            .await;
        match status {
            201 => return message,
            429 => tokio::time::sleep(Duration::from_millis(300)).await,
            409 if message["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("busy")) =>
            {
                tokio::time::sleep(Duration::from_millis(300)).await
            }
            _ => panic!("send failed: {status} {message}"),
        }
    }
    panic!("send kept failing: {body}")
}

async fn get(stack: &Stack, who: &Person, path: &str) -> (u16, Value) {
    stack.call("GET", path, Some(&who.token), None).await
}

async fn membership(stack: &Stack, who: &Person, room: &str) -> Value {
    let (status, detail) = get(stack, who, &format!("/rooms/{room}")).await;
    assert_eq!(status, 200, "{detail}");
    detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == who.id.as_str())
        .cloned()
        .unwrap()
}

/// The user's in-app notifications once there are `n` (the stream-triggered notifier writes
/// them within seconds of the send), or as they are after 20 s; newest first.
async fn inbox_of(stack: &Stack, who: &Person, n: usize) -> Vec<Value> {
    let ready = |page: &Value| page["items"].as_array().is_some_and(|i| i.len() >= n);
    let page = stack.inbox_when(who, "", ready).await;
    page["items"].as_array().unwrap().clone()
}

/// Asserts that nothing arrives on `ws` for a moment.
async fn silent(ws: &mut Ws, what: &str) {
    if let Some(event) = next_event(ws, Duration::from_millis(1500)).await {
        panic!("{what}: unexpected {event}");
    }
}

#[tokio::test]
async fn a_direct_room_is_get_or_create_even_under_concurrent_calls() {
    let stack = Stack::from_env();
    let (ana, ben, eve) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("eve").await,
    );
    let body = json!({ "kind": "direct", "userId": ben.id });
    let calls = (0..4).map(|_| stack.call("POST", "/rooms", Some(&ana.token), Some(body.clone())));
    let answers = futures::future::join_all(calls).await;
    let ids: Vec<&str> = answers
        .iter()
        .map(|(_, b)| b["room"]["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "created once"
    );
    // The other side finds the same room.
    assert_eq!(direct(&stack, &ben, &ana).await, ids[0]);
    // Outsiders learn nothing.
    assert_eq!(
        get(&stack, &eve, &format!("/rooms/{}", ids[0])).await.0,
        404
    );
    // Bad requests are clear.
    let (status, err) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana.token),
            Some(json!({ "kind": "direct", "userId": ana.id })),
        )
        .await;
    assert_eq!((status, &err["error"]["field"]), (400, &json!("userId")));
    let (status, err) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana.token),
            Some(json!({ "kind": "direct", "userId": UserId::new().to_string() })),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["message"]),
        (400, &json!("no such user"))
    );
    let (status, _) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana.token),
            Some(json!({ "kind": "group", "name": " " })),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_subject_room_is_one_per_subject() {
    let stack = Stack::from_env();
    let (ana, ben, eve) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("eve").await,
    );
    let subject = json!({ "type": "lead", "id": format!("lead-{}", ulid::Ulid::generate()) });
    let body = json!({ "kind": "subject", "subject": subject, "memberIds": [ben.id] });
    // Only an admin (or the subject's own flow) opens a subject's room.
    let (status, _) = stack
        .call("POST", "/rooms", Some(&ana.token), Some(body.clone()))
        .await;
    assert_eq!(status, 403, "a plain user cannot claim a subject");
    let admin = stack.admin_token(&ana.user_id(), &ana.refresh).await;
    let (status, first) = stack
        .call("POST", "/rooms", Some(&admin), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = stack
        .call("POST", "/rooms", Some(&ben.token), Some(body.clone()))
        .await;
    assert_eq!((status, &again["room"]["id"]), (200, &first["room"]["id"]));
    let (status, _) = stack
        .call("POST", "/rooms", Some(&eve.token), Some(body))
        .await;
    assert_eq!(status, 403, "an outsider cannot reach the subject's room");
    // A job's threads and a booking's room are their flows' alone, even for an admin: a room
    // claimed first would make the application's (or the payment's) transaction fail.
    for kind in ["job", "booking"] {
        let subject = json!({ "type": kind, "id": format!("{}-x", ulid::Ulid::generate()) });
        let body = json!({ "kind": "subject", "subject": subject, "memberIds": [ben.id] });
        let (status, _) = stack.call("POST", "/rooms", Some(&admin), Some(body)).await;
        assert_eq!(status, 403, "{kind}");
    }
}

#[tokio::test]
async fn messages_reach_every_device_of_every_member_and_nobody_else() {
    let stack = Stack::from_env();
    let (ana, ben, eve) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("eve").await,
    );
    let room = direct(&stack, &ana, &ben).await;
    let mut ana_phone = stack.online(&ana).await;
    let mut ana_laptop = stack.online(&ana).await;
    let mut ben_phone = stack.online(&ben).await;
    let mut eve_phone = stack.online(&eve).await;

    let sent = say_with(
        &stack,
        &ana,
        &room,
        json!({ "text": "Hi Ben", "clientMessageId": "hello-1" }),
    )
    .await;
    for ws in [&mut ana_phone, &mut ana_laptop, &mut ben_phone] {
        let event = expect_event(ws, "message.new").await;
        assert_eq!(event["message"]["id"], sent["id"]);
        assert_eq!(event["message"]["text"], "Hi Ben");
        assert_eq!(event["message"]["clientMessageId"], "hello-1");
    }
    // A retried send returns the first message and sends nothing again.
    let (status, again) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&ana.token),
            Some(json!({ "text": "Hi Ben", "clientMessageId": "hello-1" })),
        )
        .await;
    assert_eq!((status, &again["id"]), (200, &sent["id"]));
    silent(&mut ben_phone, "a retried send").await;

    // Over the WebSocket too, with the same rules.
    send(
        &mut ben_phone,
        json!({ "action": "sendMessage", "requestId": "r1", "roomId": room, "clientMessageId": "ws-1", "text": "Hi Ana" }),
    )
    .await;
    for ws in [&mut ana_phone, &mut ana_laptop, &mut ben_phone] {
        let event = expect_event(ws, "message.new").await;
        assert_eq!(event["message"]["text"], "Hi Ana");
        assert_eq!(event["message"]["senderId"], ben.id.as_str());
    }

    // The outsider saw none of it and can do none of it.
    silent(&mut eve_phone, "an outsider").await;
    let (status, _) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&eve.token),
            Some(json!({ "text": "let me in", "clientMessageId": "x" })),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        get(&stack, &eve, &format!("/rooms/{room}/messages"))
            .await
            .0,
        404
    );
    let react = format!(
        "/rooms/{room}/messages/{}/reactions/%F0%9F%91%8D",
        sent["id"].as_str().unwrap()
    );
    assert_eq!(stack.status("PUT", &react, &eve.token).await, 404);
    send(
        &mut eve_phone,
        json!({ "action": "typing", "requestId": "t1", "roomId": room, "state": "start" }),
    )
    .await;
    let error = expect_event(&mut eve_phone, "error").await;
    assert_eq!(
        (error["requestId"].as_str(), error["error"]["code"].as_str()),
        (Some("t1"), Some("not_found"))
    );
    send(
        &mut eve_phone,
        json!({ "action": "sendMessage", "requestId": "s1", "roomId": room, "clientMessageId": "e1", "text": "hi" }),
    )
    .await;
    assert_eq!(
        expect_event(&mut eve_phone, "error").await["requestId"],
        "s1"
    );
    silent(&mut ben_phone, "an outsider's typing and messages").await;

    // Bad messages are clear errors.
    let long = "x".repeat(4001);
    let (status, err) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&ana.token),
            Some(json!({ "text": long, "clientMessageId": "long" })),
        )
        .await;
    assert_eq!((status, &err["error"]["field"]), (400, &json!("text")));
}

#[tokio::test]
async fn history_pages_back_and_resumes_after_a_reconnect() {
    let stack = Stack::from_env();
    let (ana, ben) = (stack.person("ana").await, stack.person("ben").await);
    let room = direct(&stack, &ana, &ben).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            say(&stack, &ana, &room, &format!("m{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let texts = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, first) = get(&stack, &ben, &format!("/rooms/{room}/messages?limit=3")).await;
    assert_eq!(texts(&first), ["m6", "m5", "m4"]);
    assert_eq!(first["hasMore"], true);
    let (_, older) = get(
        &stack,
        &ben,
        &format!("/rooms/{room}/messages?limit=3&before={}", ids[4]),
    )
    .await;
    assert_eq!(texts(&older), ["m3", "m2", "m1"]);
    assert_eq!(older["hasMore"], true);
    let (_, oldest) = get(
        &stack,
        &ben,
        &format!("/rooms/{room}/messages?limit=3&before={}", ids[1]),
    )
    .await;
    assert_eq!(
        (texts(&oldest), &oldest["hasMore"]),
        (vec!["m0".to_owned()], &json!(false))
    );

    // Ben was offline after m2; reconnecting, he asks for what came after it, in order.
    let (_, missed) = get(
        &stack,
        &ben,
        &format!("/rooms/{room}/messages?after={}", ids[2]),
    )
    .await;
    assert_eq!(texts(&missed), ["m3", "m4", "m5", "m6"]);
    assert_eq!(missed["hasMore"], false);

    let (status, err) = get(&stack, &ben, &format!("/rooms/{room}/messages?before=nope")).await;
    assert_eq!((status, &err["error"]["field"]), (400, &json!("before")));
}

#[tokio::test]
async fn unread_counts_are_exact_after_a_burst_of_100_from_several_senders() {
    let stack = Stack::from_env();
    let ana = stack.person("ana").await;
    let senders = [
        stack.person("ben").await,
        stack.person("cid").await,
        stack.person("dan").await,
        stack.person("eli").await,
    ];
    let room = group(&stack, &ana, &senders.iter().collect::<Vec<_>>()).await;
    // 100 messages: 25 from each sender, all senders at once.
    let bursts = senders.iter().map(|who| {
        let (stack, room) = (&stack, &room);
        async move {
            let mut sent = Vec::new();
            for i in 0..25 {
                let message = say(stack, who, room, &format!("{i}")).await;
                sent.push((
                    message["seq"].as_u64().unwrap(),
                    message["id"].as_str().unwrap().to_owned(),
                ));
            }
            sent
        }
    });
    // In commit order, which is sequence order (ids need not be).
    let mut sent: Vec<(u64, String)> = futures::future::join_all(bursts).await.concat();
    sent.sort();
    assert_eq!(
        sent.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>(),
        "every message numbered once, without gaps"
    );
    let all: Vec<String> = sent.into_iter().map(|(_, id)| id).collect();

    assert_eq!(membership(&stack, &ana, &room).await["unread"], 100);
    // Sending marks the room read for the sender: only what the others sent after a sender's
    // last message is unread for them.
    let ben_unread = membership(&stack, &senders[0], &room).await["unread"]
        .as_u64()
        .unwrap();
    assert!(ben_unread <= 75, "{ben_unread}");
    let (_, badge) = get(&stack, &ana, "/me/unread").await;
    assert_eq!(
        (badge["total"].as_u64(), badge["rooms"].as_u64()),
        (Some(100), Some(1))
    );

    // Reading up to the 60th message leaves exactly the 40 after it.
    let read = |id: &str| json!({ "messageId": id });
    let (status, me) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/read"),
            Some(&ana.token),
            Some(read(&all[59])),
        )
        .await;
    assert_eq!((status, &me["unread"]), (200, &json!(40)), "{me}");
    // Reading an older message changes nothing; reading the newest clears the count.
    let (_, me) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/read"),
            Some(&ana.token),
            Some(read(&all[10])),
        )
        .await;
    assert_eq!(me["unread"], 40);
    let (_, me) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/read"),
            Some(&ana.token),
            Some(read(&all[99])),
        )
        .await;
    assert_eq!(me["unread"], 0);
    assert_eq!(get(&stack, &ana, "/me/unread").await.1["total"], 0);

    // A muted room does not count toward the badge.
    say(&stack, &senders[1], &room, "one more").await;
    assert_eq!(get(&stack, &ana, "/me/unread").await.1["total"], 1);
    let (status, _) = stack
        .call(
            "PATCH",
            &format!("/rooms/{room}/membership"),
            Some(&ana.token),
            Some(json!({ "muted": true })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(get(&stack, &ana, "/me/unread").await.1["total"], 0);
    assert_eq!(
        membership(&stack, &ana, &room).await["unread"],
        1,
        "still counted per room"
    );
}

#[tokio::test]
async fn typing_receipts_and_presence_reach_the_other_member() {
    let stack = Stack::from_env();
    let (ana, ben) = (stack.person("ana").await, stack.person("ben").await);
    let room = direct(&stack, &ana, &ben).await;
    let mut ben_ws = stack.online(&ben).await;

    // Ana comes online: Ben, her direct peer, is told.
    let mut ana_ws = stack.online(&ana).await;
    let presence = expect_event(&mut ben_ws, "presence").await;
    assert_eq!(
        (presence["userId"].as_str(), presence["status"].as_str()),
        (Some(ana.id.as_str()), Some("online"))
    );

    // Typing: a start, a throttled repeat, a stop.
    let typing = |state: &str| json!({ "action": "typing", "roomId": room, "state": state });
    send(&mut ana_ws, typing("start")).await;
    let start = expect_event(&mut ben_ws, "typing.start").await;
    assert_eq!(start["userId"], ana.id.as_str());
    assert!(start["expiresInSecs"].as_u64().unwrap() > 0);
    send(&mut ana_ws, typing("start")).await;
    send(&mut ana_ws, typing("stop")).await;
    let next = expect_event(&mut ben_ws, "typing.stop").await;
    assert_eq!(
        next["userId"],
        ana.id.as_str(),
        "the repeated start was dropped"
    );
    silent(&mut ana_ws, "the typer's own indicator").await;

    // Delivered and read receipts go back to Ana.
    let message = say(&stack, &ana, &room, "Are you free Tuesday?").await;
    let id = message["id"].as_str().unwrap();
    expect_event(&mut ben_ws, "message.new").await;
    send(
        &mut ben_ws,
        json!({ "action": "markDelivered", "roomId": room, "messageId": id }),
    )
    .await;
    let delivered = loop {
        let event = expect_event(&mut ana_ws, "receipt").await;
        if event["userId"] == ben.id.as_str() {
            break event;
        }
    };
    assert_eq!(
        (delivered["kind"].as_str(), delivered["messageId"].as_str()),
        (Some("delivered"), Some(id))
    );
    send(
        &mut ben_ws,
        json!({ "action": "markRead", "roomId": room, "messageId": id }),
    )
    .await;
    let read = expect_event(&mut ana_ws, "receipt").await;
    assert_eq!(
        (read["kind"].as_str(), read["userId"].as_str()),
        (Some("read"), Some(ben.id.as_str()))
    );
    let ben_member = membership(&stack, &ben, &room).await;
    assert_eq!(
        (
            ben_member["lastReadMessageId"].as_str(),
            ben_member["lastDeliveredMessageId"].as_str()
        ),
        (Some(id), Some(id))
    );

    // Ana's list shows Ben online; when Ben leaves, Ana is told and sees when he was last seen.
    let (_, rooms) = get(&stack, &ana, "/rooms").await;
    assert_eq!(rooms["items"][0]["peer"]["online"], true);
    ben_ws.close(None).await.unwrap();
    let offline = expect_event(&mut ana_ws, "presence").await;
    assert_eq!(
        (offline["status"].as_str(), offline["userId"].as_str()),
        (Some("offline"), Some(ben.id.as_str()))
    );
    assert!(offline["lastSeenAt"].is_string());
    let (_, rooms) = get(&stack, &ana, "/rooms").await;
    assert_eq!(rooms["items"][0]["peer"]["online"], false);
    assert!(rooms["items"][0]["peer"]["lastSeenAt"].is_string());
}

#[tokio::test]
async fn reactions_replies_edits_and_deletes() {
    let stack = Stack::from_env();
    let (ana, ben) = (stack.person("ana").await, stack.person("ben").await);
    let room = direct(&stack, &ana, &ben).await;
    let mut ben_ws = stack.online(&ben).await;
    let first = say(&stack, &ana, &room, "Quote attached").await;
    let id = first["id"].as_str().unwrap();
    expect_event(&mut ben_ws, "message.new").await;

    // One reaction per user and emoji; adding twice is harmless; removing takes one away.
    let thumbs = format!("/rooms/{room}/messages/{id}/reactions/%F0%9F%91%8D");
    for who in [&ana, &ben, &ben] {
        assert_eq!(stack.status("PUT", &thumbs, &who.token).await, 200);
    }
    let (_, reacted) = stack.call("PUT", &thumbs, Some(&ana.token), None).await;
    assert_eq!(
        reacted["reactions"],
        json!([{ "emoji": "👍", "count": 2, "userIds": [ana.id, ben.id] }])
    );
    let update = expect_event(&mut ben_ws, "reaction.updated").await;
    assert_eq!(update["messageId"], id);
    // Only real changes are announced: the next event is ben's first add, not a repeat.
    let second = expect_event(&mut ben_ws, "reaction.updated").await;
    assert_eq!(second["reactions"][0]["count"], 2);
    let (_, removed) = stack.call("DELETE", &thumbs, Some(&ben.token), None).await;
    assert_eq!(removed["reactions"][0]["count"], 1);
    let third = expect_event(&mut ben_ws, "reaction.updated").await;
    assert_eq!(third["reactions"][0]["count"], 1);
    // Removing again changes nothing and tells nobody.
    let (status, again) = stack.call("DELETE", &thumbs, Some(&ben.token), None).await;
    assert_eq!((status, &again["reactions"][0]["count"]), (200, &json!(1)));
    while let Some(event) = next_event(&mut ben_ws, Duration::from_millis(800)).await {
        assert_ne!(
            event["type"], "reaction.updated",
            "a no-op was announced: {event}"
        );
    }
    let bad = format!("/rooms/{room}/messages/{id}/reactions/hello%20world");
    assert_eq!(stack.status("PUT", &bad, &ana.token).await, 400);

    // Replies point at a message of the same room.
    let reply = say_with(
        &stack,
        &ben,
        &room,
        json!({ "text": "Thanks!", "replyTo": id }),
    )
    .await;
    assert_eq!(reply["replyTo"], id);
    let (status, err) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&ben.token),
            Some(json!({ "text": "?", "clientMessageId": "r2", "replyTo": gigwire::domain::MessageId::new().to_string() })),
        )
        .await;
    assert_eq!((status, &err["error"]["field"]), (400, &json!("replyTo")));

    // Only the sender edits or deletes.
    let path = format!("/rooms/{room}/messages/{id}");
    let edit = json!({ "text": "Quote attached (v2)" });
    let (status, _) = stack
        .call("PATCH", &path, Some(&ben.token), Some(edit.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, edited) = stack
        .call("PATCH", &path, Some(&ana.token), Some(edit))
        .await;
    assert_eq!(
        (status, &edited["text"]),
        (200, &json!("Quote attached (v2)"))
    );
    assert!(edited["editedAt"].is_string());
    assert_eq!(
        expect_event(&mut ben_ws, "message.updated").await["message"]["text"],
        "Quote attached (v2)"
    );
    assert_eq!(stack.status("DELETE", &path, &ben.token).await, 403);
    let (status, tombstone) = stack.call("DELETE", &path, Some(&ana.token), None).await;
    assert_eq!(status, 200);
    assert!(tombstone["deletedAt"].is_string());
    assert!(tombstone["text"].is_null() && tombstone["reactions"] == json!([]));
    assert_eq!(
        expect_event(&mut ben_ws, "message.deleted").await["message"]["id"],
        id
    );
    assert_eq!(
        stack.status("DELETE", &path, &ana.token).await,
        200,
        "deleting again is harmless"
    );
    let (_, history) = get(&stack, &ben, &format!("/rooms/{room}/messages")).await;
    let kept = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap();
    assert!(
        kept["deletedAt"].is_string() && kept["text"].is_null(),
        "history keeps the tombstone"
    );
    let (status, _) = stack
        .call(
            "PATCH",
            &path,
            Some(&ana.token),
            Some(json!({ "text": "back" })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(stack.status("PUT", &thumbs, &ana.token).await, 409);

    // A deleted latest message does not live on in the room list's preview.
    let secret = say(&stack, &ana, &room, "secret").await;
    let path = format!("/rooms/{room}/messages/{}", secret["id"].as_str().unwrap());
    assert_eq!(stack.status("DELETE", &path, &ana.token).await, 200);
    let (_, rooms) = get(&stack, &ben, "/rooms").await;
    let preview = &rooms["items"][0]["room"]["lastMessage"];
    assert_eq!(preview["id"], secret["id"]);
    assert!(preview["text"].is_null(), "{preview}");
}

#[tokio::test]
async fn rooms_list_pinned_first_then_by_activity_in_pages() {
    let stack = Stack::from_env();
    let ana = stack.person("ana").await;
    let mut rooms = Vec::new();
    for tag in ["ben", "cid", "dan"] {
        let other = stack.person(tag).await;
        rooms.push(direct(&stack, &ana, &other).await);
    }
    for room in [&rooms[2], &rooms[0], &rooms[1]] {
        say(&stack, &ana, room, "ping").await;
    }
    let order = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["room"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page) = get(&stack, &ana, "/rooms").await;
    assert_eq!(
        order(&page),
        [rooms[1].clone(), rooms[0].clone(), rooms[2].clone()]
    );
    assert_eq!(page["items"][0]["room"]["lastMessage"]["text"], "ping");

    let (status, _) = stack
        .call(
            "PATCH",
            &format!("/rooms/{}/membership", rooms[2]),
            Some(&ana.token),
            Some(json!({ "pinned": true })),
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = get(&stack, &ana, "/rooms").await;
    assert_eq!(
        order(&page),
        [rooms[2].clone(), rooms[1].clone(), rooms[0].clone()]
    );
    assert_eq!(page["items"][0]["membership"]["pinned"], true);

    // Pages: the pinned room on the first, then the rest by activity, each once.
    let mut seen = Vec::new();
    let mut path = "/rooms?limit=1".to_owned();
    loop {
        let (status, page) = get(&stack, &ana, &path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(order(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/rooms?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [rooms[2].clone(), rooms[1].clone(), rooms[0].clone()]);
}

#[tokio::test]
async fn the_owner_manages_members_and_a_removed_member_hears_nothing_more() {
    let stack = Stack::from_env();
    let (ana, ben, cid, dan) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("cid").await,
        stack.person("dan").await,
    );
    let room = group(&stack, &ana, &[&ben, &cid]).await;
    let mut ben_ws = stack.online(&ben).await;
    let mut dan_ws = stack.online(&dan).await;
    let members = format!("/rooms/{room}/members");

    let (status, _) = stack
        .call(
            "POST",
            &members,
            Some(&ben.token),
            Some(json!({ "userIds": [dan.id] })),
        )
        .await;
    assert_eq!(status, 403, "only the owner adds");
    let (status, detail) = stack
        .call(
            "POST",
            &members,
            Some(&ana.token),
            Some(json!({ "userIds": [dan.id] })),
        )
        .await;
    assert_eq!(
        (status, detail["members"].as_array().unwrap().len()),
        (200, 4)
    );
    let added = expect_event(&mut dan_ws, "room.updated").await;
    assert_eq!(
        (added["change"].as_str(), added["userIds"][0].as_str()),
        (Some("members_added"), Some(dan.id.as_str()))
    );
    say(&stack, &cid, &room, "before the rename").await;
    let (status, room_now) = stack
        .call(
            "PATCH",
            &format!("/rooms/{room}"),
            Some(&ana.token),
            Some(json!({ "name": "Bathroom" })),
        )
        .await;
    assert_eq!((status, &room_now["name"]), (200, &json!("Bathroom")));
    assert_eq!(
        membership(&stack, &ana, &room).await["unread"],
        1,
        "the rename's system message reads nothing for the owner"
    );

    // Removing Ben: he is told, then hears and sees nothing more.
    assert_eq!(
        stack
            .status("DELETE", &format!("{members}/{}", ben.id), &cid.token)
            .await,
        403
    );
    assert_eq!(
        stack
            .status("DELETE", &format!("{members}/{}", ben.id), &ana.token)
            .await,
        204
    );
    loop {
        let event = expect_event(&mut ben_ws, "room.updated").await;
        if event["change"] == "members_removed" {
            assert_eq!(event["userIds"][0], ben.id.as_str());
            break;
        }
    }
    say(&stack, &cid, &room, "Ben is gone").await;
    expect_event(&mut dan_ws, "message.new").await;
    while let Some(event) = next_event(&mut ben_ws, Duration::from_millis(1500)).await {
        assert_ne!(event["type"], "message.new", "a removed member got {event}");
    }
    assert_eq!(get(&stack, &ben, &format!("/rooms/{room}")).await.0, 404);
    assert_eq!(
        get(&stack, &ben, &format!("/rooms/{room}/messages"))
            .await
            .0,
        404
    );
    let (_, list) = get(&stack, &ben, "/rooms").await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // The owner leaves: the earliest remaining member becomes owner.
    assert_eq!(
        stack
            .status("DELETE", &format!("{members}/{}", ana.id), &ana.token)
            .await,
        204
    );
    let (_, detail) = get(&stack, &cid, &format!("/rooms/{room}")).await;
    let owner: Vec<&Value> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .collect();
    assert_eq!(
        (owner.len(), owner[0]["userId"].as_str()),
        (1, Some(cid.id.as_str()))
    );
    let (_, history) = get(&stack, &cid, &format!("/rooms/{room}/messages")).await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "system")
    );
}

#[tokio::test]
async fn attachments_are_ready_files_of_the_sender_and_visible_to_members_only() {
    let stack = Stack::from_env();
    let (ana, ben, eve) = (
        stack.person("ana").await,
        stack.person("ben").await,
        stack.person("eve").await,
    );
    let room = direct(&stack, &ana, &ben).await;
    let file = stack.ready_pdf(&ana.token).await;
    let foreign = stack.ready_pdf(&eve.token).await;
    let download = format!("/files/{file}");
    assert_eq!(
        stack.status("GET", &download, &ben.token).await,
        404,
        "not shared yet"
    );

    let message = say_with(&stack, &ana, &room, json!({ "attachments": [file] })).await;
    assert_eq!(message["kind"], "attachment");
    assert_eq!(message["attachments"][0]["fileName"], "quote.pdf");
    assert_eq!(
        stack.status("GET", &download, &ben.token).await,
        200,
        "members may download"
    );
    assert_eq!(
        stack.status("GET", &download, &eve.token).await,
        404,
        "others may not"
    );

    for bad in [
        json!([foreign]),
        json!([gigwire::domain::FileId::new().to_string()]),
    ] {
        let (status, err) = stack
            .call(
                "POST",
                &format!("/rooms/{room}/messages"),
                Some(&ana.token),
                Some(json!({ "attachments": bad, "clientMessageId": ulid::Ulid::generate().to_string() })),
            )
            .await;
        assert_eq!(
            (status, &err["error"]["field"]),
            (400, &json!("attachments")),
            "{err}"
        );
    }
    // The owner deletes the file: the message shows it as removed.
    assert_eq!(stack.status("DELETE", &download, &ana.token).await, 204);
    let (_, history) = get(&stack, &ben, &format!("/rooms/{room}/messages")).await;
    assert_eq!(history["items"][0]["attachments"][0]["removed"], true);
}

#[tokio::test]
async fn offline_recipients_are_handed_to_the_notifier_unless_muted() {
    let stack = Stack::from_env();
    let (ana, ben, cid, room) = group_of_three(&stack).await;
    let _cid_ws = stack.online(&cid).await;
    let store = stack.store().await;

    // A ghost connection of Ben whose TTL has passed (DynamoDB deletes expired items late).
    let ghost = ConnectionId::parse(&format!("ghost{}=", ulid::Ulid::generate())).unwrap();
    let now = Utc::now();
    store
        .put_connection(&Connection {
            connection_id: ghost.clone(),
            user_id: ben.user_id(),
            session_id: None,
            connected_at: now - chrono::Duration::hours(3),
            expires_at: now.timestamp() - 60,
        })
        .await
        .unwrap();

    let message = say(&stack, &ana, &room, "Anyone around?").await;
    let due = inbox_of(&stack, &ben, 1).await;
    assert_eq!(due.len(), 1, "Ben is offline: {due:?}");
    assert_eq!(due[0]["kind"], "chat_message");
    assert_eq!(due[0]["data"]["messageId"], message["id"]);
    assert_eq!(due[0]["body"], "Anyone around?");
    assert_eq!(due[0]["data"]["room"], "Kitchen repair");
    assert!(
        stack.inbox(&cid, "").await["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "Cid got it live"
    );
    assert!(
        stack.inbox(&ana, "").await["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "not the sender"
    );
    assert!(
        store.get_connection(&ghost).await.unwrap().is_some(),
        "an expired ghost is never posted to"
    );

    stack
        .call(
            "PATCH",
            &format!("/rooms/{room}/membership"),
            Some(&ben.token),
            Some(json!({ "muted": true })),
        )
        .await;
    say(&stack, &ana, &room, "Still there?").await;
    // A message in another room comes after it on the stream: once that one is notified,
    // the muted one would have been too.
    let other = group(&stack, &ana, &[&ben]).await;
    say(&stack, &ana, &other, "Sentinel").await;
    let due = inbox_of(&stack, &ben, 2).await;
    assert_eq!(due.len(), 2, "{due:?}");
    assert_eq!(
        due[0]["body"], "Sentinel",
        "muted: nothing from the muted room"
    );
}

#[tokio::test]
async fn a_dead_connection_is_deleted_on_410_and_sending_too_fast_is_an_error_event() {
    let stack = Stack::from_env();
    let (ana, ben) = (stack.person("ana").await, stack.person("ben").await);
    let room = direct(&stack, &ana, &ben).await;
    let mut ben_ws = stack.online(&ben).await;
    let store = stack.store().await;
    let dead = ConnectionId::parse(&format!("dead{}=", ulid::Ulid::generate())).unwrap();
    let now = Utc::now();
    store
        .put_connection(&Connection {
            connection_id: dead.clone(),
            user_id: ben.user_id(),
            session_id: None,
            connected_at: now,
            expires_at: now.timestamp() + 600,
        })
        .await
        .unwrap();
    say(&stack, &ana, &room, "hello").await;
    expect_event(&mut ben_ws, "message.new").await;
    assert!(
        store.get_connection(&dead).await.unwrap().is_none(),
        "410 deleted it"
    );
    assert_eq!(
        store.connections_of(&ben.user_id()).await.unwrap().len(),
        1,
        "and only it"
    );

    // Thirty sends at once over the WebSocket, from three of Ben's devices: the limit (per
    // user, over every connection) answers with error events, and the connections stay
    // usable. (The gateway hands one connection's frames over one after the other; on a
    // loaded machine one connection's frames can spread over so many windows that they
    // never cross the limit, three connections' frames cannot.)
    let mut devices = [stack.online(&ben).await, stack.online(&ben).await];
    for i in 0..10 {
        for (d, ws) in std::iter::once(&mut ben_ws)
            .chain(devices.iter_mut())
            .enumerate()
        {
            send(
                ws,
                json!({ "action": "sendMessage", "requestId": format!("b{d}-{i}"), "roomId": room, "clientMessageId": format!("burst-{d}-{i}"), "text": "spam" }),
            )
            .await;
        }
    }
    let mut limited = 0;
    for ws in std::iter::once(&mut ben_ws).chain(devices.iter_mut()) {
        while let Some(event) = next_event(ws, Duration::from_secs(3)).await {
            if event["type"] == "error" {
                assert_eq!(event["error"]["code"], "rate_limited");
                limited += 1;
            }
        }
    }
    assert!(limited >= 1, "no rate_limited error event");
    send(&mut ben_ws, json!({ "action": "ping" })).await;
    expect_event(&mut ben_ws, "pong").await;
}

/// The messages of a room in sequence order, read with `afterSeq` until caught up.
async fn all_messages(stack: &Stack, who: &Person, room: &str) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    loop {
        let after = messages.last().map_or(0, |m| m["seq"].as_u64().unwrap());
        let (status, page) = get(
            stack,
            who,
            &format!("/rooms/{room}/messages?afterSeq={after}&limit=100"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        messages.extend(page["items"].as_array().unwrap().iter().cloned());
        let caught_up = messages.last().map_or(0, |m| m["seq"].as_u64().unwrap())
            >= page["lastSeq"].as_u64().unwrap();
        if caught_up && page["hasMore"] == false {
            return messages;
        }
    }
}

/// The documented rule, by sequence: messages from others (not system ones) after the
/// member's read marker, where sending reads up to one's own message.
fn expected_unread(messages: &[Value], who: &Person, read_seq: u64) -> u64 {
    let own = messages
        .iter()
        .filter(|m| m["senderId"] == who.id.as_str() && m["kind"] != "system")
        .map(|m| m["seq"].as_u64().unwrap())
        .max()
        .unwrap_or(0);
    let marker = own.max(read_seq);
    messages
        .iter()
        .filter(|m| m["seq"].as_u64().unwrap() > marker)
        .filter(|m| m["senderId"] != who.id.as_str() && m["kind"] != "system")
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_commits_after_a_newer_id_is_resumed_and_counted_in_commit_order() {
    let stack = Stack::from_env();
    let (ana, ben, cid, room) = group_of_three(&stack).await;
    let mut cid_ws = stack.online(&cid).await;

    // Ana's send takes its id first, but its transaction is held back until Ben's message,
    // with a newer id, has committed (as two Lambdas racing can do).
    let marker = format!("held-{}", ulid::Ulid::generate());
    let hold = gigwire_tests::HoldBack::new(&marker, Duration::from_millis(1500));
    let services = stack.in_process(Some(hold.store(&stack).await)).await;
    let caller = in_process_caller(ana.user_id());
    // Ben sends in-process too (no function start to wait for), well inside the hold.
    let ben_sends = {
        let (ben_id, room) = (ben.user_id(), room.clone());
        tokio::spawn(async move {
            let services = Stack::from_env().in_process(None).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let caller = in_process_caller(ben_id);
            let request = gigwire::chat::model::SendMessage {
                client_message_id: "ben-1".into(),
                text: Some("newer id".into()),
                attachments: Vec::new(),
                reply_to: None,
            };
            let room = gigwire::domain::RoomId::parse(&room, "id").unwrap();
            let (message, created) = services
                .chat()
                .send(&caller, &room, request, Utc::now(), None)
                .await
                .unwrap();
            assert!(created);
            serde_json::to_value(message).unwrap()
        })
    };
    let room_id = gigwire::domain::RoomId::parse(&room, "id").unwrap();
    let request = gigwire::chat::model::SendMessage {
        client_message_id: marker.clone(),
        text: Some("older id".into()),
        attachments: Vec::new(),
        reply_to: None,
    };
    let (ana_message, _) = services
        .chat()
        .send(&caller, &room_id, request, Utc::now(), None)
        .await
        .unwrap();
    let ben_message = ben_sends.await.unwrap();
    assert!(
        ana_message.id.to_string().as_str() < ben_message["id"].as_str().unwrap(),
        "the held send took the older id"
    );
    // Numbered in the order they committed.
    assert_eq!(ben_message["seq"], 1, "{ben_message}");
    assert_eq!(ana_message.seq, 2);

    // Cid sees them live in that order, each with its number: no gap to fill.
    let first = expect_event(&mut cid_ws, "message.new").await;
    let second = expect_event(&mut cid_ws, "message.new").await;
    assert_eq!(
        (&first["message"]["seq"], &second["message"]["seq"]),
        (&json!(1), &json!(2))
    );

    // A client that had Ben's message and resumes after it gets Ana's, whose id is older.
    let after = ben_message["id"].as_str().unwrap();
    let (status, resumed) = get(
        &stack,
        &cid,
        &format!("/rooms/{room}/messages?after={after}"),
    )
    .await;
    assert_eq!(status, 200, "{resumed}");
    let texts: Vec<&str> = resumed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["older id"], "{resumed}");
    assert_eq!(
        (&resumed["hasMore"], &resumed["lastSeq"]),
        (&json!(false), &json!(2))
    );
    let (_, by_seq) = get(&stack, &cid, &format!("/rooms/{room}/messages?afterSeq=1")).await;
    assert_eq!(by_seq["items"][0]["id"], ana_message.id.to_string());
    // Newest first is by `seq` too: Ana's (older id, committed later) comes first, and
    // paging back from it gives Ben's.
    let (_, newest) = get(&stack, &cid, &format!("/rooms/{room}/messages?limit=1")).await;
    assert_eq!(
        newest["items"][0]["id"],
        ana_message.id.to_string(),
        "{newest}"
    );
    assert_eq!(newest["hasMore"], true);
    let (_, older) = get(
        &stack,
        &cid,
        &format!("/rooms/{room}/messages?before={}", ana_message.id),
    )
    .await;
    assert_eq!(older["items"][0]["id"], ben_message["id"], "{older}");
    assert_eq!(older["hasMore"], false, "{older}");
    // Delivered markers follow `seq` as well: Ana's message delivered, Ben's (older seq)
    // does not move the marker back.
    for message in [ana_message.id.to_string(), after.to_owned()] {
        send(
            &mut cid_ws,
            json!({ "action": "markDelivered", "roomId": room, "messageId": message }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let marker = membership(&stack, &cid, &room).await;
    assert_eq!(
        (&marker["deliveredSeq"], &marker["lastDeliveredMessageId"]),
        (&json!(2), &json!(ana_message.id.to_string())),
        "{marker}"
    );

    // Cid reads up to Ben's message: Ana's committed after it, so one is still unread.
    let (status, me) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/read"),
            Some(&cid.token),
            Some(json!({ "messageId": after })),
        )
        .await;
    assert_eq!(
        (status, &me["unread"], &me["readSeq"]),
        (200, &json!(1), &json!(1)),
        "{me}"
    );
    // Ana sent after Ben's message committed: her send read it. Ben has Ana's to read.
    let messages = all_messages(&stack, &cid, &room).await;
    for (who, read_seq) in [(&ana, 0), (&ben, 0), (&cid, 1)] {
        assert_eq!(
            membership(&stack, who, &room).await["unread"]
                .as_u64()
                .unwrap(),
            expected_unread(&messages, who, read_seq),
            "{}",
            who.id
        );
    }
}

#[tokio::test]
async fn every_members_unread_follows_the_rule_after_concurrent_sends_over_http_and_websocket() {
    let stack = Stack::from_env();
    let mut people = Vec::new();
    for tag in ["u01", "u02", "u03", "u04", "u05"] {
        people.push(stack.person(tag).await);
    }
    let room = group(&stack, &people[0], &people[1..].iter().collect::<Vec<_>>()).await;
    // u02 and u03 send over the WebSocket, u04 and u05 over HTTP, all at once.
    let mut sockets = Vec::new();
    for who in &people[1..3] {
        sockets.push(stack.online(who).await);
    }
    let over_ws = sockets.iter_mut().enumerate().map(|(i, ws)| {
        let room = room.clone();
        async move {
            for n in 0..3 {
                send(
                    ws,
                    json!({ "action": "sendMessage", "requestId": format!("r{n}"),
                            "roomId": room, "clientMessageId": format!("ws-{i}-{n}"),
                            "text": format!("ws {i} {n}") }),
                )
                .await;
            }
        }
    });
    let over_http = people[3..].iter().map(|who| {
        let (stack, room) = (&stack, &room);
        async move {
            for n in 0..3 {
                say(stack, who, room, &format!("http {n}")).await;
            }
        }
    });
    futures::join!(
        futures::future::join_all(over_ws),
        futures::future::join_all(over_http)
    );
    // Wait until all twelve have committed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let messages = loop {
        let messages = all_messages(&stack, &people[0], &room).await;
        if messages.len() >= 12 || tokio::time::Instant::now() > deadline {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=12).collect::<Vec<_>>(),
        "numbered once each, no gaps"
    );

    let mut badge_total = 0;
    for who in &people {
        let expected = expected_unread(&messages, who, 0);
        assert_eq!(
            membership(&stack, who, &room).await["unread"].as_u64(),
            Some(expected),
            "room detail of {}",
            who.id
        );
        let (_, list) = get(&stack, who, "/rooms").await;
        assert_eq!(
            list["items"][0]["membership"]["unread"].as_u64(),
            Some(expected),
            "room list of {}",
            who.id
        );
        let (_, badge) = get(&stack, who, "/me/unread").await;
        assert_eq!(
            badge["total"].as_u64(),
            Some(expected),
            "badge of {}",
            who.id
        );
        badge_total += expected;
    }
    // u01 sent nothing: every one of the twelve is unread for them.
    assert_eq!(expected_unread(&messages, &people[0], 0), 12);
    assert!(badge_total > 12);
}

/// Sends one message as docs/chat.md tells a client to: a 429 or a 409 is retried with the
/// same `clientMessageId` after its `Retry-After`; anything else but 200/201 fails the test
/// (a function timeout answers 5xx).
async fn send_as_documented(stack: &Stack, who: &Person, room: &str, client_id: &str) -> Value {
    let body = json!({ "clientMessageId": client_id, "text": client_id });
    for _ in 0..60 {
        let (status, retry_after, answer) = stack
            .call_retry_after(
                "POST",
                &format!("/rooms/{room}/messages"),
                Some(&who.token),
                Some(body.clone()),
            )
            .await;
        match status {
            200 | 201 => return answer,
            429 | 409 => {
                let wait = retry_after.unwrap_or_else(|| panic!("{status} without Retry-After"));
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            _ => panic!("send {client_id} answered {status}: {answer}"),
        }
    }
    panic!("send {client_id} never got through")
}

/// Sends `count` messages over the WebSocket all at once, as docs/chat.md tells a client
/// to (an `error` event with `rate_limited` or `conflict` is retried after a second with the
/// same `clientMessageId`), while noting every `message.new` the connection gets; returns
/// when this sender's messages are all in and `total` messages were seen.
async fn flood_over_ws(
    ws: &mut Ws,
    me: &str,
    room: &str,
    count: usize,
    total: usize,
) -> Vec<Value> {
    let frame = |n: usize| {
        json!({ "action": "sendMessage", "requestId": format!("{me}-{n}"), "roomId": room,
                "clientMessageId": format!("{me}-{n}"), "text": format!("{me}-{n}") })
    };
    for n in 0..count {
        send(ws, frame(n)).await;
    }
    let mut seen = Vec::new();
    let mut mine = std::collections::BTreeSet::new();
    while mine.len() < count || distinct_ids(&seen) < total {
        let event = next_event(ws, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("{me}: no answer ({} of {count} in)", mine.len()));
        match event["type"].as_str() {
            Some("message.new") => {
                if event["message"]["senderId"] == me {
                    mine.insert(event["message"]["clientMessageId"].to_string());
                }
                seen.push(event);
            }
            Some("error") => {
                let code = event["error"]["code"].as_str().unwrap_or_default();
                assert!(matches!(code, "rate_limited" | "conflict"), "{event}");
                let n: usize = event["requestId"].as_str().unwrap()[me.len() + 1..]
                    .parse()
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
                send(ws, frame(n)).await;
            }
            _ => {}
        }
    }
    seen
}

/// Every `message.new` a connection gets until `total` distinct messages are in (or nothing
/// came for a while), and whatever else comes in the next two seconds.
async fn listen(ws: &mut Ws, total: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    while distinct_ids(&seen) < total {
        match next_event(ws, Duration::from_secs(20)).await {
            Some(event) if event["type"] == "message.new" => seen.push(event),
            Some(_) => {}
            None => break,
        }
    }
    seen
}

fn distinct_ids(events: &[Value]) -> usize {
    events
        .iter()
        .map(|e| e["message"]["id"].to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The flood: a group of six, four of them sending 25 messages each with all 100
/// sends in flight at once (`over_ws` of the senders on the WebSocket, the others over
/// HTTP), every client following the docs.
async fn hot_room_flood(over_ws: usize) {
    let stack = Stack::from_env();
    let mut people = Vec::new();
    for tag in ["reader", "quiet", "s0", "s1", "s2", "s3"] {
        people.push(stack.person(tag).await);
    }
    let room = group(&stack, &people[0], &people[1..].iter().collect::<Vec<_>>()).await;
    let mut sockets = Vec::new();
    for who in &people {
        sockets.push(stack.online(who).await);
    }
    let (listeners, senders) = sockets.split_at_mut(2);
    let (ws_senders, http_senders) = senders.split_at_mut(over_ws);
    let http = (2 + over_ws..people.len()).flat_map(|i| {
        let who = &people[i];
        let (stack, room) = (&stack, &room);
        (0..25).map(move |n| async move {
            send_as_documented(stack, who, room, &format!("{}-{n}", who.id)).await
        })
    });
    let ws = ws_senders.iter_mut().enumerate().map(|(i, ws)| {
        let (me, room) = (people[2 + i].id.clone(), room.clone());
        async move { flood_over_ws(ws, &me, &room, 25, 100).await }
    });
    let other_ws = listeners
        .iter_mut()
        .chain(http_senders.iter_mut())
        .map(|ws| listen(ws, 100));
    let (_, mut ws_seen, mut other_seen) = futures::join!(
        futures::future::join_all(http),
        futures::future::join_all(ws),
        futures::future::join_all(other_ws)
    );
    // Anything late (a duplicate) shows up now.
    for (ws, seen) in listeners
        .iter_mut()
        .chain(http_senders.iter_mut())
        .zip(other_seen.iter_mut())
        .chain(ws_senders.iter_mut().zip(ws_seen.iter_mut()))
    {
        while let Some(event) = next_event(ws, Duration::from_secs(2)).await {
            if event["type"] == "message.new" {
                seen.push(event);
            }
        }
    }

    // History: every message once, numbered 1..=100 without gaps.
    let messages = all_messages(&stack, &people[0], &room).await;
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    let mut client_ids: Vec<String> = messages
        .iter()
        .map(|m| m["clientMessageId"].to_string())
        .collect();
    client_ids.sort();
    client_ids.dedup();
    assert_eq!(client_ids.len(), 100, "each send once");
    // Every member's connection got each message at most once — but a WebSocket sender's
    // own, which its retries of a send that had gone through answer again (docs/chat.md) —
    // and the posts reached all but a few. What they did not bring (a send's posts stop short
    // of its function's timeout if they must) comes, as the docs have a client do it, from
    // `afterSeq` with the last number the connection holds without a gap.
    let pushed = |seen: &[Value], own: Option<&str>| {
        let mut ids: Vec<String> = seen
            .iter()
            .filter(|e| own.is_none_or(|me| e["message"]["senderId"] != me))
            .map(|e| e["message"]["id"].to_string())
            .collect();
        let all = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(all, ids.len(), "each message once on every connection");
        seen.iter()
            .map(|e| e["message"]["seq"].as_u64().unwrap())
            .collect::<std::collections::BTreeSet<u64>>()
    };
    let connections = other_seen
        .iter()
        .zip((0..2).chain(2 + over_ws..people.len()))
        .map(|(seen, p)| (pushed(seen, None), p))
        .chain(ws_seen.iter().enumerate().map(|(i, seen)| {
            let who = people[2 + i].id.as_str();
            (pushed(seen, Some(who)), 2 + i)
        }))
        .collect::<Vec<_>>();
    for (seqs, p) in connections {
        let missed: Vec<u64> = (1..=100).filter(|n| !seqs.contains(n)).collect();
        assert!(
            missed.len() <= 5,
            "posts missed {missed:?} on {}",
            people[p].id
        );
        if missed.is_empty() {
            continue;
        }
        let held = (1..=100)
            .take_while(|n| seqs.contains(n))
            .last()
            .unwrap_or(0);
        let path = format!("/rooms/{room}/messages?afterSeq={held}&limit=100");
        let (status, page) = get(&stack, &people[p], &path).await;
        assert_eq!(status, 200, "{page}");
        let caught_up: Vec<u64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert!(
            missed.iter().all(|n| caught_up.contains(n)),
            "{missed:?} not after {held}: {caught_up:?}"
        );
        println!("{} caught up {missed:?} after {held}", people[p].id);
    }
    // Unread counts follow the rule for everyone.
    for who in &people {
        assert_eq!(
            membership(&stack, who, &room).await["unread"].as_u64(),
            Some(expected_unread(&messages, who, 0)),
            "unread of {}",
            who.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_100_sends_in_flight_into_one_room_lands_each_once_without_a_timeout() {
    hot_room_flood(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flood_with_half_the_senders_on_the_websocket_lands_each_once_too() {
    hot_room_flood(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_held_back_while_others_keep_sending_is_numbered_after_them_and_resumed() {
    let stack = Stack::from_env();
    let (ana, ben, cid, room) = group_of_three(&stack).await;
    // Ana's transaction is held back while Ben and Cid send ten messages between them: it
    // loses the number, renumbers from what the failed write told it and commits after them.
    let marker = format!("held-{}", ulid::Ulid::generate());
    let hold = gigwire_tests::HoldBack::new(&marker, Duration::from_millis(1200));
    let services = stack.in_process(Some(hold.store(&stack).await)).await;
    let caller = in_process_caller(ana.user_id());
    let others = {
        let (ben_token, cid_token, room) = (ben.token.clone(), cid.token.clone(), room.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let stack = Stack::from_env();
            let mut seqs = Vec::new();
            for n in 0..5 {
                for (token, who) in [(&ben_token, "ben"), (&cid_token, "cid")] {
                    let (status, message) = stack
                        .call(
                            "POST",
                            &format!("/rooms/{room}/messages"),
                            Some(token),
                            Some(json!({ "clientMessageId": format!("{who}-{n}"), "text": "x" })),
                        )
                        .await;
                    assert_eq!(status, 201, "{message}");
                    seqs.push(message["seq"].as_u64().unwrap());
                }
            }
            seqs
        })
    };
    let room_id = gigwire::domain::RoomId::parse(&room, "id").unwrap();
    let request = gigwire::chat::model::SendMessage {
        client_message_id: marker.clone(),
        text: Some("held".into()),
        attachments: Vec::new(),
        reply_to: None,
    };
    let (held, _) = send_retrying_busy(&services, &caller, &room_id, request).await;
    let seqs = others.await.unwrap();
    let before_held = seqs.iter().filter(|s| **s < held.seq).count() as u64;
    assert_eq!(
        held.seq,
        before_held + 1,
        "numbered right after what committed first"
    );
    assert!(before_held >= 1, "the others committed while it was held");

    // Resuming from the start gives all eleven in order, without a gap.
    let messages = all_messages(&stack, &cid, &room).await;
    let numbers: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=11).collect::<Vec<_>>());
    assert_eq!(
        messages[held.seq as usize - 1]["clientMessageId"],
        marker.as_str()
    );
    // Resuming after the message before it returns it first.
    let (_, resumed) = get(
        &stack,
        &cid,
        &format!("/rooms/{room}/messages?afterSeq={}", held.seq - 1),
    )
    .await;
    assert_eq!(resumed["items"][0]["id"], held.id.to_string().as_str());
    // Unread: by sequence, for everyone.
    for who in [&ana, &ben, &cid] {
        assert_eq!(
            membership(&stack, who, &room).await["unread"].as_u64(),
            Some(expected_unread(&messages, who, 0)),
            "unread of {}",
            who.id
        );
    }
}

/// Sends in-process as a client following docs/chat.md would: a 409 for a busy room (the
/// send's deadline passed while its transaction was held back) is retried with the same id.
async fn send_retrying_busy(
    services: &gigwire_tests::InProcess,
    caller: &gigwire::auth::Caller,
    room: &gigwire::domain::RoomId,
    request: gigwire::chat::model::SendMessage,
) -> (gigwire::chat::model::Message, bool) {
    for _ in 0..5 {
        match services
            .chat()
            .send(caller, room, request.clone(), Utc::now(), None)
            .await
        {
            Err(gigwire::error::Error::Busy { .. }) => {
                tokio::time::sleep(Duration::from_secs(1)).await
            }
            other => return other.unwrap(),
        }
    }
    panic!("the room stayed busy")
}

/// A caller for the in-process services, as the authorizer would establish it.
fn in_process_caller(user_id: UserId) -> gigwire::auth::Caller {
    gigwire::auth::Caller {
        user_id,
        session_id: gigwire::domain::SessionId::new(),
        roles: Default::default(),
    }
}
