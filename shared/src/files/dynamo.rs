//! File records on the table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::instrument;

use super::model::*;
use super::store::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::keys;
use crate::store::dynamo::*;

#[async_trait]
impl FileStore for DynamoStore {
    #[instrument(skip_all, fields(file_id = %file.id))]
    async fn create_file(&self, file: &FileRecord) -> Result<()> {
        let item = to_item(
            &crate::files::keys::file(&file.id),
            ENTITY_FILE,
            Some(&crate::files::keys::pending_upload(&file.id)),
            file,
        )?;
        self.put(item).await
    }

    async fn get_file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        self.get(&crate::files::keys::file(id)).await
    }

    #[instrument(skip_all, fields(file_id = %id))]
    async fn mark_ready(&self, id: &FileId, now: DateTime<Utc>) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&crate::files::keys::file(id))))
            // Leaving the sparse index is what takes the file off the cleanup job's list.
            .update_expression("SET #status = :ready, completedAt = :now REMOVE #gpk, #gsk")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":ready", s("ready"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .send()
            .await;
        conditional(result).await
    }

    #[instrument(skip_all, fields(file_id = %id))]
    async fn delete_file(&self, id: &FileId) -> Result<()> {
        self.delete(&crate::files::keys::file(id)).await
    }

    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>> {
        let bound = crate::files::keys::pending_upload(&FileId::floor_at(before));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk < :bound")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(&bound.pk))
            .expression_attribute_values(":bound", s(&bound.sk))
            .limit(limit as i32)
            .send()
            .await
            .map_err(Error::unexpected)?;
        from_items(out.items)
    }
}
