//! Bookings end to end: an offer bought through the Stripe-compatible test server, its webhook
//! applied once however it arrives, the booking's room, notifications, listings, steps,
//! cancellation with a refund, timers, and who may see or do what.

use std::time::Duration;

use chrono::Utc;
use gigwire::auth::Caller;
use gigwire::bookings::model::PurchaseRequest;
use gigwire::bookings::service::{Bookings, WebhookOutcome};
use gigwire::bookings::store::BookingNews;
use gigwire::cursor::CursorCodec;
use gigwire::domain::{OfferId, Role, SessionId};
use gigwire_tests::{InProcess, Person, Recorder, Stack, expect_event, round_trips, send};
use serde_json::{Value, json};

/// A category of this test only, so listings see only this test's offers.
pub(crate) fn category(tag: &str) -> String {
    format!(
        "{tag}-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

/// An active offer of `provider`.
pub(crate) async fn offer(stack: &Stack, provider: &Person, title: &str, amount: i64) -> String {
    offer_in(stack, provider, title, amount, &category("home")).await
}

/// An active offer of `provider` in `category`.
pub(crate) async fn offer_in(
    stack: &Stack,
    provider: &Person,
    title: &str,
    amount: i64,
    category: &str,
) -> String {
    let body = json!({ "title": title, "description": "Parts and labour included.",
        "category": category, "price": { "amount": amount, "currency": "eur" },
        "durationMinutes": 60 });
    let (status, offer) = stack
        .call("POST", "/offers", Some(&provider.token), Some(body))
        .await;
    assert_eq!(status, 201, "{offer}");
    offer["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn purchase(
    stack: &Stack,
    buyer: &Person,
    offer: &str,
    key: &str,
) -> (u16, Value) {
    let path = format!("/offers/{offer}/purchase");
    stack
        .call(
            "POST",
            &path,
            Some(&buyer.token),
            Some(json!({ "idempotencyKey": key })),
        )
        .await
}

pub(crate) async fn booking(stack: &Stack, who: &Person, id: &str) -> (u16, Value) {
    stack
        .call("GET", &format!("/bookings/{id}"), Some(&who.token), None)
        .await
}

/// The booking once it is in `state` (the webhook arrives within seconds), or a failure.
pub(crate) async fn booking_when(stack: &Stack, who: &Person, id: &str, state: &str) -> Value {
    booking_until(stack, who, id, &format!("booking {state}"), |detail| {
        detail["booking"]["state"] == state
    })
    .await
}

/// The booking's detail once `ready` holds of it.
pub(crate) async fn booking_until(
    stack: &Stack,
    who: &Person,
    id: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let read = || async {
        let (status, detail) = booking(stack, who, id).await;
        assert_eq!(status, 200, "{detail}");
        detail
    };
    gigwire_tests::read_until(what, read, ready).await
}

pub(crate) async fn step(
    stack: &Stack,
    who: &Person,
    id: &str,
    action: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let path = format!("/bookings/{id}/{action}");
    let body = body.or_else(|| match action {
        "cancel" => Some(json!({ "reason": "Plans changed" })),
        "deliver" => Some(json!({})),
        _ => None,
    });
    stack.call("POST", &path, Some(&who.token), body).await
}

/// A provider with a phone, a customer with a phone, and a booking of the customer's paid
/// with a test card and accepted by the webhook.
pub(crate) async fn paid_booking(stack: &Stack, tag: &str) -> (Person, Person, Value) {
    let provider = stack.provider(&format!("Bruno {tag}"), true).await;
    let customer = stack.person_with_phone(&format!("Ana {tag}")).await;
    let offer = offer(stack, &provider, "Fix a leaking tap", 4500).await;
    let (status, bought) = purchase(stack, &customer, &offer, "k1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    let id = bought["booking"]["id"].as_str().unwrap();
    let detail = booking_when(stack, &customer, id, "accepted").await;
    (provider, customer, detail["booking"].clone())
}

fn notifications_of(page: &Value, kind: &str, booking: &str) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["data"]["bookingId"] == booking)
        .cloned()
        .collect()
}

/// What the booking service needs in the test process besides its table: Stripe (the test
/// server, through the production adapter) and the stack's cursor codec.
pub(crate) struct InProcessBookings {
    payments: gigwire_payments::StripePayments,
    cursors: CursorCodec,
}

impl InProcessBookings {
    pub(crate) fn new(stack: &Stack) -> Self {
        let stripe = stack.stripe();
        let secret = std::env::var("GIGWIRE_APP_SECRET").unwrap();
        Self {
            payments: gigwire_payments::StripePayments::new(&stripe.key, Some(&stripe.url))
                .unwrap(),
            cursors: CursorCodec::new(secret.as_bytes()),
        }
    }

    /// The booking service over `services`' table client (a recording or a failing one),
    /// telling through `news`.
    pub(crate) fn service<'a>(
        &'a self,
        services: &'a InProcess,
        news: &'a dyn BookingNews,
    ) -> Bookings<'a> {
        Bookings {
            store: &services.store,
            offers: &services.store,
            files: &services.store,
            payments: &self.payments,
            news,
            cursors: &self.cursors,
            accounts: &services.store,
            connect: &self.payments,
            followups: &services.store,
        }
    }
}

/// A caller of `user` with `role`, as the authorizer would pass it.
pub(crate) fn caller(user: &Person, role: Role) -> Caller {
    Caller {
        user_id: user.user_id(),
        session_id: SessionId::new(),
        roles: [role].into(),
    }
}

/// Each ledger step sums to zero; the customer account's total over all steps.
pub(crate) fn customer_total(ledger: &Value) -> i64 {
    account_total(ledger, "customer")
}

/// What `account` got over the whole ledger, checking that every step balances.
pub(crate) fn account_total(ledger: &Value, account: &str) -> i64 {
    let mut total = 0;
    for step in ledger.as_array().unwrap() {
        let entries = step["entries"].as_array().unwrap();
        let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum();
        assert_eq!(sum, 0, "a ledger step must balance: {step}");
        total += entries
            .iter()
            .filter(|e| e["account"] == account)
            .map(|e| e["amount"].as_i64().unwrap())
            .sum::<i64>();
    }
    total
}

#[tokio::test]
async fn an_offer_is_bought_paid_assigned_chatted_about_listed_and_cancelled_with_a_refund() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let bruno = stack.provider("Bruno Seed", true).await;
    let ana = stack.person_with_phone("Ana Seed").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let mut ana_ws = stack.online(&ana).await;

    // Purchase: a booking waiting for payment and a PaymentIntent for the client SDK.
    let (status, bought) = purchase(&stack, &ana, &tap, "checkout-1").await;
    assert_eq!(status, 201, "{bought}");
    let booking_id = bought["booking"]["id"].as_str().unwrap().to_owned();
    let pi = bought["paymentIntentId"].as_str().unwrap().to_owned();
    assert_eq!(bought["booking"]["state"], "pending_payment");
    assert!(
        bought["clientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{pi}_secret_"))
    );
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent["amount"], 4500);
    assert_eq!(intent["currency"], "eur");
    assert_eq!(intent["capture_method"], "automatic");
    assert_eq!(intent["transfer_group"], booking_id.as_str());
    assert_eq!(intent["metadata"]["booking_id"], booking_id.as_str());

    // The card is confirmed on Stripe; its webhook accepts and assigns the booking.
    let (status, confirmed) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{confirmed}");
    let detail = booking_when(&stack, &ana, &booking_id, "accepted").await;
    assert_eq!(detail["booking"]["providerId"], bruno.id.as_str());
    assert_eq!(detail["booking"]["roomId"], booking_id.as_str());
    assert_eq!(detail["ledger"][0]["step"], "charge");
    assert_eq!(customer_total(&detail["ledger"]), -4500);

    // Ana, online, is told live; Bruno, offline, finds it in his inbox and by SMS.
    let opened = expect_event(&mut ana_ws, "room.updated").await;
    assert_eq!(
        (opened["change"].as_str(), opened["room"]["id"].as_str()),
        (Some("created"), Some(booking_id.as_str())),
        "{opened}"
    );
    let live = expect_event(&mut ana_ws, "notification.new").await;
    assert_eq!(live["notification"]["kind"], "booking_confirmed");
    assert!(
        live["notification"]["body"]
            .as_str()
            .unwrap()
            .contains("Fix a leaking tap"),
        "{live}"
    );
    let inbox = stack
        .inbox_when(&bruno, "", |p| {
            !notifications_of(p, "provider_assigned", &booking_id).is_empty()
        })
        .await;
    let assigned = notifications_of(&inbox, "provider_assigned", &booking_id);
    assert_eq!(assigned[0]["title"], "New booking: Fix a leaking tap");
    stack
        .run_escalations(Utc::now() + chrono::Duration::minutes(11))
        .await;
    let texts = stack.sms_to(bruno.phone()).await;
    assert!(
        texts.iter().any(|m| m["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("New booking")),
        "{texts:?}"
    );

    // The booking's room holds the two parties only; they chat in it with typing.
    let room = booking_id.clone();
    let (status, detail) = stack
        .call("GET", &format!("/rooms/{room}"), Some(&bruno.token), None)
        .await;
    assert_eq!(status, 200, "{detail}");
    let members: Vec<&str> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "{detail}");
    assert!(members.contains(&ana.id.as_str()) && members.contains(&bruno.id.as_str()));
    let mut bruno_ws = stack.online(&bruno).await;
    let (_, detail) = stack
        .call("GET", &format!("/rooms/{room}"), Some(&ana.token), None)
        .await;
    let online = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == bruno.id.as_str())
        .map(|m| m["online"].clone());
    assert_eq!(online, Some(json!(true)), "presence: {detail}");
    send(
        &mut bruno_ws,
        json!({ "action": "typing", "roomId": room, "state": "start" }),
    )
    .await;
    let typing = expect_event(&mut ana_ws, "typing.start").await;
    assert_eq!(typing["userId"], bruno.id.as_str());
    let (status, sent) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&ana.token),
            Some(json!({ "text": "The tap is under the sink", "clientMessageId": "m1" })),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let message = expect_event(&mut bruno_ws, "message.new").await;
    assert_eq!(message["message"]["text"], "The tap is under the sink");

    // My orders (Ana) and my tasks (Bruno), with filters.
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (who, query, listed) in [
        (&ana, "?role=customer", true),
        (&ana, "?role=provider", false),
        (&bruno, "?role=provider&state=accepted&source=offer", true),
        (&bruno, "?role=provider&state=completed", false),
        (&bruno, "", true),
    ] {
        let (status, page) = stack
            .call("GET", &format!("/bookings{query}"), Some(&who.token), None)
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page).contains(&booking_id), listed, "{query}: {page}");
    }

    // Ana cancels before the work starts: a full refund through Stripe, in the ledger, and
    // both are told why (Bruno, offline again, by SMS).
    drop(bruno_ws);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, cancelled) = stack
        .call(
            "POST",
            &format!("/bookings/{booking_id}/cancel"),
            Some(&ana.token),
            Some(json!({ "reason": "The leak stopped" })),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled_by_customer");
    assert_eq!(cancelled["refund"]["amount"], 4500);
    let refund_id = cancelled["refund"]["stripeRefundId"].as_str().unwrap();
    let (_, refund) = stripe
        .api("GET", &format!("/v1/refunds/{refund_id}"), &[])
        .await;
    assert_eq!(
        (refund["amount"].as_i64(), refund["payment_intent"].as_str()),
        (Some(4500), Some(pi.as_str()))
    );
    let (_, detail) = booking(&stack, &bruno, &booking_id).await;
    assert_eq!(customer_total(&detail["ledger"]), 0, "{detail}");
    let live = expect_event(&mut ana_ws, "notification.new").await;
    assert_eq!(live["notification"]["kind"], "booking_cancelled");
    assert!(
        live["notification"]["body"]
            .as_str()
            .unwrap()
            .contains("The leak stopped")
    );
    let inbox = stack
        .inbox_when(&bruno, "", |p| {
            !notifications_of(p, "booking_cancelled", &booking_id).is_empty()
        })
        .await;
    assert_eq!(
        notifications_of(&inbox, "booking_cancelled", &booking_id).len(),
        1
    );
    stack
        .run_escalations(Utc::now() + chrono::Duration::minutes(1))
        .await;
    // The SMS says what happened and where to read it; the customer's words stay in the
    // app and the email.
    let texts = stack.sms_to(bruno.phone()).await;
    let texts: Vec<&str> = texts.iter().filter_map(|m| m["Message"].as_str()).collect();
    assert!(
        texts.contains(&"Booking cancelled: Fix a leaking tap. Read it in the app."),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("The leak stopped")),
        "{texts:?}"
    );
    let emails = stack.emails_to(&bruno.email).await;
    assert!(
        emails
            .iter()
            .any(|m| m.to_string().contains("The leak stopped")),
        "{emails:?}"
    );
    // Cancelling again is a conflict naming the state.
    let (status, again) = step(&stack, &ana, &booking_id, "cancel", None).await;
    assert_eq!(status, 409, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled_by_customer")
    );
}

/// The timer sweep reads the whole (shared) table: a test that runs it at a future time would
/// also expire or complete the other tests' bookings, so it runs alone (write) while the
/// others run together (read). Taken before [`DELIVERY`].
pub(crate) static SWEEP: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Tests that hold the Stripe server's automatic webhook delivery (it is global) take turns.
pub(crate) static DELIVERY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A provider, a customer, and the customer's booking whose payment succeeded on Stripe while
/// automatic delivery was held: the stack has not heard of it yet. Delivery stays held until
/// `resume` is called.
pub(crate) async fn paid_unannounced(stack: &Stack, tag: &str) -> (Person, Person, String, String) {
    let stripe = stack.stripe();
    let bruno = stack.provider(&format!("Bruno {tag}"), false).await;
    let ana = stack.person(&format!("Ana {tag}")).await;
    let tap = offer(stack, &bruno, "Fix a leaking tap", 4500).await;
    let (_, bought) = purchase(stack, &ana, &tap, "k").await;
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    let pi = bought["paymentIntentId"].as_str().unwrap().to_owned();
    stripe.control("POST", "/webhooks/pause", json!({})).await;
    let (status, intent) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(
        (status, intent["status"].as_str()),
        (200, Some("succeeded")),
        "{intent}"
    );
    (bruno, ana, id, pi)
}

pub(crate) async fn resume(stack: &Stack) {
    stack
        .stripe()
        .control("POST", "/webhooks/resume", json!({}))
        .await;
}

#[tokio::test]
async fn one_payment_event_delivered_ten_times_concurrently_and_out_of_order_moves_the_booking_once()
 {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let held = DELIVERY.lock().await;
    let (bruno, ana, id, pi) = paid_unannounced(&stack, "Dup").await;
    // Every event of the payment, newest first, ten times over, all at once: the first
    // deliveries the stack sees race each other.
    let succeeded = stripe.event(&pi, "payment_intent.succeeded").await;
    let mut ids: Vec<Value> = stripe
        .events_about(&pi)
        .await
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    ids.reverse();
    let result = stripe
        .control(
            "POST",
            "/webhooks/deliver",
            json!({ "event_ids": ids, "times": 10, "concurrent": true }),
        )
        .await;
    resume(&stack).await;
    drop(held);
    assert!(ids.contains(&succeeded["id"]), "{ids:?}");
    let attempts = result["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), ids.len() * 10);
    assert!(attempts.iter().all(|a| a["ok"] == true), "{attempts:?}");

    let (_, detail) = booking(&stack, &ana, &id).await;
    assert_eq!(detail["booking"]["state"], "accepted");
    // Created, given its payment, accepted: three versions, whatever the deliveries.
    assert_eq!(detail["booking"]["version"], 3, "{detail}");
    let steps: Vec<&str> = detail["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["charge"]);
    let (_, room) = stack
        .call("GET", &format!("/rooms/{id}"), Some(&ana.token), None)
        .await;
    assert_eq!(room["members"].as_array().unwrap().len(), 2);
    // The held automatic delivery arrives too, and changes nothing either.
    stripe
        .control("POST", "/webhooks/wait", json!({ "timeout": 10 }))
        .await;
    let confirmed = notifications_of(&stack.inbox(&ana, "").await, "booking_confirmed", &id);
    let assigned = notifications_of(&stack.inbox(&bruno, "").await, "provider_assigned", &id);
    assert_eq!((confirmed.len(), assigned.len()), (1, 1));
    let (_, detail) = booking(&stack, &ana, &id).await;
    assert_eq!(detail["booking"]["version"], 3, "{detail}");
    let (_, page) = stack
        .call("GET", "/bookings?role=customer", Some(&ana.token), None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_payment_that_lands_after_the_buyer_cancelled_is_refunded_once() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let held = DELIVERY.lock().await;
    let (_bruno, ana, id, pi) = paid_unannounced(&stack, "Late").await;
    // The buyer gives up while their payment is still on its way to us.
    let (status, cancelled) = step(&stack, &ana, &id, "cancel", None).await;
    resume(&stack).await;
    drop(held);
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled_by_customer");
    assert_eq!(
        cancelled["refund"],
        Value::Null,
        "nothing was known to be paid"
    );
    // The payment's webhook then arrives (and again, three times at once): the money goes
    // back once, and the ledger shows it in and out.
    stripe
        .control("POST", "/webhooks/wait", json!({ "timeout": 10 }))
        .await;
    let succeeded = stripe.event(&pi, "payment_intent.succeeded").await;
    stripe
        .control(
            "POST",
            "/webhooks/deliver",
            json!({ "event_ids": [succeeded["id"]], "times": 3, "concurrent": true }),
        )
        .await;
    let (_, detail) = booking(&stack, &ana, &id).await;
    assert_eq!(detail["booking"]["state"], "cancelled_by_customer");
    assert_eq!(detail["booking"]["refund"]["amount"], 4500, "{detail}");
    assert_eq!(
        detail["booking"]["roomId"],
        Value::Null,
        "no room for an unpaid booking"
    );
    let steps: Vec<&str> = detail["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["charge", "refund"]);
    assert_eq!(customer_total(&detail["ledger"]), 0);
    let (_, refunds) = stripe
        .api("GET", &format!("/v1/refunds?payment_intent={pi}"), &[])
        .await;
    let refunds = refunds["data"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 4500);
}

/// Purchase and webhook, in-process on the real SDK against the emulator's table and the
/// Stripe test server: every DynamoDB call recorded with its start and end. Budgets: the
/// webhook's transition within 3 sequential round trips, the purchase within 3.
#[tokio::test]
async fn purchase_and_webhook_stay_within_their_sequential_round_trip_budgets() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let bruno = stack.provider("Bruno Cost", false).await;
    let ana = stack.person("ana").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let recorder = Recorder::default();
    let services = stack.in_process(Some(recorder.store(&stack).await)).await;
    let local = InProcessBookings::new(&stack);
    let news = services.notifications();
    let bookings = local.service(&services, &news);
    let caller = caller(&ana, Role::Customer);
    let offer_id = OfferId::parse(&tap, "id").unwrap();
    let request: PurchaseRequest =
        serde_json::from_value(json!({ "idempotencyKey": "cost" })).unwrap();

    let held = DELIVERY.lock().await;
    let (purchase, created) = bookings
        .purchase(&caller, &offer_id, request, Utc::now())
        .await
        .unwrap();
    assert!(created);
    let purchase_calls = recorder.calls();
    stripe.control("POST", "/webhooks/pause", json!({})).await;
    let pi = purchase.payment_intent_id.clone().unwrap();
    let (status, _) = stripe.confirm(&pi, "pm_card_visa").await;
    let event = stripe.event(&pi, "payment_intent.succeeded").await;
    let signed = stripe
        .control("POST", "/webhooks/sign", json!({ "event_id": event["id"] }))
        .await;
    let before = recorder.calls().len();
    let outcome = bookings
        .webhook(
            signed["payload"].as_str().unwrap().as_bytes(),
            signed["headers"]["Stripe-Signature"].as_str(),
            &stripe.webhook_secret,
            Utc::now(),
        )
        .await;
    resume(&stack).await;
    drop(held);
    assert_eq!(status, 200);
    assert_eq!(outcome.unwrap(), WebhookOutcome::Applied);

    // The purchase ends with its last transaction; the webhook's transition is its first
    // (the notifications that follow write their own).
    let purchase_depth = round_trips(&purchase_calls).into_iter().max().unwrap();
    let webhook_calls = recorder.calls()[before..].to_vec();
    let transition = webhook_calls
        .iter()
        .position(|c| c.operation == "TransactWriteItems")
        .unwrap();
    let webhook_depth = round_trips(&webhook_calls)[transition];
    println!(
        "bookings cost: purchase {purchase_depth} sequential DynamoDB round trips ({} calls, budget 3), \
         webhook transition {webhook_depth} ({} calls before the notifications, budget 3)",
        purchase_calls.len(),
        webhook_calls
            .iter()
            .take_while(|c| c.operation != "TransactWriteItems")
            .count()
            + 1
    );
    assert!(purchase_depth <= 3, "purchase: {purchase_calls:?}");
    assert!(webhook_depth <= 3, "webhook: {webhook_calls:?}");
}

#[tokio::test]
async fn forged_stale_and_unsigned_webhooks_are_refused_and_change_nothing() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let bruno = stack.provider("Bruno Forge", false).await;
    let ana = stack.person("ana").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let (_, bought) = purchase(&stack, &ana, &tap, "k").await;
    let id = bought["booking"]["id"].as_str().unwrap();
    let pi = bought["paymentIntentId"].as_str().unwrap();
    // What an attacker would send: "this booking's payment succeeded".
    let payload = json!({ "id": format!("evt_forged_{id}"), "object": "event", "type": "payment_intent.succeeded",
        "data": { "object": { "id": pi, "object": "payment_intent", "status": "succeeded",
        "metadata": { "booking_id": id } } } }).to_string();
    let now = Utc::now().timestamp();
    let url = format!("{}/webhooks/stripe", stack.http);
    for (what, header) in [
        ("unsigned", None),
        ("garbage", Some("nonsense".to_owned())),
        (
            "forged",
            Some(gigwire_payments::webhook::sign(
                payload.as_bytes(),
                "whsec_not_ours",
                now,
            )),
        ),
        (
            "stale",
            Some(gigwire_payments::webhook::sign(
                payload.as_bytes(),
                &stripe.webhook_secret,
                now - 600,
            )),
        ),
    ] {
        let mut req = stack
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(payload.clone());
        if let Some(h) = header {
            req = req.header("stripe-signature", h);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{what}");
    }
    // Correctly signed but untrue: the payment is read again from Stripe, which says it is
    // not paid, so nothing moves either.
    let signed = gigwire_payments::webhook::sign(payload.as_bytes(), &stripe.webhook_secret, now);
    let resp = stack
        .client
        .post(&url)
        .header("stripe-signature", signed)
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The Stripe server's own forged and stale deliveries of a real event are refused too.
    let created = stripe.event(pi, "payment_intent.created").await;
    for signature in ["forged", "stale"] {
        let result = stripe
            .control(
                "POST",
                "/webhooks/deliver",
                json!({ "event_ids": [created["id"]], "signature": signature }),
            )
            .await;
        assert_eq!(
            result["attempts"][0]["status"], 400,
            "{signature}: {result}"
        );
    }
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(detail["booking"]["state"], "pending_payment");
    assert_eq!(detail["booking"]["version"], 2);
    assert_eq!(detail["ledger"], json!([]));
}

#[tokio::test]
async fn a_declined_card_tells_the_buyer_keeps_the_booking_payable_and_the_timer_expires_it() {
    let _sweep = SWEEP.write().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let bruno = stack.provider("Bruno Decline", false).await;
    let ana = stack.person("ana").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let (_, bought) = purchase(&stack, &ana, &tap, "k").await;
    let id = bought["booking"]["id"].as_str().unwrap();
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, declined) = stripe.confirm(pi, "pm_card_chargeDeclined").await;
    assert_eq!(status, 402, "{declined}");
    let inbox = stack
        .inbox_when(&ana, "", |p| {
            !notifications_of(p, "payment_failed", id).is_empty()
        })
        .await;
    assert_eq!(
        notifications_of(&inbox, "payment_failed", id).len(),
        1,
        "{inbox}"
    );
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(detail["booking"]["state"], "pending_payment");
    assert!(detail["booking"]["paymentError"].is_string(), "{detail}");
    // Still payable: the same purchase key answers the same payment to retry with.
    let (status, again) = purchase(&stack, &ana, &tap, "k").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (
            again["booking"]["id"].as_str(),
            again["paymentIntentId"].as_str()
        ),
        (Some(id), Some(pi))
    );
    assert!(again["clientSecret"].is_string());

    // Nobody pays: 15 minutes later the sweep expires it and cancels the payment.
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::minutes(10))
        .await;
    assert_eq!(
        booking(&stack, &ana, id).await.1["booking"]["state"],
        "pending_payment"
    );
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::minutes(16))
        .await;
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(detail["booking"]["state"], "payment_expired", "{detail}");
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent["status"], "canceled");
    let (status, _) = stripe.confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 400, "a cancelled payment cannot be paid");
}

#[tokio::test]
async fn purchases_are_idempotent_per_key_and_refused_for_ones_own_or_a_paused_offer() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let bruno = stack.provider("Bruno Keys", false).await;
    let ana = stack.person("ana").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    // Five tries with one key at once: one booking, one payment.
    let tries =
        futures::future::join_all((0..5).map(|_| purchase(&stack, &ana, &tap, "same-key"))).await;
    let created = tries.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{tries:?}");
    assert!(
        tries.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{tries:?}"
    );
    let first = &tries[0].1;
    assert!(
        tries
            .iter()
            .all(|(_, b)| b["booking"]["id"] == first["booking"]["id"]
                && b["paymentIntentId"] == first["paymentIntentId"]),
        "{tries:?}"
    );
    let (_, page) = stack
        .call("GET", "/bookings?role=customer", Some(&ana.token), None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    // An unpaid checkout is the buyer's alone: not in the provider's tasks, not visible.
    let (_, page) = stack
        .call("GET", "/bookings?role=provider", Some(&bruno.token), None)
        .await;
    assert_eq!(page["items"], json!([]), "{page}");
    let unpaid = first["booking"]["id"].as_str().unwrap();
    let (status, _) = booking(&stack, &bruno, unpaid).await;
    assert_eq!(status, 404);
    // Another key is another purchase; the same key for another offer is refused.
    let (status, _) = purchase(&stack, &ana, &tap, "other-key").await;
    assert_eq!(status, 201);
    let boiler = offer(&stack, &bruno, "Service a boiler", 9000).await;
    let (status, body) = purchase(&stack, &ana, &boiler, "same-key").await;
    assert_eq!(status, 409, "{body}");
    // One's own offer, a paused one, an unknown one, a bad key.
    let (status, body) = purchase(&stack, &bruno, &tap, "mine").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = stack
        .call(
            "PATCH",
            &format!("/offers/{boiler}"),
            Some(&bruno.token),
            Some(json!({ "status": "paused" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = purchase(&stack, &ana, &boiler, "paused").await;
    assert_eq!(status, 404);
    let (status, _) = purchase(&stack, &ana, &ulid::Ulid::generate().to_string(), "unknown").await;
    assert_eq!(status, 404);
    let (status, body) = purchase(&stack, &ana, &tap, "no spaces allowed").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("idempotencyKey"))
    );
    let (status, _) = stack
        .call(
            "POST",
            &format!("/offers/{tap}/purchase"),
            None,
            Some(json!({ "idempotencyKey": "x" })),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn only_the_parties_see_a_booking_its_room_and_files_and_each_does_only_their_steps() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let (bruno, ana, paid) = paid_booking(&stack, "Authz").await;
    let eve = stack.person("eve").await;
    let admin_person = stack.person("admin").await;
    let admin = stack
        .admin_token(&admin_person.user_id(), &admin_person.refresh)
        .await;
    let id = paid["id"].as_str().unwrap();

    for (who, token, status) in [
        ("customer", Some(&ana.token), 200),
        ("provider", Some(&bruno.token), 200),
        ("third user", Some(&eve.token), 404),
        ("admin", Some(&admin), 200),
        ("no token", None, 401),
    ] {
        let (got, body) = stack
            .call(
                "GET",
                &format!("/bookings/{id}"),
                token.map(|t| t.as_str()),
                None,
            )
            .await;
        assert_eq!(got, status, "{who}: {body}");
    }
    let (status, _) = stack
        .call("GET", &format!("/rooms/{id}"), Some(&eve.token), None)
        .await;
    assert!(
        status == 403 || status == 404,
        "a third user must not see the room: {status}"
    );
    let (_, page) = stack.call("GET", "/bookings", Some(&eve.token), None).await;
    assert_eq!(page["items"], json!([]));
    // Not even an admin opens (or claims) a booking's room by hand.
    let claim = json!({ "kind": "subject", "subject": { "type": "booking", "id": id },
        "memberIds": [eve.id] });
    let (status, body) = stack
        .call("POST", "/rooms", Some(&admin), Some(claim))
        .await;
    assert!(status == 403 || status == 409, "{status}: {body}");

    // Steps: each for its side only; others get 404; a wrong order is 409 with the state.
    for (who, action) in [(&ana, "start"), (&ana, "deliver")] {
        let (status, body) = step(&stack, who, id, action, Some(json!({}))).await;
        assert_eq!(status, 403, "{action}: {body}");
    }
    for action in ["start", "deliver", "confirm", "cancel"] {
        let (status, _) = step(&stack, &eve, id, action, None).await;
        assert_eq!(status, 404, "{action}");
    }
    let (status, body) = step(&stack, &ana, id, "confirm", None).await;
    assert_eq!(status, 409, "not delivered yet: {body}");
    let (status, body) = step(&stack, &bruno, id, "deliver", Some(json!({}))).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("accepted"),
        "{body}"
    );
    let (status, body) = step(&stack, &bruno, id, "start", None).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("in_progress")),
        "{body}"
    );

    // Proof of work: only the provider's own ready proof uploads; both parties may download.
    let eve_pdf = stack.ready_pdf(&eve.token).await;
    let (status, body) = step(
        &stack,
        &bruno,
        id,
        "deliver",
        Some(json!({ "proofFileIds": [eve_pdf] })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("proofFileIds")),
        "{body}"
    );
    let proof = proof_image(&stack, &bruno).await;
    let (status, body) = step(
        &stack,
        &bruno,
        id,
        "deliver",
        Some(json!({ "proofFileIds": [proof], "note": "Washer replaced" })),
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("delivered")),
        "{body}"
    );
    for (who, status) in [(&ana, 200), (&bruno, 200), (&eve, 404)] {
        let got = stack
            .status("GET", &format!("/files/{proof}"), &who.token)
            .await;
        assert_eq!(got, status, "{}", who.email);
    }
    let (status, body) = step(&stack, &bruno, id, "confirm", None).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = step(&stack, &ana, id, "confirm", None).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("completed")),
        "{body}"
    );
    let (_, detail) = booking(&stack, &ana, id).await;
    let completion = &detail["ledger"][1];
    assert_eq!(completion["step"], "completion");
    assert_eq!(
        completion["entries"],
        json!([
            { "account": "platform", "amount": -4500 },
            { "account": "commission", "amount": 450 },
            { "account": "provider_payable", "amount": 4050 }
        ])
    );
    // The customer cancelling a completed booking: 409.
    let (status, _) = step(&stack, &ana, id, "cancel", None).await;
    assert_eq!(status, 409);
}

/// A ready proof-of-work image of `who`.
pub(crate) async fn proof_image(stack: &Stack, who: &Person) -> String {
    stack
        .ready_upload(
            who,
            "proof_of_work",
            "done.png",
            "image/png",
            gigwire_tests::png(2000),
        )
        .await
}

#[tokio::test]
async fn a_delivered_booking_completes_by_itself_after_48_hours() {
    let _sweep = SWEEP.write().await;
    let stack = Stack::from_env();
    let (bruno, ana, paid) = paid_booking(&stack, "Auto").await;
    let id = paid["id"].as_str().unwrap();
    assert_eq!(step(&stack, &bruno, id, "start", None).await.0, 200);
    assert_eq!(
        step(&stack, &bruno, id, "deliver", Some(json!({}))).await.0,
        200
    );
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::hours(47))
        .await;
    assert_eq!(
        booking(&stack, &ana, id).await.1["booking"]["state"],
        "delivered"
    );
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::hours(49))
        .await;
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(detail["booking"]["state"], "completed", "{detail}");
    assert_eq!(detail["booking"]["timer"], Value::Null);
    assert_eq!(customer_total(&detail["ledger"]), -4500);
}

/// Posts `payload` to the stack's webhook, signed with the stack's secret now.
pub(crate) async fn signed_webhook(stack: &Stack, payload: &str) -> (u16, Value) {
    let header = gigwire_payments::webhook::sign(
        payload.as_bytes(),
        &stack.stripe().webhook_secret,
        Utc::now().timestamp(),
    );
    let resp = stack
        .client
        .post(format!("{}/webhooks/stripe", stack.http))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(payload.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn events_stripe_really_sends_are_answered_200_whatever_their_object_or_size() {
    let stack = Stack::from_env();
    // An object without an id.
    let balance = json!({ "id": format!("evt_bal_{}", ulid::Ulid::generate()), "object": "event",
        "type": "balance.available", "data": { "object": { "object": "balance",
        "available": [{ "amount": 100, "currency": "eur" }], "livemode": false } } });
    let (status, body) = signed_webhook(&stack, &balance.to_string()).await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &json!("ignored")),
        "{body}"
    );
    // An event of about 20 KB (a large object is nothing unusual).
    let big = json!({ "id": format!("evt_big_{}", ulid::Ulid::generate()), "object": "event",
        "type": "customer.updated", "data": { "object": { "id": "cus_1", "object": "customer",
        "description": "x".repeat(20_000), "metadata": {} } } })
    .to_string();
    assert!(big.len() > 16 * 1024);
    let (status, body) = signed_webhook(&stack, &big).await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &json!("ignored")),
        "{body}"
    );
    // The ordinary routes keep their 16 KiB limit.
    let (status, _) = stack
        .call("POST", "/auth/otp", None, Some(Value::String(big)))
        .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn an_unpaid_checkout_cancelled_tells_the_customer_only_and_purchases_are_limited() {
    let stack = Stack::from_env();
    let bruno = stack.provider("Bruno Quiet", true).await;
    let ana = stack.person_with_phone("Ana Pest").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    // Three checkouts of one offer, then the limit: 429 with Retry-After.
    let mut ids = Vec::new();
    for key in ["c1", "c2", "c3"] {
        let (status, bought) = purchase(&stack, &ana, &tap, key).await;
        assert_eq!(status, 201, "{bought}");
        ids.push(bought["booking"]["id"].as_str().unwrap().to_owned());
    }
    let (status, retry_after, refused) = stack
        .call_retry_after(
            "POST",
            &format!("/offers/{tap}/purchase"),
            Some(&ana.token),
            Some(json!({ "idempotencyKey": "c4" })),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (429, &json!("rate_limited"))
    );
    assert!(retry_after.is_some_and(|s| s > 0), "{retry_after:?}");
    // A retry of a key already used still answers its booking.
    let (status, again) = purchase(&stack, &ana, &tap, "c1").await;
    assert_eq!(
        (status, again["booking"]["id"].as_str()),
        (200, Some(ids[0].as_str()))
    );

    // Cancelling the unpaid checkouts with a message meant for the provider's phone.
    for id in &ids {
        let reason = json!({ "reason": "Call me at example.com/win" });
        let (status, cancelled) = step(&stack, &ana, id, "cancel", Some(reason)).await;
        assert_eq!(status, 200, "{cancelled}");
    }
    let inbox = stack
        .inbox_when(&ana, "", |p| {
            ids.iter()
                .all(|id| !notifications_of(p, "booking_cancelled", id).is_empty())
        })
        .await;
    assert_eq!(
        notifications_of(&inbox, "booking_cancelled", &ids[0]).len(),
        1
    );
    stack
        .run_escalations(Utc::now() + chrono::Duration::minutes(2))
        .await;
    let provider_inbox = stack.inbox(&bruno, "").await;
    for id in &ids {
        assert!(
            notifications_of(&provider_inbox, "booking_cancelled", id).is_empty(),
            "{provider_inbox}"
        );
    }
    assert!(stack.sms_to(bruno.phone()).await.is_empty());
}

#[tokio::test]
async fn a_refund_stripe_failed_is_asked_again_as_a_new_request_and_made_once() {
    let _sweep = SWEEP.write().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    // Two bookings: Stripe answers the first refund 500 having done nothing, and the second
    // 500 having made the refund (the answer lost on its way).
    for applied in [false, true] {
        let (_, ana, paid) = paid_booking(&stack, &format!("Refund {applied}")).await;
        let (id, pi) = (
            paid["id"].as_str().unwrap(),
            paid["paymentIntentId"].as_str().unwrap(),
        );
        stripe
            .control(
                "POST",
                "/failures",
                json!({ "method": "POST", "path": "/v1/refunds", "params": { "payment_intent": pi },
                        "times": 1, "error": "api_error", "applied": applied }),
            )
            .await;
        let (status, cancelled) = step(&stack, &ana, id, "cancel", None).await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(
            cancelled["refund"]["stripeRefundId"],
            Value::Null,
            "{cancelled}"
        );
        // The sweep's retry is a new request (Stripe would replay the stored 500 for a day
        // under the first key), and finds a refund already made instead of making another.
        stack
            .run_booking_timers(Utc::now() + chrono::Duration::minutes(2))
            .await;
        let (_, detail) = booking(&stack, &ana, id).await;
        let refund_id = detail["booking"]["refund"]["stripeRefundId"].as_str();
        assert!(refund_id.is_some(), "{detail}");
        let (_, refunds) = stripe
            .api("GET", &format!("/v1/refunds?payment_intent={pi}"), &[])
            .await;
        let refunds = refunds["data"].as_array().unwrap();
        assert_eq!(refunds.len(), 1, "{refunds:?}");
        assert_eq!(
            (refunds[0]["amount"].as_i64(), refunds[0]["id"].as_str()),
            (Some(4500), refund_id)
        );
        assert_eq!(customer_total(&detail["ledger"]), 0, "{detail}");
    }
}

#[tokio::test]
async fn cancelled_work_in_progress_is_settled_to_the_provider_in_the_ledger() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let (bruno, ana, paid) = paid_booking(&stack, "Settle").await;
    let id = paid["id"].as_str().unwrap();
    let (status, started) = step(&stack, &bruno, id, "start", None).await;
    assert_eq!(status, 200, "{started}");
    let (status, cancelled) = step(&stack, &ana, id, "cancel", None).await;
    assert_eq!(
        (status, &cancelled["refund"]),
        (200, &Value::Null),
        "{cancelled}"
    );
    let (_, detail) = booking(&stack, &ana, id).await;
    let ledger = detail["ledger"].as_array().unwrap();
    let total = |account: &str| -> i64 {
        ledger
            .iter()
            .flat_map(|s| s["entries"].as_array().unwrap())
            .filter(|e| e["account"] == account)
            .map(|e| e["amount"].as_i64().unwrap())
            .sum()
    };
    // 45.00 paid, nothing back: 10 % commission, the rest owed to the provider, nothing
    // left unassigned on the platform.
    assert_eq!(customer_total(&detail["ledger"]), -4500);
    assert_eq!(
        (
            total("platform"),
            total("commission"),
            total("provider_payable")
        ),
        (0, 450, 4050),
        "{detail}"
    );
    assert!(ledger.iter().any(|s| s["step"] == "settlement"), "{detail}");
}

#[tokio::test]
async fn a_checkout_cancelled_while_its_payment_was_processing_is_refunded_when_it_lands() {
    let _sweep = SWEEP.write().await;
    let _delivery = DELIVERY.lock().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let bruno = stack.provider("Bruno Late", false).await;
    let ana = stack.person("ana").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let (_, bought) = purchase(&stack, &ana, &tap, "k").await;
    let id = bought["booking"]["id"].as_str().unwrap();
    let pi = bought["paymentIntentId"].as_str().unwrap();
    // The payment is on its way; Stripe refuses to cancel it, and its success is never
    // delivered to the webhook (deliveries held): only the timer can notice.
    stripe.control("POST", "/webhooks/pause", json!({})).await;
    stripe
        .control(
            "POST",
            &format!("/payment_intents/{pi}/processing"),
            json!({}),
        )
        .await;
    let (status, cancelled) = step(&stack, &ana, id, "cancel", None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["timer"]["kind"], "void_payment", "{cancelled}");
    // Still processing at the next run: cancelled again (a new request), still watched.
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::minutes(2))
        .await;
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(
        detail["booking"]["timer"]["kind"], "void_payment",
        "{detail}"
    );
    // The payment goes through after all: the next run refunds it once.
    stripe
        .control(
            "POST",
            &format!("/payment_intents/{pi}/processed"),
            json!({}),
        )
        .await;
    stack
        .run_booking_timers(Utc::now() + chrono::Duration::minutes(10))
        .await;
    stripe.control("POST", "/webhooks/resume", json!({})).await;
    let (_, detail) = booking(&stack, &ana, id).await;
    assert_eq!(detail["booking"]["timer"], Value::Null, "{detail}");
    assert_eq!(detail["booking"]["refund"]["amount"], 4500, "{detail}");
    let (_, refunds) = stripe
        .api("GET", &format!("/v1/refunds?payment_intent={pi}"), &[])
        .await;
    assert_eq!(refunds["data"].as_array().unwrap().len(), 1, "{refunds}");
    assert_eq!(customer_total(&detail["ledger"]), 0, "{detail}");
}

#[tokio::test]
async fn a_cancellation_reaches_an_offline_provider_at_the_next_sweep_not_behind_the_assignment() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    // Paid while the provider is offline: `provider_assigned` waits 10 minutes to escalate.
    let (bruno, ana, paid) = paid_booking(&stack, "Offline").await;
    let id = paid["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_secs(13)).await;
    let reason = json!({ "reason": "Found someone closer, call me at example.com" });
    let (status, cancelled) = step(&stack, &ana, id, "cancel", Some(reason)).await;
    assert_eq!(status, 200, "{cancelled}");
    stack
        .inbox_when(&bruno, "", |p| {
            !notifications_of(p, "booking_cancelled", id).is_empty()
        })
        .await;
    // The next sweep (well before the assignment's 10 minutes) sends one SMS that leads with
    // the cancellation and counts the assignment; the customer's words are not in it.
    stack
        .run_escalations(Utc::now() + chrono::Duration::minutes(1))
        .await;
    let texts = stack.sms_to(bruno.phone()).await;
    let texts: Vec<&str> = texts.iter().filter_map(|m| m["Message"].as_str()).collect();
    assert_eq!(
        texts,
        ["Booking cancelled: Fix a leaking tap (and 1 more update). Read it in the app."]
    );
}
