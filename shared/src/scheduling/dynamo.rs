//! Availability plans on the table: one item per provider, in their partition, replaced
//! whole. A provider's held time is one item per quarter hour in their `BUSY#` partition,
//! written and deleted by the bookings' own transactions; the slot query reads a range of it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{Availability, Busy};
use super::store::AvailabilityStore;
use crate::domain::{BookingId, UserId};
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

    async fn busy(
        &self,
        provider: &UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Busy>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Cell {
            booking_id: BookingId,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(scheduling_keys::busy_partition(provider)))
            .expression_attribute_values(":from", s(scheduling_keys::cell_sort_key(from)))
            .expression_attribute_values(":to", s(scheduling_keys::cell_sort_key(to)))
            .projection_expression("bookingId, #start, #end")
            .expression_attribute_names("#start", "start")
            .expression_attribute_names("#end", "end");
        let cells: Vec<Cell> = from_items(Some(self.query_all(query).await?))?;
        let by_booking: BTreeMap<BookingId, Busy> = cells
            .into_iter()
            .map(|c| (c.booking_id, (c.start, c.end)))
            .collect();
        Ok(by_booking.into_values().collect())
    }
}
