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

impl DynamoStore {
    /// A transaction's update that shares a file with a room (its members may then download
    /// it): only a ready file of `owner`, and of `purpose` when one is given. Chat attachments
    /// and a booking's proof of work go through here.
    pub(crate) fn share_file_action(
        &self,
        file: &FileId,
        room: &RoomId,
        owner: &UserId,
        purpose: Option<Purpose>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        self.add_to_file_action(file, "roomIds", room.to_string(), owner, purpose)
    }

    /// A transaction's update that attaches a file to a job (providers who can see the open
    /// job may then download it): only a ready `job_document` of `owner`.
    pub(crate) fn attach_file_action(
        &self,
        file: &FileId,
        job: &JobId,
        owner: &UserId,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        self.add_to_file_action(
            file,
            "jobIds",
            job.to_string(),
            owner,
            Some(Purpose::JobDocument),
        )
    }

    /// Adds `value` to the string set `attribute` of a ready file of `owner` (and of
    /// `purpose` when given); the condition fails for anything else, a missing file included.
    fn add_to_file_action(
        &self,
        file: &FileId,
        attribute: &str,
        value: String,
        owner: &UserId,
        purpose: Option<Purpose>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        let mut condition = "#status = :ready AND ownerId = :owner".to_owned();
        let mut update = self
            .update(&crate::files::keys::file(file))
            .update_expression(format!("ADD {attribute} :value"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":value",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec![value]),
            )
            .expression_attribute_values(":ready", s("ready"))
            .expression_attribute_values(":owner", s(owner.to_string()));
        if let Some(purpose) = purpose {
            condition.push_str(" AND purpose = :purpose");
            update = update.expression_attribute_values(":purpose", s(wire_name(&purpose)));
        }
        let update = update
            .condition_expression(condition)
            .build()
            .map_err(Error::unexpected)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build())
    }
}

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
