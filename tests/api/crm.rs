//! The CRM end to end: the flows write each customer's interaction log (a job posted, a
//! booking requested, paid, completed, its summary read), the admins' funnel counts exactly
//! what the test ran, in its own category; a completed booking leaves upsell
//! recommendations whose showing, click and purchase (through the normal payment flow) are
//! each recorded once; only admins read funnels and logs, only the customer their upsells.

use chrono::{Duration, Utc};
use futures::future::join_all;
use gigwire::bookings::store::BookingStore;
use gigwire::crm::model::Period;
use gigwire::crm::service::Crm;
use gigwire::cursor::CursorCodec;
use gigwire::domain::{BookingId, Role};
use gigwire_tests::{Person, Recorder, Stack, read_until, round_trips};
use serde_json::{Value, json};

use crate::bookings::{SWEEP, booking_when, category, offer_in, purchase};
use crate::reviews::provider;

/// The funnel of `category` over yesterday to tomorrow (UTC), as `who` reads it.
async fn funnel(stack: &Stack, who: &Person, category: &str, period: &str) -> (u16, Value) {
    let today = Utc::now().date_naive();
    let path = format!(
        "/admin/crm/funnel?category={category}&from={}&to={}&period={period}",
        today - Duration::days(1),
        today + Duration::days(1)
    );
    stack.call("GET", &path, Some(&who.token), None).await
}

/// Pays a purchase's PaymentIntent with a test card; the booking's id once accepted.
async fn pay(stack: &Stack, customer: &Person, bought: &Value) -> String {
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    booking_when(stack, customer, &id, "accepted").await;
    id
}

async fn upsells(stack: &Stack, who: &Person) -> Value {
    let (status, page) = stack
        .call("GET", "/me/upsells?limit=50", Some(&who.token), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page
}

fn stages(log: &Value) -> Vec<(String, String)> {
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["stage"].as_str().unwrap().to_owned(),
                i["bookingId"]
                    .as_str()
                    .or(i["jobId"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_funnel_counts_what_the_flows_did_and_each_upsell_step_is_recorded_once() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let ops = stack.admin("Ops Funnel").await;
    let bruno = provider(&stack, "Funnel").await;
    let ana = stack.person("Ana Funnel").await;
    let cara = stack.person("Cara Funnel").await;
    let dan = stack.person("Dan Funnel").await;
    let cat = category("crm");
    let tap = offer_in(&stack, &bruno, "Service the boiler", 6000, &cat).await;

    // Intake: Dan posts a job; Cara starts a purchase she never pays.
    let (status, job) = stack
        .call(
            "POST",
            "/jobs",
            Some(&dan.token),
            Some(crate::jobs::job(&cat, &[])),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let (status, _) = purchase(&stack, &cara, &tap, "unpaid").await;
    assert_eq!(status, 201);

    // Ana books, the provider summarizes, the booking completes, Ana reads the summary.
    let (status, bought) = purchase(&stack, &ana, &tap, "k1").await;
    assert_eq!(status, 201, "{bought}");
    let id = pay(&stack, &ana, &bought).await;
    let (status, _) = crate::bookings::step(&stack, &bruno, &id, "start", None).await;
    assert_eq!(status, 200);
    let summary = format!("/bookings/{id}/summary");
    let body = json!({ "findings": "The burner was sooted." });
    let (status, written) = stack
        .call("POST", &summary, Some(&bruno.token), Some(body))
        .await;
    assert_eq!(status, 200, "{written}");
    for (who, action) in [(&bruno, "deliver"), (&ana, "confirm")] {
        let (status, body) = crate::bookings::step(&stack, who, &id, action, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    for _ in 0..2 {
        let (status, _) = stack.call("GET", &summary, Some(&ana.token), None).await;
        assert_eq!(status, 200);
    }

    let counted = |f: &Value, stage: &str| f["total"]["counts"][stage].as_u64().unwrap();
    let seen = read_until(
        "the funnel after the first session",
        || async { funnel(&stack, &ops, &cat, "day").await.1 },
        |f| counted(f, "summaryViewed") == 1 && counted(f, "intake") == 3,
    )
    .await;
    let expected = json!({ "intake": 3, "sessionBooked": 1, "sessionCompleted": 1,
        "summaryViewed": 1, "upsellShown": 0, "upsellClicked": 0, "upsellPurchased": 0 });
    assert_eq!(seen["total"]["counts"], expected, "{seen}");
    let first = &seen["total"]["conversions"][0];
    assert_eq!(
        (&first["from"], &first["to"], first["rate"].as_f64()),
        (&json!("intake"), &json!("session_booked"), Some(0.3333)),
        "{seen}"
    );
    assert_eq!(seen["periods"].as_array().unwrap().len(), 1, "{seen}");

    // The completion left Ana three recommendations; listing shows each once.
    let listed = read_until(
        "the upsells",
        || async { upsells(&stack, &ana).await },
        |p| p["items"].as_array().unwrap().len() == 3,
    )
    .await;
    let kinds: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["kind"].as_str().unwrap())
        .collect();
    for kind in ["follow_up", "maintenance_plan", "premium_upgrade"] {
        assert!(kinds.contains(&kind), "{kind}: {listed}");
    }
    let plan = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "maintenance_plan")
        .unwrap()
        .clone();
    assert_eq!(plan["price"], json!({ "amount": 6000, "currency": "eur" }));
    assert!(plan["shownAt"].is_string(), "{plan}");
    let again = upsells(&stack, &ana).await;
    assert_eq!(again["items"][0]["shownAt"], listed["items"][0]["shownAt"]);

    // Only Ana opens or buys them; opened five times at once, clicked once.
    let base = format!("/me/upsells/{id}/maintenance_plan");
    let eve = stack.person("Eve Funnel").await;
    assert_eq!(
        stack
            .call("POST", &format!("{base}/click"), Some(&eve.token), None)
            .await
            .0,
        404
    );
    let (status, _) = stack
        .call(
            "POST",
            &format!("{base}/purchase"),
            Some(&eve.token),
            Some(json!({ "idempotencyKey": "steal" })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = stack
        .call(
            "POST",
            &format!("/me/upsells/{id}/nothing/click"),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("kind")),
        "{body}"
    );
    let click = format!("{base}/click");
    let clicks = join_all((0..5).map(|_| stack.call("POST", &click, Some(&ana.token), None))).await;
    let times: Vec<&Value> = clicks
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 200, "{b}");
            &b["clickedAt"]
        })
        .collect();
    assert!(
        times.iter().all(|t| *t == times[0] && t.is_string()),
        "{times:?}"
    );

    // A follow-up bought through its upsell needs a question.
    let (status, body) = stack
        .call(
            "POST",
            &format!("/me/upsells/{id}/follow_up/purchase"),
            Some(&ana.token),
            Some(json!({ "idempotencyKey": "f1" })),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("question")),
        "{body}"
    );

    // Bought twice through the normal payment flow: purchased once, by the first paid.
    let mut bought_ids = Vec::new();
    for key in ["plan-1", "plan-2"] {
        let (status, bought) = stack
            .call(
                "POST",
                &format!("{base}/purchase"),
                Some(&ana.token),
                Some(json!({ "idempotencyKey": key })),
            )
            .await;
        assert_eq!(status, 201, "{bought}");
        assert_eq!(bought["booking"]["upsell"]["kind"], "maintenance_plan");
        assert_eq!(bought["booking"]["offerId"], tap.as_str());
        bought_ids.push(pay(&stack, &ana, &bought).await);
    }
    let (status, same) = stack
        .call(
            "POST",
            &format!("{base}/purchase"),
            Some(&ana.token),
            Some(json!({ "idempotencyKey": "plan-1" })),
        )
        .await;
    assert_eq!(
        (status, &same["booking"]["id"]),
        (200, &json!(bought_ids[0]))
    );

    let last = read_until(
        "the funnel after the upsell purchases",
        || async { funnel(&stack, &ops, &cat, "week").await.1 },
        |f| counted(f, "upsellPurchased") == 1 && counted(f, "sessionBooked") == 3,
    )
    .await;
    let expected = json!({ "intake": 5, "sessionBooked": 3, "sessionCompleted": 1,
        "summaryViewed": 1, "upsellShown": 3, "upsellClicked": 1, "upsellPurchased": 1 });
    assert_eq!(last["total"]["counts"], expected, "{last}");
    let page = upsells(&stack, &ana).await;
    let plan = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "maintenance_plan")
        .unwrap();
    assert!(plan["purchasedAt"].is_string(), "{plan}");
    assert!(bought_ids.contains(&plan["purchaseBookingId"].as_str().unwrap().to_owned()));

    // Ana's log: each stage once, newest first, with its booking.
    let path = format!("/admin/customers/{}/interactions?limit=100", ana.id);
    let (status, log) = stack.call("GET", &path, Some(&ops.token), None).await;
    assert_eq!(status, 200, "{log}");
    let mine = stages(&log);
    for (stage, subject) in [
        ("intake", &id),
        ("session_booked", &id),
        ("session_completed", &id),
        ("summary_viewed", &id),
        ("upsell_shown", &id),
        ("upsell_clicked", &id),
        ("upsell_purchased", &id),
    ] {
        let (stage, subject) = (stage.to_owned(), subject.to_owned());
        let times = mine
            .iter()
            .filter(|s| **s == (stage.clone(), subject.clone()))
            .count();
        let expected = if stage == "upsell_shown" { 3 } else { 1 };
        assert_eq!(times, expected, "{stage}: {log}");
    }
    let (_, dan_log) = stack
        .call(
            "GET",
            &format!("/admin/customers/{}/interactions", dan.id),
            Some(&ops.token),
            None,
        )
        .await;
    assert_eq!(
        stages(&dan_log),
        vec![("intake".to_owned(), job["id"].as_str().unwrap().to_owned())]
    );

    // Only admins read funnels and logs; bad ranges name their field.
    assert_eq!(funnel(&stack, &ana, &cat, "day").await.0, 403);
    assert_eq!(stack.status("GET", &path, &ana.token).await, 403);
    for (query, field) in [
        ("from=2026-12-10&to=2026-12-01", "to"),
        ("from=2025-01-01&to=2026-12-01", "to"),
        ("from=yesterday", "from"),
        ("period=year", "period"),
    ] {
        let (status, body) = stack
            .call(
                "GET",
                &format!("/admin/crm/funnel?{query}"),
                Some(&ops.token),
                None,
            )
            .await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{query}: {body}"
        );
    }
}

/// What a booking's completion, a first listing of upsells and the funnel cost, in-process on
/// the real SDK against the emulator's table, every DynamoDB call recorded: the completing
/// write's stream record within 3 sequential round trips, a listing that shows three upsells
/// within 2, the funnel in 1.
#[tokio::test]
async fn the_crm_stays_within_its_sequential_round_trip_budgets() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Crm Cost").await;
    let ana = stack.person("Ana Crm Cost").await;
    let cat = category("crm-cost");
    let tap = offer_in(&stack, &bruno, "Service the boiler", 6000, &cat).await;
    let id = crate::reviews::accepted(&stack, &ana, &tap, "k1").await;
    crate::reviews::complete(&stack, &bruno, &ana, &id).await;

    let recorder = Recorder::default();
    let store = recorder.store(&stack).await;
    let cursors = CursorCodec::new(b"any secret: these cursors are not read back");
    let crm = Crm {
        store: &store,
        followups: &store,
        offers: &store,
        cursors: &cursors,
    };
    let depth = |from: usize| {
        round_trips(&recorder.calls()[from..])
            .into_iter()
            .max()
            .unwrap_or(0)
    };

    // The completing write as the stream brings it (its later writes have moved on since).
    let booking_id = BookingId::parse(&id, "id").unwrap();
    let mut completing = store.get_booking(&booking_id).await.unwrap().unwrap();
    completing.updated_at = completing.completed_at.unwrap();
    let before = recorder.calls().len();
    crm.booking_written(&completing, Utc::now()).await.unwrap();
    let completion = depth(before);

    let me = crate::bookings::caller(&ana, Role::Customer);
    let before = recorder.calls().len();
    let page = crm.upsells(&me, 20, None, Utc::now()).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(page.items.iter().all(|u| u.shown_at.is_some()));
    let listing = depth(before);

    let ops = crate::bookings::caller(&ana, Role::Admin);
    let today = Utc::now().date_naive();
    let before = recorder.calls().len();
    let funnel = crm
        .funnel(
            &ops,
            Some(cat),
            (today - Duration::days(1), today),
            Period::Day,
        )
        .await
        .unwrap();
    assert_eq!(funnel.total.counts.upsell_shown, 3);
    let read = depth(before);
    println!(
        "crm cost: a completing write {completion} sequential DynamoDB round trips (budget 3), \
         a first listing of three upsells {listing} (budget 2), the funnel {read} (budget 1)"
    );
    assert!(completion <= 3, "{:?}", recorder.calls());
    assert!(listing <= 2, "{:?}", recorder.calls());
    assert_eq!(read, 1, "{:?}", recorder.calls());
}

/// The premium upgrade `upsells` lists for `booking`, if it does.
fn upgrade_of(page: &Value, booking: &str) -> Option<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "premium_upgrade" && u["bookingId"] == booking)
        .cloned()
}

async fn is_premium(stack: &Stack, who: &Person) -> Value {
    let (status, me) = stack
        .call("GET", "/me/premium", Some(&who.token), None)
        .await;
    assert_eq!(status, 200, "{me}");
    me
}

#[tokio::test]
async fn a_premium_upgrade_bought_from_its_upsell_is_paid_once_and_makes_the_customer_premium() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let ops = stack.admin("Ops Premium").await;
    let bruno = provider(&stack, "Premium").await;
    let ana = stack.person("Ana Premium").await;
    let eve = stack.person("Eve Premium").await;
    let cat = category("premium");
    let tap = offer_in(&stack, &bruno, "Tune the heat pump", 8000, &cat).await;
    let mut completed = Vec::new();
    for key in ["k1", "k2"] {
        let id = crate::reviews::accepted(&stack, &ana, &tap, key).await;
        crate::reviews::complete(&stack, &bruno, &ana, &id).await;
        completed.push(id);
    }
    let (id, other) = (&completed[0], &completed[1]);
    assert_eq!(is_premium(&stack, &ana).await["premium"], false);

    // Each completion recommends the upgrade, at the admins' premium price.
    let listed = read_until(
        "both premium upgrades",
        || async { upsells(&stack, &ana).await },
        |p| upgrade_of(p, id).is_some() && upgrade_of(p, other).is_some(),
    )
    .await;
    let (status, settings) = stack
        .call("GET", "/admin/follow-up-settings", Some(&ops.token), None)
        .await;
    assert_eq!(status, 200, "{settings}");
    let price = json!({ "amount": settings["premiumPriceAmount"], "currency": "eur" });
    assert_eq!(upgrade_of(&listed, id).unwrap()["price"], price, "{listed}");

    // Only Ana buys it, with a key and nothing a follow-up takes.
    let base = format!("/me/upsells/{id}/premium_upgrade/purchase");
    let buy = |who: &Person, body: Value| {
        let token = who.token.clone();
        let (stack, base) = (&stack, &base);
        async move { stack.call("POST", base, Some(&token), Some(body)).await }
    };
    let (status, _) = buy(&eve, json!({ "idempotencyKey": "steal" })).await;
    assert_eq!(status, 404);
    for (body, field) in [
        (
            json!({ "idempotencyKey": "g", "question": "why?" }),
            "question",
        ),
        (json!({ "idempotencyKey": "not a key" }), "idempotencyKey"),
    ] {
        let (status, answer) = buy(&ana, body).await;
        assert_eq!(
            (status, &answer["error"]["field"]),
            (400, &json!(field)),
            "{answer}"
        );
    }

    // Bought three times at once with one key: one upgrade, one PaymentIntent.
    let body = json!({ "idempotencyKey": "gold-1" });
    let buys = join_all((0..3).map(|_| buy(&ana, body.clone()))).await;
    let created = buys.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{buys:?}");
    let first = &buys[0].1;
    let pi = first["paymentIntentId"].as_str().unwrap().to_owned();
    for (status, answer) in &buys {
        assert!([200, 201].contains(status), "{answer}");
        assert_eq!(answer["paymentIntentId"], pi.as_str(), "{answer}");
        assert_eq!(answer["premiumUpgrade"]["state"], "pending_payment");
        assert_eq!(answer["premiumUpgrade"]["price"], price);
        assert!(answer["clientSecret"].is_string(), "{answer}");
    }
    assert_eq!(first["premiumUpgrade"]["upsell"]["bookingId"], id.as_str());

    // A signed event that says "paid" is checked with Stripe, which says it is not.
    let forged = json!({ "id": format!("evt_forged_{pi}"), "object": "event",
        "type": "payment_intent.succeeded", "data": { "object": { "id": pi,
        "object": "payment_intent", "status": "succeeded",
        "metadata": { "premium_customer": ana.id, "premium_key": "gold-1" } } } });
    let (status, answer) = crate::bookings::signed_webhook(&stack, &forged.to_string()).await;
    assert_eq!((status, &answer["outcome"]), (200, &json!("ignored")));
    assert_eq!(is_premium(&stack, &ana).await["premium"], false);

    // Paid: Ana is premium; Stripe's event delivered again changes nothing.
    let (status, intent) = stack.stripe().confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    read_until(
        "Ana premium",
        || async { is_premium(&stack, &ana).await },
        |me| me["premium"] == true,
    )
    .await;
    let event = stack.stripe().event(&pi, "payment_intent.succeeded").await;
    for _ in 0..2 {
        let (status, answer) = crate::bookings::signed_webhook(&stack, &event.to_string()).await;
        assert_eq!(
            (status, &answer["outcome"]),
            (200, &json!("duplicate")),
            "{answer}"
        );
    }
    let (status, again) = buy(&ana, body.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["premiumUpgrade"]["state"], "paid");
    assert_eq!(again["paymentIntentId"], pi.as_str());
    assert_eq!(again["clientSecret"], Value::Null);
    let (status, answer) = buy(&ana, json!({ "idempotencyKey": "gold-2" })).await;
    assert_eq!(status, 409, "{answer}");

    // Her follow-ups are free now; the other booking's upgrade is no longer recommended;
    // the one bought through is recorded purchased, once.
    let (status, terms) = stack
        .call(
            "GET",
            &format!("/bookings/{id}/follow-ups/terms"),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{terms}");
    assert_eq!(
        (&terms["free"], &terms["price"]["amount"]),
        (&json!(true), &json!(0))
    );
    let page = read_until(
        "the upgrade recorded purchased",
        || async { upsells(&stack, &ana).await },
        |p| upgrade_of(p, id).is_some_and(|u| u["purchasedAt"].is_string()),
    )
    .await;
    assert!(upgrade_of(&page, other).is_none(), "{page}");
    let counted = read_until(
        "the funnel after the upgrade",
        || async { funnel(&stack, &ops, &cat, "day").await.1 },
        |f| f["total"]["counts"]["upsellPurchased"] == 1,
    )
    .await;
    assert_eq!(
        counted["total"]["counts"]["sessionCompleted"], 2,
        "{counted}"
    );
    let path = format!("/admin/customers/{}/interactions?limit=100", ana.id);
    let (_, log) = stack.call("GET", &path, Some(&ops.token), None).await;
    let purchased = stages(&log)
        .into_iter()
        .filter(|s| s.0 == "upsell_purchased")
        .collect::<Vec<_>>();
    assert_eq!(purchased, vec![("upsell_purchased".to_owned(), id.clone())]);
}
