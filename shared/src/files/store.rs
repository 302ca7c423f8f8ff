//! Storage port of file records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::FileId;
use crate::error::Result;
use crate::files::model::FileRecord;

/// File records.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Stores a new pending file.
    async fn create_file(&self, file: &FileRecord) -> Result<()>;
    /// A file by id.
    async fn get_file(&self, id: &FileId) -> Result<Option<FileRecord>>;
    /// Marks a pending file ready; `false` if it was not pending (already ready, or gone).
    async fn mark_ready(&self, id: &FileId, now: DateTime<Utc>) -> Result<bool>;
    /// Deletes a file record (idempotent).
    async fn delete_file(&self, id: &FileId) -> Result<()>;
    /// Pending uploads declared before `before`, oldest first, at most `limit`.
    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>>;
}
