//! File routes: `POST /files`, `POST /files/{id}/complete`, `GET /files/{id}`,
//! `DELETE /files/{id}`, and the scheduled cleanup of stale uploads.

use chrono::{DateTime, Utc};

use crate::adapters::{S3Files, S3PostSigner};
use crate::domain::FileId;
use crate::error::Result;
use crate::files::model::UploadRequest;
use crate::files::service as files;
use crate::lambda::Init;
use crate::lambda::http::{HttpRequest, HttpResponse};
use crate::lambda::now;
use crate::store::dynamo::DynamoStore;

/// `POST /files`: one table write and a local signature, so it builds no S3 client.
pub struct CreateUpload {
    store: DynamoStore,
    signer: S3PostSigner,
    max_bytes: u64,
}

impl CreateUpload {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            signer: S3PostSigner::from_sdk(&init.sdk, &init.config.bucket_name),
            max_bytes: init.config.max_upload_bytes,
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: HttpRequest) -> Result<HttpResponse> {
        let body: UploadRequest = req.json()?;
        let ticket = files::create_upload(
            &self.store,
            &self.signer,
            req.caller()?,
            body,
            self.max_bytes,
            now(),
        )
        .await?;
        HttpResponse::json(201, &ticket)
    }
}

/// The routes that read or delete stored objects, and the scheduled cleanup.
pub struct Files {
    store: DynamoStore,
    objects: S3Files,
}

impl Files {
    /// Builds the dependencies once.
    pub fn new(init: &Init) -> Self {
        Self {
            store: DynamoStore::from_sdk(&init.sdk, &init.config.table_name),
            objects: S3Files::from_sdk(&init.sdk, &init.config.bucket_name),
        }
    }

    fn id(req: &HttpRequest) -> Result<FileId> {
        FileId::parse(req.path_param("id"), "id")
    }

    /// `POST /files/{id}/complete`.
    pub async fn complete(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(
            &files::complete_upload(
                &self.store,
                &self.objects,
                req.caller()?,
                &Self::id(&req)?,
                now(),
            )
            .await?,
        )
    }

    /// `GET /files/{id}`.
    pub async fn download(&self, req: HttpRequest) -> Result<HttpResponse> {
        HttpResponse::ok(
            &files::download(
                &self.store,
                &self.store,
                &self.store,
                &self.objects,
                req.caller()?,
                &Self::id(&req)?,
                now(),
            )
            .await?,
        )
    }

    /// `DELETE /files/{id}`.
    pub async fn delete(&self, req: HttpRequest) -> Result<HttpResponse> {
        files::delete(&self.store, &self.objects, req.caller()?, &Self::id(&req)?).await?;
        Ok(HttpResponse::no_content())
    }

    /// The scheduled cleanup.
    pub async fn cleanup(&self, fired_at: DateTime<Utc>) -> Result<()> {
        files::cleanup_stale_uploads(&self.store, &self.objects, fired_at)
            .await
            .map(drop)
    }
}
