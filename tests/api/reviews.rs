//! Reputation end to end: a completed booking's parties review each other double-blind (both
//! published together, or a lone one when the window closes), the provider's rating moves
//! exactly (also under concurrent publications), helpful votes count once, the provider
//! replies once, admins hide an abusive review, and nobody else reviews, votes, replies or
//! hides; the provider's first response in a booking's thread is measured once, and their
//! portfolio is their own images, open to every signed-in user.

use chrono::{Duration, Utc};
use futures::future::join_all;
use gigwire::cursor::CursorCodec;
use gigwire::domain::{BookingId, Role};
use gigwire::offers::service::Offers;
use gigwire::reviews::model::ReviewRequest;
use gigwire::reviews::service::Reviews;
use gigwire_tests::{Person, Recorder, Stack, png, read_until, round_trips};
use serde_json::{Value, json};

use crate::bookings::{SWEEP, booking_when, caller, offer, purchase, step};
use crate::chat::say;

/// The review window sweep publishes every pending review of the table when run at a
/// future time: the test that does so runs alone (write) while the others run together
/// (read).
static WINDOWS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A provider with a public profile.
pub(crate) async fn provider(stack: &Stack, tag: &str) -> Person {
    crate::jobs::provider_with_profile(stack, &format!("Bruno {tag}")).await
}

/// A booking of `offer` bought by `customer` (purchase `key`), paid, and accepted; the id.
pub(crate) async fn accepted(stack: &Stack, customer: &Person, offer: &str, key: &str) -> String {
    let (status, bought) = purchase(stack, customer, offer, key).await;
    assert_eq!(status, 201, "{bought}");
    let pi = bought["paymentIntentId"].as_str().unwrap();
    let (status, intent) = stack.stripe().confirm(pi, "pm_card_visa").await;
    assert_eq!(status, 200, "{intent}");
    let id = bought["booking"]["id"].as_str().unwrap().to_owned();
    booking_when(stack, customer, &id, "accepted").await;
    id
}

/// Takes an accepted booking to `completed`: started, delivered, confirmed.
pub(crate) async fn complete(stack: &Stack, provider: &Person, customer: &Person, id: &str) {
    for (who, action) in [
        (provider, "start"),
        (provider, "deliver"),
        (customer, "confirm"),
    ] {
        let (status, body) = step(stack, who, id, action, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
}

async fn review(stack: &Stack, who: &Person, id: &str, rating: u32, text: &str) -> (u16, Value) {
    let body = json!({ "rating": rating, "text": text });
    stack
        .call(
            "POST",
            &format!("/bookings/{id}/reviews"),
            Some(&who.token),
            Some(body),
        )
        .await
}

async fn reviews_of(stack: &Stack, who: &Person, id: &str) -> (u16, Value) {
    stack
        .call(
            "GET",
            &format!("/bookings/{id}/reviews"),
            Some(&who.token),
            None,
        )
        .await
}

/// `GET /providers/{id}`.
async fn profile(stack: &Stack, who: &Person, provider: &Person) -> Value {
    let path = format!("/providers/{}", provider.id);
    let (status, body) = stack.call("GET", &path, Some(&who.token), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn provider_reviews(stack: &Stack, who: &Person, provider: &Person, query: &str) -> Value {
    let path = format!("/providers/{}/reviews{query}", provider.id);
    let (status, body) = stack.call("GET", &path, Some(&who.token), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// One review of a booking, addressed by its author's side.
struct Addressed<'a> {
    stack: &'a Stack,
    id: &'a str,
    author: &'a str,
}

impl Addressed<'_> {
    async fn call(
        &self,
        who: &Person,
        method: &str,
        action: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = format!("/bookings/{}/reviews/{}/{action}", self.id, self.author);
        self.stack.call(method, &path, Some(&who.token), body).await
    }

    async fn vote(&self, who: &Person) -> (u16, Value) {
        self.call(who, "PUT", "helpful", None).await
    }

    async fn reply(&self, who: &Person, body: &Value) -> (u16, Value) {
        self.call(who, "PUT", "reply", Some(body.clone())).await
    }

    async fn hide(&self, who: &Person, body: &Value) -> (u16, Value) {
        self.call(who, "POST", "hide", Some(body.clone())).await
    }
}

fn authors(page: &Value) -> Vec<&str> {
    let mut sides: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["author"].as_str().unwrap())
        .collect();
    sides.sort_unstable();
    sides
}

#[tokio::test]
async fn a_booking_s_parties_review_each_other_blind_and_both_are_published_together() {
    let _sweep = SWEEP.read().await;
    let _windows = WINDOWS.read().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Blind").await;
    let ana = stack.person("Ana Blind").await;
    let eve = stack.person("Eve Blind").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let id = accepted(&stack, &ana, &tap, "k1").await;

    // The provider's first answer in the booking's thread is measured once: the customer
    // asks twice, the provider answers twice.
    let (_, detail) = crate::bookings::booking(&stack, &ana, &id).await;
    let room = detail["booking"]["roomId"].as_str().unwrap().to_owned();
    for (who, text) in [
        (&ana, "Is Tuesday fine?"),
        (&ana, "Morning?"),
        (&bruno, "Yes, 9:00."),
        (&bruno, "See you."),
    ] {
        say(&stack, who, &room, text).await;
    }
    let measured = read_until(
        "the first response measured",
        || async { profile(&stack, &eve, &bruno).await },
        |p| p["firstResponse"]["count"] == 1,
    )
    .await;
    let median = measured["firstResponse"]["medianMinutes"].as_u64().unwrap();
    assert!(median <= 1, "answered within the minute: {measured}");

    // A portfolio is the provider's own ready images, which every signed-in user may open.
    let image = stack
        .ready_upload(&bruno, "portfolio_image", "tap.png", "image/png", png(2048))
        .await;
    let theirs = stack
        .ready_upload(&eve, "portfolio_image", "x.png", "image/png", png(2048))
        .await;
    let mut body = json!({ "bio": "Twenty years of pipes.", "specialties": ["leaks"],
        "categories": ["plumbing"], "yearsOfExperience": 20,
        "serviceArea": { "remote": true }, "responseSlaHours": 4, "portfolioFileIds": [theirs] });
    let (status, answer) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&bruno.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (status, &answer["error"]["field"]),
        (400, &json!("portfolioFileIds")),
        "{answer}"
    );
    body["portfolioFileIds"] = json!([image, image]);
    let (status, answer) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&bruno.token),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        profile(&stack, &eve, &bruno).await["portfolioFileIds"],
        json!([image])
    );
    assert_eq!(
        stack
            .status("GET", &format!("/files/{image}"), &eve.token)
            .await,
        200
    );

    // Not completed yet: nothing to review.
    let (status, body) = review(&stack, &ana, &id, 5, "Great").await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = reviews_of(&stack, &ana, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["canReview"], false);
    assert!(body["windowClosesAt"].is_null());

    complete(&stack, &bruno, &ana, &id).await;
    let (status, body) = reviews_of(&stack, &ana, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["canReview"], true, "{body}");
    let closes =
        chrono::DateTime::parse_from_rfc3339(body["windowClosesAt"].as_str().unwrap()).unwrap();
    let week = closes.with_timezone(&Utc) - Utc::now();
    assert!(
        week > Duration::days(6) && week <= Duration::days(7),
        "{body}"
    );

    // Strangers get 404; bad input names its field and writes nothing.
    let (status, _) = review(&stack, &eve, &id, 1, "Terrible").await;
    assert_eq!(status, 404);
    let (status, _) = reviews_of(&stack, &eve, &id).await;
    assert_eq!(status, 404);
    for (rating, text, field) in [(0, "ok", "rating"), (6, "ok", "rating"), (3, " ", "text")] {
        let (status, body) = review(&stack, &ana, &id, rating, text).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    let long = "x".repeat(2001);
    let (status, _) = review(&stack, &ana, &id, 4, &long).await;
    assert_eq!(status, 400);

    // The customer reviews first: only they see it, unpublished; the provider's rating has
    // not moved and the provider sees nothing.
    let (status, mine) = review(&stack, &ana, &id, 4, "Quick and tidy.").await;
    assert_eq!(status, 201, "{mine}");
    assert!(mine["publishedAt"].is_null(), "{mine}");
    assert_eq!(mine["subjectId"], bruno.id.as_str());
    let (status, again) = review(&stack, &ana, &id, 5, "Changed my mind").await;
    assert_eq!(status, 409, "{again}");
    let (_, seen) = reviews_of(&stack, &bruno, &id).await;
    assert_eq!(authors(&seen), Vec::<&str>::new(), "double-blind: {seen}");
    assert_eq!(seen["canReview"], true);
    let (_, own) = reviews_of(&stack, &ana, &id).await;
    assert_eq!(authors(&own), vec!["customer"]);
    assert_eq!(own["canReview"], false);
    assert_eq!(profile(&stack, &eve, &bruno).await["rating"]["count"], 0);

    // The provider's review publishes both at once.
    let (status, theirs) =
        review(&stack, &bruno, &id, 5, "Clear instructions, paid on time.").await;
    assert_eq!(status, 201, "{theirs}");
    assert!(theirs["publishedAt"].is_string(), "{theirs}");
    for who in [&ana, &bruno] {
        let (_, both) = reviews_of(&stack, who, &id).await;
        assert_eq!(authors(&both), vec!["customer", "provider"], "{both}");
        assert!(
            both["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["publishedAt"] == theirs["publishedAt"])
        );
    }
    let seen = profile(&stack, &eve, &bruno).await;
    assert_eq!(seen["rating"]["count"], 1, "{seen}");
    assert_eq!(seen["rating"]["average"], 4.0);
    assert_eq!(seen["rating"]["distribution"], json!([0, 0, 0, 1, 0]));
    assert_eq!(seen["latestReviews"][0]["text"], "Quick and tidy.");
    let listed = provider_reviews(&stack, &eve, &bruno, "?limit=5").await;
    assert_eq!(
        authors(&listed),
        vec!["customer"],
        "only reviews of the provider: {listed}"
    );

    // Each reviewed party is told, once.
    let told = stack
        .notified(&bruno, "review_submitted", "bookingId", &id)
        .await;
    assert_eq!(told["data"]["rating"], 4, "{told}");
    let told = stack
        .notified(&ana, "review_submitted", "bookingId", &id)
        .await;
    assert_eq!(told["data"]["rating"], 5, "{told}");
}

#[tokio::test]
async fn helpful_votes_count_once_the_provider_replies_once_and_admins_hide_abuse() {
    let _sweep = SWEEP.read().await;
    let _windows = WINDOWS.read().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Votes").await;
    let ana = stack.person("Ana Votes").await;
    let eve = stack.person("Eve Votes").await;
    let ops = stack.admin("Ops Votes").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let id = accepted(&stack, &ana, &tap, "k1").await;
    complete(&stack, &bruno, &ana, &id).await;
    let (status, _) = review(&stack, &ana, &id, 1, "Rude and late, avoid!").await;
    assert_eq!(status, 201);

    let theirs = Addressed {
        stack: &stack,
        id: &id,
        author: "customer",
    };
    let reason = json!({ "reason": "Insults the provider." });

    // Not published yet: nobody votes or hides.
    assert_eq!(theirs.vote(&eve).await.0, 404);
    let (status, body) = theirs.hide(&ops, &reason).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = review(&stack, &bruno, &id, 4, "Fine customer.").await;
    assert_eq!(status, 201);
    assert_eq!(profile(&stack, &eve, &bruno).await["rating"]["count"], 1);

    // Votes: once per user, not one's own; the path names a side and a booking.
    for _ in 0..2 {
        let (status, body) = theirs.vote(&eve).await;
        assert_eq!((status, &body["helpful"]), (200, &json!(1)), "{body}");
    }
    let (status, body) = theirs.vote(&bruno).await;
    assert_eq!((status, &body["helpful"]), (200, &json!(2)), "{body}");
    assert_eq!(
        theirs.vote(&ana).await.0,
        403,
        "no vote for one's own review"
    );
    let (status, body) = Addressed {
        author: "someone",
        ..theirs
    }
    .vote(&eve)
    .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("author")),
        "{body}"
    );
    let unknown = Addressed {
        id: "01JD0000000000000000000000",
        ..theirs
    };
    assert_eq!(unknown.vote(&eve).await.0, 404);

    // The reviewed provider replies once; nobody else replies.
    let reply = json!({ "text": "Sorry you felt so; I arrived at the agreed time." });
    for who in [&ana, &eve] {
        assert_eq!(theirs.reply(who, &reply).await.0, 403);
    }
    let mine = Addressed {
        author: "provider",
        ..theirs
    };
    assert_eq!(
        mine.reply(&ana, &reply).await.0,
        403,
        "only a provider replies"
    );
    let (status, body) = theirs.reply(&bruno, &reply).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reply"]["text"], reply["text"]);
    assert_eq!(theirs.reply(&bruno, &reply).await.0, 409);

    // Only admins hide; the aggregates and the listing follow; the author is told.
    for who in [&ana, &bruno, &eve] {
        assert_eq!(theirs.hide(who, &reason).await.0, 403);
    }
    let (status, body) = theirs.hide(&ops, &json!({ "reason": "" })).await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("reason")),
        "{body}"
    );
    let (status, hidden) = theirs.hide(&ops, &reason).await;
    assert_eq!(status, 200, "{hidden}");
    assert_eq!(hidden["hidden"]["reason"], "Insults the provider.");
    let (status, again) = theirs.hide(&ops, &reason).await;
    assert_eq!(
        (status, &again["hidden"]),
        (200, &hidden["hidden"]),
        "hiding twice changes nothing"
    );
    let seen = profile(&stack, &eve, &bruno).await;
    assert_eq!(seen["rating"]["count"], 0, "{seen}");
    assert!(seen["rating"]["average"].is_null(), "{seen}");
    assert_eq!(seen["rating"]["distribution"], json!([0, 0, 0, 0, 0]));
    assert_eq!(
        authors(&provider_reviews(&stack, &eve, &bruno, "").await),
        Vec::<&str>::new()
    );
    assert_eq!(
        theirs.vote(&eve).await.0,
        404,
        "a hidden review takes no votes"
    );
    let hidden_notice = |n: &Value| n["kind"] == "review_submitted" && n["data"]["hidden"] == true;
    let inbox = stack
        .inbox_when(&ana, "?limit=50", |page| {
            page["items"].as_array().unwrap().iter().any(hidden_notice)
        })
        .await;
    let told = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| hidden_notice(n))
        .cloned();
    let told = told.unwrap_or_else(|| panic!("the author is told: {inbox}"));
    assert_eq!(told["data"]["reason"], "Insults the provider.", "{told}");
    // The customer's rating (the provider's review of them) is untouched.
    let (_, both) = reviews_of(&stack, &ana, &id).await;
    assert_eq!(authors(&both), vec!["customer", "provider"]);
}

#[tokio::test]
async fn a_lone_review_is_published_when_the_window_closes_and_not_before() {
    let _sweep = SWEEP.read().await;
    let _windows = WINDOWS.write().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Lone").await;
    let ana = stack.person("Ana Lone").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let id = accepted(&stack, &ana, &tap, "k1").await;
    complete(&stack, &bruno, &ana, &id).await;
    let (status, _) = review(&stack, &ana, &id, 3, "Did the job.").await;
    assert_eq!(status, 201);

    stack
        .run_review_windows(Utc::now() + Duration::days(6))
        .await;
    let (_, seen) = reviews_of(&stack, &bruno, &id).await;
    assert_eq!(authors(&seen), Vec::<&str>::new(), "still blind: {seen}");

    let closed = Utc::now() + Duration::days(7) + Duration::minutes(1);
    stack.run_review_windows(closed).await;
    stack.run_review_windows(closed).await;
    let (_, seen) = reviews_of(&stack, &bruno, &id).await;
    assert_eq!(authors(&seen), vec!["customer"], "{seen}");
    let listed = provider_reviews(&stack, &ana, &bruno, "").await;
    assert_eq!(listed["items"][0]["rating"], 3, "{listed}");
    let rating = &profile(&stack, &ana, &bruno).await["rating"];
    assert_eq!(
        rating["count"], 1,
        "published once although swept twice: {rating}"
    );
    stack
        .notified(&bruno, "review_submitted", "bookingId", &id)
        .await;
}

#[tokio::test]
async fn twenty_concurrent_publications_leave_the_aggregates_exact() {
    let _sweep = SWEEP.read().await;
    let _windows = WINDOWS.read().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Many").await;
    // Five purchases per customer, each of another offer: within the purchase rate limits.
    let mut customers = Vec::new();
    for tag in ["Ana", "Eva", "Ivo", "Rui"] {
        customers.push(stack.person(&format!("{tag} Many")).await);
    }
    let mut offers = Vec::new();
    for n in 0..5 {
        offers.push(offer(&stack, &bruno, &format!("Fix tap {n}"), 4500).await);
    }
    // Set up one at a time: the concurrency under test is the publications'.
    let mut ids = Vec::new();
    for i in 0..20 {
        let customer = &customers[i % 4];
        let id = accepted(&stack, customer, &offers[i / 4], &format!("k{i}")).await;
        complete(&stack, &bruno, customer, &id).await;
        ids.push((i, id));
    }
    for (i, id) in &ids {
        let (status, body) = review(&stack, &bruno, id, 5, "Good customer.").await;
        assert_eq!(status, 201, "{i}: {body}");
    }
    // Each customer review publishes two: 20 concurrent transactions on the provider's
    // aggregates (and 5 on each customer's).
    let answers = join_all(ids.iter().map(|(i, id)| {
        let customer = &customers[i % 4];
        let rating = (*i as u32) % 5 + 1;
        let (stack, id) = (&stack, id.clone());
        async move { review(stack, customer, &id, rating, "Fine work.").await }
    }))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
        assert!(body["publishedAt"].is_string(), "{body}");
    }
    let rating = &profile(&stack, &customers[0], &bruno).await["rating"];
    assert_eq!(rating["count"], 20, "{rating}");
    assert_eq!(rating["distribution"], json!([4, 4, 4, 4, 4]));
    assert_eq!(rating["average"], 3.0);
    // All twenty listed, newest publication first, over pages.
    let first = provider_reviews(&stack, &customers[0], &bruno, "?limit=15").await;
    let empty = provider_reviews(&stack, &customers[0], &bruno, "?limit=15&cursor=").await;
    assert_eq!(
        empty["items"], first["items"],
        "an empty cursor is the first page"
    );
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = provider_reviews(
        &stack,
        &customers[0],
        &bruno,
        &format!("?limit=15&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        first["items"].as_array().unwrap().len() + second["items"].as_array().unwrap().len(),
        20
    );
    let (status, _) = stack
        .call(
            "GET",
            &format!("/providers/{}/reviews?cursor={cursor}", customers[1].id),
            Some(&bruno.token),
            None,
        )
        .await;
    assert_eq!(status, 400, "a cursor is bound to its provider");
}

/// Writing a review and reading a profile, in-process on the real SDK against the emulator's
/// table, every DynamoDB call recorded: a review (waiting or publishing both) within 2
/// sequential round trips, the profile with its rating, reviews and first-response time in 1.
#[tokio::test]
async fn a_review_and_a_profile_stay_within_their_sequential_round_trip_budgets() {
    let _sweep = SWEEP.read().await;
    let _windows = WINDOWS.read().await;
    let stack = Stack::from_env();
    let bruno = provider(&stack, "Cost").await;
    let ana = stack.person("Ana Cost").await;
    let tap = offer(&stack, &bruno, "Fix a leaking tap", 4500).await;
    let id = accepted(&stack, &ana, &tap, "k1").await;
    complete(&stack, &bruno, &ana, &id).await;

    let recorder = Recorder::default();
    let store = recorder.store(&stack).await;
    let cursors = CursorCodec::new(b"any secret: these cursors are not read back");
    let reviews = Reviews {
        store: &store,
        cursors: &cursors,
    };
    let booking = BookingId::parse(&id, "id").unwrap();
    let request = |rating: u32| ReviewRequest {
        rating,
        text: "Fine.".into(),
    };
    let depth = |from: usize| {
        round_trips(&recorder.calls()[from..])
            .into_iter()
            .max()
            .unwrap()
    };

    let waiting = reviews
        .submit(
            &caller(&ana, Role::Customer),
            &booking,
            request(4),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(waiting.published_at.is_none());
    let first = depth(0);
    let before = recorder.calls().len();
    let both = reviews
        .submit(
            &caller(&bruno, Role::Provider),
            &booking,
            request(5),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(both.published_at.is_some());
    let second = depth(before);

    let before = recorder.calls().len();
    let offers = Offers {
        store: &store,
        files: &store,
        cursors: &cursors,
    };
    let shown = offers
        .public_profile(&store, &store, &store, &bruno.user_id())
        .await
        .unwrap();
    assert_eq!(shown.rating.count, 1);
    let profile = depth(before);
    println!(
        "reviews cost: a waiting review {first} sequential DynamoDB round trips, a publishing one {second} (budget 2); \
         the profile {profile} (budget 1)"
    );
    assert!(first <= 2 && second <= 2, "{:?}", recorder.calls());
    assert_eq!(profile, 1, "{:?}", recorder.calls());
}
