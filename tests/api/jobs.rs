//! Jobs end to end: a customer posts a job with a photo and a PDF; the providers who follow
//! its category are told once (others are not); it is listed, read, edited and cancelled by
//! its poster only; its attachments are visible to providers while it is open; bad input is
//! refused with nothing stored.

use gigwire_tests::{Person, Stack, pdf, png};
use serde_json::{Value, json};

use crate::bookings::category;

pub(crate) fn job(category: &str, attachments: &[&str]) -> Value {
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
    told(stack, who, "job_posted", id).await
}

/// The notifications of `kind` about job `id` in `who`'s inbox now.
async fn told(stack: &Stack, who: &Person, kind: &str, id: &str) -> Vec<Value> {
    about(&stack.inbox(who, "?limit=50").await, kind, id)
}

/// The notifications of `kind` about job `id` in an inbox page.
fn about(page: &Value, kind: &str, id: &str) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["data"]["jobId"] == id)
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
async fn a_follow_narrowed_to_an_area_hears_of_jobs_there_and_of_remote_ones_only() {
    let stack = Stack::from_env();
    let plumbing = category("areas");
    let carol = stack.person("Carol Areas").await;
    let pia = stack.provider("Pia Lisbon", false).await;
    let rui = stack.provider("Rui Porto", false).await;
    let sam = stack.provider("Sam Anywhere", false).await;
    let follow_in = |who: &Person, area: Option<&str>| {
        let path = format!("/me/subscriptions/category:{plumbing}");
        let body = area.map(|a| json!({ "area": a }));
        let token = who.token.clone();
        let stack = &stack;
        async move { stack.call("PUT", &path, Some(&token), body).await }
    };
    let (status, narrowed) = follow_in(&pia, Some(" lisbon ")).await;
    assert_eq!(
        (status, &narrowed["area"]),
        (200, &json!("lisbon")),
        "{narrowed}"
    );
    assert_eq!(follow_in(&rui, Some("Porto")).await.0, 200);
    assert_eq!(follow_in(&sam, None).await.0, 200);
    // Only a category is narrowed; a blank area names nothing.
    let (status, body) = stack
        .call(
            "PUT",
            "/me/subscriptions/topic:news",
            Some(&sam.token),
            Some(json!({ "area": "Lisbon" })),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("area")),
        "{body}"
    );
    let (status, _) = follow_in(&rui, Some("  ")).await;
    assert_eq!(status, 400);

    // On site in Lisbon: Pia (Lisbon) and Sam (anywhere) are told, Rui (Porto) is not.
    let (status, here) = stack
        .call(
            "POST",
            "/jobs",
            Some(&carol.token),
            Some(job(&plumbing, &[])),
        )
        .await;
    assert_eq!(status, 201, "{here}");
    let here = here["id"].as_str().unwrap().to_owned();
    stack.notified(&pia, "job_posted", "jobId", &here).await;
    stack.notified(&sam, "job_posted", "jobId", &here).await;
    assert!(told_of(&stack, &rui, &here).await.is_empty());

    // Remote: every follower.
    let mut remote = job(&plumbing, &[]);
    remote["location"] = json!({ "remote": true });
    let (status, anywhere) = stack
        .call("POST", "/jobs", Some(&carol.token), Some(remote))
        .await;
    assert_eq!(status, 201, "{anywhere}");
    let anywhere = anywhere["id"].as_str().unwrap().to_owned();
    for who in [&pia, &rui, &sam] {
        stack.notified(who, "job_posted", "jobId", &anywhere).await;
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
pub(crate) async fn provider_with_profile(stack: &Stack, tag: &str) -> Person {
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
    told(stack, who, "application_received", id).await.len()
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
            about(page, "application_received", &id).len() == 2
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

/// An open job of `poster` in a category of its own (with `attachments`), and the quotes of
/// `providers` on it (7,500 then 8,200, …): the job id and each provider's room.
async fn job_with_quotes(
    stack: &Stack,
    poster: &Person,
    attachments: &[&str],
    providers: &[&Person],
) -> (String, Vec<String>) {
    let (status, posted) = stack
        .call(
            "POST",
            "/jobs",
            Some(&poster.token),
            Some(job(&category("accept"), attachments)),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["id"].as_str().unwrap().to_owned();
    let mut rooms = Vec::new();
    for (i, who) in providers.iter().enumerate() {
        let (status, applied) = stack
            .call(
                "PUT",
                &format!("/jobs/{id}/application"),
                Some(&who.token),
                Some(quote(7500 + 700 * i as i64)),
            )
            .await;
        assert_eq!(status, 201, "{applied}");
        rooms.push(applied["roomId"].as_str().unwrap().to_owned());
    }
    (id, rooms)
}

async fn accept(stack: &Stack, who: Option<&Person>, job: &str, provider: &Person) -> (u16, Value) {
    let path = format!("/jobs/{job}/applications/{}/accept", provider.id.as_str());
    stack
        .call("POST", &path, who.map(|w| w.token.as_str()), None)
        .await
}

/// The job as `who` reads it once it is in `state` (it follows its booking within seconds).
async fn job_when(stack: &Stack, who: &Person, id: &str, state: &str) -> Value {
    let read = || async {
        let path = format!("/jobs/{id}");
        stack.call("GET", &path, Some(&who.token), None).await.1
    };
    gigwire_tests::read_until(&format!("job {state}"), read, |job| job["state"] == state).await
}

/// `who`'s application to job `id` once it is in `state`.
async fn application_when(stack: &Stack, who: &Person, id: &str, state: &str) -> Value {
    let mine = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["jobId"] == id && a["state"] == state)
            .cloned()
    };
    let read = || async {
        let path = "/me/applications";
        stack.call("GET", path, Some(&who.token), None).await.1
    };
    let page = gigwire_tests::read_until(&format!("application {state}"), read, |page| {
        mine(page).is_some()
    })
    .await;
    mine(&page).unwrap()
}

#[tokio::test]
async fn an_accepted_quote_is_paid_as_a_booking_in_the_same_thread_and_the_others_are_declined() {
    let _sweep = crate::bookings::SWEEP.read().await;
    let stack = Stack::from_env();
    let carol = stack.person("Carol Accepts").await;
    let pia = provider_with_profile(&stack, "Pia Chosen").await;
    let rui = provider_with_profile(&stack, "Rui Declined").await;
    let sam = provider_with_profile(&stack, "Sam Onlooker").await;
    let dora = stack.person("Dora Other").await;
    let photo = stack
        .ready_upload(&carol, "job_document", "leak.png", "image/png", png(2000))
        .await;
    let (id, rooms) = job_with_quotes(&stack, &carol, &[&photo], &[&pia, &rui]).await;
    let thread = rooms[0].clone();

    // Before paying they talk in the application's thread: presence, typing, a file.
    let mut carol_ws = stack.online(&carol).await;
    let mut pia_ws = stack.online(&pia).await;
    let (_, room) = stack
        .call("GET", &format!("/rooms/{thread}"), Some(&carol.token), None)
        .await;
    let online = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == pia.id.as_str())
        .map(|m| m["online"].clone());
    assert_eq!(online, Some(json!(true)), "presence: {room}");
    gigwire_tests::send(
        &mut pia_ws,
        json!({ "action": "typing", "roomId": thread, "state": "start" }),
    )
    .await;
    let typing = gigwire_tests::expect_event(&mut carol_ws, "typing.start").await;
    assert_eq!(typing["userId"], pia.id.as_str());
    let plan = stack.ready_pdf(&pia.token).await;
    let before =
        crate::chat::say_with(&stack, &pia, &thread, json!({ "attachments": [plan] })).await;
    assert_eq!(before["kind"], "attachment");

    // Who may accept: the poster only (the admin reads the quotes, but does not buy).
    let admin = stack.admin_token(&dora.user_id(), &dora.refresh).await;
    let path = format!("/jobs/{id}/applications/{}/accept", pia.id.as_str());
    for (token, why) in [
        (&rui.token, "an applicant"),
        (&sam.token, "another provider"),
        (&dora.token, "another customer"),
        (&admin, "an admin"),
    ] {
        let (status, body) = stack.call("POST", &path, Some(token), None).await;
        assert_eq!(status, 403, "{why}: {body}");
    }
    assert_eq!(accept(&stack, None, &id, &pia).await.0, 401);
    assert_eq!(
        accept(&stack, Some(&carol), &id, &sam).await.0,
        404,
        "no application"
    );

    // Accepted: a booking of the quote, waiting for payment, and the job waits with it.
    let (status, bought) = accept(&stack, Some(&carol), &id, &pia).await;
    assert_eq!(status, 201, "{bought}");
    let booking = &bought["booking"];
    let booking_id = booking["id"].as_str().unwrap().to_owned();
    assert_eq!(booking["state"], "pending_payment");
    assert_eq!(booking["source"], "job_application");
    assert_eq!(
        (booking["jobId"].as_str(), booking["threadId"].as_str()),
        (Some(id.as_str()), Some(thread.as_str()))
    );
    assert_eq!(booking["price"]["amount"], 7500);
    assert_eq!(booking["providerId"], pia.id.as_str());
    let pi = bought["paymentIntentId"].as_str().unwrap().to_owned();
    assert!(
        bought["clientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{pi}_secret_"))
    );
    let (_, waiting) = stack
        .call("GET", &format!("/jobs/{id}"), Some(&carol.token), None)
        .await;
    assert_eq!(
        (&waiting["state"], &waiting["bookingId"]),
        (&json!("awaiting_payment"), &json!(booking_id))
    );
    assert_eq!(
        stack
            .status("GET", &format!("/jobs/{id}"), &rui.token)
            .await,
        404,
        "no longer open"
    );
    let (status, again) = accept(&stack, Some(&carol), &id, &pia).await;
    assert_eq!(
        (status, &again["booking"]["id"], &again["paymentIntentId"]),
        (200, &json!(booking_id), &json!(pi)),
        "{again}"
    );
    let (status, other) = accept(&stack, Some(&carol), &id, &rui).await;
    assert_eq!(status, 409, "{other}");
    assert!(
        other["error"]["message"]
            .as_str()
            .unwrap()
            .contains("awaiting_payment"),
        "{other}"
    );
    let (status, _) = stack
        .call(
            "PUT",
            &format!("/jobs/{id}/application"),
            Some(&sam.token),
            Some(quote(6000)),
        )
        .await;
    assert_eq!(status, 404, "no quotes while it waits for payment");

    // Paid through Stripe: the booking is accepted in the same thread, history kept; the job
    // is assigned; the other quote is declined and its provider told.
    let (status, intent) = stack.stripe().confirm(&pi, "pm_card_visa").await;
    assert_eq!(
        (status, &intent["status"]),
        (200, &json!("succeeded")),
        "{intent}"
    );
    let detail = crate::bookings::booking_when(&stack, &carol, &booking_id, "accepted").await;
    assert_eq!(detail["booking"]["roomId"], thread.as_str());
    let (status, history) = stack
        .call(
            "GET",
            &format!("/rooms/{thread}/messages"),
            Some(&pia.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        history.to_string().contains(before["id"].as_str().unwrap()),
        "{history}"
    );
    let assigned = job_when(&stack, &carol, &id, "assigned").await;
    assert_eq!(assigned["assigneeId"], pia.id.as_str());
    let declined = stack.notified(&rui, "booking_declined", "jobId", &id).await;
    assert!(
        declined["body"]
            .as_str()
            .unwrap()
            .contains("Fix a dripping shower"),
        "{declined}"
    );
    application_when(&stack, &rui, &id, "declined").await;
    let chosen = application_when(&stack, &pia, &id, "accepted").await;
    assert_eq!(chosen["bookingId"], booking_id.as_str());
    stack
        .notified(&pia, "provider_assigned", "bookingId", &booking_id)
        .await;

    // The job's photo is now the two parties' alone.
    let file = format!("/files/{photo}");
    assert_eq!(stack.status("GET", &file, &pia.token).await, 200);
    assert_eq!(stack.status("GET", &file, &rui.token).await, 404);
    assert_eq!(stack.status("GET", &file, &sam.token).await, 404);

    // The booking flows as any other; its end closes the job.
    for (who, action) in [(&pia, "start"), (&pia, "deliver"), (&carol, "confirm")] {
        let (status, body) = crate::bookings::step(&stack, who, &booking_id, action, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    job_when(&stack, &carol, &id, "closed").await;
    let (status, _) = accept(&stack, Some(&carol), &id, &rui).await;
    assert_eq!(status, 409);
    // Rui was told once, whatever the stream redelivered.
    let declined = told(&stack, &rui, "booking_declined", &id).await;
    assert_eq!(declined.len(), 1, "{declined:?}");
}

#[tokio::test]
async fn ten_concurrent_accepts_of_two_quotes_make_one_booking_and_one_payment() {
    let _sweep = crate::bookings::SWEEP.read().await;
    let stack = Stack::from_env();
    let carol = stack.person("Carol Races").await;
    let pia = provider_with_profile(&stack, "Pia Race").await;
    let rui = provider_with_profile(&stack, "Rui Race").await;
    let (id, _) = job_with_quotes(&stack, &carol, &[], &[&pia, &rui]).await;
    let answers = futures::future::join_all((0..10).map(|i| {
        accept(
            &stack,
            Some(&carol),
            &id,
            if i % 2 == 0 { &pia } else { &rui },
        )
    }))
    .await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    let won: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| [200, 201].contains(s))
        .map(|(_, b)| b)
        .collect();
    let booking = &won[0]["booking"]["id"];
    let provider = &won[0]["booking"]["providerId"];
    for body in &won {
        assert_eq!(
            (&body["booking"]["id"], &body["paymentIntentId"]),
            (booking, &won[0]["paymentIntentId"]),
            "{body}"
        );
    }
    for (status, body) in &answers {
        if *status == 409 {
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("awaiting_payment"),
                "{body}"
            );
        } else {
            assert_eq!(
                &body["booking"]["providerId"], provider,
                "only the winner's quote answers 2xx: {body}"
            );
        }
    }
    let (_, mine) = stack
        .call("GET", "/bookings?role=customer", Some(&carol.token), None)
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
}

#[tokio::test]
async fn an_unpaid_acceptance_reopens_the_job_and_a_cancelled_job_declines_its_quotes() {
    // The payment window's expiry is the timer sweep's, run ahead of time: alone.
    let _sweep = crate::bookings::SWEEP.write().await;
    let stack = Stack::from_env();
    let carol = stack.person("Carol Reopens").await;
    let pia = provider_with_profile(&stack, "Pia Unpaid").await;
    let rui = provider_with_profile(&stack, "Rui Withdrawn").await;
    let (id, _) = job_with_quotes(&stack, &carol, &[], &[&pia, &rui]).await;

    // A withdrawn quote cannot be accepted.
    let (status, _) = stack
        .call(
            "DELETE",
            &format!("/jobs/{id}/application"),
            Some(&rui.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = accept(&stack, Some(&carol), &id, &rui).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("withdrawn"),
        "{body}"
    );

    // Accepted, never paid: the payment window closes, the job is open and listed again and
    // the quote stands again; accepting it again makes a new booking.
    let (status, first) = accept(&stack, Some(&carol), &id, &pia).await;
    assert_eq!(status, 201, "{first}");
    let first_id = first["booking"]["id"].as_str().unwrap().to_owned();
    stack
        .run_booking_timers(chrono::Utc::now() + chrono::Duration::minutes(16))
        .await;
    crate::bookings::booking_when(&stack, &carol, &first_id, "payment_expired").await;
    let reopened = job_when(&stack, &carol, &id, "open").await;
    assert_eq!(
        (&reopened["bookingId"], &reopened["assigneeId"]),
        (&Value::Null, &Value::Null)
    );
    let listed = stack
        .call(
            "GET",
            &format!("/jobs?category={}", reopened["category"].as_str().unwrap()),
            Some(&rui.token),
            None,
        )
        .await;
    assert_eq!(ids(&listed.1), [id.as_str()]);
    application_when(&stack, &pia, &id, "pending").await;
    let (status, second) = accept(&stack, Some(&carol), &id, &pia).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["booking"]["id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, first_id);

    // The customer cancels that checkout: open again; then she cancels the job and the
    // pending quote is declined (its provider told); the withdrawn one is left alone.
    let (status, body) = crate::bookings::step(&stack, &carol, &second_id, "cancel", None).await;
    assert_eq!(status, 200, "{body}");
    job_when(&stack, &carol, &id, "open").await;
    application_when(&stack, &pia, &id, "pending").await;
    let (status, cancelled) = stack
        .call(
            "POST",
            &format!("/jobs/{id}/cancel"),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(
        (status, &cancelled["state"]),
        (200, &json!("cancelled")),
        "{cancelled}"
    );
    let notice = stack.notified(&pia, "booking_declined", "jobId", &id).await;
    assert_eq!(notice["data"]["reason"], "the job was cancelled");
    application_when(&stack, &pia, &id, "declined").await;
    application_when(&stack, &rui, &id, "withdrawn").await;
    assert!(told(&stack, &rui, "booking_declined", &id).await.is_empty());
    let (status, _) = accept(&stack, Some(&carol), &id, &pia).await;
    assert_eq!(status, 409, "a cancelled job accepts nothing");
}

#[tokio::test]
async fn accepting_a_quote_stays_within_three_sequential_round_trips() {
    use gigwire::domain::{JobId, Role};

    let _sweep = crate::bookings::SWEEP.read().await;
    let stack = Stack::from_env();
    let carol = stack.person("Carol Cost").await;
    let pia = provider_with_profile(&stack, "Pia Cost").await;
    let (id, _) = job_with_quotes(&stack, &carol, &[], &[&pia]).await;
    let recorder = gigwire_tests::Recorder::default();
    let services = stack.in_process(Some(recorder.store(&stack).await)).await;
    let local = crate::bookings::InProcessBookings::new(&stack);
    let news = services.notifications();
    let bookings = local.service(&services, &news);
    let caller = crate::bookings::caller(&carol, Role::Customer);
    let (purchase, created) = gigwire::jobs::service::accept(
        &bookings,
        &services.store,
        &caller,
        &JobId::parse(&id, "id").unwrap(),
        &pia.user_id(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(created && purchase.client_secret.is_some());
    let calls = recorder.calls();
    let depth = gigwire_tests::round_trips(&calls)
        .into_iter()
        .max()
        .unwrap();
    println!(
        "jobs cost: accepting a quote {depth} sequential DynamoDB round trips ({} calls, budget 3)",
        calls.len()
    );
    assert!(depth <= 3, "{calls:?}");
}
