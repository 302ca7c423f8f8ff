//! Provider profiles and offers: publishing, listing by category and provider, pausing,
//! editing, deleting, validation, and who may do what (customers, other providers, no token).

use gigwire_tests::{Person, Stack};
use serde_json::{Value, json};

/// A brand-new user who took the provider role (and a token that carries it).
async fn provider(stack: &Stack, tag: &str) -> Person {
    stack.provider(tag, false).await
}

/// A category of this test run only, so listings see only this test's offers.
fn category(tag: &str) -> String {
    format!(
        "{tag}-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

fn offer_body(category: &str, title: &str, amount: i64) -> Value {
    json!({
        "title": title,
        "description": "Parts and labour included.",
        "category": category,
        "price": { "amount": amount, "currency": "eur" },
        "durationMinutes": 60
    })
}

async fn publish(stack: &Stack, who: &Person, body: Value) -> Value {
    let (status, offer) = stack
        .call("POST", "/offers", Some(&who.token), Some(body))
        .await;
    assert_eq!(status, 201, "{offer}");
    offer
}

async fn titles(stack: &Stack, who: &Person, path: &str) -> Vec<String> {
    let (status, page) = stack.call("GET", path, Some(&who.token), None).await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_provider_publishes_buyers_browse_and_a_paused_offer_disappears_for_them() {
    let stack = Stack::from_env();
    let (bruno, ana) = (provider(&stack, "bruno").await, stack.person("ana").await);
    let plumbing = category("plumbing");
    let tap = publish(
        &stack,
        &bruno,
        offer_body(&plumbing, "Fix a leaking tap", 4500),
    )
    .await;
    let boiler = publish(
        &stack,
        &bruno,
        offer_body(&plumbing, "Service a boiler", 9000),
    )
    .await;
    assert_eq!(tap["status"], "active");
    assert_eq!(tap["providerId"], bruno.id.as_str());
    assert_eq!(tap["price"], json!({ "amount": 4500, "currency": "eur" }));

    // Newest first, by category and by provider; pages follow the cursor.
    let listing = format!("/offers?category={plumbing}");
    assert_eq!(
        titles(&stack, &ana, &listing).await,
        ["Service a boiler", "Fix a leaking tap"]
    );
    let (_, first) = stack
        .call("GET", &format!("{listing}&limit=1"), Some(&ana.token), None)
        .await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let next = format!("{listing}&limit=1&cursor={cursor}");
    assert_eq!(titles(&stack, &ana, &next).await, ["Fix a leaking tap"]);
    let of_bruno = format!("/providers/{}/offers", bruno.id);

    // Paused: gone for buyers (detail, category, provider list), still there for Bruno.
    let tap_path = format!("/offers/{}", tap["id"].as_str().unwrap());
    let pause = json!({ "status": "paused" });
    let (status, paused) = stack
        .call("PATCH", &tap_path, Some(&bruno.token), Some(pause))
        .await;
    assert_eq!(
        (status, paused["status"].as_str()),
        (200, Some("paused")),
        "{paused}"
    );
    assert_eq!(stack.status("GET", &tap_path, &ana.token).await, 404);
    assert_eq!(stack.status("GET", &tap_path, &bruno.token).await, 200);
    assert_eq!(titles(&stack, &ana, &listing).await, ["Service a boiler"]);
    assert_eq!(titles(&stack, &ana, &of_bruno).await, ["Service a boiler"]);
    let mine = titles(&stack, &bruno, &of_bruno).await;
    assert_eq!(mine, ["Service a boiler", "Fix a leaking tap"]);

    // Listed again, in another category and at another price.
    let electric = category("electric");
    let change = json!({ "status": "active", "category": electric, "price": { "amount": 5000, "currency": "eur" } });
    let (status, moved) = stack
        .call("PATCH", &tap_path, Some(&bruno.token), Some(change))
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(titles(&stack, &ana, &listing).await, ["Service a boiler"]);
    let electric_list = format!("/offers?category={electric}");
    assert_eq!(
        titles(&stack, &ana, &electric_list).await,
        ["Fix a leaking tap"]
    );

    // Deleted: gone everywhere.
    let boiler_path = format!("/offers/{}", boiler["id"].as_str().unwrap());
    assert_eq!(
        stack.status("DELETE", &boiler_path, &bruno.token).await,
        204
    );
    assert_eq!(stack.status("GET", &boiler_path, &bruno.token).await, 404);
    assert!(titles(&stack, &ana, &listing).await.is_empty());
}

#[tokio::test]
async fn only_providers_publish_and_only_the_owner_changes_an_offer() {
    let stack = Stack::from_env();
    let (bruno, carla) = (
        provider(&stack, "bruno").await,
        provider(&stack, "carla").await,
    );
    let ana = stack.person("ana").await;
    let plumbing = category("plumbing");
    let body = offer_body(&plumbing, "Fix a leaking tap", 4500);
    let (status, err) = stack
        .call("POST", "/offers", Some(&ana.token), Some(body.clone()))
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = stack
        .call("POST", "/offers", None, Some(body.clone()))
        .await;
    assert_eq!(status, 401);

    let offer = publish(&stack, &bruno, body).await;
    let path = format!("/offers/{}", offer["id"].as_str().unwrap());
    let rename = json!({ "title": "Mine now" });
    for who in [&carla, &ana] {
        let (status, _) = stack
            .call("PATCH", &path, Some(&who.token), Some(rename.clone()))
            .await;
        assert_eq!(status, 403);
        assert_eq!(stack.status("DELETE", &path, &who.token).await, 403);
    }
    // A paused offer does not exist for anyone else: 404, not 403.
    let pause = json!({ "status": "paused" });
    let (status, _) = stack
        .call("PATCH", &path, Some(&bruno.token), Some(pause))
        .await;
    assert_eq!(status, 200);
    let (status, _) = stack
        .call("PATCH", &path, Some(&carla.token), Some(rename))
        .await;
    assert_eq!(status, 404);
    assert_eq!(stack.status("DELETE", &path, &carla.token).await, 404);
    let (status, _) = stack.call("GET", &path, None, None).await;
    assert_eq!(status, 401);
    let (_, kept) = stack.call("GET", &path, Some(&bruno.token), None).await;
    assert_eq!(kept["title"], "Fix a leaking tap");
}

#[tokio::test]
async fn bad_offers_are_refused_naming_the_field_and_nothing_is_stored() {
    let stack = Stack::from_env();
    let (bruno, carla) = (
        provider(&stack, "bruno").await,
        provider(&stack, "carla").await,
    );
    let plumbing = category("plumbing");
    let mut cases = Vec::new();
    for (amount, currency, field) in [
        (-4500, "eur", "price.amount"),
        (0, "eur", "price.amount"),
        (1_000_000_000, "eur", "price.amount"),
        (4500, "xyz", "price.currency"),
    ] {
        let mut body = offer_body(&plumbing, "Fix a leaking tap", amount);
        body["price"]["currency"] = json!(currency);
        cases.push((body, field));
    }
    let mut long = offer_body(&plumbing, &"x".repeat(101), 4500);
    cases.push((long.clone(), "title"));
    long["title"] = json!("Fix");
    long["durationMinutes"] = json!(5);
    cases.push((long, "durationMinutes"));
    // Images must be the provider's own ready images: Carla's upload is not Bruno's.
    let (_, ticket) = stack
        .call(
            "POST",
            "/files",
            Some(&carla.token),
            Some(json!({ "purpose": "portfolio_image", "fileName": "a.png", "contentType": "image/png", "size": 100 })),
        )
        .await;
    let mut theirs = offer_body(&plumbing, "Fix a leaking tap", 4500);
    theirs["imageFileIds"] = json!([ticket["file"]["id"]]);
    cases.push((theirs, "imageFileIds"));
    // A price is an object, not an array read by position.
    let mut by_position = offer_body(&plumbing, "Fix a leaking tap", 4500);
    by_position["price"] = json!([4500, "eur"]);
    cases.push((by_position, "price"));
    for (body, field) in cases {
        let (status, err) = stack
            .call("POST", "/offers", Some(&bruno.token), Some(body))
            .await;
        assert_eq!(status, 400, "{field}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let listing = format!("/offers?category={plumbing}");
    assert!(titles(&stack, &bruno, &listing).await.is_empty());
    let (status, err) = stack
        .call(
            "GET",
            "/offers?category=Not%20A%20Slug",
            Some(&bruno.token),
            None,
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("category"))
    );
}

#[tokio::test]
async fn providers_keep_a_public_profile_that_customers_cannot_create() {
    let stack = Stack::from_env();
    let (bruno, ana) = (provider(&stack, "bruno").await, stack.person("ana").await);
    let profile = json!({
        "bio": "Twenty years of pipes.",
        "specialties": ["boilers", "leaks"],
        "categories": ["plumbing"],
        "yearsOfExperience": 20,
        "serviceArea": { "remote": false, "area": "Lisbon" },
        "responseSlaHours": 4
    });
    let (status, _) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&ana.token),
            Some(profile.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, saved) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&bruno.token),
            Some(profile),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let (status, read) = stack
        .call(
            "GET",
            &format!("/providers/{}", bruno.id),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["serviceArea"]["area"], "Lisbon");
    assert_eq!(read["specialties"], json!(["boilers", "leaks"]));
    assert_eq!(read["canBePaid"], false, "no payout account yet");
    let nobody = format!("/providers/{}", ana.id);
    assert_eq!(stack.status("GET", &nobody, &bruno.token).await, 404);
    let nowhere = json!({ "bio": "", "specialties": [], "categories": [], "yearsOfExperience": 1, "serviceArea": { "remote": false }, "responseSlaHours": 4 });
    let (status, err) = stack
        .call(
            "PUT",
            "/me/provider-profile",
            Some(&bruno.token),
            Some(nowhere),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("serviceArea"))
    );
}
