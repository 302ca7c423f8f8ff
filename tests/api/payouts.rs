//! Money out end to end: a provider onboards with Stripe Connect through the account link,
//! a completed booking's earnings are transferred to their account (price less the
//! booking's commission, once), a provider not yet onboarded has them wait until Stripe
//! enables the account, admins set per-category commission and read the report, and
//! nobody sees or changes what is not theirs.

use std::time::Duration;

use gigwire_tests::{Person, Stack};
use serde_json::{Value, json};

use crate::bookings::{
    SWEEP, account_total, booking_when, category, customer_total, offer, offer_in, purchase, step,
};

/// Starts onboarding; (status, body).
async fn onboarding(stack: &Stack, who: &Person) -> (u16, Value) {
    stack
        .call("POST", "/me/payouts/onboarding", Some(&who.token), None)
        .await
}

async fn payout_account(stack: &Stack, who: &Person) -> Value {
    let (status, body) = stack
        .call("GET", "/me/payouts/account", Some(&who.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Completes `who`'s onboarding as they would: through the link Stripe's page is at. The
/// page sends them back to the app; Stripe tells the stack by `account.updated`.
async fn onboard(stack: &Stack, who: &Person) -> Value {
    let (status, started) = onboarding(stack, who).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["account"]["state"], "pending", "{started}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let visit = browser
        .get(started["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), 302);
    let back = visit.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.ends_with("/payouts/onboarding/return"), "{back}");
    gigwire_tests::read_until(
        "the account enabled",
        || payout_account(stack, who),
        |status| status["canBePaid"] == true,
    )
    .await
}

/// A booking of `offer` bought by `customer`, paid, started and delivered by `provider`.
async fn delivered(stack: &Stack, provider: &Person, customer: &Person, offer: &str) -> String {
    let (status, bought) = purchase(stack, customer, offer, "k1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    let detail = booking_when(stack, customer, &id, "accepted").await;
    assert_eq!(detail["booking"]["paymentState"], "held", "{detail}");
    for action in ["start", "deliver"] {
        let (status, body) = step(stack, provider, &id, action, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    id
}

/// The transfers Stripe has for a booking.
async fn transfers_of(stack: &Stack, booking: &str) -> Vec<Value> {
    let path = format!("/v1/transfers?transfer_group={booking}&limit=100");
    let (status, list) = stack.stripe().api("GET", &path, &[]).await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().clone()
}

/// The booking once its money is `state`.
async fn payment_when(stack: &Stack, who: &Person, id: &str, state: &str) -> Value {
    crate::bookings::booking_until(stack, who, id, &format!("money {state}"), |detail| {
        detail["booking"]["paymentState"] == state
    })
    .await
}

/// The price less the commission written on the booking.
fn earning(booking: &Value) -> i64 {
    let price = booking["price"]["amount"].as_i64().unwrap();
    let rate = booking["commissionBasisPoints"].as_i64().unwrap();
    price - (price * rate + 5_000) / 10_000
}

#[tokio::test]
async fn an_onboarded_provider_is_paid_price_less_commission_once_when_the_customer_confirms() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let bruno = stack.provider("Bruno Payout", true).await;
    let ana = stack.person_with_phone("Ana Payout").await;
    assert_eq!(payout_account(&stack, &bruno).await["state"], "not_started");
    let enabled = onboard(&stack, &bruno).await;
    assert_eq!(enabled["state"], "enabled", "{enabled}");
    let account = enabled["account"]["accountId"].as_str().unwrap().to_owned();
    // Onboarding again is the same account with a new link.
    let (status, again) = onboarding(&stack, &bruno).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["account"]["accountId"], account.as_str());

    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let id = delivered(&stack, &bruno, &ana, &tap).await;
    let (status, done) = step(&stack, &ana, &id, "confirm", None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "completed");

    // One transfer, from the booking's charge, to Bruno's account.
    let detail = payment_when(&stack, &ana, &id, "released").await;
    let booking = &detail["booking"];
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    let transfer = &transfers[0];
    assert_eq!(transfer["amount"].as_i64().unwrap(), earning(booking));
    assert_eq!(transfer["destination"], account.as_str());
    assert!(
        booking["chargeId"].as_str().unwrap().starts_with("ch_"),
        "{booking}"
    );
    assert_eq!(transfer["source_transaction"], booking["chargeId"]);
    assert_eq!(booking["transfer"]["stripeTransferId"], transfer["id"]);
    // The ledger: charge, completion, release; every step balances, the customer paid the
    // price and the provider's account got the earning.
    let ledger = &detail["ledger"];
    let steps: Vec<&str> = ledger
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["charge", "completion", "release"]);
    assert_eq!(customer_total(ledger), -4500);
    let to_provider: i64 = ledger
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["entries"].as_array().unwrap())
        .filter(|e| e["account"] == "provider")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(to_provider, earning(booking));
    // The provider sees the same and is told.
    let theirs = payment_when(&stack, &bruno, &id, "released").await;
    assert_eq!(theirs["booking"]["transfer"], booking["transfer"]);
    told(&stack, &bruno, "payment_released", &id).await;
    assert_eq!(count_of(&stack, &bruno, "payment_released", &id).await, 1);

    // Ana's payment history shows the charge and where the money went; Bruno's has none.
    let (status, history) = stack
        .call("GET", "/me/payments", Some(&ana.token), None)
        .await;
    assert_eq!(status, 200, "{history}");
    let line = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["bookingId"] == id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(
        (&line["charged"], &line["refunded"], &line["paymentState"]),
        (&json!(4500), &json!(0), &json!("released"))
    );
    let (_, theirs) = stack
        .call("GET", "/me/payments", Some(&bruno.token), None)
        .await;
    assert!(!theirs.to_string().contains(&id), "{theirs}");

    // The timer sweep and a second confirmation change nothing.
    stack.run_booking_timers(chrono::Utc::now()).await;
    let (status, _) = step(&stack, &ana, &id, "confirm", None).await;
    assert_eq!(status, 409);
    assert_eq!(transfers_of(&stack, &id).await.len(), 1);
}

#[tokio::test]
async fn earnings_wait_for_a_provider_who_has_not_onboarded_and_go_when_stripe_enables_them() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let carla = stack.provider("Carla Later", true).await;
    let dan = stack.person_with_phone("Dan Later").await;
    let lamp = offer(&stack, &carla, "Hang a lamp", 3000).await;
    let id = delivered(&stack, &carla, &dan, &lamp).await;
    let (status, done) = step(&stack, &dan, &id, "confirm", None).await;
    assert_eq!(status, 200, "{done}");
    // Held: nothing transferred, no timer polling Stripe.
    assert_eq!(done["paymentState"], "held", "{done}");
    assert_eq!(done["timer"], Value::Null, "{done}");
    stack.run_booking_timers(chrono::Utc::now()).await;
    assert!(transfers_of(&stack, &id).await.is_empty());

    // Customers see on her profile that she cannot be paid yet.
    let profile = json!({ "bio": "Lamps and lights.", "specialties": ["lighting"],
        "categories": ["electrical"], "yearsOfExperience": 3,
        "serviceArea": { "remote": false, "area": "Porto" }, "responseSlaHours": 2 });
    let (status, body) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&carla.token),
            Some(profile),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let public = format!("/providers/{}", carla.id);
    let (_, read) = stack.call("GET", &public, Some(&dan.token), None).await;
    assert_eq!(read["canBePaid"], false, "{read}");

    // Carla onboards: Stripe's account.updated releases what waited.
    onboard(&stack, &carla).await;
    let (_, read) = stack.call("GET", &public, Some(&dan.token), None).await;
    assert_eq!(read["canBePaid"], true, "{read}");
    let detail = payment_when(&stack, &dan, &id, "released").await;
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    assert_eq!(
        transfers[0]["amount"].as_i64().unwrap(),
        earning(&detail["booking"])
    );
    // Every account.updated delivered again, ten times at once: still one transfer.
    let stripe = stack.stripe();
    let account = detail["booking"]["transfer"]["accountId"].as_str().unwrap();
    // Connect events live on the connected account.
    let events: Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/events?type=account.updated&limit=100",
            stripe.url
        ))
        .bearer_auth(&stripe.key)
        .header("Stripe-Account", account)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert!(!ids.is_empty(), "{events}");
    stripe
        .control(
            "POST",
            "/webhooks/deliver",
            json!({ "event_ids": ids, "times": 10, "concurrent": true }),
        )
        .await;
    assert_eq!(transfers_of(&stack, &id).await.len(), 1);
}

#[tokio::test]
async fn a_category_commission_is_written_on_new_bookings_and_reported_per_period() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let admin_person = stack.person("Admin Commission").await;
    let admin = stack
        .admin_token(&admin_person.user_id(), &admin_person.refresh)
        .await;
    let erin = stack.provider("Erin Rate", true).await;
    let finn = stack.person_with_phone("Finn Rate").await;
    onboard(&stack, &erin).await;
    let tutoring = category("tutoring");

    // Only admins read or change the rates.
    for who in [&erin.token, &finn.token] {
        for (method, path) in [
            ("GET", "/admin/commission"),
            ("GET", "/admin/commission/report"),
        ] {
            assert_eq!(stack.status(method, path, who).await, 403, "{path}");
        }
        let (status, _) = stack
            .call(
                "PUT",
                "/admin/commission",
                Some(who),
                Some(json!({ "defaultBasisPoints": 0 })),
            )
            .await;
        assert_eq!(status, 403);
    }
    // Add an override for this test's category, keeping everything else.
    let (status, rates) = stack
        .call("GET", "/admin/commission", Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{rates}");
    let mut categories: Vec<Value> = rates["categories"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(category, points)| json!({ "category": category, "basisPoints": points }))
        .collect();
    categories.push(json!({ "category": tutoring, "basisPoints": 1500 }));
    let body =
        json!({ "defaultBasisPoints": rates["defaultBasisPoints"], "categories": categories });
    let (status, set) = stack
        .call("PUT", "/admin/commission", Some(&admin), Some(body))
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["categories"][&tutoring], 1500);
    // Bad rates are refused and change nothing.
    let twice = json!({ "defaultBasisPoints": 1000, "categories": [
        { "category": "a", "basisPoints": 1 }, { "category": "a", "basisPoints": 2 }] });
    let (status, refused) = stack
        .call("PUT", "/admin/commission", Some(&admin), Some(twice))
        .await;
    assert_eq!(status, 400, "{refused}");

    let lesson = offer_in(&stack, &erin, "Algebra lesson", 4500, &tutoring).await;
    let id = delivered(&stack, &erin, &finn, &lesson).await;
    let (status, done) = step(&stack, &finn, &id, "confirm", None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["commissionBasisPoints"], 1500);
    payment_when(&stack, &finn, &id, "released").await;
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers[0]["amount"], 3825);

    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let (status, report) = stack
        .call(
            "GET",
            &format!("/admin/commission/report?period={period}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let line = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["category"] == tutoring.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no line for {tutoring}: {report}"));
    assert_eq!(
        line,
        json!({ "category": tutoring, "currency": "eur", "bookings": 1, "gross": 4500,
            "commission": 675, "net": 3825 })
    );
    let (status, _) = stack
        .call(
            "GET",
            "/admin/commission/report?period=2026-13",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn only_providers_onboard_and_each_sees_only_their_own_payout_account() {
    let stack = Stack::from_env();
    let gus = stack.person("Gus Customer").await;
    for (method, path) in [
        ("POST", "/me/payouts/onboarding"),
        ("POST", "/me/payouts/onboarding/refresh"),
        ("GET", "/me/payouts/account"),
    ] {
        assert_eq!(stack.status(method, path, &gus.token).await, 403, "{path}");
    }
    let hana = stack.provider("Hana New", false).await;
    // No account yet: nothing to refresh.
    let (status, body) = stack
        .call(
            "POST",
            "/me/payouts/onboarding/refresh",
            Some(&hana.token),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, started) = onboarding(&stack, &hana).await;
    assert_eq!(status, 200, "{started}");
    let (status, refreshed) = stack
        .call(
            "POST",
            "/me/payouts/onboarding/refresh",
            Some(&hana.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        refreshed["account"]["accountId"],
        started["account"]["accountId"]
    );
    assert_ne!(refreshed["url"], started["url"]);
    // Another provider sees their own (none), never Hana's.
    let ivo = stack.provider("Ivo Other", false).await;
    let theirs = payout_account(&stack, &ivo).await;
    assert_eq!(theirs["state"], "not_started");
    assert_eq!(theirs["account"], Value::Null);
}

/// The notification of `kind` about booking `id` in `who`'s inbox, once it arrives.
async fn told(stack: &Stack, who: &Person, kind: &str, id: &str) -> Value {
    stack.notified(who, kind, "bookingId", id).await
}

/// How many notifications of `kind` about booking `id` are in `who`'s inbox now.
async fn count_of(stack: &Stack, who: &Person, kind: &str, id: &str) -> usize {
    let inbox = stack.inbox(who, "?limit=50").await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["data"]["bookingId"] == id)
        .count()
}

/// The booking's ledger step names, in order.
fn steps(detail: &Value) -> Vec<String> {
    detail["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_dispute_after_release_reverses_it_tells_everyone_and_a_won_one_releases_again() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let ops = stack.person("Ops Disputes").await;
    let admin = stack.admin_token(&ops.user_id(), &ops.refresh).await;
    let ops = Person {
        token: admin,
        ..ops
    };
    // The operators' topic is the admins' alone.
    let jo = stack.provider("Jo Dispute", true).await;
    let kim = stack.person_with_phone("Kim Dispute").await;
    let path = "/me/subscriptions/topic:operations";
    let (status, _) = stack
        .call("PUT", path, Some(&kim.token), Some(json!({})))
        .await;
    assert_eq!(status, 403);
    let (status, body) = stack
        .call("PUT", path, Some(&ops.token), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{body}");

    onboard(&stack, &jo).await;
    let fan = offer(&stack, &jo, "Fix a ceiling fan", 4500).await;
    let id = delivered(&stack, &jo, &kim, &fan).await;
    let (status, _) = step(&stack, &kim, &id, "confirm", None).await;
    assert_eq!(status, 200);
    let released = payment_when(&stack, &kim, &id, "released").await;
    let charge = released["booking"]["chargeId"].as_str().unwrap().to_owned();
    let earned = earning(&released["booking"]);

    // Kim disputes the charge with her bank: the release is taken back from Jo.
    let dispute = stripe
        .control("POST", &format!("/charges/{charge}/dispute"), json!({}))
        .await;
    let disputed = payment_when(&stack, &kim, &id, "disputed").await;
    assert_eq!(disputed["booking"]["dispute"]["id"], dispute["id"]);
    let mut reversed = Value::Null;
    for _ in 0..100 {
        let (_, detail) = crate::bookings::booking(&stack, &kim, &id).await;
        if detail["booking"]["transfer"]["reversed"] == true {
            reversed = detail;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        steps(&reversed),
        ["charge", "completion", "release", "dispute", "reversal"],
        "{reversed}"
    );
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["amount_reversed"], transfers[0]["amount"]);
    for who in [&jo, &kim, &ops] {
        let note = told(&stack, who, "payment_disputed", &id).await;
        assert!(
            note["title"]
                .as_str()
                .unwrap()
                .starts_with("Payment disputed"),
            "{note}"
        );
    }

    // Won: the money is the platform's again, and Jo is paid again, once.
    stripe
        .control(
            "POST",
            &format!("/disputes/{}/close", dispute["id"].as_str().unwrap()),
            json!({ "outcome": "won" }),
        )
        .await;
    let detail = payment_when(&stack, &kim, &id, "released").await;
    assert_eq!(detail["booking"]["dispute"]["status"], "won");
    assert_eq!(
        steps(&detail),
        [
            "charge",
            "completion",
            "release",
            "dispute",
            "reversal",
            "dispute_won",
            "release_again"
        ]
    );
    assert_eq!(customer_total(&detail["ledger"]), -4500);
    let transfers = transfers_of(&stack, &id).await;
    let kept: Vec<&Value> = transfers
        .iter()
        .filter(|t| t["amount_reversed"] == 0)
        .collect();
    assert_eq!((transfers.len(), kept.len()), (2, 1), "{transfers:?}");
    assert_eq!(kept[0]["amount"].as_i64().unwrap(), earned);

    // Every dispute event again, newest first, ten times over, all at once: nothing moves.
    let pi = detail["booking"]["paymentIntentId"].as_str().unwrap();
    let mut ids = Vec::new();
    for kind in [
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.created",
    ] {
        ids.push(stripe.event(pi, kind).await["id"].clone());
    }
    stripe
        .control(
            "POST",
            "/webhooks/deliver",
            json!({ "event_ids": ids, "times": 10, "concurrent": true }),
        )
        .await;
    let (_, after) = crate::bookings::booking(&stack, &kim, &id).await;
    assert_eq!(steps(&after), steps(&detail));
    assert_eq!(after["booking"]["paymentState"], "released");
    assert_eq!(transfers_of(&stack, &id).await, transfers);
    assert_eq!(count_of(&stack, &jo, "payment_disputed", &id).await, 2);
}

#[tokio::test]
async fn a_card_that_needs_authentication_pays_once_authenticated_and_a_failed_one_stays_payable() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let lou = stack.provider("Lou Secure", false).await;
    let mia = stack.person("Mia Secure").await;
    let lesson = offer(&stack, &lou, "Guitar lesson", 3000).await;

    let (status, bought) = purchase(&stack, &mia, &lesson, "3ds-1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stripe.confirm(pi, "pm_card_authenticationRequired").await;
    assert_eq!(status, 200, "{intent}");
    assert_eq!(intent["status"], "requires_action");
    assert_eq!(intent["next_action"]["type"], "use_stripe_sdk");
    // Still payable: the purchase answers the client secret the SDK authenticates with.
    let (status, again) = purchase(&stack, &mia, &lesson, "3ds-1").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["booking"]["state"], "pending_payment");
    assert_eq!(again["clientSecret"], bought["clientSecret"]);
    stripe
        .control(
            "POST",
            &format!("/payment_intents/{pi}/authenticate"),
            json!({ "outcome": "succeed" }),
        )
        .await;
    let id = bought["booking"]["id"].as_str().unwrap();
    let detail = booking_when(&stack, &mia, id, "accepted").await;
    assert_eq!(detail["booking"]["paymentState"], "held");

    // A failed authentication is a failed payment: Mia is told and can pay again.
    let (status, second) = purchase(&stack, &mia, &lesson, "3ds-2").await;
    assert_eq!(status, 201, "{second}");
    let pi = second["paymentIntentId"].as_str().unwrap();
    stripe.confirm(pi, "pm_card_authenticationRequired").await;
    stripe
        .control(
            "POST",
            &format!("/payment_intents/{pi}/authenticate"),
            json!({ "outcome": "fail" }),
        )
        .await;
    let id = second["booking"]["id"].as_str().unwrap();
    let failed = payment_when(&stack, &mia, id, "failed").await;
    assert_eq!(failed["booking"]["state"], "pending_payment");
    told(&stack, &mia, "payment_failed", id).await;
    let (status, intent) = stripe.confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    booking_when(&stack, &mia, id, "accepted").await;
}

#[tokio::test]
async fn a_provider_on_manual_payouts_withdraws_once_sees_earnings_and_the_payout_paid() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let nia = stack.provider("Nia Withdraw", false).await;
    let oto = stack.person("Oto Withdraw").await;
    // Nobody but a provider reads payout data; a provider without an account has none.
    for path in ["/me/payouts", "/me/earnings", "/me/payouts/balance"] {
        assert_eq!(stack.status("GET", path, &oto.token).await, 403, "{path}");
    }
    assert_eq!(
        stack.status("GET", "/me/payouts/balance", &nia.token).await,
        404
    );
    let enabled = onboard(&stack, &nia).await;
    let account = enabled["account"]["accountId"].as_str().unwrap().to_owned();
    // On Stripe's automatic schedule, withdrawing is refused with the reason.
    let (status, body) = stack
        .call(
            "POST",
            "/me/payouts",
            Some(&nia.token),
            Some(json!({ "idempotencyKey": "w0" })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("automatic"),
        "{body}"
    );
    let (status, manual) = stripe
        .api(
            "POST",
            &format!("/v1/accounts/{account}"),
            &[("settings[payouts][schedule][interval]", "manual")],
        )
        .await;
    assert_eq!(status, 200, "{manual}");

    // A booking paid with funds available at once, completed and released.
    let desk = offer(&stack, &nia, "Assemble a desk", 5000).await;
    let (status, bought) = purchase(&stack, &oto, &desk, "k1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    stripe.confirm(pi, "pm_card_bypassPending").await;
    let id = bought["booking"]["id"].as_str().unwrap();
    booking_when(&stack, &oto, id, "accepted").await;
    for (who, action) in [(&nia, "start"), (&nia, "deliver"), (&oto, "confirm")] {
        let (status, body) = step(&stack, who, id, action, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let detail = payment_when(&stack, &oto, id, "released").await;
    let earned = earning(&detail["booking"]);

    let (status, balance) = stack
        .call("GET", "/me/payouts/balance", Some(&nia.token), None)
        .await;
    assert_eq!(status, 200, "{balance}");
    assert_eq!(balance["manualPayouts"], true);
    assert_eq!(
        balance["available"],
        json!([{ "amount": earned, "currency": "eur" }])
    );
    let (status, earnings) = stack
        .call("GET", "/me/earnings", Some(&nia.token), None)
        .await;
    assert_eq!(status, 200, "{earnings}");
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(
        earnings["lines"],
        json!([{ "period": period, "currency": "eur", "bookings": 1, "gross": 5000,
            "commission": 5000 - earned, "net": earned }])
    );

    // Withdraw, twice with the same key: one payout.
    let withdraw = || {
        stack.call(
            "POST",
            "/me/payouts",
            Some(&nia.token),
            Some(json!({ "idempotencyKey": "w1" })),
        )
    };
    let (status, payout) = withdraw().await;
    assert_eq!(status, 201, "{payout}");
    assert_eq!(payout["amount"].as_i64().unwrap(), earned);
    assert_eq!(payout["status"], "pending");
    let (status, again) = withdraw().await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["payoutId"], payout["payoutId"]);
    let (status, body) = stack
        .call(
            "POST",
            "/me/payouts",
            Some(&nia.token),
            Some(json!({ "idempotencyKey": "w2" })),
        )
        .await;
    assert_eq!(status, 409, "nothing left: {body}");

    // The bank accepts it: the history says so and Nia is told.
    let po = payout["payoutId"].as_str().unwrap();
    stripe
        .control("POST", &format!("/payouts/{po}/paid"), json!({}))
        .await;
    let mut history = Value::Null;
    for _ in 0..100 {
        let (status, page) = stack
            .call("GET", "/me/payouts", Some(&nia.token), None)
            .await;
        assert_eq!(status, 200, "{page}");
        if page["items"][0]["status"] == "paid" {
            history = page;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["items"][0]["payoutId"], po);
    let inbox = stack
        .inbox_when(&nia, "?limit=50", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "payout_paid")
        })
        .await;
    assert!(inbox["items"].to_string().contains(po), "{inbox}");
}

#[tokio::test]
async fn a_webhook_that_stops_right_after_its_commit_still_tells_both_parties_once() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let held = crate::bookings::DELIVERY.lock().await;
    let (bruno, ana, id, pi) = crate::bookings::paid_unannounced(&stack, "Stops").await;
    let event = stripe.event(&pi, "payment_intent.succeeded").await;
    let signed = stripe
        .control("POST", "/webhooks/sign", json!({ "event_id": event["id"] }))
        .await;

    // The webhook runs in-process over a store whose client dies after the commit.
    let dies = gigwire_tests::DiesAfterCommit::default();
    let services = stack
        .in_process(Some(stack.store_intercepted(dies.clone()).await))
        .await;
    let local = crate::bookings::InProcessBookings::new(&stack);
    let news = services.notifications();
    let bookings = local.service(&services, &news);
    let outcome = bookings
        .webhook(
            signed["payload"].as_str().unwrap().as_bytes(),
            signed["headers"]["Stripe-Signature"].as_str(),
            &stripe.webhook_secret,
            chrono::Utc::now(),
        )
        .await;
    assert!(dies.died(), "the transition committed");
    // Whatever the in-process call did after its commit could not reach the table.
    drop(outcome);
    // Stripe's own delivery arrives later too: a duplicate that announces nothing again.
    crate::bookings::resume(&stack).await;
    drop(held);

    booking_when(&stack, &ana, &id, "accepted").await;
    let confirmed = told(&stack, &ana, "booking_confirmed", &id).await;
    let assigned = told(&stack, &bruno, "provider_assigned", &id).await;
    assert_eq!(confirmed["roomId"], id.as_str());
    assert_eq!(assigned["roomId"], id.as_str());
    // Once each, even after the redelivery and a while for any late duplicate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count_of(&stack, &ana, "booking_confirmed", &id).await, 1);
    assert_eq!(count_of(&stack, &bruno, "provider_assigned", &id).await, 1);
}

/// The refunds Stripe has for a payment, newest first: (id, amount).
async fn refunds_of(stack: &Stack, payment_intent: &str) -> Vec<(String, i64)> {
    let path = format!("/v1/refunds?payment_intent={payment_intent}&limit=100");
    let (status, list) = stack.stripe().api("GET", &path, &[]).await;
    assert_eq!(status, 200, "{list}");
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// What the provider earns of `amount` at the booking's commission.
fn share(booking: &Value, amount: i64) -> i64 {
    let rate = booking["commissionBasisPoints"].as_i64().unwrap();
    amount - (amount * rate + 5_000) / 10_000
}

#[tokio::test]
async fn an_admin_refund_after_release_takes_the_providers_share_back_first_and_refunds_once() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let ops = stack.person("Ops Refunds").await;
    let admin = stack.admin_token(&ops.user_id(), &ops.refresh).await;
    let gil = stack.provider("Gil Refund", true).await;
    let hana = stack.person_with_phone("Hana Refund").await;
    onboard(&stack, &gil).await;
    let shelf = offer(&stack, &gil, "Mount a shelf", 6000).await;
    let id = delivered(&stack, &gil, &hana, &shelf).await;
    let path = format!("/bookings/{id}/refund");
    let reason = "One bracket was missing";
    // Not before completion: nothing is earned yet.
    let early = json!({ "idempotencyKey": "early", "reason": reason });
    let (status, body) = stack.call("POST", &path, Some(&admin), Some(early)).await;
    assert_eq!(status, 409, "{body}");
    let (status, done) = step(&stack, &hana, &id, "confirm", None).await;
    assert_eq!(status, 200, "{done}");
    let released = payment_when(&stack, &hana, &id, "released").await;
    let booking = &released["booking"];
    let pi = booking["paymentIntentId"].as_str().unwrap().to_owned();
    let full = earning(booking);

    // Only admins refund; bad requests are refused and move nothing.
    let part = json!({ "idempotencyKey": "r-1", "amount": 1500, "reason": reason });
    for who in [&hana.token, &gil.token] {
        let (status, body) = stack
            .call("POST", &path, Some(who), Some(part.clone()))
            .await;
        assert_eq!(status, 403, "{body}");
    }
    for bad in [
        json!({ "idempotencyKey": "r-0", "amount": 0, "reason": reason }),
        json!({ "idempotencyKey": "r-0", "amount": 6001, "reason": reason }),
        json!({ "idempotencyKey": "r-0", "reason": " " }),
        json!({ "amount": 100, "reason": reason }),
    ] {
        let (status, body) = stack
            .call("POST", &path, Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert!(refunds_of(&stack, &pi).await.is_empty());

    // 15.00 back: the provider's share of it is reversed first, then the refund.
    let (status, refunded) = stack
        .call("POST", &path, Some(&admin), Some(part.clone()))
        .await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["paymentState"], "partially_refunded", "{refunded}");
    assert_eq!(refunded["refund"]["amount"], 1500, "{refunded}");
    let kept = share(booking, 4500);
    assert_eq!(refunded["transfer"]["amount"].as_i64().unwrap(), kept);
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    assert_eq!(
        transfers[0]["amount_reversed"].as_i64().unwrap(),
        full - kept
    );
    let refunds = refunds_of(&stack, &pi).await;
    assert_eq!(refunds.iter().map(|r| r.1).collect::<Vec<_>>(), [1500]);
    assert_eq!(refunded["refund"]["stripeRefundId"], refunds[0].0.as_str());
    // The same request again (a double click, a lost answer) moves nothing.
    let (status, again) = stack.call("POST", &path, Some(&admin), Some(part)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["refund"], refunded["refund"]);
    assert_eq!(refunds_of(&stack, &pi).await.len(), 1);
    // Both are told: the customer what comes back, the provider what goes with it.
    let to_hana = told(&stack, &hana, "payment_refunded", &id).await;
    assert!(
        to_hana["body"].as_str().unwrap().contains("15.00"),
        "{to_hana}"
    );
    let to_gil = told(&stack, &gil, "payment_refunded", &id).await;
    let clawback = format!("{:.2}", (full - kept) as f64 / 100.0);
    assert!(
        to_gil["body"].as_str().unwrap().contains(&clawback),
        "{to_gil}"
    );

    // The same new refund asked six times at once (two admins' devices, a retrying client):
    // one refund of 5.00, the others lose the race (409) or see it done (200).
    let racing = json!({ "idempotencyKey": "r-race", "amount": 500, "reason": reason });
    let answers = futures::future::join_all(
        (0..6).map(|_| stack.call("POST", &path, Some(&admin), Some(racing.clone()))),
    )
    .await;
    for (status, body) in &answers {
        assert!([200, 409].contains(status), "{status}: {body}");
    }
    assert!(answers.iter().any(|(status, _)| *status == 200));
    stack.run_booking_timers(chrono::Utc::now()).await;
    let refunds = refunds_of(&stack, &pi).await;
    assert_eq!(refunds.iter().map(|r| r.1).collect::<Vec<_>>(), [500, 1500]);

    // The rest: everything the booking kept goes back, and the whole transfer with it.
    let rest = json!({ "idempotencyKey": "r-2", "reason": "Redone by someone else" });
    let (status, all) = stack.call("POST", &path, Some(&admin), Some(rest)).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["paymentState"], "refunded", "{all}");
    assert_eq!(all["refund"]["amount"], 6000);
    assert_eq!(all["transfer"]["amount"], 0);
    assert_eq!(
        transfers_of(&stack, &id).await[0]["amount_reversed"]
            .as_i64()
            .unwrap(),
        full
    );
    let refunds = refunds_of(&stack, &pi).await;
    assert_eq!(
        refunds.iter().map(|r| r.1).sum::<i64>(),
        6000,
        "{refunds:?}"
    );
    let more = json!({ "idempotencyKey": "r-3", "amount": 1, "reason": reason });
    let (status, body) = stack.call("POST", &path, Some(&admin), Some(more)).await;
    assert_eq!(status, 409, "{body}");

    // The ledger: every step balances, the customer is whole, nobody keeps anything.
    let (_, detail) = crate::bookings::booking(&stack, &hana, &id).await;
    let ledger = &detail["ledger"];
    for account in [
        "customer",
        "platform",
        "commission",
        "provider_payable",
        "provider",
    ] {
        assert_eq!(account_total(ledger, account), 0, "{account}: {ledger}");
    }
    assert_eq!(
        steps(&detail),
        [
            "charge",
            "completion",
            "release",
            "refund_after_completion",
            "reversal",
            "refund_after_completion",
            "reversal",
            "refund_after_completion",
            "reversal"
        ]
    );
    // The sweep finds nothing left to do.
    stack.run_booking_timers(chrono::Utc::now()).await;
    assert_eq!(refunds_of(&stack, &pi).await.len(), 3);
    assert_eq!(transfers_of(&stack, &id).await.len(), 1);
}

#[tokio::test]
async fn a_cancellation_that_keeps_the_price_pays_the_provider_their_share_once() {
    let _sweep = SWEEP.read().await;
    let stack = Stack::from_env();
    let ivo = stack.provider("Ivo Settle", true).await;
    let june = stack.person_with_phone("June Settle").await;
    onboard(&stack, &ivo).await;
    let fence = offer(&stack, &ivo, "Paint a fence", 8000).await;
    let (status, bought) = purchase(&stack, &june, &fence, "k1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap().to_owned();
    let (status, intent) = stack.stripe().confirm(&pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    booking_when(&stack, &june, &id, "accepted").await;
    let (status, body) = step(&stack, &ivo, &id, "start", None).await;
    assert_eq!(status, 200, "{body}");
    // The customer cancels work in progress: nothing comes back, the price is earned.
    let (status, cancelled) = step(&stack, &june, &id, "cancel", None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["settled"], true, "{cancelled}");
    let detail = payment_when(&stack, &june, &id, "released").await;
    let booking = &detail["booking"];
    let transfers = transfers_of(&stack, &id).await;
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    assert_eq!(transfers[0]["amount"].as_i64().unwrap(), earning(booking));
    assert_eq!(transfers[0]["source_transaction"], booking["chargeId"]);
    assert_eq!(steps(&detail), ["charge", "settlement", "release"]);
    assert_eq!(
        account_total(&detail["ledger"], "provider"),
        earning(booking)
    );
    told(&stack, &ivo, "payment_released", &id).await;
    // The sweep and the cancellation's news change nothing more.
    stack.run_booking_timers(chrono::Utc::now()).await;
    assert_eq!(transfers_of(&stack, &id).await.len(), 1);
    assert!(refunds_of(&stack, &pi).await.is_empty());
}
