//! Fan-out to subscribers: a job posted in a category its 1,000 providers follow, told through
//! the batched fan-out exactly as the job stream's consumer tells it (`job_posted`, keyed per
//! job; a topic broadcast takes the same path), counted on the real SDK (every DynamoDB call
//! recorded by an interceptor) and timed, against the same 1,000 recipients notified one by
//! one through the per-recipient path, in one run.
//!
//! Run against a deployed stack (source its env file first):
//! `cargo run -p gigwire-tests --example bench_broadcast` (`BENCH_SUBSCRIBERS` to change 1,000).

use std::time::Instant;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use gigwire::domain::UserId;
use gigwire::jobs::model::PostJob;
use gigwire::jobs::service::job_posted;
use gigwire::notifications::model::{ChannelSwitches, Subscription, Target};
use gigwire::notifications::service::{NotifyReport, NotifyRequest, Recipients};
use gigwire::notifications::store::NotificationStore;
use gigwire_tests::{Recorder, Stack, calls_by_operation};
use serde_json::json;

async fn run(stack: &Stack, request: &NotifyRequest) -> (f64, usize, String, NotifyReport) {
    let recorder = Recorder::default();
    let services = stack.in_process(Some(recorder.store(stack).await)).await;
    let started = Instant::now();
    let report = services
        .notifications()
        .notify(request, Utc::now())
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
    let category = format!(
        "bench-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    );
    let topic = Target::Category(category.clone());
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
                        area: None,
                        updated_at: Utc::now(),
                    })
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("subscribe");
    println!("{subscribers} providers following {topic}, all offline\n");

    let posted: PostJob = serde_json::from_value(json!({
        "title": "Replace a kitchen tap",
        "description": "The old one leaks at the base.",
        "category": category,
        "budget": { "amount": 9000, "currency": "eur" },
        "location": { "remote": false, "area": "Lisbon" },
    }))
    .expect("job");
    // Not stored: its insertion would have the deployed consumer tell the followers too.
    let job = posted
        .validate(UserId::new(), Utc::now())
        .expect("valid job");
    let fan_out = job_posted(&job);
    let one_by_one = NotifyRequest {
        recipients: Recipients::Users(users),
        idempotency_key: format!("{}:one-by-one", fan_out.idempotency_key),
        ..job_posted(&job)
    };
    let (fan_ms, fan_calls, fan_ops, fan_report) = run(&stack, &fan_out).await;
    let (one_ms, one_calls, one_ops, one_report) = run(&stack, &one_by_one).await;
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
