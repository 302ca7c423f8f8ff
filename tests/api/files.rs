//! Files: presigned S3 POST uploads checked by the storage itself, completion checks, access
//! control and the cleanup of stale uploads — against the emulator's real S3 API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use gigwire::domain::FileId;
use gigwire::files::model::{FileRecord, FileStatus, Purpose};
use gigwire::files::store::FileStore;
use gigwire_tests::{Stack, pdf, png};
use serde_json::{Value, json};

async fn declare(
    stack: &Stack,
    token: &str,
    purpose: &str,
    content_type: &str,
    size: usize,
) -> Value {
    let body = json!({ "purpose": purpose, "fileName": "file.bin", "contentType": content_type, "size": size });
    let (status, ticket) = stack.call("POST", "/files", Some(token), Some(body)).await;
    assert_eq!(status, 201, "{ticket}");
    ticket
}

#[tokio::test]
async fn a_document_uploads_completes_and_downloads_intact() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("upload").await;
    let bytes = pdf(3000);
    let ticket = declare(
        &stack,
        &token,
        "job_document",
        "application/pdf",
        bytes.len(),
    )
    .await;
    assert_eq!(ticket["file"]["status"], "pending");
    let id = ticket["file"]["id"].as_str().unwrap();
    assert!(
        stack
            .upload(&ticket, bytes.clone(), |_| {})
            .await
            .is_success()
    );

    let path = format!("/files/{id}/complete");
    let (status, file) = stack.call("POST", &path, Some(&token), None).await;
    assert_eq!((status, &file["status"]), (200, &json!("ready")), "{file}");
    let (status, again) = stack.call("POST", &path, Some(&token), None).await;
    assert_eq!((status, again), (200, file), "completing twice is harmless");

    assert_eq!(download_bytes(&stack, &token, id).await, bytes);
}

#[tokio::test]
async fn the_storage_itself_refuses_uploads_that_break_the_policy() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("policy").await;
    let ticket = declare(&stack, &token, "profile_image", "image/png", 100).await;
    // Larger than declared.
    let status = stack.upload(&ticket, png(200), |_| {}).await;
    assert!(status.is_client_error(), "larger body: {status}");
    // Another content type than declared.
    let status = stack
        .upload(&ticket, png(100), |fields| {
            set(fields, "Content-Type", "image/jpeg")
        })
        .await;
    assert_eq!(status.as_u16(), 403, "other type");
    // Another key than signed for.
    let status = stack
        .upload(&ticket, png(100), |fields| {
            set(fields, "key", "uploads/someone-else/x")
        })
        .await;
    assert_eq!(status.as_u16(), 403, "other key");
    // A policy edited to live a day longer: the signature no longer matches.
    let status = stack
        .upload(&ticket, png(100), |fields| {
            let policy: Value =
                serde_json::from_slice(&STANDARD.decode(get(fields, "policy")).unwrap()).unwrap();
            let expiration = policy["expiration"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<Utc>>()
                .unwrap();
            let mut longer = policy.clone();
            longer["expiration"] = json!(
                (expiration + Duration::days(1))
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
            );
            set(fields, "policy", &STANDARD.encode(longer.to_string()));
        })
        .await;
    assert_eq!(status.as_u16(), 403, "tampered policy");
    // Nothing got through, so there is nothing to complete.
    let (status, body) = stack
        .call(
            "POST",
            &format!("/files/{}/complete", ticket["file"]["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

fn get(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    fields.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.to_owned();
}

#[tokio::test]
async fn an_executable_declared_as_a_pdf_is_rejected_at_completion_and_deleted() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("disguise").await;
    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0".to_vec();
    exe.resize(1024, 0);
    let ticket = declare(&stack, &token, "job_document", "application/pdf", exe.len()).await;
    assert!(
        stack.upload(&ticket, exe, |_| {}).await.is_success(),
        "the storage cannot see inside"
    );
    let path = format!("/files/{}/complete", ticket["file"]["id"].as_str().unwrap());
    let (status, body) = stack.call("POST", &path, Some(&token), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "file");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not application/pdf"),
        "{body}"
    );
    let (status, _) = stack.call("POST", &path, Some(&token), None).await;
    assert_eq!(status, 409, "the object was deleted");
}

#[tokio::test]
async fn other_users_cannot_download_complete_or_delete_a_file() {
    let stack = Stack::from_env();
    let (owner, _) = stack.new_user("owner").await;
    let (other, _) = stack.new_user("other").await;
    let ticket = declare(&stack, &owner, "job_document", "application/pdf", 500).await;
    let id = ticket["file"]["id"].as_str().unwrap();
    assert!(stack.upload(&ticket, pdf(500), |_| {}).await.is_success());
    for (method, path) in [
        ("POST", format!("/files/{id}/complete")),
        ("GET", format!("/files/{id}")),
        ("DELETE", format!("/files/{id}")),
    ] {
        let (status, body) = stack.call(method, &path, Some(&other), None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    // The owner's file is untouched and theirs to delete.
    assert_eq!(
        stack
            .status("POST", &format!("/files/{id}/complete"), &owner)
            .await,
        200
    );
    assert_eq!(
        stack
            .status("DELETE", &format!("/files/{id}"), &owner)
            .await,
        204
    );
    assert_eq!(
        stack.status("GET", &format!("/files/{id}"), &owner).await,
        404
    );
}

#[tokio::test]
async fn a_ready_profile_image_is_visible_to_every_signed_in_user() {
    let stack = Stack::from_env();
    let (owner, _) = stack.new_user("avatar").await;
    let (other, _) = stack.new_user("viewer").await;
    let ticket = declare(&stack, &owner, "profile_image", "image/png", 64).await;
    let id = ticket["file"]["id"].as_str().unwrap();
    assert!(stack.upload(&ticket, png(64), |_| {}).await.is_success());
    assert_eq!(
        stack.status("GET", &format!("/files/{id}"), &other).await,
        404,
        "not before it is ready"
    );
    assert_eq!(
        stack
            .status("POST", &format!("/files/{id}/complete"), &owner)
            .await,
        200
    );
    assert_eq!(
        stack.status("GET", &format!("/files/{id}"), &other).await,
        200
    );
    assert_eq!(
        stack
            .status("DELETE", &format!("/files/{id}"), &other)
            .await,
        404
    );
}

#[tokio::test]
async fn bad_upload_declarations_are_clear_validation_errors() {
    let stack = Stack::from_env();
    let (token, _) = stack.new_user("declare").await;
    let cases = [
        (
            json!({ "purpose": "selfie", "fileName": "a.png", "contentType": "image/png", "size": 10 }),
            "purpose",
        ),
        (
            json!({ "purpose": "profile_image", "fileName": "a.pdf", "contentType": "application/pdf", "size": 10 }),
            "contentType",
        ),
        (
            json!({ "purpose": "job_document", "fileName": "a.pdf", "contentType": "application/pdf", "size": 10_485_761 }),
            "size",
        ),
        (
            json!({ "purpose": "job_document", "fileName": "../../etc/passwd", "contentType": "application/pdf", "size": 10 }),
            "fileName",
        ),
        (
            json!({ "purpose": "job_document", "fileName": "a.pdf", "contentType": "application/pdf" }),
            "size",
        ),
    ];
    for (body, field) in cases {
        let (status, resp) = stack
            .call("POST", "/files", Some(&token), Some(body.clone()))
            .await;
        assert_eq!(
            (status, resp["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}: {resp}"
        );
    }
    assert_eq!(
        stack
            .call("GET", "/files/not-an-id", Some(&token), None)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn the_cleanup_job_removes_only_stale_incomplete_uploads() {
    let stack = Stack::from_env();
    let (token, tokens) = stack.new_user("cleanup").await;
    let owner =
        gigwire::domain::UserId::parse(tokens["user"]["id"].as_str().unwrap(), "id").unwrap();
    let store = stack.store().await;
    let old = Utc::now() - Duration::hours(25);
    let record = |status| FileRecord {
        id: FileId::at(old),
        owner_id: owner,
        purpose: Purpose::JobDocument,
        file_name: "old.pdf".into(),
        content_type: "application/pdf".into(),
        size: 10,
        status,
        created_at: old,
        completed_at: None,
        room_ids: Vec::new(),
        job_ids: Vec::new(),
    };
    let stale = record(FileStatus::Pending);
    let done = record(FileStatus::Pending);
    store.create_file(&stale).await.unwrap();
    store.create_file(&done).await.unwrap();
    assert!(store.mark_ready(&done.id, old).await.unwrap());
    let fresh = declare(&stack, &token, "job_document", "application/pdf", 10).await;
    let fresh = FileId::parse(fresh["file"]["id"].as_str().unwrap(), "id").unwrap();

    stack.run_cleanup().await;

    assert!(
        store.get_file(&stale.id).await.unwrap().is_none(),
        "stale pending upload removed"
    );
    assert!(
        store.get_file(&done.id).await.unwrap().is_some(),
        "completed file kept"
    );
    assert!(
        store.get_file(&fresh).await.unwrap().is_some(),
        "recent pending upload kept"
    );
}

#[tokio::test]
async fn an_expired_upload_policy_is_refused_by_the_storage() {
    use gigwire::adapters::{S3PostSigner, UploadSigner};
    let stack = Stack::from_env();
    let (_, body) = stack.new_user("expired").await;
    let owner = gigwire::domain::UserId::parse(body["user"]["id"].as_str().unwrap(), "id").unwrap();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let signer = S3PostSigner::from_sdk(&sdk, std::env::var("GIGWIRE_BUCKET").unwrap());
    let bytes = pdf(800);
    let ttl = std::time::Duration::from_secs(300);
    let form = |issued| {
        let key = gigwire::files::keys::upload_staging(&owner, &FileId::new());
        let signer = &signer;
        let len = bytes.len() as u64;
        async move {
            let post = signer
                .presign_upload(&key, "application/pdf", len, ttl, issued)
                .await
                .unwrap();
            json!({ "upload": post })
        }
    };
    // The same signer, the same credentials: issued now it works, issued 6 minutes ago
    // (a 5-minute policy) the storage refuses it.
    let fresh = form(Utc::now()).await;
    assert!(
        stack
            .upload(&fresh, bytes.clone(), |_| {})
            .await
            .is_success()
    );
    let stale = form(Utc::now() - Duration::minutes(6)).await;
    let status = stack.upload(&stale, bytes.clone(), |_| {}).await;
    assert!(status.is_client_error(), "{status}");
}

/// A Windows executable's first bytes, padded to `len`: what an attacker swaps in.
fn executable(len: usize) -> Vec<u8> {
    let mut bytes = b"MZ\x90\0\x03\0\0\0".to_vec();
    bytes.resize(len, 0);
    bytes
}

async fn chat_attachment(stack: &Stack, token: &str, len: usize) -> Value {
    let body = json!({ "purpose": "chat_attachment", "fileName": "quote.pdf",
        "contentType": "application/pdf", "size": len });
    let (status, ticket) = stack.call("POST", "/files", Some(token), Some(body)).await;
    assert_eq!(status, 201, "{ticket}");
    ticket
}

async fn download_bytes(stack: &Stack, token: &str, id: &str) -> Vec<u8> {
    let (status, link) = stack
        .call("GET", &format!("/files/{id}"), Some(token), None)
        .await;
    assert_eq!(status, 200, "{link}");
    let resp = stack
        .client
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn bytes_posted_with_the_form_after_completion_never_reach_a_download() {
    let stack = Stack::from_env();
    let (ana, _) = stack.new_user("swap-ana").await;
    let (ben, ben_body) = stack.new_user("swap-ben").await;
    let genuine = pdf(2000);
    let ticket = chat_attachment(&stack, &ana, genuine.len()).await;
    let id = ticket["file"]["id"].as_str().unwrap();
    assert!(
        stack
            .upload(&ticket, genuine.clone(), |_| {})
            .await
            .is_success()
    );
    let (status, file) = stack
        .call("POST", &format!("/files/{id}/complete"), Some(&ana), None)
        .await;
    assert_eq!((status, &file["status"]), (200, &json!("ready")), "{file}");

    // The same form, still within its 5 minutes, posted again with an executable: the storage
    // accepts it (the form allows that key), but nothing ever serves it.
    let status = stack.upload(&ticket, executable(2000), |_| {}).await;
    assert!(status.is_success(), "{status}");

    let (status, room) = stack
        .call(
            "POST",
            "/rooms",
            Some(&ana),
            Some(json!({ "kind": "direct", "userId": ben_body["user"]["id"] })),
        )
        .await;
    assert!(status == 200 || status == 201, "{room}");
    let room = room["room"]["id"].as_str().unwrap();
    let (status, message) = stack
        .call(
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&ana),
            Some(json!({ "attachments": [id], "clientMessageId": ulid::Ulid::generate().to_string() })),
        )
        .await;
    assert_eq!(status, 201, "{message}");

    assert_eq!(download_bytes(&stack, &ben, id).await, genuine, "member");
    assert_eq!(download_bytes(&stack, &ana, id).await, genuine, "owner");
    let (_, again) = stack
        .call("POST", &format!("/files/{id}/complete"), Some(&ana), None)
        .await;
    assert_eq!(again["status"], "ready");
    assert_eq!(
        download_bytes(&stack, &ben, id).await,
        genuine,
        "after re-completing"
    );
}

/// Real S3 storage that lets an attacker re-post the form right after the completion check
/// read the bytes, before they are copied.
struct SwapAfterCheck<'a> {
    inner: gigwire::adapters::S3Files,
    stack: &'a Stack,
    ticket: Value,
    swapped: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl gigwire::adapters::ObjectStore for SwapAfterCheck<'_> {
    async fn presign_download(
        &self,
        key: &str,
        name: &str,
        ttl: std::time::Duration,
    ) -> gigwire::error::Result<String> {
        self.inner.presign_download(key, name, ttl).await
    }
    async fn info(
        &self,
        key: &str,
    ) -> gigwire::error::Result<Option<gigwire::adapters::ObjectInfo>> {
        self.inner.info(key).await
    }
    async fn read_head(&self, key: &str, len: u64, etag: &str) -> gigwire::error::Result<Vec<u8>> {
        let head = self.inner.read_head(key, len, etag).await?;
        if !self.swapped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let status = self
                .stack
                .upload(&self.ticket, executable(2000), |_| {})
                .await;
            assert!(status.is_success(), "{status}");
        }
        Ok(head)
    }
    async fn copy_exact(&self, from: &str, to: &str, etag: &str) -> gigwire::error::Result<()> {
        self.inner.copy_exact(from, to, etag).await
    }
    async fn delete(&self, key: &str) -> gigwire::error::Result<()> {
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_swap_between_the_check_and_the_copy_is_refused_by_the_storage() {
    let stack = Stack::from_env();
    let (token, body) = stack.new_user("swap-race").await;
    let owner = gigwire::domain::UserId::parse(body["user"]["id"].as_str().unwrap(), "id").unwrap();
    let ticket = chat_attachment(&stack, &token, 2000).await;
    let id = FileId::parse(ticket["file"]["id"].as_str().unwrap(), "id").unwrap();
    assert!(stack.upload(&ticket, pdf(2000), |_| {}).await.is_success());

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let objects = SwapAfterCheck {
        inner: gigwire::adapters::S3Files::from_sdk(&sdk, std::env::var("GIGWIRE_BUCKET").unwrap()),
        stack: &stack,
        ticket: ticket.clone(),
        swapped: Default::default(),
    };
    use gigwire::adapters::ObjectStore;
    let store = stack.store().await;
    let caller = gigwire::auth::Caller {
        user_id: owner,
        session_id: gigwire::domain::SessionId::new(),
        roles: Default::default(),
    };
    let err = gigwire::files::service::complete_upload(&store, &objects, &caller, &id, Utc::now())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409, "{err}");
    let record = store.get_file(&id).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        FileStatus::Pending,
        "not ready after a refused copy"
    );
    assert!(
        objects
            .inner
            .info(&gigwire::files::keys::stored_file(&record.owner_id, &id))
            .await
            .unwrap()
            .is_none(),
        "nothing was stored"
    );
    // Completing again checks what is there now — the executable — and refuses it.
    let (status, err) = stack
        .call("POST", &format!("/files/{id}/complete"), Some(&token), None)
        .await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (400, &json!("file")),
        "{err}"
    );
    assert_eq!(
        stack.status("GET", &format!("/files/{id}"), &token).await,
        409,
        "never downloadable"
    );
}
