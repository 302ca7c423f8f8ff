//! File uploads and downloads.
//!
//! Creating an upload is one DynamoDB write and a local signature: the client then POSTs the
//! file straight to S3, whose policy admits only the declared size and type. The form lands
//! on a staging key and stays usable until it expires, so whatever completion checks there
//! could be overwritten afterwards. Completion therefore checks what really arrived (size,
//! type, and the first bytes against the declared type), then copies exactly that object —
//! pinned by its entity tag, so storage refuses to copy anything posted since — to the file's
//! stored key, and only then marks the file ready. Downloads are signed for the stored key
//! only: the bytes anyone can download are the bytes that were checked. A mismatch deletes the
//! staged object and says why. Uploads never completed are removed by a scheduled job after
//! [`STALE_AFTER_HOURS`]; staged objects left behind expire through a bucket lifecycle rule.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::{ObjectStore, PresignedPost, UploadSigner};
use crate::auth::Caller;
use crate::chat::store::ChatStore;
use crate::domain::FileId;
use crate::error::{Error, Result};
use crate::files::model::{FileRecord, FileStatus, SNIFF_BYTES, UploadRequest, check_signature};
use crate::files::store::FileStore;
use crate::jobs::store::JobStore;

/// How long an upload form stays valid.
pub const UPLOAD_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a download link stays valid.
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(5 * 60);
/// Age after which a pending upload is removed.
pub const STALE_AFTER_HOURS: i64 = 24;
/// Stale uploads removed per batch, and batches per run (bounds one run's work).
pub const CLEANUP_BATCH: u32 = 100;
const CLEANUP_BATCHES: usize = 10;
const CLEANUP_CONCURRENCY: usize = 8;

/// Answer of `POST /files`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    /// The pending file.
    pub file: FileRecord,
    /// How to upload it.
    pub upload: PresignedPost,
}

/// Answer of `GET /files/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadLink {
    /// The file.
    pub file: FileRecord,
    /// Short-lived GET link.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

fn staging_key(file: &FileRecord) -> String {
    crate::files::keys::upload_staging(&file.owner_id, &file.id)
}

fn stored_key(file: &FileRecord) -> String {
    crate::files::keys::stored_file(&file.owner_id, &file.id)
}

/// Declares an upload and signs the form that performs it.
#[instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn create_upload(
    files: &dyn FileStore,
    signer: &dyn UploadSigner,
    caller: &Caller,
    request: UploadRequest,
    max_bytes: u64,
    now: DateTime<Utc>,
) -> Result<UploadTicket> {
    let upload = request.validate(max_bytes)?;
    let file = FileRecord {
        id: FileId::new(),
        owner_id: caller.user_id,
        purpose: upload.purpose,
        file_name: upload.file_name,
        content_type: upload.content_type,
        size: upload.size,
        status: FileStatus::Pending,
        created_at: now,
        completed_at: None,
        room_ids: Vec::new(),
        job_ids: Vec::new(),
    };
    let form = signer
        .presign_upload(
            &staging_key(&file),
            &file.content_type,
            file.size,
            UPLOAD_TTL,
            now,
        )
        .await?;
    files.create_file(&file).await?;
    info!(file_id = %file.id, purpose = %file.purpose, size = file.size, "upload declared");
    Ok(UploadTicket { file, upload: form })
}

/// The caller's own file, or 404 (another user's file is indistinguishable from none).
async fn own_file(files: &dyn FileStore, caller: &Caller, id: &FileId) -> Result<FileRecord> {
    files
        .get_file(id)
        .await?
        .filter(|f| f.owner_id == caller.user_id)
        .ok_or(Error::NotFound("file"))
}

/// Checks what was uploaded and marks the file ready. Completing twice is harmless.
#[instrument(skip_all, fields(file_id = %id))]
pub async fn complete_upload(
    files: &dyn FileStore,
    objects: &dyn ObjectStore,
    caller: &Caller,
    id: &FileId,
    now: DateTime<Utc>,
) -> Result<FileRecord> {
    let file = own_file(files, caller, id).await?;
    if file.status == FileStatus::Ready {
        return Ok(file);
    }
    let key = staging_key(&file);
    let Some(info) = objects.info(&key).await? else {
        // A concurrent completion may have just finished and removed the staged object.
        return match own_file(files, caller, id).await? {
            done if done.status == FileStatus::Ready => Ok(done),
            _ => Err(Error::Conflict(
                "nothing has been uploaded for this file yet".into(),
            )),
        };
    };
    let problem = if info.size != file.size {
        Some(format!(
            "{} bytes arrived, {} were declared",
            info.size, file.size
        ))
    } else if info.content_type.as_deref() != Some(file.content_type.as_str()) {
        Some(format!(
            "the upload was stored as {}, not {}",
            info.content_type.as_deref().unwrap_or("no type"),
            file.content_type
        ))
    } else {
        check_signature(
            &file.content_type,
            &objects.read_head(&key, SNIFF_BYTES, &info.etag).await?,
        )
        .err()
    };
    if let Some(problem) = problem {
        objects.delete(&key).await?;
        warn!(%problem, "upload rejected");
        return Err(Error::field(
            "file",
            format!("upload rejected and deleted: {problem}"),
        ));
    }
    // Storage refuses the copy if the staged object is no longer the one just checked.
    objects
        .copy_exact(&key, &stored_key(&file), &info.etag)
        .await?;
    let won = files.mark_ready(id, now).await?;
    // After the record says ready, so a failure before it leaves the staged object to retry
    // with. Harmless if it fails: staged objects are never served and expire by lifecycle.
    if let Err(err) = objects.delete(&key).await {
        warn!(error = ?err, "staged upload not deleted");
    }
    if !won {
        // A concurrent completion won: answer with what it stored.
        return own_file(files, caller, id).await;
    }
    info!("upload completed");
    Ok(FileRecord {
        status: FileStatus::Ready,
        completed_at: Some(now),
        ..file
    })
}

/// Whether `caller` may download `file`: its owner, anyone for a public image, the active
/// members of a room it was sent to, and whom a job it is attached to shows it to (providers
/// while the job is open, then only the accepted one; see [`crate::jobs::model::Job`]). A booking's proof of work is shared with the booking's room (whose only members
/// are its two parties) by the delivery's transaction.
async fn visible_to(
    rooms: &dyn ChatStore,
    jobs: &dyn JobStore,
    file: &FileRecord,
    caller: &Caller,
) -> Result<bool> {
    if file.owner_id == caller.user_id
        || (file.purpose.is_public() && file.status == FileStatus::Ready)
    {
        return Ok(true);
    }
    for room in &file.room_ids {
        if rooms
            .get_member(room, &caller.user_id)
            .await?
            .is_some_and(|m| m.is_active())
        {
            return Ok(true);
        }
    }
    for job in &file.job_ids {
        if jobs
            .get_job(job)
            .await?
            .is_some_and(|j| j.shows_attachment(&file.id, caller))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A short-lived download link for a file the caller may see.
pub async fn download(
    files: &dyn FileStore,
    rooms: &dyn ChatStore,
    jobs: &dyn JobStore,
    objects: &dyn ObjectStore,
    caller: &Caller,
    id: &FileId,
    now: DateTime<Utc>,
) -> Result<DownloadLink> {
    let file = files.get_file(id).await?.ok_or(Error::NotFound("file"))?;
    if !visible_to(rooms, jobs, &file, caller).await? {
        return Err(Error::NotFound("file"));
    }
    if file.status != FileStatus::Ready {
        return Err(Error::Conflict("the upload is not completed yet".into()));
    }
    let url = objects
        .presign_download(&stored_key(&file), &file.file_name, DOWNLOAD_TTL)
        .await?;
    let expires_at = now + chrono::Duration::from_std(DOWNLOAD_TTL).map_err(Error::unexpected)?;
    Ok(DownloadLink {
        file,
        url,
        expires_at,
    })
}

/// Deletes the caller's file: the objects first, so a failure leaves a record to retry with.
#[instrument(skip_all, fields(file_id = %id))]
pub async fn delete(
    files: &dyn FileStore,
    objects: &dyn ObjectStore,
    caller: &Caller,
    id: &FileId,
) -> Result<()> {
    let file = own_file(files, caller, id).await?;
    objects.delete(&stored_key(&file)).await?;
    objects.delete(&staging_key(&file)).await?;
    files.delete_file(id).await?;
    info!("file deleted");
    Ok(())
}

/// Removes uploads still pending after [`STALE_AFTER_HOURS`]; returns how many. The work is
/// bounded per run; what is left is picked up by the next run.
#[instrument(skip_all)]
pub async fn cleanup_stale_uploads(
    files: &dyn FileStore,
    objects: &dyn ObjectStore,
    now: DateTime<Utc>,
) -> Result<usize> {
    let cutoff = now - chrono::Duration::hours(STALE_AFTER_HOURS);
    let mut removed = 0;
    for _ in 0..CLEANUP_BATCHES {
        let stale = files.stale_uploads(cutoff, CLEANUP_BATCH).await?;
        if stale.is_empty() {
            break;
        }
        let results: Vec<Result<()>> = futures::stream::iter(&stale)
            .map(|file| async move {
                objects.delete(&staging_key(file)).await?;
                files.delete_file(&file.id).await
            })
            .buffer_unordered(CLEANUP_CONCURRENCY)
            .collect()
            .await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        removed += results.len() - failed;
        if failed > 0 {
            return Err(Error::unexpected(anyhow::anyhow!(
                "{failed} stale uploads could not be removed"
            )));
        }
    }
    info!(removed, "stale uploads removed");
    Ok(removed)
}
