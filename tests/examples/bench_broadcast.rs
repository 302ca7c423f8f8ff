//! Fan-out to subscribers: one notification to the 1,000 subscribers of a topic, counted on the
//! real SDK (every DynamoDB call recorded by an interceptor) and timed, against the same 1,000
//! recipients notified one by one through the per-recipient path, in one run.
//!
//! Run against a deployed stack (source its env file first):
//! `cargo run -p gigwire-tests --example bench_broadcast` (`BENCH_SUBSCRIBERS` to change 1,000).

use std::time::Instant;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use gigwire::domain::UserId;
use gigwire::notifications::model::{ChannelSwitches, Kind, Subscription, Target};
use gigwire::notifications::service::{NotifyReport, NotifyRequest, Recipients};
use gigwire::notifications::store::NotificationStore;
use gigwire_tests::{Recorder, Stack, calls_by_operation};
use serde_json::json;

async fn run(
    stack: &Stack,
    recipients: Recipients,
    key: &str,
) -> (f64, usize, String, NotifyReport) {
    let recorder = Recorder::default();
    let services = stack.in_process(Some(recorder.store(stack).await)).await;
    let request = NotifyRequest {
        recipients,
        kind: Kind::JobPosted,
        actor: None,
        room: None,
        data: json!({ "title": "Replace a kitchen tap" }),
        idempotency_key: key.to_owned(),
    };
    let started = Instant::now();
    let report = services
        .notifications()
        .notify(&request, Utc::now())
        .await
        .expect("notify");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let calls = recorder.calls();
    let by_operation = calls_by_operation(&calls)
        .into_iter()
        .map(|(op, (n, took))| format!("{op} {n} in {} ms", took.as_millis()))
        .collect::<Vec<_>>()
        .join(", ");
    (ms, calls.len(), by_operation, report)
}

#[tokio::main]
async fn main() {
    let subscribers: usize = std::env::var("BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let stack = Stack::from_env();
    let store = stack.in_process(None).await.store;
    let topic = Target::Topic(format!(
        "bench-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    ));
    let users: Vec<UserId> = (0..subscribers).map(|_| UserId::new()).collect();
    futures::stream::iter(users.clone())
        .map(|user| {
            let (store, target) = (&store, topic.clone());
            async move {
                store
                    .put_subscription(&Subscription {
                        user_id: user,
                        target,
                        channels: ChannelSwitches::default(),
                        updated_at: Utc::now(),
                    })
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("subscribe");
    println!("{subscribers} subscribers of {topic}, all offline\n");

    let (fan_ms, fan_calls, fan_ops, fan_report) = run(
        &stack,
        Recipients::Subscribers(topic.clone()),
        "bench-fan-out",
    )
    .await;
    let (one_ms, one_calls, one_ops, one_report) =
        run(&stack, Recipients::Users(users), "bench-one-by-one").await;
    assert_eq!(fan_report.created, subscribers);
    assert_eq!(one_report.created, subscribers);
    let writes = |ops: &str| {
        ops.split(", ")
            .filter(|op| {
                [
                    "TransactWriteItems",
                    "PutItem",
                    "UpdateItem",
                    "BatchWriteItem",
                ]
                .iter()
                .any(|w| op.starts_with(w))
            })
            .map(|op| op.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
            .sum::<usize>()
    };
    println!(
        "fan-out    : {fan_ms:8.0} ms  {fan_calls:5} DynamoDB calls ({} writes)  [{fan_ops}]",
        writes(&fan_ops)
    );
    println!(
        "one by one : {one_ms:8.0} ms  {one_calls:5} DynamoDB calls ({} writes)  [{one_ops}]",
        writes(&one_ops)
    );
    println!(
        "\nratios fan-out / one by one: time {:.2}, calls {:.2}, writes {:.3}",
        fan_ms / one_ms,
        fan_calls as f64 / one_calls as f64,
        writes(&fan_ops) as f64 / writes(&one_ops) as f64
    );
}
