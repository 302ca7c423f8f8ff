//! Scheduling end to end: a provider keeps an availability plan in their time zone; a
//! customer reads an offer's free slots across a DST change, with peak prices and a closed
//! date; bad plans and ranges are refused by field; only providers keep a plan.

use gigwire_tests::Stack;
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
