//! Scheduling benchmark, against a deployed stack (source its env file first):
//! `cargo run -p gigwire-tests --example bench_sessions`.
//!
//! 1. The slot query of 31 days for a busy provider (100 bookings in the range) against the
//!    same query for an idle provider with the same plan, in one run: DynamoDB requests,
//!    sequential round trips, items read (the held quarter hours) and latency (median of N).
//! 2. The booking sweep with 10,000 timers on the due-time index of which 50 are due: the
//!    items its query reads against the timers in the index, its DynamoDB requests by
//!    operation and its time.

use std::time::Instant;

use chrono::{Duration, Utc};
use futures::StreamExt;
use gigwire::auth::Caller;
use gigwire::bookings::model::{Booking, DEFAULT_COMMISSION_BASIS_POINTS};
use gigwire::bookings::store::{BookingStore, Creation, NamesOnly};
use gigwire::domain::{OfferId, Role, SessionId};
use gigwire::offers::store::OfferStore;
use gigwire::scheduling::service::Scheduling;
use gigwire::scheduling::store::AvailabilityStore;
use gigwire_tests::{Person, Recorder, Stack, calls_by_operation, median, round_trips};
use serde_json::json;

const BOOKINGS_IN_RANGE: usize = 100;
const TIMERS: usize = 10_000;
const DUE: usize = 50;

/// A provider open 09:00–17:00 every day in Berlin (15 minutes' buffer) and a 30-minute
/// offer of theirs.
async fn bookable(stack: &Stack, tag: &str) -> (Person, OfferId) {
    let provider = stack.provider(tag, false).await;
    let plan = gigwire_tests::open_every_day("09:00", "17:00", 15);
    let (status, body) = stack
        .call("PUT", "/me/availability", Some(&provider.token), Some(plan))
        .await;
    assert_eq!(status, 200, "{body}");
    let offer = json!({ "title": "Half an hour of help", "description": "Remote session.",
        "category": "home", "price": { "amount": 3000, "currency": "eur" },
        "durationMinutes": 30 });
    let (status, body) = stack
        .call("POST", "/offers", Some(&provider.token), Some(offer))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = OfferId::parse(body["id"].as_str().unwrap(), "id").unwrap();
    (provider, id)
}

fn caller(who: &Person, role: Role) -> Caller {
    Caller {
        user_id: who.user_id(),
        session_id: SessionId::new(),
        roles: [role].into(),
    }
}

#[tokio::main]
async fn main() {
    let rounds = gigwire_tests::bench_rounds();
    let stack = Stack::from_env();
    let now = Utc::now();
    let services = stack.in_process(None).await;
    let store = &services.store;
    let customer = stack.person("Bench Sessions Customer").await;
    let me = caller(&customer, Role::Customer);
    let (busy, busy_offer) = bookable(&stack, "Bench Busy").await;
    let (_, idle_offer) = bookable(&stack, "Bench Idle").await;
    let from = (now + Duration::days(1)).date_naive();
    let to = from + Duration::days(30);
    let scheduling = Scheduling {
        plans: store,
        offers: store,
    };

    // 100 bookings spread over the 31 days, each holding its time as a request does.
    let offer = store.get_offer(&busy_offer).await.unwrap().unwrap();
    let plan = store.availability(&busy.user_id()).await.unwrap().unwrap();
    let free = scheduling
        .slots(&me, &busy_offer, (from, to), now)
        .await
        .unwrap()
        .slots;
    let step = free.len() / BOOKINGS_IN_RANGE;
    for (i, slot) in free
        .iter()
        .step_by(step)
        .take(BOOKINGS_IN_RANGE)
        .enumerate()
    {
        let booking = Booking::for_slot(
            offer.clone(),
            customer.user_id(),
            slot,
            (plan.time_zone.clone(), plan.buffer_minutes),
            DEFAULT_COMMISSION_BASIS_POINTS,
            now,
        );
        let created = store
            .create_booking(&booking, &format!("bench-slot-{i}"), &[], &[], now)
            .await
            .unwrap();
        assert!(matches!(created, Creation::Created));
    }
    let held = store
        .busy(&busy.user_id(), now, now + Duration::days(33))
        .await
        .unwrap()
        .len();

    // The slot query, busy and idle, each through a recording client.
    let mut figures = Vec::new();
    for offer in [&busy_offer, &idle_offer] {
        let (mut ms, mut calls, mut depth) = (Vec::new(), 0, 0);
        for round in 0..rounds + 2 {
            let recorder = Recorder::default();
            let recorded = stack.in_process(Some(recorder.store(&stack).await)).await;
            let scheduling = Scheduling {
                plans: &recorded.store,
                offers: &recorded.store,
            };
            let started = Instant::now();
            let list = scheduling.slots(&me, offer, (from, to), now).await.unwrap();
            let took = started.elapsed().as_secs_f64() * 1e3;
            assert!(!list.slots.is_empty());
            if round >= 2 {
                ms.push(took);
                let log = recorder.calls();
                calls = log.len();
                depth = round_trips(&log).into_iter().max().unwrap_or(0);
            }
        }
        figures.push((median(ms), calls, depth));
    }
    let ((busy_ms, busy_calls, busy_depth), (idle_ms, idle_calls, idle_depth)) =
        (figures[0], figures[1]);
    println!("slot query, 31 days, median of {rounds}");
    println!(
        "  busy provider ({BOOKINGS_IN_RANGE} bookings, {held} held spans in one query) {busy_ms:7.1} ms, {busy_calls} requests, {busy_depth} sequential"
    );
    println!(
        "  idle provider                                         {idle_ms:7.1} ms, {idle_calls} requests, {idle_depth} sequential"
    );
    println!("  ratio busy / idle {:.2}", busy_ms / idle_ms);

    // 10,000 timers: 50 due (payment windows that ran out an hour ago), the rest tomorrow.
    let started = Instant::now();
    let made = futures::stream::iter(0..TIMERS)
        .map(|i| {
            let offer = offer.clone();
            let customer = customer.user_id();
            async move {
                let created = if i < DUE {
                    now - Duration::hours(1) - Duration::milliseconds(i as i64)
                } else {
                    now + Duration::days(1) + Duration::milliseconds(i as i64)
                };
                let booking =
                    Booking::for_offer(offer, customer, DEFAULT_COMMISSION_BASIS_POINTS, created);
                store
                    .create_booking(
                        &booking,
                        &format!("bench-timer-{i}-{}", booking.id),
                        &[],
                        &[],
                        now,
                    )
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(32)
        .filter(|c| std::future::ready(matches!(c, Creation::Created)))
        .count()
        .await;
    assert_eq!(made, TIMERS);
    let setup_s = started.elapsed().as_secs_f64();
    let in_index = stack
        .count_gsi1(gigwire::bookings::keys::TIMERS, None)
        .await;
    let read_by_due = stack
        .count_gsi1(gigwire::bookings::keys::TIMERS, Some(now))
        .await;

    let local = stack.stripe();
    let payments = gigwire_payments::StripePayments::new(&local.key, Some(&local.url)).unwrap();
    let cursors =
        gigwire::cursor::CursorCodec::new(std::env::var("GIGWIRE_APP_SECRET").unwrap().as_bytes());
    let recorder = Recorder::default();
    let recorded = stack.in_process(Some(recorder.store(&stack).await)).await;
    let news = NamesOnly(&recorded.store);
    let bookings = gigwire::bookings::service::Bookings {
        store: &recorded.store,
        offers: &recorded.store,
        files: &recorded.store,
        payments: &payments,
        news: &news,
        cursors: &cursors,
        accounts: &recorded.store,
        connect: &payments,
        followups: &recorded.store,
    };
    let started = Instant::now();
    let done = bookings.sweep(now).await.unwrap();
    let sweep_ms = started.elapsed().as_secs_f64() * 1e3;
    let log = recorder.calls();
    println!(
        "booking sweep, {TIMERS} timers ({in_index} in the index), {DUE} due (made in {setup_s:.0} s)"
    );
    println!(
        "  timers fired {done}; items its query reads {read_by_due} (ratio to the index {:.4})",
        read_by_due as f64 / in_index as f64
    );
    println!(
        "  {sweep_ms:.0} ms, {} requests: {:?}",
        log.len(),
        calls_by_operation(&log)
            .into_iter()
            .map(|(op, (n, _))| (op, n))
            .collect::<Vec<_>>()
    );
    std::process::exit(0);
}
