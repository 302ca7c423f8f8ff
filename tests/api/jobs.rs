//! Jobs end to end: a customer posts a job with a photo and a PDF; the providers who follow
//! its category are told once (others are not); it is listed, read, edited and cancelled by
//! its poster only; its attachments are visible to providers while it is open; bad input is
//! refused with nothing stored.

use gigwire_tests::{Person, Stack, pdf, png};
use serde_json::{Value, json};

use crate::bookings::category;

fn job(category: &str, attachments: &[&str]) -> Value {
    json!({
        "title": "Fix a dripping shower",
        "description": "The upstairs shower drips all night.\nThe tap is from 1998.",
        "category": category,
        "budget": { "amount": 8000, "currency": "eur" },
        "location": { "remote": false, "area": "Lisbon" },
        "window": { "earliest": "2030-01-10", "latest": "2030-01-20" },
        "attachmentFileIds": attachments,
    })
}

async fn follow(stack: &Stack, who: &Person, category: &str) {
    let path = format!("/me/subscriptions/category:{category}");
    let (status, body) = stack.call("PUT", &path, Some(&who.token), None).await;
    assert_eq!(status, 200, "{body}");
}

/// The `job_posted` notifications about job `id` in `who`'s inbox now.
async fn told_of(stack: &Stack, who: &Person, id: &str) -> Vec<Value> {
    let inbox = stack.inbox(who, "?limit=50").await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "job_posted" && n["data"]["jobId"] == id)
        .cloned()
        .collect()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_posted_job_tells_its_followers_once_and_is_listed_until_its_poster_cancels_it() {
    let stack = Stack::from_env();
    let plumbing = category("jobs");
    let gardening = category("garden");
    let carol = stack.person("Carol Poster").await;
    let pia = stack.provider("Pia Follower", false).await;
    let rui = stack.provider("Rui Follower", false).await;
    let sam = stack.provider("Sam Elsewhere", false).await;
    let dora = stack.person("Dora Customer").await;
    follow(&stack, &pia, &plumbing).await;
    follow(&stack, &rui, &plumbing).await;
    follow(&stack, &sam, &gardening).await;
    let photo = stack
        .ready_upload(&carol, "job_document", "leak.png", "image/png", png(2000))
        .await;
    let plan = stack
        .ready_upload(
            &carol,
            "job_document",
            "plan.pdf",
            "application/pdf",
            pdf(3000),
        )
        .await;

    let (status, posted) = stack
        .call(
            "POST",
            "/jobs",
            Some(&carol.token),
            Some(job(&plumbing, &[&photo, &plan])),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["state"], "open");
    assert_eq!(posted["posterId"], carol.id.as_str());
    assert_eq!(posted["version"], 1);
    let id = posted["id"].as_str().unwrap().to_owned();

    // Both followers of the category are told, once; the gardener is not.
    for who in [&pia, &rui] {
        stack.notified(who, "job_posted", "jobId", &id).await;
        let told = told_of(&stack, who, &id).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["title"], "New job: Fix a dripping shower");
        assert!(
            told[0]["body"].as_str().unwrap().contains("80.00 EUR"),
            "{}",
            told[0]
        );
    }
    assert!(told_of(&stack, &sam, &id).await.is_empty());
    assert!(told_of(&stack, &carol, &id).await.is_empty());

    // Listed in its category, readable by anyone signed in; the poster's own list has it.
    let listing = format!("/jobs?category={plumbing}");
    let (status, page) = stack.call("GET", &listing, Some(&sam.token), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), [id.as_str()]);
    let (status, other) = stack
        .call(
            "GET",
            &format!("/jobs?category={gardening}"),
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!((status, ids(&other).len()), (200, 0), "{other}");
    let path = format!("/jobs/{id}");
    let (status, read) = stack.call("GET", &path, Some(&dora.token), None).await;
    assert_eq!((status, &read), (200, &posted));
    let (status, mine) = stack
        .call("GET", "/me/jobs?state=open", Some(&carol.token), None)
        .await;
    assert_eq!((status, ids(&mine)), (200, vec![id.as_str()]), "{mine}");
    let (_, none) = stack
        .call("GET", "/me/jobs?state=cancelled", Some(&carol.token), None)
        .await;
    assert!(ids(&none).is_empty(), "{none}");
    let (_, theirs) = stack.call("GET", "/me/jobs", Some(&pia.token), None).await;
    assert!(ids(&theirs).is_empty(), "{theirs}");

    // Providers may download the attachments while the job is open; other customers not.
    let file = |f: &str| format!("/files/{f}");
    assert_eq!(stack.status("GET", &file(&photo), &pia.token).await, 200);
    assert_eq!(stack.status("GET", &file(&plan), &sam.token).await, 200);
    assert_eq!(stack.status("GET", &file(&plan), &dora.token).await, 404);

    // Only the poster edits; the category stays; nobody is told again.
    let patch = json!({ "budget": { "amount": 9500, "currency": "eur" },
        "attachmentFileIds": [photo] });
    let (status, body) = stack
        .call("PATCH", &path, Some(&pia.token), Some(patch.clone()))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, edited) = stack
        .call("PATCH", &path, Some(&carol.token), Some(patch))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (&edited["budget"]["amount"], &edited["version"]),
        (&json!(9500), &json!(2))
    );
    // The dropped PDF is no longer shown to providers.
    assert_eq!(stack.status("GET", &file(&plan), &sam.token).await, 404);
    let (status, body) = stack
        .call(
            "PATCH",
            &path,
            Some(&carol.token),
            Some(json!({ "category": "other" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // Someone else's upload cannot be attached.
    let foreign = stack
        .ready_upload(&dora, "job_document", "x.pdf", "application/pdf", pdf(1000))
        .await;
    let (status, body) = stack
        .call(
            "PATCH",
            &path,
            Some(&carol.token),
            Some(json!({ "attachmentFileIds": [photo, foreign] })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, unchanged) = stack.call("GET", &path, Some(&carol.token), None).await;
    assert_eq!(unchanged, edited);

    // Edits racing from two devices: each is applied whole or refused with 409, none lost.
    let racing = futures::future::join_all((0..5).map(|i| {
        let body = json!({ "budget": { "amount": 10_000 + i, "currency": "eur" } });
        stack.call("PATCH", &path, Some(&carol.token), Some(body))
    }))
    .await;
    let applied = racing.iter().filter(|(status, _)| *status == 200).count();
    assert!(applied >= 1, "{racing:?}");
    assert!(
        racing.iter().all(|(status, _)| [200, 409].contains(status)),
        "{racing:?}"
    );
    let (_, now) = stack.call("GET", &path, Some(&carol.token), None).await;
    assert_eq!(now["version"], json!(2 + applied), "{now}");

    // Only the poster cancels: it leaves the listing and is hidden from everyone else.
    let cancel = format!("/jobs/{id}/cancel");
    assert_eq!(stack.status("POST", &cancel, &pia.token).await, 403);
    let (status, cancelled) = stack.call("POST", &cancel, Some(&carol.token), None).await;
    assert_eq!(
        (status, &cancelled["state"]),
        (200, &json!("cancelled")),
        "{cancelled}"
    );
    let (_, page) = stack.call("GET", &listing, Some(&sam.token), None).await;
    assert!(ids(&page).is_empty(), "{page}");
    assert_eq!(stack.status("GET", &path, &pia.token).await, 404);
    assert_eq!(stack.status("GET", &file(&photo), &pia.token).await, 404);
    let (status, own) = stack.call("GET", &path, Some(&carol.token), None).await;
    assert_eq!((status, &own["state"]), (200, &json!("cancelled")));
    let (status, body) = stack.call("POST", &cancel, Some(&carol.token), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{body}"
    );
    let (status, _) = stack
        .call(
            "PATCH",
            &path,
            Some(&carol.token),
            Some(json!({ "title": "Again" })),
        )
        .await;
    assert_eq!(status, 409);
    for who in [&pia, &rui] {
        assert_eq!(told_of(&stack, who, &id).await.len(), 1);
    }
}

#[tokio::test]
async fn bad_jobs_are_refused_by_field_and_nothing_is_stored() {
    let stack = Stack::from_env();
    let plumbing = category("badjobs");
    let eva = stack.person("Eva Bad Jobs").await;
    let other = stack.person("Ola Other").await;
    let theirs = stack
        .ready_upload(
            &other,
            "job_document",
            "x.pdf",
            "application/pdf",
            pdf(1000),
        )
        .await;
    let avatar = stack
        .ready_upload(&eva, "profile_image", "me.png", "image/png", png(1000))
        .await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = job(&plumbing, &[]);
        edit(&mut body);
        body
    };
    cases.push((with(&|b| b["title"] = json!("  ")), "title"));
    cases.push((with(&|b| b["category"] = json!("Plumbing")), "category"));
    cases.push((
        with(&|b| b["budget"]["amount"] = json!(50)),
        "budget.amount",
    ));
    cases.push((
        with(&|b| b["budget"]["currency"] = json!("xyz")),
        "budget.currency",
    ));
    cases.push((
        with(&|b| b["location"] = json!({ "remote": false })),
        "location.area",
    ));
    cases.push((
        with(&|b| b["window"] = json!({ "earliest": "2030-01-10", "latest": "2030-01-01" })),
        "window.latest",
    ));
    cases.push((
        with(&|b| b["window"] = json!({ "earliest": "2020-01-01", "latest": "2020-01-02" })),
        "window.latest",
    ));
    cases.push((
        with(&|b| b["attachmentFileIds"] = json!([theirs])),
        "attachmentFileIds",
    ));
    cases.push((
        with(&|b| b["attachmentFileIds"] = json!([avatar])),
        "attachmentFileIds",
    ));
    cases.push((with(&|b| b["extra"] = json!(1)), ""));
    for (body, field) in cases {
        let (status, answer) = stack
            .call("POST", "/jobs", Some(&eva.token), Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{answer}");
        }
    }
    let (_, mine) = stack.call("GET", "/me/jobs", Some(&eva.token), None).await;
    assert!(ids(&mine).is_empty(), "{mine}");
    let (_, listed) = stack
        .call(
            "GET",
            &format!("/jobs?category={plumbing}"),
            Some(&eva.token),
            None,
        )
        .await;
    assert!(ids(&listed).is_empty(), "{listed}");
    // Bad queries and ids, and no token.
    for path in [
        "/jobs",
        "/jobs?category=Bad!",
        "/me/jobs?state=done",
        "/jobs/not-an-id",
    ] {
        assert_eq!(stack.status("GET", path, &eva.token).await, 400, "{path}");
    }
    let (status, _) = stack
        .call("POST", "/jobs", None, Some(job(&plumbing, &[])))
        .await;
    assert_eq!(status, 401);
    let unknown = format!("/jobs/{}", ulid::Ulid::generate());
    assert_eq!(stack.status("GET", &unknown, &eva.token).await, 404);
}

/// A provider with a public profile (applying needs one).
async fn provider_with_profile(stack: &Stack, tag: &str) -> Person {
    let who = stack.provider(tag, false).await;
    let profile = json!({ "bio": "Pipes and taps.", "specialties": ["leaks"],
        "categories": ["plumbing"], "yearsOfExperience": 7,
        "serviceArea": { "remote": false, "area": "Lisbon" }, "responseSlaHours": 4 });
    let (status, body) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&who.token),
            Some(profile),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    who
}

fn quote(amount: i64) -> Value {
    json!({ "price": { "amount": amount, "currency": "eur" },
        "message": "I can come on Thursday morning.", "proposedStart": "2030-01-12T09:00:00Z" })
}

/// How many `application_received` about job `id` are in `who`'s inbox now.
async fn applications_told(stack: &Stack, who: &Person, id: &str) -> usize {
    let inbox = stack.inbox(who, "?limit=50").await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "application_received" && n["data"]["jobId"] == id)
        .count()
}

#[tokio::test]
async fn providers_apply_once_each_in_their_own_thread_and_only_the_poster_reads_the_quotes() {
    let stack = Stack::from_env();
    let carol = stack.person("Carol Quotes").await;
    let pia = provider_with_profile(&stack, "Pia Quote").await;
    let rui = provider_with_profile(&stack, "Rui Quote").await;
    let bare = stack.provider("Nil Profile", false).await;
    let dora = stack.person("Dora Quotes").await;
    let (status, posted) = stack
        .call(
            "POST",
            "/jobs",
            Some(&carol.token),
            Some(job(&category("quotes"), &[])),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["id"].as_str().unwrap().to_owned();
    let path = format!("/jobs/{id}/application");

    // Who may apply: providers with a profile; not customers, not the poster.
    for (who, why) in [
        (&dora, "a customer"),
        (&bare, "no profile"),
        (&carol, "the poster"),
    ] {
        let (status, body) = stack
            .call("PUT", &path, Some(&who.token), Some(quote(7500)))
            .await;
        assert_eq!(status, 403, "{why}: {body}");
    }
    // Bad quotes name their field and store nothing.
    let mut dollars = quote(7500);
    dollars["price"]["currency"] = json!("usd");
    let mut past = quote(7500);
    past["proposedStart"] = json!("2020-01-01T00:00:00Z");
    for (bad, field) in [(dollars, "price.currency"), (past, "proposedStart")] {
        let (status, body) = stack.call("PUT", &path, Some(&pia.token), Some(bad)).await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{body}"
        );
    }
    let (_, none) = stack
        .call("GET", "/me/applications", Some(&pia.token), None)
        .await;
    assert!(none["items"].as_array().unwrap().is_empty(), "{none}");

    // Both apply: each gets their own room with the poster.
    let (status, first) = stack
        .call("PUT", &path, Some(&pia.token), Some(quote(7500)))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (&first["state"], &first["version"]),
        (&json!("pending"), &json!(1))
    );
    let (status, other) = stack
        .call("PUT", &path, Some(&rui.token), Some(quote(8200)))
        .await;
    assert_eq!(status, 201, "{other}");
    let (pia_room, rui_room) = (
        first["roomId"].as_str().unwrap().to_owned(),
        other["roomId"].as_str().unwrap().to_owned(),
    );
    assert_ne!(pia_room, rui_room);
    let room = |r: &str| format!("/rooms/{r}");
    assert_eq!(
        stack.status("GET", &room(&pia_room), &carol.token).await,
        200
    );
    assert_eq!(stack.status("GET", &room(&pia_room), &pia.token).await, 200);
    assert_eq!(stack.status("GET", &room(&pia_room), &rui.token).await, 404);
    let said = crate::chat::say(&stack, &carol, &pia_room, "Can you bring a new washer?").await;
    let (status, history) = stack
        .call(
            "GET",
            &format!("/rooms/{pia_room}/messages"),
            Some(&pia.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{history}");
    assert!(
        history.to_string().contains(said["id"].as_str().unwrap()),
        "{history}"
    );

    // The poster is told of each, once.
    stack
        .inbox_when(&carol, "?limit=50", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| {
                    n["kind"] == "application_received" && n["data"]["jobId"] == id.as_str()
                })
                .count()
                == 2
        })
        .await;
    assert_eq!(applications_told(&stack, &carol, &id).await, 2);

    // A changed quote from two devices at once: each whole or 409, none lost.
    let racing = futures::future::join_all(
        (0..4).map(|i| stack.call("PUT", &path, Some(&pia.token), Some(quote(7000 + i)))),
    )
    .await;
    let applied = racing.iter().filter(|(status, _)| *status == 200).count();
    assert!(applied >= 1, "{racing:?}");
    assert!(
        racing.iter().all(|(status, _)| [200, 409].contains(status)),
        "{racing:?}"
    );

    // Only the poster reads the quotes, each with the provider's profile.
    let list = format!("/jobs/{id}/applications");
    let (status, quotes) = stack.call("GET", &list, Some(&carol.token), None).await;
    assert_eq!(status, 200, "{quotes}");
    let items = quotes["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{quotes}");
    let pias = items
        .iter()
        .find(|a| a["providerId"] == pia.id.as_str())
        .unwrap();
    assert_eq!(pias["version"], json!(1 + applied), "{pias}");
    assert_eq!(pias["providerProfile"]["yearsOfExperience"], 7);
    for who in [&pia, &dora] {
        assert_eq!(stack.status("GET", &list, &who.token).await, 403);
    }
    let (_, mine) = stack
        .call(
            "GET",
            "/me/applications?state=pending",
            Some(&pia.token),
            None,
        )
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["items"][0]["jobId"], id.as_str());

    // Withdrawing keeps the thread; applying again reuses it and tells nobody again.
    let (status, withdrawn) = stack.call("DELETE", &path, Some(&pia.token), None).await;
    assert_eq!(
        (status, &withdrawn["state"]),
        (200, &json!("withdrawn")),
        "{withdrawn}"
    );
    let (status, _) = stack.call("DELETE", &path, Some(&pia.token), None).await;
    assert_eq!(status, 409);
    let (status, again) = stack
        .call("PUT", &path, Some(&pia.token), Some(quote(6900)))
        .await;
    assert_eq!(
        (status, &again["state"]),
        (200, &json!("pending")),
        "{again}"
    );
    assert_eq!(again["roomId"], pia_room.as_str());
    assert_eq!(stack.status("DELETE", &path, &dora.token).await, 404);

    // A cancelled job takes no more quotes, and is gone for the applicants.
    let (status, _) = stack
        .call(
            "POST",
            &format!("/jobs/{id}/cancel"),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = stack
        .call("PUT", &path, Some(&rui.token), Some(quote(8000)))
        .await;
    assert_eq!(status, 404);
    assert_eq!(applications_told(&stack, &carol, &id).await, 2);
}
