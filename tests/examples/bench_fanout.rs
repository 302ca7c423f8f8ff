//! Fan-out benchmark: sending one chat message to a room whose members hold 100 open
//! connections, against the same 100 posts made directly to the Management API, in one run.
//!
//! Three figures per round: `send` is the chat service's whole send (rate window, members,
//! transaction, connection lookups, 100 posts) run in-process against the emulator;
//! `raw ×32` is 100 bare posts with the same bounded concurrency; `raw 1×1` the same posts one
//! after another. `e2e` is `POST /rooms/{id}/messages` through the gateway until all 100
//! sockets have the event. Run against a deployed stack (source its env file first):
//! `cargo run -p gigwire-tests --example bench_fanout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use gigwire::adapters::Pusher;
use gigwire::auth::Caller;
use gigwire::chat::model::SendMessage;
use gigwire::domain::{ConnectionId, RoomId, SessionId, UserId};
use gigwire::realtime::service::{self as realtime, FANOUT_CONCURRENCY};
use gigwire::realtime::store::ConnectionStore;
use gigwire_tests::{Stack, expect_event, median, send};
use serde_json::json;

const CONNECTIONS_PER_USER: usize = 50;

#[tokio::main]
async fn main() {
    let rounds = gigwire_tests::bench_rounds();
    let stack = Stack::from_env();
    let (ana_token, ana) = stack.new_user("bench-ana").await;
    let (ben_token, ben) = stack.new_user("bench-ben").await;
    let ana_id = UserId::parse(ana["user"]["id"].as_str().unwrap(), "id").unwrap();
    let ben_id = UserId::parse(ben["user"]["id"].as_str().unwrap(), "id").unwrap();
    let (_, room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana_token),
            Some(json!({ "kind": "direct", "userId": ben_id.to_string() })),
        )
        .await;
    let room = RoomId::parse(room["room"]["id"].as_str().unwrap(), "id").unwrap();

    // 100 sockets, each drained by its own task that counts chat events.
    let arrived = Arc::new(AtomicUsize::new(0));
    for token in [&ana_token, &ben_token] {
        for _ in 0..CONNECTIONS_PER_USER {
            let mut ws = stack.connect(Some(token)).await.expect("connect");
            send(&mut ws, json!({ "action": "ping" })).await;
            expect_event(&mut ws, "pong").await;
            let arrived = arrived.clone();
            tokio::spawn(async move {
                while let Some(Ok(frame)) = ws.next().await {
                    if frame.to_text().is_ok_and(|t| t.contains("message.new")) {
                        arrived.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    }

    let services = stack.in_process(None).await;
    let (store, pusher) = (&services.store, &services.pusher);
    let chat = services.chat();
    let mut targets: Vec<ConnectionId> = store.connections_of(&ana_id).await.unwrap();
    targets.extend(store.connections_of(&ben_id).await.unwrap());
    assert_eq!(targets.len(), 2 * CONNECTIONS_PER_USER);
    let caller = Caller {
        user_id: ana_id,
        session_id: SessionId::new(),
        roles: Default::default(),
    };
    let payload = br#"{"type":"message.new","message":{"text":"raw"}}"#;

    // The same send in a room whose two members have no open connection (the other one
    // muted, so nobody is handed to the notifier): the table's share of a send.
    let (quiet_token, quiet) = stack.new_user("bench-quiet").await;
    let (muted_token, muted) = stack.new_user("bench-muted").await;
    let (_, quiet_room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&quiet_token),
            Some(json!({ "kind": "direct", "userId": muted["user"]["id"] })),
        )
        .await;
    let quiet_room = RoomId::parse(quiet_room["room"]["id"].as_str().unwrap(), "id").unwrap();
    stack
        .call(
            "PATCH",
            &format!("/rooms/{quiet_room}/membership"),
            Some(&muted_token),
            Some(json!({ "muted": true })),
        )
        .await;
    let quiet_caller = Caller {
        user_id: UserId::parse(quiet["user"]["id"].as_str().unwrap(), "id").unwrap(),
        session_id: SessionId::new(),
        roles: Default::default(),
    };
    let (mut quiet_ms, mut lookup_ms, mut fan_ms) = (vec![], vec![], vec![]);

    let (mut send_ms, mut raw_ms, mut seq_ms, mut e2e_ms) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds + 2 {
        let warm = round >= 2;
        let request = SendMessage {
            client_message_id: format!("bench-{}", ulid::Ulid::generate()),
            text: Some("benchmark".into()),
            attachments: Vec::new(),
            reply_to: None,
        };
        let started = Instant::now();
        chat.send(&caller, &room, request, Utc::now(), None)
            .await
            .unwrap();
        let send = started.elapsed().as_secs_f64() * 1e3;

        let request = SendMessage {
            client_message_id: format!("quiet-{}", ulid::Ulid::generate()),
            text: Some("benchmark".into()),
            attachments: Vec::new(),
            reply_to: None,
        };
        let started = Instant::now();
        chat.send(&quiet_caller, &quiet_room, request, Utc::now(), None)
            .await
            .unwrap();
        let quiet = started.elapsed().as_secs_f64() * 1e3;

        let started = Instant::now();
        let found = realtime::connections_of_users(store, &[ana_id, ben_id])
            .await
            .unwrap();
        let lookup = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let report = realtime::fan_out(store, pusher, &found, payload)
            .await
            .unwrap();
        let ours = started.elapsed().as_secs_f64() * 1e3;
        assert_eq!(report.delivered, targets.len());

        let started = Instant::now();
        let delivered = futures::stream::iter(&targets)
            .map(|id| pusher.post(id, payload))
            .buffer_unordered(FANOUT_CONCURRENCY)
            .filter(|r| std::future::ready(r.is_ok()))
            .count()
            .await;
        let raw = started.elapsed().as_secs_f64() * 1e3;
        assert_eq!(delivered, targets.len());

        let started = Instant::now();
        for id in &targets {
            pusher.post(id, payload).await.unwrap();
        }
        let seq = started.elapsed().as_secs_f64() * 1e3;

        // Through the gateway, until every socket has it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = arrived.load(Ordering::SeqCst);
        let started = Instant::now();
        let body = json!({ "clientMessageId": ulid::Ulid::generate().to_string(), "text": "e2e" });
        let (status, _) = stack
            .call(
                "POST",
                &format!("/rooms/{room}/messages"),
                Some(&ana_token),
                Some(body),
            )
            .await;
        assert_eq!(status, 201);
        while arrived.load(Ordering::SeqCst) < before + targets.len() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let e2e = started.elapsed().as_secs_f64() * 1e3;
        if warm {
            send_ms.push(send);
            quiet_ms.push(quiet);
            lookup_ms.push(lookup);
            fan_ms.push(ours);
            raw_ms.push(raw);
            seq_ms.push(seq);
            e2e_ms.push(e2e);
        }
        // Stay under the per-user send limit.
        tokio::time::sleep(Duration::from_millis(450)).await;
    }

    let (send, raw, seq, e2e) = (
        median(send_ms),
        median(raw_ms),
        median(seq_ms),
        median(e2e_ms),
    );
    println!(
        "fan-out to {} connections, median of {rounds} rounds",
        targets.len()
    );
    println!("  send (in-process service)      {send:8.1} ms");
    let quiet = median(quiet_ms);
    println!(
        "  connection lookup (2 users)    {:8.1} ms",
        median(lookup_ms)
    );
    println!("  fan_out alone (100 posts)      {:8.1} ms", median(fan_ms));
    println!("  send, nobody connected         {quiet:8.1} ms (the table's share)");
    println!("  raw posts, {FANOUT_CONCURRENCY} in flight         {raw:8.1} ms");
    println!("  raw posts, one at a time       {seq:8.1} ms");
    println!("  POST /rooms/{{id}}/messages e2e {e2e:8.1} ms");
    println!(
        "  ratio send / raw ×{FANOUT_CONCURRENCY}           {:8.2}",
        send / raw
    );
    println!("  ratio send / raw one at a time {:8.2}", send / seq);
    println!(
        "  ratio e2e / raw ×{FANOUT_CONCURRENCY}            {:8.2}",
        e2e / raw
    );
    std::process::exit(0);
}
