//! Helpers for the end-to-end tests: the deployed stack's addresses (from the environment that
//! `infra/test.sh` writes after deploying to the local emulator), sign-in through the real
//! emailed code, WebSocket clients and direct table access for checks the API cannot show.
//! Each test isolates itself by signing up its own fresh users, so tests run in parallel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use futures::{SinkExt, StreamExt};
use gigwire::adapters::{ApiGatewayPusher, SnsPush};
use gigwire::auth::{SigningKey, TokenIssuer};
use gigwire::chat::service::Chat;
use gigwire::notifications::service::Notifications;
use gigwire::store::dynamo::DynamoStore;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket client connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The deployed stack under test.
pub struct Stack {
    /// Base URL of the HTTP API.
    pub http: String,
    /// URL of the WebSocket stage.
    pub ws: String,
    /// The emulator's base URL (for its mailbox).
    pub emulator: String,
    /// The stack's table.
    pub table: String,
    /// HTTP client.
    pub client: reqwest::Client,
    signing_key: String,
    next_signing_key: String,
    issuer: String,
    audience: String,
}

/// A variable the test command exports after deploying the stack. Without it these are not
/// tests of anything: the whole run stops with one clear message (and a failing status)
/// instead of every end-to-end test panicking on its own.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!(
            "\n{name} is not set. The end-to-end tests need the local stack: run them with \
             infra/test.sh, which starts the emulator, deploys template.yaml and runs every \
             test (the unit tests alone: cargo test --workspace --lib).\n"
        );
        std::process::exit(2)
    })
}

impl Stack {
    /// Reads the stack's addresses from the environment.
    pub fn from_env() -> Self {
        Self {
            http: env("GIGWIRE_HTTP_URL"),
            ws: env("GIGWIRE_WS_URL"),
            emulator: env("AWS_ENDPOINT_URL"),
            table: env("GIGWIRE_TABLE"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            signing_key: env("GIGWIRE_JWT_SIGNING_KEY"),
            next_signing_key: env("GIGWIRE_JWT_NEXT_SIGNING_KEY"),
            issuer: env("GIGWIRE_JWT_ISSUER"),
            audience: env("GIGWIRE_JWT_AUDIENCE"),
        }
    }

    /// The stack's current private signing key (the test stack's SSM parameter value).
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_stored(&self.signing_key).expect("GIGWIRE_JWT_SIGNING_KEY")
    }

    /// The key a rotation is moving to: the test stack's authorizers already accept it.
    pub fn next_signing_key(&self) -> SigningKey {
        SigningKey::from_stored(&self.next_signing_key).expect("GIGWIRE_JWT_NEXT_SIGNING_KEY")
    }

    /// An issuer with `key` and the stack's issuer and audience.
    pub fn issuer_with(&self, key: &SigningKey) -> TokenIssuer {
        TokenIssuer::new(key, &self.issuer, &self.audience)
    }

    /// An issuer with the stack's own key, issuer and audience (to mint expired tokens).
    pub fn tokens(&self) -> TokenIssuer {
        self.issuer_with(&self.signing_key())
    }

    /// Same key, another audience.
    pub fn foreign_tokens(&self) -> TokenIssuer {
        TokenIssuer::new(&self.signing_key(), &self.issuer, "another-api")
    }

    /// The Management API endpoint the functions post through.
    pub fn management_endpoint(&self) -> String {
        self.ws
            .replacen("ws://", "http://", 1)
            .replacen("wss://", "https://", 1)
    }

    /// Makes `user` an admin directly in the table (admins are only made by admins) and
    /// returns an access token carrying the role, minted by a refresh.
    pub async fn admin_token(&self, user: &gigwire::domain::UserId, refresh: &Value) -> String {
        use gigwire::domain::{ProfileChanges, Role};
        use gigwire::me::store::UserStore;
        let changes = ProfileChanges {
            roles: Some([Role::Customer, Role::Admin].into_iter().collect()),
            ..Default::default()
        };
        self.store()
            .await
            .update_profile(user, &changes, chrono::Utc::now())
            .await
            .unwrap();
        let (status, tokens) = self.refresh(refresh).await;
        assert_eq!(status, 200, "{tokens}");
        tokens["accessToken"].as_str().unwrap().to_owned()
    }

    /// The services over `store` (e.g. one whose client records its calls), or over a plain
    /// client of the stack's table.
    pub async fn in_process(&self, store: Option<DynamoStore>) -> InProcess {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let application = std::env::var("GIGWIRE_PUSH_APPLICATION_ARN").ok();
        InProcess {
            store: store.unwrap_or_else(|| DynamoStore::from_sdk(&sdk, &self.table)),
            pusher: ApiGatewayPusher::from_sdk(&sdk, &self.management_endpoint()),
            push: SnsPush::from_sdk(&sdk, application.as_deref()),
        }
    }

    /// Sets one attribute of an existing item to `value`: for a test that ages what only
    /// time changes (a booking completed long ago).
    pub async fn set_attribute(
        &self,
        key: &gigwire::keys::Key,
        name: &str,
        value: aws_sdk_dynamodb::types::AttributeValue,
    ) {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&sdk)
            .update_item()
            .table_name(&self.table)
            .key(gigwire::keys::PK, S(key.pk.clone()))
            .key(gigwire::keys::SK, S(key.sk.clone()))
            .update_expression("SET #name = :value")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#name", name)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .unwrap();
    }

    /// A store on the stack's table whose client runs `interceptor` on every call (to count,
    /// hold back or measure requests on the real SDK).
    pub async fn store_intercepted(&self, interceptor: impl Intercept + 'static) -> DynamoStore {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(interceptor)
            .build();
        DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), &self.table)
    }

    /// How many items of index `GSI1`'s partition `pk` a query reads: all of them, or (with
    /// `due`) those whose due-time sort key is at most `due`, as the timer sweeps ask (the
    /// query's scanned count, summed over its pages).
    pub async fn count_gsi1(&self, pk: &str, due: Option<chrono::DateTime<chrono::Utc>>) -> usize {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let condition = match due {
            Some(_) => "#pk = :pk AND #sk <= :bound",
            None => "#pk = :pk",
        };
        let (mut scanned, mut start) = (0, None);
        loop {
            let mut query = client
                .query()
                .table_name(&self.table)
                .index_name(gigwire::keys::GSI1)
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", gigwire::keys::GSI1PK)
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
                )
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start);
            if let Some(due) = due {
                query = query
                    .expression_attribute_names("#sk", gigwire::keys::GSI1SK)
                    .expression_attribute_values(
                        ":bound",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!(
                            "{:015}~",
                            due.timestamp_millis()
                        )),
                    );
            }
            let page = query.send().await.expect("count query");
            scanned += usize::try_from(page.scanned_count).unwrap_or(0);
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return scanned,
            }
        }
    }

    /// Direct access to the stack's table.
    pub async fn store(&self) -> DynamoStore {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        DynamoStore::from_sdk(&sdk, &self.table)
    }

    /// Sends a request; `body` is sent as raw text when it is a JSON string, else as JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, body) = self.call_retry_after(method, path, token, body).await;
        (status, body)
    }

    /// [`Stack::call`], also answering the `Retry-After` header in seconds, when there is one.
    pub async fn call_retry_after(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Option<u64>, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{}", self.http, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req = match body {
            Some(Value::String(raw)) => req.header("content-type", "application/json").body(raw),
            Some(value) => req.json(&value),
            None => req,
        };
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = resp.text().await.unwrap();
        (
            status,
            retry_after,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Only the status of a bodiless authenticated request.
    pub async fn status(&self, method: &str, path: &str, token: &str) -> u16 {
        self.call(method, path, Some(token), None).await.0
    }

    /// Asks for a sign-in code and reads it from the emulator's captured email.
    pub async fn request_code(&self, email: &str) -> String {
        let before = self.emails_to(email).await.len();
        let (status, body) = self
            .call("POST", "/auth/otp", None, Some(json!({ "email": email })))
            .await;
        assert_eq!(status, 202, "{body}");
        for _ in 0..50 {
            let emails = self.emails_to(email).await;
            if emails.len() > before {
                let subject = emails.last().unwrap()["Subject"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                return subject.rsplit(' ').next().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no sign-in email reached {email}");
    }

    /// Every email the emulator captured for `to`, oldest first.
    pub async fn emails_to(&self, to: &str) -> Vec<Value> {
        let all: Value = self
            .client
            .get(format!("{}/_ministack/ses/messages", self.emulator))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut found: Vec<Value> = all["messages"]
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .flat_map(|messages| messages.as_array().cloned().unwrap_or_default())
            .filter(|m| {
                m["To"]
                    .as_array()
                    .is_some_and(|to_list| to_list.iter().any(|t| t == to))
            })
            .collect();
        found.sort_by(|a, b| {
            a["Timestamp"]
                .as_f64()
                .partial_cmp(&b["Timestamp"].as_f64())
                .unwrap()
        });
        found
    }

    /// Submits a code for `email`.
    pub async fn verify(&self, email: &str, code: &str) -> (u16, Value) {
        let body = json!({ "email": email, "code": code });
        self.call("POST", "/auth/otp/verify", None, Some(body))
            .await
    }

    /// Redeems a refresh token (any JSON value, so tests can send wrong shapes).
    pub async fn refresh(&self, token: &Value) -> (u16, Value) {
        self.call(
            "POST",
            "/auth/refresh",
            None,
            Some(json!({ "refreshToken": token })),
        )
        .await
    }

    /// Signs in through the emailed code; returns the token response. Setting up a test's
    /// people is not what it tests: a sign-in the local emulator timed out (a cold start
    /// while a load test saturates the machine) is made again with a new code, once.
    pub async fn sign_in(&self, email: &str) -> Value {
        let code = self.request_code(email).await;
        let (status, body) = self.verify(email, &code).await;
        if status == 502 && body.to_string().contains("Sandbox.Timedout") {
            let code = self.request_code(email).await;
            let (status, body) = self.verify(email, &code).await;
            assert_eq!(status, 200, "{body}");
            return body;
        }
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Signs up a brand-new user; returns (access token, token response).
    pub async fn new_user(&self, tag: &str) -> (String, Value) {
        let body = self.sign_in(&unique_email(tag)).await;
        (body["accessToken"].as_str().unwrap().to_owned(), body)
    }

    /// A ready upload of `who`: declared for `purpose`, posted to S3 and completed; its id.
    pub async fn ready_upload(
        &self,
        who: &Person,
        purpose: &str,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> String {
        let body = json!({ "purpose": purpose, "fileName": file_name,
            "contentType": content_type, "size": bytes.len() });
        let (status, ticket) = self
            .call("POST", "/files", Some(&who.token), Some(body))
            .await;
        assert_eq!(status, 201, "{ticket}");
        assert!(self.upload(&ticket, bytes, |_| {}).await.is_success());
        let id = ticket["file"]["id"].as_str().unwrap().to_owned();
        let path = format!("/files/{id}/complete");
        let (status, done) = self.call("POST", &path, Some(&who.token), None).await;
        assert_eq!(status, 200, "{done}");
        id
    }

    /// POSTs `bytes` to S3 with the form of an upload ticket, after `edit` may change fields.
    pub async fn upload(
        &self,
        ticket: &Value,
        bytes: Vec<u8>,
        edit: impl FnOnce(&mut [(String, String)]),
    ) -> reqwest::StatusCode {
        let upload = &ticket["upload"];
        let mut fields: Vec<(String, String)> = upload["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        edit(&mut fields);
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name, value);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("upload"),
        );
        let resp = self
            .client
            .post(upload["url"].as_str().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap();
        resp.status()
    }

    /// The environment variables of every function of the deployed stack, by function name:
    /// what anyone allowed to read the functions' configuration sees.
    pub async fn function_environments(
        &self,
    ) -> std::collections::BTreeMap<String, std::collections::HashMap<String, String>> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let stack = format!("{}-", env("GIGWIRE_STACK"));
        let functions: Vec<_> = aws_sdk_lambda::Client::new(&sdk)
            .list_functions()
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|f| f.expect("list functions"))
            .collect();
        functions
            .into_iter()
            .filter(|f| f.function_name().is_some_and(|n| n.starts_with(&stack)))
            .map(|f| {
                let variables = f
                    .environment()
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                (f.function_name().unwrap_or_default().to_owned(), variables)
            })
            .collect()
    }

    /// Runs the scheduled cleanup of stale uploads now, through the Lambda Invoke API.
    pub async fn run_cleanup(&self) {
        self.run_schedule("GIGWIRE_CLEANUP_FUNCTION", chrono::Utc::now())
            .await;
    }

    /// Runs the booking timer sweep as if the schedule fired at `at`.
    pub async fn run_booking_timers(&self, at: chrono::DateTime<chrono::Utc>) {
        self.run_schedule("GIGWIRE_BOOKING_TIMERS_FUNCTION", at)
            .await;
    }

    /// Runs the review window sweep as if the schedule fired at `at`.
    pub async fn run_review_windows(&self, at: chrono::DateTime<chrono::Utc>) {
        self.run_schedule("GIGWIRE_REVIEW_WINDOWS_FUNCTION", at)
            .await;
    }

    /// The Stripe-compatible test server the stack calls.
    pub fn stripe(&self) -> Stripe {
        Stripe {
            url: env("GIGWIRE_STRIPE_URL"),
            key: env("GIGWIRE_STRIPE_SECRET_KEY"),
            webhook_secret: env("GIGWIRE_STRIPE_WEBHOOK_SECRET"),
            client: self.client.clone(),
        }
    }

    /// A brand-new user who took the provider role (and a token that carries it), with a
    /// display name and phone number when `name` is given one by [`Stack::person_with_phone`].
    pub async fn provider(&self, tag: &str, with_phone: bool) -> Person {
        let mut who = if with_phone {
            self.person_with_phone(tag).await
        } else {
            self.person(tag).await
        };
        let roles = json!({ "roles": ["customer", "provider"] });
        let (status, body) = self
            .call("PATCH", "/me", Some(&who.token), Some(roles))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, tokens) = self.refresh(&who.refresh).await;
        assert_eq!(status, 200, "{tokens}");
        who.token = tokens["accessToken"].as_str().unwrap().to_owned();
        who.refresh = tokens["refreshToken"].clone();
        who
    }

    /// Runs the escalation sweep as if the schedule fired at `at`.
    pub async fn run_escalations(&self, at: chrono::DateTime<chrono::Utc>) {
        self.run_schedule("GIGWIRE_ESCALATIONS_FUNCTION", at).await;
    }

    /// Invokes the scheduled function named by the environment variable `function` with an
    /// EventBridge event fired at `at`, through the Lambda Invoke API.
    async fn run_schedule(&self, function: &str, at: chrono::DateTime<chrono::Utc>) {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let event = json!({ "version": "0", "id": "manual", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": at.to_rfc3339(), "region": "us-east-1", "resources": [], "detail": {} });
        let out = aws_sdk_lambda::Client::new(&sdk)
            .invoke()
            .function_name(env(function))
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .expect("invoke failed");
        assert!(
            out.function_error().is_none(),
            "{function} failed: {:?}",
            out.payload()
        );
    }

    /// Every text message the emulator captured for `phone`, oldest first.
    pub async fn sms_to(&self, phone: &str) -> Vec<Value> {
        let all: Value = self
            .client
            .get(format!("{}/_ministack/sns/sms-messages", self.emulator))
            .query(&[("phoneNumber", phone)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Listed per number, in the order sent.
        all["sms_messages"][phone]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Declares, uploads and completes a PDF job document of the user; returns its id.
    pub async fn ready_pdf(&self, token: &str) -> String {
        let bytes = pdf(2000);
        let body = json!({ "purpose": "job_document", "fileName": "quote.pdf",
            "contentType": "application/pdf", "size": bytes.len() });
        let (status, ticket) = self.call("POST", "/files", Some(token), Some(body)).await;
        assert_eq!(status, 201, "{ticket}");
        assert!(self.upload(&ticket, bytes, |_| {}).await.is_success());
        let id = ticket["file"]["id"].as_str().unwrap().to_owned();
        let (status, file) = self
            .call("POST", &format!("/files/{id}/complete"), Some(token), None)
            .await;
        assert_eq!(status, 200, "{file}");
        id
    }

    /// Opens a WebSocket with `token` in the query string.
    pub async fn connect(
        &self,
        token: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let url = match token {
            Some(token) => format!("{}?token={}", self.ws, token),
            None => self.ws.clone(),
        };
        tokio_tungstenite::connect_async(url)
            .await
            .map(|(ws, _)| ws)
    }
}

/// A signed-up user as the tests see them.
pub struct Person {
    /// Access token.
    pub token: String,
    /// User id, as the API writes it.
    pub id: String,
    /// Refresh token.
    pub refresh: Value,
    /// Sign-in address.
    pub email: String,
    /// Phone number, for people made with [`Stack::person_with_phone`].
    pub phone: Option<String>,
}

impl Person {
    /// The id, typed.
    pub fn user_id(&self) -> gigwire::domain::UserId {
        gigwire::domain::UserId::parse(&self.id, "id").unwrap()
    }

    /// The phone number of a [`Stack::person_with_phone`].
    pub fn phone(&self) -> &str {
        self.phone
            .as_deref()
            .expect("a person made with a phone number")
    }
}

impl Stack {
    /// A new signed-in person with the admin role (their token carries it).
    pub async fn admin(&self, tag: &str) -> Person {
        let person = self.person(tag).await;
        Person {
            token: self.admin_token(&person.user_id(), &person.refresh).await,
            ..person
        }
    }

    /// A brand-new user.
    pub async fn person(&self, tag: &str) -> Person {
        let email = unique_email(&tag.to_lowercase());
        let body = self.sign_in(&email).await;
        Person {
            token: body["accessToken"].as_str().unwrap().to_owned(),
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            refresh: body["refreshToken"].clone(),
            email,
            phone: None,
        }
    }

    /// A brand-new user with `name` as display name and a phone number of their own
    /// (Portuguese mobile numbers: +351 91 and seven digits).
    pub async fn person_with_phone(&self, name: &str) -> Person {
        let mut who = self.person(name).await;
        let digits = ulid::Ulid::generate().random() % 10_000_000;
        let phone = format!("+35191{digits:07}");
        let (status, profile) = self
            .call(
                "PATCH",
                "/me",
                Some(&who.token),
                Some(json!({ "displayName": name, "phone": phone })),
            )
            .await;
        assert_eq!(status, 200, "{profile}");
        who.phone = Some(phone);
        who
    }

    /// Opens a connection for `who` and waits until it is registered (a pong proves it).
    pub async fn online(&self, who: &Person) -> Ws {
        let mut ws = self.connect(Some(&who.token)).await.expect("connect");
        send(&mut ws, json!({ "action": "ping" })).await;
        expect_event(&mut ws, "pong").await;
        ws
    }

    /// One page of `who`'s in-app notifications (`query` as `?unreadOnly=true`, or empty).
    pub async fn inbox(&self, who: &Person, query: &str) -> Value {
        let path = format!("/notifications{query}");
        let (status, page) = self.call("GET", &path, Some(&who.token), None).await;
        assert_eq!(status, 200, "{page}");
        page
    }

    /// The notification of `kind` whose `data[field]` is `value` in `who`'s inbox, once it
    /// arrives (notifications made off the request path arrive within seconds).
    pub async fn notified(&self, who: &Person, kind: &str, field: &str, value: &str) -> Value {
        let matches = |n: &Value| n["kind"] == kind && n["data"][field] == value;
        let inbox = self
            .inbox_when(who, "?limit=50", |page| {
                page["items"].as_array().unwrap().iter().any(matches)
            })
            .await;
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| matches(n))
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} with {field} {value}: {inbox}"))
    }

    /// The inbox once `ready` holds of it (notifications made off the request path arrive
    /// within seconds), or the last page read after 20 s.
    pub async fn inbox_when(
        &self,
        who: &Person,
        query: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let page = self.inbox(who, query).await;
            if ready(&page) || tokio::time::Instant::now() > deadline {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What `read` answers once `ready` holds of it — work done off the request path (a webhook,
/// a stream consumer) shows within seconds — or a failure naming `what` and the last answer
/// after 20 s.
pub async fn read_until<F, Fut>(what: &str, mut read: F, ready: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut last = Value::Null;
    for _ in 0..100 {
        last = read().await;
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} never happened: {last}")
}

/// The Stripe-compatible test server, called as a client app and Stripe's dashboard would.
pub struct Stripe {
    /// Its base URL.
    pub url: String,
    /// The secret key the stack uses.
    pub key: String,
    /// The stack's webhook signing secret.
    pub webhook_secret: String,
    client: reqwest::Client,
}

impl Stripe {
    /// A Stripe API call with form parameters; (status, JSON).
    pub async fn api(&self, method: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .bearer_auth(&self.key);
        if !form.is_empty() {
            req = req.form(form);
        }
        let resp = req.send().await.expect("Stripe request failed");
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// Confirms a PaymentIntent with a test payment method, as Stripe's client SDK does.
    pub async fn confirm(&self, payment_intent: &str, method: &str) -> (u16, Value) {
        let path = format!("/v1/payment_intents/{payment_intent}/confirm");
        self.api("POST", &path, &[("payment_method", method)]).await
    }

    /// A test control (`/_test/…`).
    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .request(method.parse().unwrap(), format!("{}/_test{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("Stripe control failed");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Every event about `object` (oldest first).
    pub async fn events_about(&self, object: &str) -> Vec<Value> {
        let (status, list) = self.api("GET", "/v1/events?limit=100", &[]).await;
        assert_eq!(status, 200, "{list}");
        let mut events: Vec<Value> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| is_about(e, object))
            .cloned()
            .collect();
        events.reverse();
        events
    }

    /// The first event of `kind` about `object`, once it exists.
    pub async fn event(&self, object: &str, kind: &str) -> Value {
        let path = format!("/v1/events?type={kind}&limit=100");
        for _ in 0..100 {
            let (status, list) = self.api("GET", &path, &[]).await;
            assert_eq!(status, 200, "{list}");
            let found = list["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| is_about(e, object));
            if let Some(e) = found {
                return e.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {kind} event about {object}")
    }
}

/// Whether a Stripe event is about `object` (a PaymentIntent, or a charge or refund of it).
fn is_about(event: &Value, object: &str) -> bool {
    let about = &event["data"]["object"];
    about["id"] == object || about["payment_intent"] == object
}

/// The services the functions run, built in-process against the deployed stack (to call the
/// internal APIs directly and count their calls).
pub struct InProcess {
    /// The table.
    pub store: DynamoStore,
    /// The Management API.
    pub pusher: ApiGatewayPusher,
    push: Option<SnsPush>,
}

impl InProcess {
    /// The notification service, with the stack's push application.
    pub fn notifications(&self) -> Notifications<'_> {
        gigwire::notifications::api::notifications_over(
            &self.store,
            &self.pusher,
            self.push.as_ref(),
        )
    }

    /// The chat service as the functions wire it (missed messages recorded in the table).
    pub fn chat(&self) -> Chat<'_> {
        gigwire::chat::api::chat_over(&self.store, &self.pusher)
    }
}

/// A PNG header padded to `len` bytes (what the upload check sniffs).
pub fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.resize(len, 0);
    bytes
}

/// A small valid PDF of `len` bytes.
pub fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec();
    bytes.resize(len, b' ');
    bytes
}

/// A fresh address no other test uses.
pub fn unique_email(tag: &str) -> String {
    // A display name may serve as the tag: anything but letters and digits becomes `-`.
    let tag: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "{tag}-{}@example.com",
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

/// Sends a JSON message.
pub async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// Sends a JSON message, reporting whether the socket took it (false once the server closed it).
pub async fn try_send(ws: &mut Ws, value: Value) -> bool {
    ws.send(Message::text(value.to_string())).await.is_ok()
}

/// The next JSON event, or `None` after `wait`.
pub async fn next_event(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Waits for an event of type `kind`, skipping others.
pub async fn expect_event(ws: &mut Ws, kind: &str) -> Value {
    for _ in 0..20 {
        match next_event(ws, Duration::from_secs(10)).await {
            Some(event) if event["type"] == kind => return event,
            Some(_) => continue,
            None => break,
        }
    }
    panic!("no {kind} event arrived");
}

/// One DynamoDB call: operation, and the positions of its start and end in the event log.
#[derive(Clone, Debug)]
pub struct Call {
    /// Operation name, e.g. `Query`.
    pub operation: String,
    /// Position of its start.
    pub start: usize,
    /// Position of its end.
    pub end: Option<usize>,
    /// When it started.
    pub started: std::time::Instant,
    /// How long it took, once it ended.
    pub took: Option<Duration>,
}

/// Records every call of the client it is installed on; clones share the log.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    log: Arc<Mutex<(usize, Vec<Call>)>>,
}

impl Recorder {
    /// A store on the stack's table whose client records into this log.
    pub async fn store(&self, stack: &Stack) -> DynamoStore {
        stack.store_intercepted(self.clone()).await
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().unwrap().1.clone()
    }
}

#[derive(Debug, Clone)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut log = self.log.lock().unwrap();
        let (tick, calls) = &mut *log;
        *tick += 1;
        calls.push(Call {
            operation: String::new(),
            start: *tick,
            end: None,
            started: std::time::Instant::now(),
            took: None,
        });
        let index = calls.len() - 1;
        cfg.interceptor_state().store_put(CallIndex(index));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation travels in the target header, e.g. `DynamoDB_20120810.Query`.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        if let Some(CallIndex(index)) = cfg.load::<CallIndex>().cloned() {
            self.log.lock().unwrap().1[index].operation = target;
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(index)) = cfg.load::<CallIndex>().cloned() {
            let mut log = self.log.lock().unwrap();
            let (tick, calls) = &mut *log;
            *tick += 1;
            calls[index].end = Some(*tick);
            calls[index].took = Some(calls[index].started.elapsed());
        }
        Ok(())
    }
}

/// How many measured rounds a benchmark runs: `BENCH_N`, 15 by default.
pub fn bench_rounds() -> usize {
    std::env::var("BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(15)
}

/// The median of `samples` (the upper one of an even count), for the benchmarks.
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// An availability plan in Europe/Berlin open from `start` to `end` every day, with `buffer`
/// minutes between bookings (`PUT /me/availability`'s body).
pub fn open_every_day(start: &str, end: &str, buffer: u32) -> Value {
    let day = serde_json::json!([{ "start": start, "end": end }]);
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let week: serde_json::Map<String, Value> =
        days.iter().map(|d| (d.to_string(), day.clone())).collect();
    serde_json::json!({ "timeZone": "Europe/Berlin", "weekly": week, "bufferMinutes": buffer })
}

/// For each call, how many calls had to finish one after another before it could start,
/// itself included: calls that overlap share a round trip.
pub fn round_trips(calls: &[Call]) -> Vec<usize> {
    let mut depth = vec![0; calls.len()];
    for (i, call) in calls.iter().enumerate() {
        depth[i] = 1 + calls[..i]
            .iter()
            .enumerate()
            .filter(|(_, before)| before.end.is_some_and(|end| end < call.start))
            .map(|(j, _)| depth[j])
            .max()
            .unwrap_or(0);
    }
    depth
}

/// Calls and their summed time per operation, e.g. `{"Query": (12, 40ms)}`.
pub fn calls_by_operation(calls: &[Call]) -> std::collections::BTreeMap<String, (usize, Duration)> {
    let mut counts = std::collections::BTreeMap::<String, (usize, Duration)>::new();
    for call in calls {
        let entry = counts.entry(call.operation.clone()).or_default();
        entry.0 += 1;
        entry.1 += call.took.unwrap_or_default();
    }
    counts
}

/// Holds back the first `TransactWriteItems` whose request mentions `marker` (e.g. a client
/// message id) for `delay`, so that a send whose id was taken first commits after a later
/// one — the reordering concurrent Lambdas produce now and then, made certain.
///
/// The hold blocks the calling thread (interceptor hooks are synchronous): use it from a
/// multi-threaded runtime, with the other sends on other tasks.
#[derive(Clone, Debug)]
pub struct HoldBack {
    marker: String,
    delay: Duration,
    held: Arc<std::sync::atomic::AtomicBool>,
}

impl HoldBack {
    /// Holds the first transaction mentioning `marker` for `delay`.
    pub fn new(marker: &str, delay: Duration) -> Self {
        Self {
            marker: marker.to_owned(),
            delay,
            held: Default::default(),
        }
    }

    /// A store on the stack's table whose client holds back that transaction.
    pub async fn store(&self, stack: &Stack) -> DynamoStore {
        stack.store_intercepted(self.clone()).await
    }
}

impl Intercept for HoldBack {
    fn name(&self) -> &'static str {
        "HoldBack"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let transaction = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".TransactWriteItems"));
        let mentions = request
            .body()
            .bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .is_some_and(|b| b.contains(&self.marker));
        if transaction && mentions && !self.held.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(self.delay);
        }
        Ok(())
    }
}

/// Asks every `TransactWriteItems` of its client for its consumed capacity and records the
/// write units, per transaction; clones share the record.
#[derive(Clone, Debug, Default)]
pub struct WriteUnits {
    units: Arc<Mutex<Vec<f64>>>,
}

impl WriteUnits {
    /// A store on the stack's table whose client records its transactions' write units.
    pub async fn store(&self, stack: &Stack) -> DynamoStore {
        stack.store_intercepted(self.clone()).await
    }

    /// The write units of each transaction so far (table and indexes together).
    pub fn transactions(&self) -> Vec<f64> {
        self.units.lock().unwrap().clone()
    }
}

impl Intercept for WriteUnits {
    fn name(&self) -> &'static str {
        "WriteUnits"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context
            .input_mut()
            .downcast_mut::<TransactWriteItemsInput>()
        {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let output = context
            .output_or_error()
            .ok()
            .and_then(|o| o.downcast_ref::<TransactWriteItemsOutput>());
        if let Some(output) = output {
            let units = output
                .consumed_capacity()
                .iter()
                .filter_map(|c| c.capacity_units())
                .sum();
            self.units.lock().unwrap().push(units);
        }
        Ok(())
    }
}

/// A store's client that "dies" right after its first committed transaction: every later
/// call fails before it reaches the table, as if the function had stopped after its commit.
#[derive(Debug, Default, Clone)]
pub struct DiesAfterCommit {
    dead: Arc<Mutex<bool>>,
}

impl DiesAfterCommit {
    /// Whether a transaction committed (and everything after it failed).
    pub fn died(&self) -> bool {
        *self.dead.lock().unwrap()
    }
}

impl Intercept for DiesAfterCommit {
    fn name(&self) -> &'static str {
        "DiesAfterCommit"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.died() {
            return Err("the function stopped after its commit".into());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let committed = context
            .output_or_error()
            .ok()
            .is_some_and(|o| o.downcast_ref::<TransactWriteItemsOutput>().is_some());
        if committed {
            *self.dead.lock().unwrap() = true;
        }
        Ok(())
    }
}
