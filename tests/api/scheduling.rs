//! Scheduling end to end: a provider keeps an availability plan in their time zone; a
//! customer reads an offer's free slots across a DST change, with peak prices and a closed
//! date; bad plans and ranges are refused by field; only providers keep a plan.

use gigwire_tests::{Person, Stack};
use serde_json::{Value, json};

use crate::bookings::offer;

/// Sundays 09:00–17:00 and Fridays 09:00–17:00 plus a 1.5 peak until 19:00, in Berlin; closed
/// on Friday 2027-03-26.
fn plan() -> Value {
    json!({
        "timeZone": "Europe/Berlin",
        "weekly": {
            "sunday": [{ "start": "09:00", "end": "17:00" }],
            "friday": [
                { "start": "17:00", "end": "19:00", "multiplier": 1.5 },
                { "start": "09:00", "end": "17:00" }
            ]
        },
        "overrides": [{ "date": "2027-03-26", "reason": "Workshop closed" }],
        "minNoticeMinutes": 60,
        "bufferMinutes": 15
    })
}

fn local_starts(list: &Value) -> Vec<&str> {
    list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["localStart"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn slots_follow_the_providers_local_plan_across_dst_with_peak_prices_and_closed_dates() {
    let stack = Stack::from_env();
    let bruno = stack.provider("Bruno Plans", false).await;
    let ana = stack.person("Ana Slots").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let slots = |from: &str, to: &str| format!("/offers/{tap}/slots?from={from}&to={to}");

    // No plan yet: no slots to offer.
    let (status, body) = stack
        .call(
            "GET",
            &slots("2027-03-21", "2027-03-28"),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        stack.status("GET", "/me/availability", &bruno.token).await,
        404
    );

    // Only providers keep a plan; a wrong field is named and nothing is stored.
    let (status, _) = stack
        .call("PUT", "/me/availability", Some(&ana.token), Some(plan()))
        .await;
    assert_eq!(status, 403);
    let mut overlapping = plan();
    overlapping["weekly"]["friday"][0]["start"] = json!("16:00");
    let mut zone = plan();
    zone["timeZone"] = json!("Mars/Olympus");
    for (bad, field) in [(overlapping, "weekly.friday"), (zone, "timeZone")] {
        let (status, body) = stack
            .call("PUT", "/me/availability", Some(&bruno.token), Some(bad))
            .await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{body}"
        );
    }
    assert_eq!(
        stack.status("GET", "/me/availability", &bruno.token).await,
        404
    );

    let (status, stored) = stack
        .call("PUT", "/me/availability", Some(&bruno.token), Some(plan()))
        .await;
    assert_eq!(status, 200, "{stored}");
    // Intervals come back sorted; the plan reads back as set.
    assert_eq!(stored["weekly"]["friday"][0]["start"], "09:00");
    let (_, mine) = stack
        .call("GET", "/me/availability", Some(&bruno.token), None)
        .await;
    assert_eq!(mine, stored);

    // Two Sundays around Berlin's spring change (2027-03-28): 09:00 local both times, an
    // hour earlier in UTC after it.
    let (status, list) = stack
        .call(
            "GET",
            &slots("2027-03-21", "2027-03-28"),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["timeZone"], "Europe/Berlin");
    let starts = local_starts(&list);
    assert_eq!(
        starts.len(),
        30,
        "fifteen hour-long slots each Sunday, none on the closed Friday: {list}"
    );
    assert_eq!(starts[0], "2027-03-21T09:00:00+01:00");
    assert_eq!(list["slots"][0]["start"], "2027-03-21T08:00:00Z");
    assert_eq!(starts[15], "2027-03-28T09:00:00+02:00");
    assert_eq!(list["slots"][15]["start"], "2027-03-28T07:00:00Z");
    assert_eq!(list["slots"][15]["end"], "2027-03-28T08:00:00Z");
    assert_eq!(
        list["slots"][0]["price"],
        json!({ "amount": 4500, "currency": "eur" })
    );

    // An ordinary Friday: the evening peak costs 1.5 × 45.00.
    let (_, friday) = stack
        .call(
            "GET",
            &slots("2027-04-02", "2027-04-02"),
            Some(&ana.token),
            None,
        )
        .await;
    let peak: Vec<&Value> = friday["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["multiplier"] == 1.5)
        .collect();
    assert_eq!(peak.len(), 3, "{friday}");
    assert_eq!(peak[0]["localStart"], "2027-04-02T17:00:00+02:00");
    assert_eq!(peak[0]["price"]["amount"], 6750);

    // Ranges: both dates required, `to` not before `from`, at most 31 days.
    for (query, field) in [
        (format!("/offers/{tap}/slots?to=2027-03-28"), "from"),
        (slots("2027-03-28", "2027-03-21"), "to"),
        (slots("2027-03-01", "2027-04-01"), "to"),
        (slots("2027-03-01", "28-03-2027"), "to"),
    ] {
        let (status, body) = stack.call("GET", &query, Some(&ana.token), None).await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{query}: {body}"
        );
    }
    let unknown = format!(
        "/offers/{}/slots?from=2027-03-21&to=2027-03-28",
        ulid::Ulid::generate()
    );
    assert_eq!(stack.status("GET", &unknown, &ana.token).await, 404);
    let (status, _) = stack
        .call("GET", &slots("2027-03-21", "2027-03-28"), None, None)
        .await;
    assert_eq!(status, 401);
}

/// A provider open 09:00–17:00 every day in Berlin (15 minutes' buffer), two hour-long offers
/// of theirs, and a local date three days ahead (its slots are authorized when requested:
/// see [`far_date`] for those that save the card).
async fn bookable(stack: &Stack, tag: &str) -> (Person, String, String, String) {
    let provider = stack.provider(&format!("Bruno {tag}"), false).await;
    let plan = gigwire_tests::open_every_day("09:00", "17:00", 15);
    let (status, body) = stack
        .call("PUT", "/me/availability", Some(&provider.token), Some(plan))
        .await;
    assert_eq!(status, 200, "{body}");
    let tap = offer(stack, &provider, "Fix a leaking tap", 4500).await;
    let sink = offer(stack, &provider, "Unblock a sink", 6000).await;
    let date = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    (provider, tap, sink, date)
}

/// A local date ten days ahead: its slots start more than six days after a request, so the
/// request saves the card (an authorization would lapse before the start).
fn far_date() -> String {
    (chrono::Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .to_string()
}

async fn slots_on(stack: &Stack, who: &Person, offer: &str, date: &str) -> Vec<Value> {
    let path = format!("/offers/{offer}/slots?from={date}&to={date}");
    let (status, list) = stack.call("GET", &path, Some(&who.token), None).await;
    assert_eq!(status, 200, "{list}");
    list["slots"].as_array().unwrap().clone()
}

fn starts_of(slots: &[Value]) -> Vec<String> {
    slots
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}

async fn book(stack: &Stack, who: &Person, offer: &str, start: &str, key: &str) -> (u16, Value) {
    let body = json!({ "start": start, "idempotencyKey": key });
    stack
        .call(
            "POST",
            &format!("/offers/{offer}/book"),
            Some(&who.token),
            Some(body),
        )
        .await
}

/// Books `start` as `who` and authorizes the card: the booking once `requested`.
async fn requested(stack: &Stack, who: &Person, offer: &str, start: &str) -> Value {
    let (status, bought) = book(stack, who, offer, start, "request-1").await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(
        (status, &intent["status"]),
        (200, &json!("requires_capture")),
        "{intent}"
    );
    let id = bought["booking"]["id"].as_str().unwrap();
    crate::bookings::booking_when(stack, who, id, "requested").await["booking"].clone()
}

#[tokio::test]
async fn a_requested_slot_is_authorized_then_captured_on_acceptance_and_a_declined_one_frees_its_time()
 {
    let _sweep = crate::bookings::SWEEP.read().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let (bruno, tap, _, date) = bookable(&stack, "Requests").await;
    let ana = stack.person("Ana Requests").await;
    let carla = stack.person("Carla Requests").await;
    let free = starts_of(&slots_on(&stack, &ana, &tap, &date).await);
    assert_eq!(free.len(), 15, "{free:?}");

    // A request holds the slot (and the buffer after it) from the moment it is made.
    let (status, bought) = book(&stack, &ana, &tap, &free[0], "request-1").await;
    assert_eq!(status, 201, "{bought}");
    let booking = &bought["booking"];
    let id = booking["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (booking["source"].as_str(), booking["state"].as_str()),
        (Some("slot"), Some("pending_payment"))
    );
    assert_eq!(booking["schedule"]["start"], free[0].as_str());
    assert_eq!(booking["schedule"]["timeZone"], "Europe/Berlin");
    assert_eq!(booking["price"]["amount"], 4500);
    let (status, again) = book(&stack, &ana, &tap, &free[0], "request-1").await;
    assert_eq!((status, &again["booking"]["id"]), (200, &json!(id)));
    let pi = bought["paymentIntentId"].as_str().unwrap().to_owned();
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent["capture_method"], "manual");
    let now_free = starts_of(&slots_on(&stack, &carla, &tap, &date).await);
    // 09:00 taken; 09:30 and 10:00 overlap it or its buffer (10:00 + 15 min).
    assert!(
        !now_free.contains(&free[0])
            && !now_free.contains(&free[1])
            && !now_free.contains(&free[2]),
        "{now_free:?}"
    );
    assert!(now_free.contains(&free[3]));
    let (status, body) = book(&stack, &carla, &tap, &free[1], "mine").await;
    assert_eq!(status, 409, "{body}");

    // Authorized: requested; the provider sees it and is asked.
    let (status, intent) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(
        (status, &intent["status"]),
        (200, &json!("requires_capture"))
    );
    let detail = crate::bookings::booking_when(&stack, &ana, &id, "requested").await;
    assert_eq!(detail["booking"]["paymentState"], "held");
    let asked = stack
        .notified(&bruno, "provider_assigned", "bookingId", &id)
        .await;
    assert!(
        asked["title"].as_str().unwrap().starts_with("New request"),
        "{asked}"
    );
    let (status, _) = crate::bookings::booking(&stack, &bruno, &id).await;
    assert_eq!(status, 200, "the provider sees a request");
    for (who, expected) in [(&ana, 403), (&carla, 404)] {
        let (status, body) = crate::bookings::step(&stack, who, &id, "accept", None).await;
        assert_eq!(status, expected, "{body}");
    }

    // Accepted: captured, its room opens, the customer is told; accepting again is 409.
    let (status, accepted) = crate::bookings::step(&stack, &bruno, &id, "accept", None).await;
    assert_eq!(
        (status, &accepted["state"]),
        (200, &json!("accepted")),
        "{accepted}"
    );
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent["status"], "succeeded");
    let detail = crate::bookings::booking_when(&stack, &ana, &id, "accepted").await;
    assert_eq!(detail["ledger"][0]["step"], "charge");
    assert_eq!(
        stack
            .status("GET", &format!("/rooms/{id}"), &bruno.token)
            .await,
        200
    );
    stack
        .notified(&ana, "booking_confirmed", "bookingId", &id)
        .await;
    let (status, _) = crate::bookings::step(&stack, &bruno, &id, "accept", None).await;
    assert_eq!(status, 409);

    // Declined: voided, nothing charged, the time is free again and the customer is told.
    let other = requested(&stack, &carla, &tap, &free[6]).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    assert!(!starts_of(&slots_on(&stack, &ana, &tap, &date).await).contains(&free[6]));
    let (status, declined) = crate::bookings::step(
        &stack,
        &bruno,
        &other_id,
        "decline",
        Some(json!({ "reason": "Away that afternoon" })),
    )
    .await;
    assert_eq!(
        (status, &declined["state"]),
        (200, &json!("declined")),
        "{declined}"
    );
    let other_pi = other["paymentIntentId"].as_str().unwrap();
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{other_pi}"), &[])
        .await;
    assert_eq!(intent["status"], "canceled");
    assert!(starts_of(&slots_on(&stack, &ana, &tap, &date).await).contains(&free[6]));
    let told = stack
        .notified(&carla, "booking_declined", "bookingId", &other_id)
        .await;
    assert!(
        told["body"].as_str().unwrap().contains("declined"),
        "{told}"
    );
}

#[tokio::test]
async fn ten_concurrent_requests_for_overlapping_time_of_one_provider_make_one_booking() {
    let _sweep = crate::bookings::SWEEP.read().await;
    let stack = Stack::from_env();
    let (bruno, tap, sink, date) = bookable(&stack, "Race").await;
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(stack.person(&format!("Racer {i}")).await);
    }
    let free = starts_of(&slots_on(&stack, &customers[0], &tap, &date).await);
    // The tap at 10:00 and the sink at 10:30 overlap: of all ten, one booking.
    let (at_ten, at_half_past) = (free[2].clone(), free[3].clone());
    let answers = futures::future::join_all(customers.iter().flat_map(|who| {
        [
            book(&stack, who, &tap, &at_ten, "race-tap"),
            book(&stack, who, &sink, &at_half_past, "race-sink"),
        ]
    }))
    .await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| [201, 409].contains(s)),
        "{answers:?}"
    );
    let (_, tasks) = stack
        .call("GET", "/bookings?role=provider", Some(&bruno.token), None)
        .await;
    assert!(
        tasks["items"].as_array().unwrap().is_empty(),
        "unpaid requests are not the provider's yet"
    );
    for offer in [&tap, &sink] {
        let left = starts_of(&slots_on(&stack, &customers[0], offer, &date).await);
        assert!(
            !left.contains(&at_ten) && !left.contains(&at_half_past),
            "{left:?}"
        );
    }
}

#[tokio::test]
async fn an_unanswered_request_expires_before_its_authorization_lapses_and_frees_its_time() {
    // The request's timer is the sweep's, run six days ahead: alone.
    let _sweep = crate::bookings::SWEEP.write().await;
    let stack = Stack::from_env();
    let (_, tap, _, date) = bookable(&stack, "Silent").await;
    let ana = stack.person("Ana Waits").await;
    let free = starts_of(&slots_on(&stack, &ana, &tap, &date).await);
    let booking = requested(&stack, &ana, &tap, &free[4]).await;
    let id = booking["id"].as_str().unwrap().to_owned();
    let due = booking["timer"]["dueAt"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    assert!(
        due <= chrono::Utc::now() + chrono::Duration::days(6),
        "before the authorization lapses: {booking}"
    );
    stack
        .run_booking_timers(due + chrono::Duration::minutes(1))
        .await;
    crate::bookings::booking_when(&stack, &ana, &id, "expired").await;
    let pi = booking["paymentIntentId"].as_str().unwrap();
    let (_, intent) = stack
        .stripe()
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(intent["status"], "canceled");
    assert!(starts_of(&slots_on(&stack, &ana, &tap, &date).await).contains(&free[4]));
    let told = stack
        .notified(&ana, "booking_declined", "bookingId", &id)
        .await;
    assert!(
        told["body"].as_str().unwrap().contains("did not answer"),
        "{told}"
    );
}

/// How many notifications of `kind` about booking `id` are in `who`'s inbox.
async fn count_of(stack: &Stack, who: &Person, kind: &str, id: &str) -> usize {
    let page = stack.inbox(who, "?limit=50").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["data"]["bookingId"] == id)
        .count()
}

#[tokio::test]
async fn an_accepted_session_is_reminded_its_late_provider_nudged_support_alerted_and_it_ends_by_itself()
 {
    // The session's timers are the sweep's, run around a start three days ahead: alone.
    let _sweep = crate::bookings::SWEEP.write().await;
    let stack = Stack::from_env();
    let (bruno, tap, _, date) = bookable(&stack, "Session").await;
    let ana = stack.person("Ana Session").await;
    let ops = stack.admin("Ops Session").await;
    let (status, body) = stack
        .call(
            "PUT",
            "/me/subscriptions/topic:operations",
            Some(&ops.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let free = starts_of(&slots_on(&stack, &ana, &tap, &date).await);
    let booking = requested(&stack, &ana, &tap, &free[6]).await;
    let id = booking["id"].as_str().unwrap().to_owned();
    let (status, body) = crate::bookings::step(&stack, &bruno, &id, "accept", None).await;
    assert_eq!(status, 200, "{body}");
    let accepted = crate::bookings::booking_when(&stack, &ana, &id, "accepted").await;
    let start: chrono::DateTime<chrono::Utc> = free[6].parse().unwrap();
    assert_eq!(accepted["booking"]["timer"]["kind"], "session_reminder");
    let at = |minutes: i64| start + chrono::Duration::minutes(minutes);

    // The admins set the support alert's delay (15 minutes by default).
    let settings = |minutes: Value| {
        let (token, stack) = (ops.token.clone(), &stack);
        async move {
            stack
                .call(
                    "PUT",
                    "/admin/session-settings",
                    Some(&token),
                    Some(json!({ "supportAlertAfterMinutes": minutes })),
                )
                .await
        }
    };
    for bad in [json!(3), json!(241), json!("20")] {
        let (status, body) = settings(bad).await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, body) = stack
        .call(
            "PUT",
            "/admin/session-settings",
            Some(&ana.token),
            Some(json!({ "supportAlertAfterMinutes": 20 })),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = settings(json!(20)).await;
    assert_eq!(
        (status, &body["supportAlertAfterMinutes"]),
        (200, &json!(20)),
        "{body}"
    );
    let (_, read) = stack
        .call("GET", "/admin/session-settings", Some(&ops.token), None)
        .await;
    assert_eq!(read["supportAlertAfterMinutes"], 20, "{read}");
    // Five minutes before: both parties, once, though the sweep runs twice.
    stack.run_booking_timers(at(-4)).await;
    stack.run_booking_timers(at(-4)).await;
    let soon = stack
        .notified(&ana, "session_starting_soon", "bookingId", &id)
        .await;
    assert!(
        soon["title"].as_str().unwrap().starts_with("Starting soon"),
        "{soon}"
    );
    let soon = stack
        .notified(&bruno, "session_starting_soon", "bookingId", &id)
        .await;
    assert!(
        soon["body"]
            .as_str()
            .unwrap()
            .starts_with("'Fix a leaking tap' on "),
        "{soon}"
    );
    assert_eq!(
        count_of(&stack, &ana, "session_starting_soon", &id).await,
        1
    );

    // Not started three minutes after the start: the provider is nudged, the customer not.
    stack.run_booking_timers(at(4)).await;
    stack.run_booking_timers(at(4)).await;
    let page = stack
        .inbox_when(&bruno, "?limit=50", |page| {
            page["items"].as_array().unwrap().iter().any(|n| {
                n["data"]["bookingId"] == id.as_str()
                    && n["title"]
                        .as_str()
                        .unwrap()
                        .starts_with("Start your session")
            })
        })
        .await;
    let nudges = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["title"]
                .as_str()
                .unwrap()
                .starts_with("Start your session")
        })
        .count();
    assert_eq!(nudges, 1, "{page}");
    assert_eq!(
        count_of(&stack, &ana, "session_starting_soon", &id).await,
        1
    );

    // Still not started: support (the operators' topic) is alerted, once, after the delay
    // the admins set.
    let nudged = crate::bookings::booking_when(&stack, &ana, &id, "accepted").await;
    assert_eq!(nudged["booking"]["timer"]["kind"], "support_alert");
    assert_eq!(
        nudged["booking"]["timer"]["dueAt"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        at(20)
    );
    stack.run_booking_timers(at(16)).await;
    assert_eq!(count_of(&stack, &ops, "system", &id).await, 0, "not yet");
    stack.run_booking_timers(at(21)).await;
    stack.run_booking_timers(at(21)).await;
    let (status, _) = settings(json!(15)).await;
    assert_eq!(status, 200);
    let alert = stack.notified(&ops, "system", "bookingId", &id).await;
    assert!(
        alert["title"]
            .as_str()
            .unwrap()
            .starts_with("Session not started"),
        "{alert}"
    );
    assert_eq!(count_of(&stack, &ops, "system", &id).await, 1);

    // The provider starts late; the session ends by itself once its end and grace passed.
    let (status, started) = crate::bookings::step(&stack, &bruno, &id, "start", None).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["timer"]["kind"], "session_end");

    // The provider writes the summary with a photo, once; the customer is told (by email
    // while unread), may download the photo, and her first read is recorded.
    let photo = crate::bookings::proof_image(&stack, &bruno).await;
    let summary = json!({ "findings": "The valve seat is worn.", "stepsTaken": "Replaced the washer.",
        "partsNeeded": "A half-inch valve", "nextSteps": "Replace the valve within a month.",
        "photoFileIds": [photo] });
    let path = format!("/bookings/{id}/summary");
    let (status, body) = stack
        .call("POST", &path, Some(&ana.token), Some(summary.clone()))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = stack
        .call(
            "POST",
            &path,
            Some(&bruno.token),
            Some(json!({ "findings": " " })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("findings"))
    );
    let (status, body) = stack
        .call("POST", &path, Some(&bruno.token), Some(summary.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["findings"], "The valve seat is worn.");
    assert_eq!(body["summary"]["viewedAt"], Value::Null);
    let (status, _) = stack
        .call("POST", &path, Some(&bruno.token), Some(summary))
        .await;
    assert_eq!(status, 409);
    stack
        .notified(&ana, "session_summary", "bookingId", &id)
        .await;
    let photo_path = format!("/files/{photo}");
    assert_eq!(stack.status("GET", &photo_path, &ana.token).await, 200);
    // The milestones so far are emailed at once, read or not, each once though the sweep
    // runs twice: confirmed, starting soon, the summary.
    {
        let _turn = crate::notifications::SWEEPS.lock().await;
        for _ in 0..2 {
            stack
                .run_escalations(chrono::Utc::now() + chrono::Duration::minutes(1))
                .await;
        }
    }
    let emails = stack.emails_to(&ana.email).await;
    let subjects: Vec<&str> = emails
        .iter()
        .filter_map(|m| m["Subject"].as_str())
        .collect();
    for milestone in [
        "Booking confirmed",
        "Starting soon: Fix a leaking tap",
        "Your session summary: Fix a leaking tap",
    ] {
        assert_eq!(
            subjects.iter().filter(|s| **s == milestone).count(),
            1,
            "{milestone}: {subjects:?}"
        );
    }
    let (status, read) = stack.call("GET", &path, Some(&bruno.token), None).await;
    assert_eq!((status, &read["viewedAt"]), (200, &Value::Null));
    let (status, read) = stack.call("GET", &path, Some(&ana.token), None).await;
    assert_eq!(status, 200, "{read}");
    let viewed = read["viewedAt"].as_str().unwrap().to_owned();
    let (_, again) = stack.call("GET", &path, Some(&ana.token), None).await;
    assert_eq!(again["viewedAt"], viewed.as_str());
    let eve = stack.person("Eve Session").await;
    assert_eq!(stack.status("GET", &path, &eve.token).await, 404);
    assert_eq!(stack.status("GET", &photo_path, &eve.token).await, 404);
    stack.run_booking_timers(at(60 + 14)).await;
    let (_, detail) = crate::bookings::booking(&stack, &ana, &id).await;
    assert_eq!(detail["booking"]["state"], "in_progress");
    stack.run_booking_timers(at(60 + 16)).await;
    let delivered = crate::bookings::booking_when(&stack, &ana, &id, "delivered").await;
    assert_eq!(delivered["booking"]["timer"]["kind"], "auto_complete");
    stack
        .notified(&ana, "job_completed", "bookingId", &id)
        .await;
    let (status, body) = crate::bookings::step(&stack, &ana, &id, "confirm", None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("completed")));
}

/// Requests `start` ten days ahead as `who`, saving `card` with the SetupIntent the answer
/// names (as the client SDK's `confirmSetup` would, passing 3-D Secure where the card asks),
/// and has the provider accept it: the accepted booking.
async fn far_accepted(
    stack: &Stack,
    (who, provider): (&Person, &Person),
    offer: &str,
    start: &str,
    card: &str,
) -> Value {
    let stripe = stack.stripe();
    let key: String = start.chars().filter(char::is_ascii_alphanumeric).collect();
    let (status, bought) = book(stack, who, offer, start, &format!("far-{key}")).await;
    assert_eq!(status, 201, "{bought}");
    assert_eq!(bought["paymentIntentId"], Value::Null, "{bought}");
    assert_eq!(bought["booking"]["paymentState"], "pending");
    let setup = bought["setupIntentId"].as_str().unwrap().to_owned();
    assert!(
        bought["clientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{setup}_secret_")),
        "{bought}"
    );
    let (status, saved) = stripe
        .api(
            "POST",
            &format!("/v1/setup_intents/{setup}/confirm"),
            &[("payment_method", card)],
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    if saved["status"] == "requires_action" {
        let passed = stripe
            .control(
                "POST",
                &format!("/setup_intents/{setup}/authenticate"),
                json!({}),
            )
            .await;
        assert_eq!(passed["status"], "succeeded", "{passed}");
    }
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    let requested = crate::bookings::booking_when(stack, who, &id, "requested").await;
    assert_eq!(requested["booking"]["paymentState"], "scheduled");
    let customer = requested["booking"]["card"]["customer"].as_str().unwrap();
    let (_, method) = stripe
        .api(
            "GET",
            &format!(
                "/v1/payment_methods/{}",
                saved["payment_method"].as_str().unwrap()
            ),
            &[],
        )
        .await;
    assert_eq!(
        method["customer"], customer,
        "the card is saved to the customer"
    );
    let (status, accepted) = crate::bookings::step(stack, provider, &id, "accept", None).await;
    assert_eq!(
        (status, &accepted["state"]),
        (200, &json!("accepted")),
        "{accepted}"
    );
    accepted
}

#[tokio::test]
async fn a_session_far_ahead_saves_the_card_is_charged_off_session_and_a_refused_charge_is_paid_or_cancelled()
 {
    // The charge's timers are the sweep's, run days ahead: alone.
    let _sweep = crate::bookings::SWEEP.write().await;
    let stack = Stack::from_env();
    let stripe = stack.stripe();
    let (bruno, tap, _, _) = bookable(&stack, "Far").await;
    let ana = stack.person("Ana Far").await;
    let carla = stack.person("Carla Far").await;
    let date = far_date();
    let free = starts_of(&slots_on(&stack, &ana, &tap, &date).await);

    // A card that pays off-session: saved, accepted with nothing taken, charged 48 h before.
    let paid = far_accepted(&stack, (&ana, &bruno), &tap, &free[0], "pm_card_visa").await;
    let paid_id = paid["id"].as_str().unwrap().to_owned();
    assert_eq!(paid["paymentState"], "scheduled");
    assert_eq!(paid["timer"]["kind"], "saved_card_charge");
    let charge_at: chrono::DateTime<chrono::Utc> =
        paid["card"]["chargeAt"].as_str().unwrap().parse().unwrap();
    let start: chrono::DateTime<chrono::Utc> = free[0].parse().unwrap();
    assert_eq!(charge_at, start - chrono::Duration::hours(48));
    let detail = crate::bookings::booking_when(&stack, &ana, &paid_id, "accepted").await;
    assert_eq!(detail["ledger"], json!([]), "nothing charged yet");
    let (status, body) = crate::bookings::step(&stack, &bruno, &paid_id, "start", None).await;
    assert_eq!(status, 409, "not paid for yet: {body}");

    // Two cards that need the customer to authenticate every payment: refused off-session.
    let asks = far_accepted(
        &stack,
        (&ana, &bruno),
        &tap,
        &free[3],
        "pm_card_authenticationRequired",
    )
    .await;
    let asks_id = asks["id"].as_str().unwrap().to_owned();
    let lapses = far_accepted(
        &stack,
        (&carla, &bruno),
        &tap,
        &free[6],
        "pm_card_authenticationRequired",
    )
    .await;
    let lapses_id = lapses["id"].as_str().unwrap().to_owned();

    // The charges' moment, twice (a sweep that runs again charges nothing twice).
    let after_charges = chrono::DateTime::parse_from_rfc3339(free[6].as_str())
        .unwrap()
        .with_timezone(&chrono::Utc)
        - chrono::Duration::hours(47);
    stack.run_booking_timers(after_charges).await;
    stack.run_booking_timers(after_charges).await;
    let charged = crate::bookings::booking_until(&stack, &ana, &paid_id, "charged", |d| {
        d["booking"]["paymentState"] == "held"
    })
    .await;
    assert_eq!(charged["ledger"][0]["step"], "charge");
    assert_eq!(charged["ledger"].as_array().unwrap().len(), 1);
    let pi = charged["booking"]["paymentIntentId"].as_str().unwrap();
    let (_, intent) = stripe
        .api("GET", &format!("/v1/payment_intents/{pi}"), &[])
        .await;
    assert_eq!(
        (&intent["status"], &intent["amount"], &intent["customer"]),
        (
            &json!("succeeded"),
            &json!(4500),
            &charged["booking"]["card"]["customer"]
        )
    );
    assert_eq!(charged["booking"]["timer"]["kind"], "session_reminder");

    // Refused: the customer is asked to pay before the deadline.
    let refused = crate::bookings::booking_until(&stack, &ana, &asks_id, "refused", |d| {
        d["booking"]["paymentState"] == "failed"
    })
    .await;
    assert_eq!(refused["booking"]["timer"]["kind"], "payment_deadline");
    assert!(
        refused["booking"]["paymentError"]
            .as_str()
            .unwrap()
            .contains("requires authentication"),
        "{refused}"
    );
    stack
        .notified(&ana, "payment_failed", "bookingId", &asks_id)
        .await;
    let pay = |who: &Person, id: &str| {
        let path = format!("/bookings/{id}/pay");
        let token = who.token.clone();
        let stack = &stack;
        async move { stack.call("POST", &path, Some(&token), None).await }
    };
    for (who, expected) in [(&bruno, 403), (&carla, 404)] {
        let (status, body) = pay(who, &asks_id).await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, body) = pay(&ana, &paid_id).await;
    assert_eq!(status, 409, "nothing to pay on a charged booking: {body}");
    let (status, to_pay) = pay(&ana, &asks_id).await;
    assert_eq!(status, 200, "{to_pay}");
    let pi = to_pay["paymentIntentId"].as_str().unwrap().to_owned();
    assert!(
        to_pay["clientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{pi}_secret_")),
        "{to_pay}"
    );
    // The customer pays on-session (another card): the webhook writes the charge.
    let (status, intent) = stripe.confirm(&pi, "pm_card_visa").await;
    assert_eq!(
        (status, &intent["status"]),
        (200, &json!("succeeded")),
        "{intent}"
    );
    let settled = crate::bookings::booking_until(&stack, &ana, &asks_id, "paid", |d| {
        d["booking"]["paymentState"] == "held"
    })
    .await;
    assert_eq!(settled["ledger"][0]["step"], "charge");

    // Not paid by 24 h before the start: cancelled by the platform, nothing taken, both told,
    // its slot free again.
    stack
        .run_booking_timers(
            chrono::DateTime::parse_from_rfc3339(free[6].as_str())
                .unwrap()
                .with_timezone(&chrono::Utc)
                - chrono::Duration::hours(23),
        )
        .await;
    let cancelled =
        crate::bookings::booking_when(&stack, &carla, &lapses_id, "cancelled_by_operator").await;
    assert_eq!(cancelled["booking"]["paymentState"], "unpaid");
    assert_eq!(cancelled["ledger"], json!([]));
    stack
        .notified(&bruno, "booking_cancelled", "bookingId", &lapses_id)
        .await;
    stack
        .notified(&carla, "booking_cancelled", "bookingId", &lapses_id)
        .await;
    assert!(starts_of(&slots_on(&stack, &ana, &tap, &date).await).contains(&free[6]));
    // The two paid sessions are still on.
    for id in [&paid_id, &asks_id] {
        crate::bookings::booking_when(&stack, &ana, id, "accepted").await;
    }
}
