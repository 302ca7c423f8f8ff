//! [`FollowUpStore`] on the single table: two small items, read by key.

use async_trait::async_trait;

use super::keys;
use super::model::{FollowUpSettings, Premium};
use super::store::FollowUpStore;
use crate::domain::UserId;
use crate::error::Result;
use crate::store::dynamo::{DynamoStore, to_item};

/// Entity type of the follow-up settings item.
const ENTITY_FOLLOW_UP_SETTINGS: &str = "follow_up_settings";
/// Entity type of a customer's premium flag.
const ENTITY_PREMIUM: &str = "premium";

#[async_trait]
impl FollowUpStore for DynamoStore {
    async fn follow_up_settings(&self) -> Result<FollowUpSettings> {
        Ok(self.get(&keys::settings()).await?.unwrap_or_default())
    }

    async fn put_follow_up_settings(&self, settings: &FollowUpSettings) -> Result<()> {
        let item = to_item(&keys::settings(), ENTITY_FOLLOW_UP_SETTINGS, None, settings)?;
        self.put(item).await
    }

    async fn premium(&self, user: &UserId) -> Result<Premium> {
        Ok(self.get(&keys::premium(user)).await?.unwrap_or(Premium {
            user_id: *user,
            premium: false,
            updated_at: None,
        }))
    }

    async fn put_premium(&self, premium: &Premium) -> Result<()> {
        let item = to_item(
            &keys::premium(&premium.user_id),
            ENTITY_PREMIUM,
            None,
            premium,
        )?;
        self.put(item).await
    }
}
