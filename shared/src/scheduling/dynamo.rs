//! Availability plans on the table: one item per provider, in their partition, replaced whole.

use async_trait::async_trait;

use super::model::Availability;
use super::store::AvailabilityStore;
use crate::domain::UserId;
use crate::error::Result;
use crate::scheduling::keys as scheduling_keys;
use crate::store::dynamo::*;

const ENTITY_AVAILABILITY: &str = "availability";

#[async_trait]
impl AvailabilityStore for DynamoStore {
    async fn availability(&self, provider: &UserId) -> Result<Option<Availability>> {
        self.get(&scheduling_keys::availability(provider)).await
    }

    async fn put_availability(&self, plan: &Availability) -> Result<()> {
        let key = scheduling_keys::availability(&plan.provider_id);
        self.put(to_item(&key, ENTITY_AVAILABILITY, None, plan)?)
            .await
    }
}
