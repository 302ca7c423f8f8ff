//! File storage on S3: presigned POST uploads whose policy makes S3 itself refuse anything but
//! the declared size and type, presigned GET downloads, and the reads and deletes the upload
//! checks need. The SDK has no presigned POST, so the POST policy is signed here with the SDK's
//! own SigV4 primitives and the function's current credentials — no call to S3 is made.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// A browser-ready upload: POST `fields` plus the file (last) as multipart form data to `url`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresignedPost {
    /// Where to POST the form.
    pub url: String,
    /// Form fields to send before the `file` field, in this order.
    pub fields: Vec<FormField>,
    /// When the upload permission ends.
    pub expires_at: DateTime<Utc>,
}

/// One form field of a presigned POST.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FormField {
    /// Field name.
    pub name: String,
    /// Field value.
    pub value: String,
}

/// What storage knows about an object.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// The `Content-Type` it was stored with.
    pub content_type: Option<String>,
    /// Its entity tag: names these exact bytes, so later reads and copies can insist on them.
    pub etag: String,
}

/// The object storage the file service needs.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A GET download link for `key`, offered under `file_name`.
    async fn presign_download(&self, key: &str, file_name: &str, ttl: Duration) -> Result<String>;
    /// Size and type of `key`, or `None` if there is no such object.
    async fn info(&self, key: &str) -> Result<Option<ObjectInfo>>;
    /// The first `len` bytes of `key`, provided it still holds the object tagged `etag`
    /// (`Conflict` when it was replaced since).
    async fn read_head(&self, key: &str, len: u64, etag: &str) -> Result<Vec<u8>>;
    /// Copies `from` to `to` provided `from` still holds the object tagged `etag`
    /// (`Conflict` when it was replaced since): storage itself refuses to copy other bytes.
    async fn copy_exact(&self, from: &str, to: &str, etag: &str) -> Result<()>;
    /// Deletes `key` (idempotent).
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Signs upload forms: the one thing creating an upload needs, so that function carries no
/// S3 client at all.
#[async_trait]
pub trait UploadSigner: Send + Sync {
    /// A POST upload of exactly `size` bytes of `content_type` to `key`.
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<PresignedPost>;
}

/// The region of the SDK configuration, and whether the bucket is addressed path-style: on
/// AWS virtual-hosted addresses; with a custom endpoint (the SDK's standard
/// `AWS_ENDPOINT_URL`, as S3-compatible stores use) path-style ones, which need no per-bucket
/// DNS. Returns (region, bucket URL, path style).
fn location(sdk: &aws_config::SdkConfig, bucket: &str) -> (String, String, bool) {
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    match sdk.endpoint_url() {
        Some(endpoint) => {
            let url = format!("{}/{bucket}", endpoint.trim_end_matches('/'));
            (region, url, true)
        }
        None => {
            let url = format!("https://{bucket}.s3.{region}.amazonaws.com");
            (region, url, false)
        }
    }
}

/// [`UploadSigner`] for one S3 bucket, signing with the function's own credentials.
#[derive(Clone, Debug)]
pub struct S3PostSigner {
    bucket: String,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    post_url: String,
}

impl S3PostSigner {
    /// A signer for `bucket`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let bucket = bucket.into();
        let (region, post_url, _) = location(sdk, &bucket);
        Self {
            bucket,
            region,
            credentials: sdk.credentials_provider(),
            post_url,
        }
    }
}

/// [`ObjectStore`] on one S3 bucket.
#[derive(Clone, Debug)]
pub struct S3Files {
    client: Client,
    bucket: String,
}

impl S3Files {
    /// Storage in `bucket`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let bucket = bucket.into();
        let (_, _, path_style) = location(sdk, &bucket);
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket,
        }
    }
}

#[async_trait]
impl UploadSigner for S3PostSigner {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<PresignedPost> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("no AWS credentials configured")))?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(Error::unexpected)?;
        let signed_at: SystemTime = now.into();
        let date = now.format("%Y%m%d").to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let expires_at = now + chrono::Duration::from_std(ttl).map_err(Error::unexpected)?;
        let credential = format!(
            "{}/{date}/{}/s3/aws4_request",
            creds.access_key_id(),
            self.region
        );
        let mut fields = vec![
            ("key".to_owned(), key.to_owned()),
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), amz_date),
        ];
        if let Some(token) = creds.session_token() {
            fields.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        // Every field is pinned by an exact-match condition; the size range admits the declared
        // size only, so S3 refuses a larger (or smaller) body before storing it.
        let mut conditions = vec![json!({ "bucket": self.bucket })];
        conditions.extend(
            fields
                .iter()
                .map(|(name, value)| json!(["eq", format!("${name}"), value])),
        );
        conditions.push(json!(["content-length-range", size, size]));
        let policy = json!({ "expiration": expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "conditions": conditions });
        let policy = STANDARD.encode(policy.to_string());
        let key = aws_sigv4::sign::v4::generate_signing_key(
            creds.secret_access_key(),
            signed_at,
            &self.region,
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(key, policy.as_bytes());
        fields.push(("policy".to_owned(), policy));
        fields.push(("x-amz-signature".to_owned(), signature));
        let fields = fields
            .into_iter()
            .map(|(name, value)| FormField { name, value })
            .collect();
        Ok(PresignedPost {
            url: self.post_url.clone(),
            fields,
            expires_at,
        })
    }
}

/// A failed precondition (412: the object is no longer the one checked) is a `Conflict` the
/// client can act on; anything else is ours.
fn replaced_or_unexpected(
    status: Option<u16>,
    err: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    if status == Some(412) {
        Error::Conflict(
            "the upload was replaced while it was being checked; complete it again".into(),
        )
    } else {
        Error::unexpected(err)
    }
}

#[async_trait]
impl ObjectStore for S3Files {
    async fn presign_download(&self, key: &str, file_name: &str, ttl: Duration) -> Result<String> {
        let config = PresigningConfig::expires_in(ttl).map_err(Error::unexpected)?;
        // The name is the client's: keep only characters that cannot break the header.
        let safe: String = file_name
            .chars()
            .filter(|c| (c.is_ascii_graphic() && *c != '"' && *c != '\\') || *c == ' ')
            .collect();
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{safe}\""))
            .presigned(config)
            .await
            .map_err(Error::unexpected)?;
        Ok(request.uri().to_owned())
    }

    async fn info(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length().unwrap_or_default().max(0) as u64,
                content_type: out.content_type().map(str::to_owned),
                etag: out.e_tag().unwrap_or_default().to_owned(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(Error::unexpected(err)),
        }
    }

    async fn read_head(&self, key: &str, len: u64, etag: &str) -> Result<Vec<u8>> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(etag)
            .range(format!("bytes=0-{}", len.saturating_sub(1)))
            .send()
            .await
            .map_err(|err| {
                replaced_or_unexpected(err.raw_response().map(|r| r.status().as_u16()), err)
            })?;
        let bytes = out.body.collect().await.map_err(Error::unexpected)?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn copy_exact(&self, from: &str, to: &str, etag: &str) -> Result<()> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .copy_source_if_match(etag)
            .key(to)
            .send()
            .await
            .map_err(|err| {
                replaced_or_unexpected(err.raw_response().map(|r| r.status().as_u16()), err)
            })?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(())
    }
}
