//! Notifications end to end: producers call the same `notify` the chat uses; the inbox and
//! preferences go through the HTTP API; the escalation sweep is the deployed scheduled
//! function, invoked as if it fired at a chosen time; SMS and email are read back from what the
//! emulator captured.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gigwire::domain::UserId;
use gigwire::notifications::model::Kind;
use gigwire::notifications::service::{NotifyReport, NotifyRequest, Recipients};
use gigwire_tests::{Person, Stack, expect_event, next_event};
use serde_json::{Value, json};

/// The sweep sends whatever is due for everyone: tests that move time forward take turns, so
/// one test's sweep never fires another's escalation mid-test.
pub(crate) static SWEEPS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Calls the internal API every producer uses, in-process against the deployed table and
/// the stack's SNS platform application.
async fn notify(stack: &Stack, request: NotifyRequest) -> NotifyReport {
    stack
        .in_process(None)
        .await
        .notifications()
        .notify(&request, Utc::now())
        .await
        .unwrap()
}

/// A notification that escalates by SMS and email when unread (a failed payout: not a
/// milestone, whose email goes at once whatever is read; see the milestone test).
fn booking(to: &Person, key: &str) -> NotifyRequest {
    NotifyRequest {
        recipients: Recipients::Users(vec![to.user_id()]),
        kind: Kind::PayoutFailed,
        actor: None,
        room: None,
        data: json!({ "amount": "50.00 EUR", "reason": "account closed" }),
        idempotency_key: key.to_owned(),
    }
}

async fn sweep(stack: &Stack, at: DateTime<Utc>) {
    stack.run_escalations(at).await;
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

#[tokio::test]
async fn an_online_user_gets_the_live_event_and_nothing_else() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let mut ws = stack.online(&ben).await;
    let report = notify(&stack, booking(&ben, "booking-1")).await;
    assert_eq!((report.created, report.live, report.escalating), (1, 1, 0));
    let event = expect_event(&mut ws, "notification.new").await;
    assert_eq!(event["notification"]["title"], "Payout failed");
    assert_eq!(
        event["notification"]["body"],
        "Your bank returned a payout of 50.00 EUR (account closed); the money is back in your balance. Check your bank details in the payout settings."
    );
    sweep(&stack, Utc::now() + minutes(30)).await;
    assert!(stack.sms_to(ben.phone()).await.is_empty());
    assert!(
        stack.emails_to(&ben.email).await.len() == 1,
        "only the sign-in code"
    );
}

#[tokio::test]
async fn unread_after_the_delay_goes_out_by_sms_and_email_once() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let report = notify(&stack, booking(&ben, "booking-2")).await;
    assert_eq!((report.created, report.live, report.escalating), (1, 0, 1));

    sweep(&stack, Utc::now() + minutes(5)).await;
    assert!(stack.sms_to(ben.phone()).await.is_empty(), "not due yet");
    sweep(&stack, Utc::now() + minutes(11)).await;
    let sms = stack.sms_to(ben.phone()).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(
        sms[0]["Message"]
            .as_str()
            .unwrap()
            .starts_with("Payout failed. Read it in the app.")
    );
    let emails = stack.emails_to(&ben.email).await;
    assert_eq!(emails.len(), 2, "sign-in code and the notification");
    assert_eq!(emails[1]["Subject"], "Payout failed");
    // Handled once.
    sweep(&stack, Utc::now() + minutes(12)).await;
    assert_eq!(stack.sms_to(ben.phone()).await.len(), 1);

    // The email's button is a signed, tracked link: opening it records the click and leads
    // into the app; a tampered one is refused.
    let link = tracked_link(&stack, &emails[1]);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut tampered = link.clone();
    tampered.insert(link.len() - 5, 'A');
    assert_eq!(
        no_redirects.get(&tampered).send().await.unwrap().status(),
        400
    );
    let opened = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(opened.status(), 302);
    let page = stack.inbox(&ben, "").await;
    let id = page["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        opened.headers()["location"],
        format!("http://localhost:3000/notifications?n={id}").as_str()
    );
    assert!(page["items"][0]["clickedAt"].is_string(), "{page}");
    assert_eq!(page["unread"], 0);
}

/// The tracked link in a captured email.
fn tracked_link(stack: &Stack, email: &Value) -> String {
    let text = email.to_string();
    let prefix = format!("{}/n/", stack.http);
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link in {text}"));
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_./:".contains(*c))
        .collect()
}

#[tokio::test]
async fn a_booking_milestone_is_emailed_at_once_and_once_even_when_read() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let confirmed = |key: &str| NotifyRequest {
        kind: Kind::BookingConfirmed,
        data: json!({ "actor": "Bruno's Plumbing", "when": "Tuesday 10:00" }),
        ..booking(&ben, key)
    };
    // Notified twice under one key (a webhook or timer that runs twice), read in-app at once.
    notify(&stack, confirmed("milestone-1")).await;
    let again = notify(&stack, confirmed("milestone-1")).await;
    assert_eq!(again.duplicates, 1);
    let (status, marked) = stack
        .call(
            "POST",
            "/notifications/read",
            Some(&ben.token),
            Some(json!({ "all": true })),
        )
        .await;
    assert_eq!((status, &marked["unread"]), (200, &json!(0)), "{marked}");
    // Its email goes on the next sweep anyway, once, though the sweep runs twice.
    sweep(&stack, Utc::now() + minutes(1)).await;
    sweep(&stack, Utc::now() + minutes(1)).await;
    let emails = stack.emails_to(&ben.email).await;
    assert_eq!(
        emails.len(),
        2,
        "sign-in code and the milestone: {emails:?}"
    );
    assert_eq!(emails[1]["Subject"], "Booking confirmed");
    assert!(
        emails[1]
            .to_string()
            .contains("Bruno's Plumbing confirmed your booking for Tuesday 10:00."),
        "{}",
        emails[1]
    );
    // Read, it escalates no further: no SMS, and no second email after the delay.
    sweep(&stack, Utc::now() + minutes(11)).await;
    assert!(stack.sms_to(ben.phone()).await.is_empty());
    assert_eq!(stack.emails_to(&ben.email).await.len(), 2);

    // Unread, the SMS escalation still comes, without a second email.
    notify(&stack, confirmed("milestone-2")).await;
    sweep(&stack, Utc::now() + minutes(11)).await;
    assert_eq!(stack.sms_to(ben.phone()).await.len(), 1);
    assert_eq!(
        stack.emails_to(&ben.email).await.len(),
        3,
        "the milestone's own"
    );

    // The kind's email turned off: none.
    let (status, prefs) = stack
        .call(
            "PATCH",
            "/me/notification-preferences",
            Some(&ben.token),
            Some(json!({ "kinds": { "booking_confirmed": { "push": true, "sms": true, "email": false } } })),
        )
        .await;
    assert_eq!(status, 200, "{prefs}");
    notify(&stack, confirmed("milestone-3")).await;
    sweep(&stack, Utc::now() + minutes(1)).await;
    assert_eq!(stack.emails_to(&ben.email).await.len(), 3);
}

#[tokio::test]
async fn reading_in_app_before_the_delay_sends_nothing() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    notify(&stack, booking(&ben, "booking-3")).await;
    let (status, marked) = stack
        .call(
            "POST",
            "/notifications/read",
            Some(&ben.token),
            Some(json!({ "all": true })),
        )
        .await;
    assert_eq!(
        (status, &marked["marked"], &marked["unread"]),
        (200, &json!(1), &json!(0))
    );
    sweep(&stack, Utc::now() + minutes(11)).await;
    assert!(stack.sms_to(ben.phone()).await.is_empty());
    assert_eq!(stack.emails_to(&ben.email).await.len(), 1);
}

#[tokio::test]
async fn preferences_choose_the_channels() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let (status, prefs) = stack
        .call(
            "PATCH",
            "/me/notification-preferences",
            Some(&ben.token),
            Some(json!({ "kinds": { "payout_failed": { "push": true, "sms": false, "email": true } } })),
        )
        .await;
    assert_eq!(status, 200, "{prefs}");
    notify(&stack, booking(&ben, "booking-4")).await;
    sweep(&stack, Utc::now() + minutes(11)).await;
    assert!(
        stack.sms_to(ben.phone()).await.is_empty(),
        "SMS is off for this kind"
    );
    assert_eq!(stack.emails_to(&ben.email).await.len(), 2, "email is on");

    // Bad preferences are clear errors and change nothing.
    for (body, field) in [
        (json!({ "timeZone": "Mars/Olympus" }), "timeZone"),
        (
            json!({ "quietHours": { "start": "25:00", "end": "07:00" } }),
            "quietHours.start",
        ),
        (
            json!({ "kinds": { "teleport": { "push": true, "sms": true, "email": true } } }),
            "kinds",
        ),
        // Nested objects are objects: an array is not read by position.
        (json!({ "quietHours": ["22:00", "07:00"] }), "quietHours"),
        (json!({ "channels": [true, false, true] }), "channels"),
        (
            json!({ "kinds": { "payout_failed": [true, true, false] } }),
            "kinds",
        ),
    ] {
        let (status, err) = stack
            .call(
                "PATCH",
                "/me/notification-preferences",
                Some(&ben.token),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["error"]["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{err}"
        );
    }
    let (_, now) = stack
        .call(
            "GET",
            "/me/notification-preferences",
            Some(&ben.token),
            None,
        )
        .await;
    assert_eq!(now["kinds"]["payout_failed"]["sms"], false);
    assert_eq!(now["timeZone"], "UTC");
}

#[tokio::test]
async fn quiet_hours_defer_escalation_and_critical_kinds_bypass_them() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let fire = Utc::now() + minutes(11);
    // A quiet window around the moment the escalation falls due, in Ben's zone (Tokyo).
    // Tokyo keeps +09:00 all year.
    let tokyo = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let local = |t: DateTime<Utc>| t.with_timezone(&tokyo).format("%H:%M").to_string();
    let (start, end) = (local(fire - minutes(30)), local(fire + minutes(60)));
    let (status, prefs) = stack
        .call(
            "PATCH",
            "/me/notification-preferences",
            Some(&ben.token),
            Some(json!({ "quietHours": { "start": start, "end": end }, "timeZone": "Asia/Tokyo" })),
        )
        .await;
    assert_eq!(
        (status, &prefs["timeZone"]),
        (200, &json!("Asia/Tokyo")),
        "{prefs}"
    );

    notify(&stack, booking(&ben, "booking-5")).await;
    sweep(&stack, fire).await;
    assert!(
        stack.sms_to(ben.phone()).await.is_empty(),
        "deferred by quiet hours"
    );

    // A critical kind goes out inside quiet hours.
    let mut soon = booking(&ben, "session-1");
    soon.kind = Kind::SessionStartingSoon;
    notify(&stack, soon).await;
    sweep(&stack, fire).await;
    let sms = stack.sms_to(ben.phone()).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(
        sms[0]["Message"]
            .as_str()
            .unwrap()
            .starts_with("Starting soon")
    );

    // When the window ends, the deferred one goes out.
    sweep(&stack, fire + minutes(62)).await;
    let sms = stack.sms_to(ben.phone()).await;
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert!(
        sms[1]["Message"]
            .as_str()
            .unwrap()
            .starts_with("Payout failed. Read it in the app.")
    );
}

#[tokio::test]
async fn a_burst_of_20_chat_messages_becomes_one_sms_and_one_email() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let (ana, ben) = (
        stack.person_with_phone("Ana").await,
        stack.person_with_phone("Ben").await,
    );
    let (status, room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana.token),
            Some(json!({ "kind": "group", "name": "Kitchen repair", "memberIds": [ben.id.to_string()] })),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room = room["room"]["id"].as_str().unwrap().to_owned();
    for i in 0..20 {
        loop {
            let (status, body) = stack
                .call(
                    "POST",
                    &format!("/rooms/{room}/messages"),
                    Some(&ana.token),
                    Some(json!({ "clientMessageId": format!("burst-{i}"), "text": format!("update {i}") })),
                )
                .await;
            match status {
                201 => break,
                429 => tokio::time::sleep(Duration::from_millis(300)).await,
                _ => panic!("{status} {body}"),
            }
        }
    }
    // The send records what Ben missed; the stream-triggered notifier writes the notifications.
    let page = stack
        .inbox_when(&ben, "?kind=chat_message&limit=100", |p| p["unread"] == 20)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 20);

    sweep(&stack, Utc::now() + minutes(6)).await;
    let sms = stack.sms_to(ben.phone()).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(
        sms[0]["Message"],
        "20 new messages from Ana in 'Kitchen repair'. Read it in the app."
    );
    let emails = stack.emails_to(&ben.email).await;
    assert_eq!(emails.len(), 2, "sign-in code and one digest");
    assert_eq!(
        emails[1]["Subject"],
        "20 new messages from Ana in 'Kitchen repair'"
    );
    sweep(&stack, Utc::now() + minutes(8)).await;
    assert_eq!(
        stack.sms_to(ben.phone()).await.len(),
        1,
        "never one per message"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_notifies_once() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let first = notify(&stack, booking(&ben, "booking-once")).await;
    let again = notify(&stack, booking(&ben, "booking-once")).await;
    assert_eq!((first.created, again.created, again.duplicates), (1, 0, 1));
    assert_eq!(
        stack.inbox(&ben, "").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_inbox_filters_pages_marks_and_deletes_and_nobody_touches_anothers() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let (ben, eve) = (
        stack.person_with_phone("Ben").await,
        stack.person_with_phone("Eve").await,
    );
    for i in 0..3 {
        notify(&stack, booking(&ben, &format!("b-{i}"))).await;
    }
    let mut review = booking(&ben, "review-1");
    review.kind = Kind::ReviewSubmitted;
    notify(&stack, review).await;

    let page = stack.inbox(&ben, "?limit=2").await;
    assert_eq!(
        (page["items"].as_array().unwrap().len(), &page["unread"]),
        (2, &json!(4))
    );
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = stack
        .inbox(&ben, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    let reviews = stack.inbox(&ben, "?kind=review_submitted").await;
    assert_eq!(reviews["items"].as_array().unwrap().len(), 1);
    let (status, _) = stack
        .call(
            "GET",
            "/notifications?kind=teleport",
            Some(&ben.token),
            None,
        )
        .await;
    assert_eq!(status, 400);

    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    // Eve can neither open, delete nor mark Ben's notification.
    let click = format!("/notifications/{id}/click");
    assert_eq!(stack.status("POST", &click, &eve.token).await, 404);
    assert_eq!(
        stack
            .status("DELETE", &format!("/notifications/{id}"), &eve.token)
            .await,
        404
    );
    let (_, marked) = stack
        .call(
            "POST",
            "/notifications/read",
            Some(&eve.token),
            Some(json!({ "ids": [id] })),
        )
        .await;
    assert_eq!(marked["marked"], 0);
    let (_, count) = stack
        .call("GET", "/notifications/unread-count", Some(&ben.token), None)
        .await;
    assert_eq!(count["unread"], 4);

    // Ben opens one (read and clicked), deletes another, and marks the list seen.
    let (status, opened) = stack.call("POST", &click, Some(&ben.token), None).await;
    assert_eq!(status, 200, "{opened}");
    assert!(opened["readAt"].is_string() && opened["clickedAt"].is_string());
    let other = page["items"][1]["id"].as_str().unwrap();
    assert_eq!(
        stack
            .status("DELETE", &format!("/notifications/{other}"), &ben.token)
            .await,
        204
    );
    assert_eq!(
        stack
            .status("DELETE", &format!("/notifications/{other}"), &ben.token)
            .await,
        404
    );
    assert_eq!(
        stack
            .status("POST", "/notifications/seen", &ben.token)
            .await,
        204
    );
    let after = stack.inbox(&ben, "").await;
    assert_eq!(
        (after["items"].as_array().unwrap().len(), &after["unread"]),
        (3, &json!(2))
    );
    assert!(after["seenAt"].is_string());
    let unread = stack.inbox(&ben, "?unreadOnly=true").await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 2);
    assert!(
        next_event(&mut stack.online(&eve).await, Duration::from_millis(500))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn admins_see_delivery_statistics_and_nobody_else_does() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let mut ws = stack.online(&ben).await;
    notify(&stack, booking(&ben, "stats-1")).await;
    let id = expect_event(&mut ws, "notification.new").await["notification"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = stack
        .call(
            "POST",
            &format!("/notifications/{id}/click"),
            Some(&ben.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        stack
            .status("GET", "/admin/notification-stats", &ben.token)
            .await,
        403
    );

    let admin = stack.admin_token(&ben.user_id(), &ben.refresh).await;
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let (status, stats) = stack
        .call(
            "GET",
            &format!("/admin/notification-stats?from={today}&to={today}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{stats}");
    let row = stats["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "payout_failed" && r["channel"] == "in_app")
        .cloned()
        .unwrap();
    // Other tests notify too: at least this one is counted, and the rates are consistent.
    assert!(
        row["sent"].as_u64().unwrap() >= 1 && row["clicked"].as_u64().unwrap() >= 1,
        "{row}"
    );
    let rate = row["clickRate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "{row}");
    let (status, _) = stack
        .call(
            "GET",
            "/admin/notification-stats?from=2026-01-01&to=2026-12-31",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 400, "at most 31 days");
}

#[tokio::test]
async fn an_offline_user_with_a_device_gets_a_push_and_an_online_one_does_not() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let ben = stack.person_with_phone("Ben").await;
    let register = push_registration();
    let (status, device) = register_device(&stack, &ben, &register).await;
    assert_eq!(status, 201, "{device}");
    assert!(
        device.get("endpoint").is_none(),
        "the endpoint stays server-side"
    );
    let (_, again) = register_device(&stack, &ben, &register).await;
    assert_eq!(again["id"], device["id"], "registering twice is one device");
    let (status, err) = stack
        .call(
            "POST",
            "/me/devices",
            Some(&ben.token),
            Some(json!({ "platform": "fcm", "token": "x y" })),
        )
        .await;
    assert_eq!((status, &err["error"]["field"]), (400, &json!("token")));

    // Offline: pushed to the device (SNS accepted the publish to its platform endpoint).
    let report = notify(&stack, booking(&ben, "push-1")).await;
    assert_eq!((report.live, report.pushed, report.escalating), (0, 1, 1));
    // Online: the live event only.
    let mut ws = stack.online(&ben).await;
    let report = notify(&stack, booking(&ben, "push-2")).await;
    assert_eq!((report.live, report.pushed), (1, 0));
    expect_event(&mut ws, "notification.new").await;
    drop(ws);

    // Without the device, nothing is pushed.
    let path = format!("/me/devices/{}", device["id"].as_str().unwrap());
    assert_eq!(stack.status("DELETE", &path, &ben.token).await, 204);
    assert_eq!(stack.status("DELETE", &path, &ben.token).await, 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = notify(&stack, booking(&ben, "push-3")).await;
    assert_eq!(report.pushed, 0);
}

/// A registration body with a fresh FCM-shaped push token.
fn push_registration() -> Value {
    let token = format!("fcm-{}{}", ulid::Ulid::generate(), ulid::Ulid::generate());
    json!({ "platform": "fcm", "token": token })
}

/// `POST /me/devices` as `who`.
async fn register_device(stack: &Stack, who: &Person, body: &Value) -> (u16, Value) {
    stack
        .call("POST", "/me/devices", Some(&who.token), Some(body.clone()))
        .await
}

/// The platform endpoint each of the user's registered devices pushes to.
async fn endpoints(stack: &Stack, who: &Person) -> Vec<String> {
    use gigwire::notifications::store::NotificationStore;
    let reach = stack.store().await.reach(&who.user_id()).await.unwrap();
    reach.devices.into_iter().map(|d| d.endpoint).collect()
}

/// Whether the SNS platform endpoint still exists.
async fn endpoint_exists(arn: &str) -> bool {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    match aws_sdk_sns::Client::new(&sdk)
        .get_endpoint_attributes()
        .endpoint_arn(arn)
        .send()
        .await
    {
        Ok(_) => true,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            false
        }
        Err(err) => panic!("{err:?}"),
    }
}

#[tokio::test]
async fn a_push_token_belongs_to_one_user_at_a_time() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let (ana, ben) = (
        stack.person_with_phone("Ana").await,
        stack.person_with_phone("Ben").await,
    );
    let register = push_registration();
    let (status, device) = register_device(&stack, &ana, &register).await;
    assert_eq!(status, 201, "{device}");
    let endpoint = endpoints(&stack, &ana).await.pop().expect("ana's device");

    // The phone signs in as Ben: the token moves to Ben; Ana no longer gets pushes on it.
    let (status, moved) = register_device(&stack, &ben, &register).await;
    assert_eq!((status, &moved["id"]), (201, &device["id"]), "{moved}");
    assert!(
        endpoints(&stack, &ana).await.is_empty(),
        "moved away from ana"
    );
    assert_eq!(endpoints(&stack, &ben).await, vec![endpoint.clone()]);
    assert_eq!(notify(&stack, booking(&ana, "moved-ana")).await.pushed, 0);
    assert_eq!(notify(&stack, booking(&ben, "moved-ben")).await.pushed, 1);

    // Ana's delete never removes Ben's registration or the endpoint Ben uses.
    let path = format!("/me/devices/{}", device["id"].as_str().unwrap());
    assert_eq!(stack.status("DELETE", &path, &ana.token).await, 404);
    assert_eq!(endpoints(&stack, &ben).await, vec![endpoint.clone()]);
    assert!(endpoint_exists(&endpoint).await, "still held by ben");

    // Back to Ana, then Ben's delete is a 404 and changes nothing.
    let (status, _) = register_device(&stack, &ana, &register).await;
    assert_eq!(status, 201);
    assert_eq!(stack.status("DELETE", &path, &ben.token).await, 404);
    assert_eq!(endpoints(&stack, &ana).await, vec![endpoint.clone()]);
    assert!(endpoint_exists(&endpoint).await);

    // Its holder lets go: nobody holds it, so the endpoint is deleted.
    assert_eq!(stack.status("DELETE", &path, &ana.token).await, 204);
    assert!(
        !endpoint_exists(&endpoint).await,
        "deleted when nobody holds it"
    );

    // Both register it at once: exactly one of them holds it.
    let (a, b) = tokio::join!(
        register_device(&stack, &ana, &register),
        register_device(&stack, &ben, &register),
    );
    assert!(a.0 == 201 || a.0 == 409, "{a:?}");
    assert!(b.0 == 201 || b.0 == 409, "{b:?}");
    let held = endpoints(&stack, &ana).await.len() + endpoints(&stack, &ben).await.len();
    assert_eq!(held, 1, "one holder after concurrent registrations");
}

#[tokio::test]
async fn subscribers_of_a_target_are_notified_once_per_their_channels() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let (ana, ben, cara, eve) = (
        stack.person_with_phone("Ana").await,
        stack.person_with_phone("Ben").await,
        stack.person_with_phone("Cara").await,
        stack.person_with_phone("Eve").await,
    );
    let boss = stack.person_with_phone("Boss").await;
    let admin = stack.admin_token(&boss.user_id(), &boss.refresh).await;
    let topic = format!(
        "topic:plumbing-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    );
    let path = format!("/me/subscriptions/{topic}");
    let subscribe = |who: &Person, body: Option<Value>| {
        let (token, path) = (who.token.clone(), path.clone());
        let stack = &stack;
        async move { stack.call("PUT", &path, Some(&token), body).await }
    };
    // Ana: email but no SMS; Ben and Cara: everything; Eve leaves again; the admin (the
    // broadcast's actor) follows too but is never notified of their own broadcast.
    let (status, sub) = subscribe(
        &ana,
        Some(json!({ "channels": { "push": true, "sms": false, "email": true } })),
    )
    .await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["target"], topic.as_str());
    assert_eq!(sub["channels"]["sms"], false);
    for who in [&ben, &cara, &eve] {
        assert_eq!(subscribe(who, None).await.0, 200);
    }
    let (status, _) = stack
        .call("PUT", &path, Some(&admin), Some(json!({})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stack.status("DELETE", &path, &eve.token).await, 204);
    assert_eq!(stack.status("DELETE", &path, &eve.token).await, 404);
    let (_, mine) = stack
        .call("GET", "/me/subscriptions", Some(&ana.token), None)
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["items"][0]["target"], topic.as_str());

    // Who may follow what.
    let refused = [
        ("/me/subscriptions/job:job-1", 403),
        ("/me/subscriptions/group:x", 400),
        ("/me/subscriptions/topic:Upper", 400),
        (&*format!("/me/subscriptions/user:{}", ana.id), 400),
        (&*format!("/me/subscriptions/user:{}", UserId::new()), 404),
        (
            &*format!("/me/subscriptions/room:{}", gigwire::domain::RoomId::new()),
            404,
        ),
    ];
    for (path, expected) in refused {
        let (status, body) = stack.call("PUT", path, Some(&ana.token), None).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, _) = stack
        .call(
            "PUT",
            &format!("/me/subscriptions/user:{}", ben.id),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "following another user");

    // Only admins broadcast; bad input is refused whole.
    let broadcast = json!({
        "target": topic,
        "kind": "provider_assigned",
        "data": { "actor": "Bruno's Plumbing", "title": "Leaking sink" },
        "idempotencyKey": "assign-1",
    });
    let (status, _) = stack
        .call(
            "POST",
            "/admin/notifications",
            Some(&ana.token),
            Some(broadcast.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = stack
        .call(
            "POST",
            "/admin/notifications",
            Some(&admin),
            Some(json!({ "target": topic, "data": [], "idempotencyKey": "x" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let mut ws = stack.online(&cara).await;
    let (status, report) = stack
        .call(
            "POST",
            "/admin/notifications",
            Some(&admin),
            Some(broadcast.clone()),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["created"], &report["live"], &report["escalating"]),
        (&json!(3), &json!(1), &json!(2)),
        "{report}"
    );
    let event = expect_event(&mut ws, "notification.new").await;
    assert_eq!(
        event["notification"]["title"],
        "Bruno's Plumbing was assigned to your job"
    );
    // The same key again: nobody is notified twice.
    let (status, again) = stack
        .call(
            "POST",
            "/admin/notifications",
            Some(&admin),
            Some(broadcast),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&again["created"], &again["duplicates"]),
        (&json!(0), &json!(3))
    );
    for who in [&ana, &ben, &cara] {
        assert_eq!(stack.inbox(who, "").await["unread"], 1);
    }
    for who in [&eve, &boss] {
        assert_eq!(stack.inbox(who, "").await["unread"], 0);
    }

    sweep(&stack, Utc::now() + minutes(11)).await;
    assert!(
        stack.sms_to(ana.phone()).await.is_empty(),
        "Ana turned SMS off"
    );
    assert_eq!(
        stack.emails_to(&ana.email).await.len(),
        2,
        "code + one email"
    );
    assert_eq!(stack.sms_to(ben.phone()).await.len(), 1);
    assert_eq!(stack.emails_to(&ben.email).await.len(), 2);
    assert!(
        stack.sms_to(cara.phone()).await.is_empty(),
        "online: live only"
    );
    assert!(stack.sms_to(eve.phone()).await.is_empty());
}

/// Fails the `n`-th (1-based) transaction its client sends, as a crash between batches would.
#[derive(Debug)]
struct FailNthTransaction {
    n: usize,
    seen: std::sync::atomic::AtomicUsize,
}

impl aws_sdk_dynamodb::config::Intercept for FailNthTransaction {
    fn name(&self) -> &'static str {
        "FailNthTransaction"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let target = context.request().headers().get("x-amz-target");
        if target.is_some_and(|t| t.ends_with(".TransactWriteItems"))
            && self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == self.n
        {
            return Err("simulated crash".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_interrupted_fan_out_resumes_and_racing_runs_notify_each_subscriber_once() {
    use gigwire::notifications::model::{ChannelSwitches, Subscription, Target};
    use gigwire::notifications::store::NotificationStore;
    use gigwire::store::dynamo::DynamoStore;

    let stack = Stack::from_env();
    let services = stack.in_process(None).await;
    let topic = Target::Topic(format!(
        "resume-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    ));
    // 70 subscribers: batches of 33, 33 and 4.
    let users: Vec<UserId> = (0..70).map(|_| UserId::new()).collect();
    for user in &users {
        services
            .store
            .put_subscription(&Subscription {
                user_id: *user,
                target: topic.clone(),
                channels: ChannelSwitches::default(),
                area: None,
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let request = NotifyRequest {
        recipients: Recipients::Subscribers(topic.clone()),
        kind: Kind::JobPosted,
        actor: None,
        room: None,
        data: json!({ "title": "Fix a fence" }),
        idempotency_key: "job-7".into(),
    };

    // The run dies on its second batch: the first stays written, the rest is not.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let crashing = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(FailNthTransaction {
            n: 2,
            seen: Default::default(),
        })
        .build();
    let crashing = stack
        .in_process(Some(DynamoStore::new(
            aws_sdk_dynamodb::Client::from_conf(crashing),
            &stack.table,
        )))
        .await;
    assert!(
        crashing
            .notifications()
            .notify(&request, Utc::now())
            .await
            .is_err()
    );
    let count = |user: UserId| {
        let store = &services.store;
        async move {
            store
                .notifications(&user, false, None, 10, None)
                .await
                .unwrap()
                .items
                .len()
        }
    };
    let written: usize = futures::future::join_all(users.iter().map(|u| count(*u)))
        .await
        .into_iter()
        .sum();
    assert_eq!(written, 33, "exactly the first batch");

    // Two retries race: together they write the other 37, each batch once.
    let notifications = services.notifications();
    let (a, b) = futures::join!(
        notifications.notify(&request, Utc::now()),
        notifications.notify(&request, Utc::now())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.created + b.created, 37, "{a:?} {b:?}");
    for user in &users {
        assert_eq!(count(*user).await, 1, "{user} notified exactly once");
    }
    let again = services
        .notifications()
        .notify(&request, Utc::now())
        .await
        .unwrap();
    assert_eq!((again.created, again.duplicates), (0, 70));
}

/// Runs the escalation sweep in-process at `at`, with the deployed table and SMS, but an email
/// service that cannot be reached (an SES outage).
async fn sweep_while_email_is_down(
    stack: &Stack,
    at: DateTime<Utc>,
) -> gigwire::notifications::escalation::SweepReport {
    use gigwire::adapters::{SesMailer, SnsSms};
    use gigwire::notifications::escalation::Escalations;
    use gigwire::templates::EmailTemplates;

    let services = stack.in_process(None).await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    // A port nobody listens on, tried once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let ses_down = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(dead)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let (sms, mailer) = (
        SnsSms::from_sdk(&sdk),
        SesMailer::from_sdk(&ses_down, "noreply@gigwire.test"),
    );
    let templates = EmailTemplates::new();
    Escalations {
        store: &services.store,
        users: &services.store,
        sms: &sms,
        mailer: &mailer,
        templates: &templates,
        links: None,
    }
    .sweep(at)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_email_failure_is_recorded_retried_with_backoff_and_given_up_after_five_attempts() {
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let (ben, cara) = (
        stack.person_with_phone("Ben").await,
        stack.person_with_phone("Cara").await,
    );
    for who in [&ben, &cara] {
        let (status, _) = stack
            .call(
                "PATCH",
                "/me/notification-preferences",
                Some(&who.token),
                Some(json!({ "channels": { "push": true, "sms": false, "email": true } })),
            )
            .await;
        assert_eq!(status, 200);
    }
    let seconds = chrono::Duration::seconds;

    // Cara's email fails every time: it is retried after 1, 2, 4 and 8 minutes, each failure
    // counted, and given up after the fifth attempt.
    notify(&stack, booking(&cara, "ses-cara")).await;
    let mut at = Utc::now() + minutes(11);
    let mut failures = email_failures(&stack, at).await;
    for (attempt, backoff) in [1, 2, 4, 8, 0].into_iter().enumerate() {
        let report = sweep_while_email_is_down(&stack, at).await;
        assert!(report.failed >= 1, "attempt {}: {report:?}", attempt + 1);
        let now_failed = email_failures(&stack, at).await;
        assert!(now_failed > failures, "attempt {} counted", attempt + 1);
        failures = now_failed;
        if attempt == 0 {
            // The email service is back, but the retry waits for its backoff.
            sweep(&stack, at + seconds(30)).await;
            assert_eq!(stack.emails_to(&cara.email).await.len(), 1, "backing off");
        }
        at += minutes(backoff) + seconds(1);
    }
    sweep(&stack, at + minutes(60)).await;
    assert_eq!(
        stack.emails_to(&cara.email).await.len(),
        1,
        "given up: only the sign-in code"
    );

    // Ben's fails once and goes out on the retry.
    notify(&stack, booking(&ben, "ses-ben")).await;
    let at = Utc::now() + minutes(11);
    sweep_while_email_is_down(&stack, at).await;
    assert_eq!(stack.emails_to(&ben.email).await.len(), 1);
    sweep(&stack, at + minutes(1) + seconds(1)).await;
    let emails = stack.emails_to(&ben.email).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1]["Subject"], "Payout failed");
}

/// Email failures counted on `day` (all kinds), through the store.
async fn email_failures(stack: &Stack, day: DateTime<Utc>) -> u64 {
    delivery_count(stack, day, None, "email", "failed").await
}

/// One delivery counter of `day`, summed over kinds unless one is given.
async fn delivery_count(
    stack: &Stack,
    day: DateTime<Utc>,
    kind: Option<&str>,
    channel: &str,
    outcome: &str,
) -> u64 {
    use gigwire::notifications::store::NotificationStore;
    let services = stack.in_process(None).await;
    services
        .store
        .delivery_stats(&day.format("%Y-%m-%d").to_string())
        .await
        .unwrap()
        .iter()
        .filter(|row| row.channel == channel && kind.is_none_or(|k| row.kind == k))
        .map(|row| row.counts.get(outcome).copied().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn marking_read_in_bulk_counts_the_reads_per_kind() {
    let stack = Stack::from_env();
    let fay = stack.person_with_phone("Fay").await;
    for i in 0..3 {
        let mut request = booking(&fay, &format!("review-{i}"));
        request.kind = Kind::ReviewSubmitted;
        notify(&stack, request).await;
    }
    let now = Utc::now();
    let before = delivery_count(&stack, now, Some("review_submitted"), "in_app", "read").await;
    let (status, marked) = stack
        .call(
            "POST",
            "/notifications/read",
            Some(&fay.token),
            Some(json!({ "all": true })),
        )
        .await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(marked["marked"], 3);
    let after = delivery_count(&stack, now, Some("review_submitted"), "in_app", "read").await;
    assert!(after >= before + 3, "{before} → {after}");
}

#[tokio::test]
async fn an_escalation_that_keeps_erroring_is_retried_with_backoff_then_dropped() {
    use gigwire::notifications::store::NotificationStore;
    let stack = Stack::from_env();
    let _turn = SWEEPS.lock().await;
    let dora = stack.person_with_phone("Dora").await;
    notify(&stack, booking(&dora, "poisoned")).await;
    // A profile that no longer parses: every attempt to escalate errors before sending.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let key = gigwire::me::keys::user(&dora.user_id());
    aws_sdk_dynamodb::Client::new(&sdk)
        .update_item()
        .table_name(&stack.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(key.pk))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(key.sk))
        .update_expression("SET email = :n")
        .expression_attribute_values(
            ":n",
            aws_sdk_dynamodb::types::AttributeValue::N("42".into()),
        )
        .send()
        .await
        .unwrap();
    let services = stack.in_process(None).await;
    let pending = |at: DateTime<Utc>| {
        let store = &services.store;
        let user = dora.user_id();
        async move {
            store
                .due_escalations(at + minutes(120), 1000)
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.user_id == user)
        }
    };
    let mut at = Utc::now() + minutes(11);
    for (attempt, backoff) in [1, 2, 4, 8].into_iter().enumerate() {
        sweep(&stack, at).await;
        let escalation = pending(at).await.expect("kept for a retry");
        assert_eq!(escalation.attempts, attempt as u32 + 1);
        let wait = escalation.due_at - at;
        assert!(
            (minutes(backoff) - chrono::Duration::seconds(1)..=minutes(backoff)).contains(&wait),
            "attempt {}: retried after {wait}",
            attempt + 1
        );
        at = escalation.due_at + chrono::Duration::seconds(1);
    }
    sweep(&stack, at).await;
    assert!(
        pending(at).await.is_none(),
        "dropped after the fifth attempt"
    );
    assert!(stack.sms_to(dora.phone()).await.is_empty());
}

#[tokio::test]
async fn a_rooms_subscribers_are_its_members_and_leaving_ends_it() {
    let stack = Stack::from_env();
    let (ana, ben, cara, dan) = (
        stack.person_with_phone("Ana").await,
        stack.person_with_phone("Ben").await,
        stack.person_with_phone("Cara").await,
        stack.person_with_phone("Dan").await,
    );
    let boss = stack.person_with_phone("Boss").await;
    let admin = stack.admin_token(&boss.user_id(), &boss.refresh).await;
    let (status, room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana.token),
            Some(json!({ "kind": "group", "name": "Roof", "memberIds": [ben.id.to_string(), cara.id.to_string()] })),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room = room["room"]["id"].as_str().unwrap().to_owned();
    let path = format!("/me/subscriptions/room:{room}");
    for who in [&ben, &cara] {
        assert_eq!(
            stack.call("PUT", &path, Some(&who.token), None).await.0,
            200
        );
    }
    assert_eq!(
        stack.call("PUT", &path, Some(&dan.token), None).await.0,
        404,
        "not a member"
    );
    let leave = format!("/rooms/{room}/members/{}", cara.id);
    assert_eq!(stack.status("DELETE", &leave, &cara.token).await, 204);

    let (status, report) = stack
        .call(
            "POST",
            "/admin/notifications",
            Some(&admin),
            Some(json!({
                "target": format!("room:{room}"),
                "data": { "title": "Scaffolding", "preview": "Arrives Monday at 8." },
                "idempotencyKey": "roof-1",
            })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1, "only Ben: Cara left, {report}");
    assert_eq!(
        stack.inbox(&ben, "").await["items"][0]["title"],
        "Scaffolding"
    );
    assert_eq!(stack.inbox(&cara, "").await["unread"], 0);
}
