//! Follow-ups end to end: the customer of a completed booking opens one in the parent's
//! thread, free and accepted at once for a premium customer, charged at the admins' price
//! otherwise (accepted when paid); the provider is told the question once; only the parent's
//! customer may open one, only after the completion and within the window; admins set the
//! window, the price and who is premium.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, SecondsFormat, Utc};
use gigwire::domain::BookingId;
use gigwire_tests::{Person, Stack};
use serde_json::{Value, json};

use crate::bookings::{SWEEP, booking, booking_when, offer, step};
use crate::reviews::{accepted, complete, provider};

/// Follow-up settings are one item for the whole table: the test that changes them runs
/// alone (write) while the others run together (read).
static SETTINGS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn open(stack: &Stack, who: &Person, parent: &str, key: &str) -> (u16, Value) {
    let body = json!({ "kind": "quick_question",
        "question": "Should the hinge be oiled as well?", "idempotencyKey": key });
    stack
        .call(
            "POST",
            &format!("/bookings/{parent}/follow-ups"),
            Some(&who.token),
            Some(body),
        )
        .await
}

async fn terms(stack: &Stack, who: &Person, parent: &str) -> (u16, Value) {
    let path = format!("/bookings/{parent}/follow-ups/terms");
    stack.call("GET", &path, Some(&who.token), None).await
}

async fn set_premium(stack: &Stack, admin: &Person, who: &str, premium: bool) -> (u16, Value) {
    stack
        .call(
            "PUT",
            &format!("/admin/users/{who}/premium"),
            Some(&admin.token),
            Some(json!({ "premium": premium })),
        )
        .await
}

/// A provider, a customer and a completed booking between them (its id).
async fn completed(stack: &Stack, tag: &str) -> (Person, Person, String) {
    let bruno = provider(stack, tag).await;
    let ana = stack.person(&format!("Ana {tag}")).await;
    let door = offer(stack, &bruno, "Fix a squeaky door", 4000).await;
    let id = accepted(stack, &ana, &door, "k1").await;
    complete(stack, &bruno, &ana, &id).await;
    (bruno, ana, id)
}

#[tokio::test]
async fn a_premium_customer_s_follow_up_is_free_accepted_at_once_and_in_the_parent_s_thread() {
    let _sweep = SWEEP.read().await;
    let _settings = SETTINGS.read().await;
    let stack = Stack::from_env();
    let ops = stack.admin("Ops Premium").await;
    let (bruno, ana, parent) = completed(&stack, "Premium").await;
    let eve = stack.person("Eve Premium").await;

    // Only admins flag premium customers, and only known users.
    assert_eq!(set_premium(&stack, &ana, &ana.id, true).await.0, 403);
    let unknown = BookingId::at(Utc::now()).to_string();
    assert_eq!(set_premium(&stack, &ops, &unknown, true).await.0, 404);
    let (status, flag) = set_premium(&stack, &ops, &ana.id, true).await;
    assert_eq!((status, &flag["premium"]), (200, &json!(true)), "{flag}");

    // Only the parent's customer sees the terms and opens a follow-up.
    let (status, offered) = terms(&stack, &ana, &parent).await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["canOpen"], true, "{offered}");
    assert_eq!(offered["free"], true);
    assert_eq!(offered["price"], json!({ "amount": 0, "currency": "eur" }));
    for (who, expected) in [(&bruno, 403), (&ops, 403), (&eve, 404)] {
        assert_eq!(terms(&stack, who, &parent).await.0, expected);
        let (status, body) = open(&stack, who, &parent, "f1").await;
        assert_eq!(status, expected, "{body}");
    }

    let (status, opened) = open(&stack, &ana, &parent, "f1").await;
    assert_eq!(status, 201, "{opened}");
    let child = &opened["booking"];
    let id = child["id"].as_str().unwrap().to_owned();
    assert_eq!(child["state"], "accepted", "{opened}");
    assert_eq!(child["paymentState"], "free");
    assert_eq!(child["source"], "follow_up");
    assert_eq!(child["price"]["amount"], 0);
    assert_eq!(child["followUp"]["parentId"], parent.as_str());
    assert_eq!(child["followUp"]["kind"], "quick_question");
    assert_eq!(child["providerId"], bruno.id.as_str());
    assert!(opened["paymentIntentId"].is_null() && opened["clientSecret"].is_null());
    let (_, parent_detail) = booking(&stack, &ana, &parent).await;
    assert_eq!(child["roomId"], parent_detail["booking"]["roomId"]);
    assert_eq!(child["threadId"], parent_detail["booking"]["roomId"]);

    // The same key answers the same follow-up; the provider is told the question once.
    let (status, again) = open(&stack, &ana, &parent, "f1").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["booking"]["id"], id.as_str());
    let told = stack
        .notified(&bruno, "follow_up_question", "bookingId", &id)
        .await;
    assert_eq!(
        told["data"]["preview"], "Should the hinge be oiled as well?",
        "{told}"
    );
    let inbox = stack.inbox(&bruno, "?limit=50").await;
    let questions = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "follow_up_question" && n["data"]["bookingId"] == id.as_str())
        .count();
    assert_eq!(questions, 1, "{inbox}");

    // It goes through the steps of any booking, and moves no money.
    let (status, seen) = booking(&stack, &bruno, &id).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(booking(&stack, &eve, &id).await.0, 404);
    complete(&stack, &bruno, &ana, &id).await;
    let (_, done) = booking(&stack, &ana, &id).await;
    assert_eq!(done["booking"]["state"], "completed", "{done}");
    assert_eq!(done["booking"]["paymentState"], "free");
    assert!(done["booking"]["transfer"].is_null(), "{done}");

    // No longer premium: the next one has the admins' price.
    let (status, _) = set_premium(&stack, &ops, &ana.id, false).await;
    assert_eq!(status, 200);
    let (_, offered) = terms(&stack, &ana, &parent).await;
    assert_eq!(offered["free"], false, "{offered}");
    assert!(offered["price"]["amount"].as_i64().unwrap() >= 100);
}

#[tokio::test]
async fn a_follow_up_is_charged_at_the_admins_price_and_opens_only_within_the_window() {
    let _sweep = SWEEP.read().await;
    let _settings = SETTINGS.write().await;
    let stack = Stack::from_env();
    let ops = stack.admin("Ops Window").await;
    let (bruno, ana, parent) = completed(&stack, "Window").await;

    // Admins set the window and price; nobody else, and only sensible values.
    let settings = json!({ "windowDays": 3, "priceAmount": 1200 });
    let (status, _) = stack
        .call(
            "PUT",
            "/admin/follow-up-settings",
            Some(&ana.token),
            Some(settings.clone()),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        stack
            .status("GET", "/admin/follow-up-settings", &ana.token)
            .await,
        403
    );
    for (bad, field) in [
        (
            json!({ "windowDays": 0, "priceAmount": 1200 }),
            "windowDays",
        ),
        (json!({ "windowDays": 3, "priceAmount": 10 }), "priceAmount"),
    ] {
        let (status, body) = stack
            .call(
                "PUT",
                "/admin/follow-up-settings",
                Some(&ops.token),
                Some(bad),
            )
            .await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{body}"
        );
    }
    let (status, set) = stack
        .call(
            "PUT",
            "/admin/follow-up-settings",
            Some(&ops.token),
            Some(settings),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let (status, read) = stack
        .call("GET", "/admin/follow-up-settings", Some(&ops.token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&read["windowDays"], &read["priceAmount"]),
        (&json!(3), &json!(1200))
    );

    // Bad input names its field and opens nothing.
    for (body, field) in [
        (
            json!({ "kind": "quick_question", "question": " ", "idempotencyKey": "x" }),
            "question",
        ),
        (
            json!({ "kind": "quick_question", "question": "ok", "idempotencyKey": "a b" }),
            "idempotencyKey",
        ),
    ] {
        let (status, answer) = stack
            .call(
                "POST",
                &format!("/bookings/{parent}/follow-ups"),
                Some(&ana.token),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, &answer["error"]["field"]),
            (400, &json!(field)),
            "{answer}"
        );
    }

    // Not premium: pending payment at the admins' price, in the parent's currency.
    let (status, opened) = open(&stack, &ana, &parent, "paid-1").await;
    assert_eq!(status, 201, "{opened}");
    let id = opened["booking"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["booking"]["state"], "pending_payment", "{opened}");
    assert_eq!(
        opened["booking"]["price"],
        json!({ "amount": 1200, "currency": "eur" })
    );
    assert!(opened["clientSecret"].is_string(), "{opened}");
    // An unpaid follow-up is the customer's alone, and the provider has not been asked yet.
    assert_eq!(booking(&stack, &bruno, &id).await.0, 404);
    let pi = opened["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    let paid = booking_when(&stack, &ana, &id, "accepted").await;
    assert_eq!(paid["booking"]["paymentState"], "held", "{paid}");
    let (_, parent_detail) = booking(&stack, &ana, &parent).await;
    assert_eq!(
        paid["booking"]["roomId"],
        parent_detail["booking"]["roomId"]
    );
    let steps = paid["ledger"].as_array().unwrap();
    let charges = steps.iter().filter(|s| s["step"] == "charge").count();
    assert_eq!(charges, 1, "{paid}");
    let told = stack
        .notified(&bruno, "follow_up_question", "bookingId", &id)
        .await;
    assert_eq!(told["data"]["kind"], "quick_question", "{told}");
    let (status, again) = open(&stack, &ana, &parent, "paid-1").await;
    assert_eq!((status, &again["booking"]["id"]), (200, &json!(id)));

    // Not completed: no follow-up yet.
    let door = offer(&stack, &bruno, "Oil the hinges", 3000).await;
    let open_booking = accepted(&stack, &ana, &door, "k2").await;
    let (status, body) = open(&stack, &ana, &open_booking, "early").await;
    assert_eq!(status, 409, "{body}");
    let (_, offered) = terms(&stack, &ana, &open_booking).await;
    assert_eq!(offered["canOpen"], false, "{offered}");
    assert!(offered["windowClosesAt"].is_null());
    let (status, _) = step(&stack, &ana, &open_booking, "cancel", None).await;
    assert_eq!(status, 200);

    // Completed four days ago, with a three-day window: closed.
    let long_ago = (Utc::now() - Duration::days(4)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let key = gigwire::bookings::keys::booking(&BookingId::parse(&parent, "id").unwrap());
    stack
        .set_attribute(&key, "completedAt", AttributeValue::S(long_ago))
        .await;
    let (_, offered) = terms(&stack, &ana, &parent).await;
    assert_eq!(offered["canOpen"], false, "{offered}");
    let (status, body) = open(&stack, &ana, &parent, "late").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("closed")
    );

    // Back to the defaults for whoever runs next.
    let (status, _) = stack
        .call(
            "PUT",
            "/admin/follow-up-settings",
            Some(&ops.token),
            Some(json!({ "windowDays": 14, "priceAmount": 900 })),
        )
        .await;
    assert_eq!(status, 200);
}
