//! [`FollowUpStore`] on the single table: small items read by key. A premium upgrade is one
//! item in its customer's partition, keyed by the client's key (so the key's claim and the
//! upgrade are one conditioned put); every later write is conditioned on the version read,
//! and its payment's is one transaction with the premium flag and the consumed Stripe event.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::keys;
use super::model::{FollowUpSettings, Premium, PremiumUpgrade};
use super::store::FollowUpStore;
use crate::bookings::store::Creation;
use crate::domain::UserId;
use crate::error::{Error, Result};
use crate::store::RateLimit;
use crate::store::dynamo::{DynamoStore, Item, conditional, n, to_item};

/// Entity type of the follow-up settings item.
const ENTITY_FOLLOW_UP_SETTINGS: &str = "follow_up_settings";
/// Entity type of a customer's premium flag.
const ENTITY_PREMIUM: &str = "premium";
/// Entity type of a premium upgrade: the CRM's stream consumer reads the paid ones.
pub const ENTITY_UPGRADE: &str = "premium_upgrade";

impl DynamoStore {
    fn upgrade_item(&self, upgrade: &PremiumUpgrade) -> Result<Item> {
        let key = keys::upgrade(&upgrade.customer_id, &upgrade.idempotency_key);
        to_item(&key, ENTITY_UPGRADE, None, upgrade)
    }

    fn premium_item(&self, premium: &Premium) -> Result<Item> {
        let key = keys::premium(&premium.user_id);
        to_item(&key, ENTITY_PREMIUM, None, premium)
    }

    /// `after`'s put in a transaction, only over version `before`.
    fn upgrade_save(&self, before: u32, after: &PremiumUpgrade) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.upgrade_item(after)?))
            .condition_expression(OVER_VERSION)
            .expression_attribute_values(":version", n(before))
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The condition of every later write of an upgrade: over the version read.
const OVER_VERSION: &str = "version = :version";

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
        let stored = self.get(&keys::premium(user)).await?;
        Ok(stored.unwrap_or_else(|| Premium::never_set(user)))
    }

    async fn put_premium(&self, premium: &Premium) -> Result<()> {
        self.put(self.premium_item(premium)?).await
    }

    async fn upgrade(&self, user: &UserId, key: &str) -> Result<Option<PremiumUpgrade>> {
        self.get(&keys::upgrade(user, key)).await
    }

    async fn create_upgrade(
        &self,
        upgrade: &PremiumUpgrade,
        limits: &[RateLimit<'_>],
        now: DateTime<Utc>,
    ) -> Result<Creation> {
        let claim = self.put_action(
            self.upgrade_item(upgrade)?,
            Some("attribute_not_exists(PK)"),
        )?;
        self.create_claimed(vec![claim], limits, Vec::new(), now)
            .await
    }

    async fn save_upgrade(&self, before: u32, after: &PremiumUpgrade) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.upgrade_item(after)?))
            .condition_expression(OVER_VERSION)
            .expression_attribute_values(":version", n(before))
            .send()
            .await;
        conditional(put).await
    }

    async fn upgrade_paid(
        &self,
        before: u32,
        after: &PremiumUpgrade,
        premium: &Premium,
        event: &str,
    ) -> Result<bool> {
        let actions = vec![
            self.upgrade_save(before, after)?,
            self.put_action(self.premium_item(premium)?, None)?,
            self.put_action(
                self.event_item(event, after.updated_at)?,
                Some("attribute_not_exists(PK)"),
            )?,
        ];
        self.transact_conditional(actions).await
    }
}
