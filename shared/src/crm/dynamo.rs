//! [`CrmStore`] on the single table. An interaction is a put conditioned on its key (one per
//! customer, stage and subject), in one transaction with `ADD`s on its day's counters — its
//! category's row and every category's — and, for an upsell stage, the upsell's update
//! conditioned on that stage not being recorded yet: counted exactly once, whatever is
//! retried or redelivered. The counters are hot items, so conflicts are retried with jitter.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::NaiveDate;

use super::keys as crm_keys;
use super::model::{DayCounts, Interaction, Stage, Upsell, UpsellKind};
use super::store::CrmStore;
use crate::cursor::Position;
use crate::domain::{BookingId, UserId};
use crate::error::{Error, Result};
use crate::keys;
use crate::store::Page;
use crate::store::dynamo::*;

/// Entity type of an interaction.
pub const ENTITY_INTERACTION: &str = "interaction";
/// Entity type of a funnel day row.
const ENTITY_FUNNEL_DAY: &str = "funnel_day";
/// Entity type of an upsell.
const ENTITY_UPSELL: &str = "upsell";
/// Conflict retries of a recording: every interaction of a day moves the same counter row.
const RECORD_RETRIES: u32 = 8;

impl DynamoStore {
    /// `ADD`s `counts` to the counters of `category` (`None`: every category) on `day`.
    fn funnel_action(
        &self,
        (category, day): (Option<&str>, NaiveDate),
        counts: &BTreeMap<Stage, u64>,
    ) -> Result<TransactWriteItem> {
        let mut adds = Vec::new();
        let mut update = self
            .update(&crm_keys::funnel_day(category, day))
            .expression_attribute_names("#day", "day")
            .expression_attribute_values(":entity", s(ENTITY_FUNNEL_DAY))
            .expression_attribute_values(":day", s(day.format("%Y-%m-%d").to_string()));
        for (i, (stage, count)) in counts.iter().enumerate() {
            adds.push(format!("#s{i} :n{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), stage.counter())
                .expression_attribute_values(format!(":n{i}"), n(*count));
        }
        let expression = format!(
            "SET entity_type = :entity, #day = :day ADD {}",
            adds.join(", ")
        );
        let update = update
            .update_expression(expression)
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The upsell's record of an upsell stage: only once, and only of an upsell that exists.
    fn upsell_mark(&self, interaction: &Interaction) -> Result<Option<TransactWriteItem>> {
        let (Some(attribute), Some(booking), Some(kind)) = (
            interaction.stage.upsell_attribute(),
            interaction.booking_id,
            interaction.upsell,
        ) else {
            return Ok(None);
        };
        let mut update: aws_sdk_dynamodb::types::builders::UpdateBuilder = self
            .update(&crm_keys::upsell(&interaction.customer_id, &booking, kind))
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#at)")
            .expression_attribute_names("#at", attribute)
            .expression_attribute_values(":at", s(interaction.at.to_rfc3339()));
        update = match interaction.purchase_booking_id {
            Some(bought) => update
                .update_expression("SET #at = :at, purchaseBookingId = :bought")
                .expression_attribute_values(":bought", s(bought.to_string())),
            None => update.update_expression("SET #at = :at"),
        };
        let update: Update = update.build().map_err(Error::unexpected)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }
}

#[async_trait]
impl CrmStore for DynamoStore {
    async fn record_all(&self, interactions: &[Interaction]) -> Result<bool> {
        if interactions.is_empty() {
            return Ok(true);
        }
        let mut actions = Vec::new();
        // One update per counter row (a transaction may touch an item once), summing its
        // interactions per stage.
        let mut rows: BTreeMap<(Option<&str>, NaiveDate), BTreeMap<Stage, u64>> = BTreeMap::new();
        for interaction in interactions {
            let subject = interaction.subject();
            let (key, time) = crm_keys::interaction(
                &interaction.customer_id,
                interaction.stage,
                &subject,
                interaction.at,
            );
            let item = to_item(&key, ENTITY_INTERACTION, Some(&time), interaction)?;
            actions.push(self.put_action(item, Some("attribute_not_exists(PK)"))?);
            actions.extend(self.upsell_mark(interaction)?);
            let day = interaction.at.date_naive();
            for category in [Some(interaction.category.as_str()), None] {
                *rows
                    .entry((category, day))
                    .or_default()
                    .entry(interaction.stage)
                    .or_default() += 1;
            }
        }
        for (row, counts) in &rows {
            actions.push(self.funnel_action(*row, counts)?);
        }
        self.transact_conditional_retrying(actions, RECORD_RETRIES)
            .await
    }

    async fn interactions_of(
        &self,
        customer: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Interaction>> {
        // Every time-ordered sort key starts with a 15-digit time, hence "0".
        let partition = crm_keys::log_partition(customer);
        self.newest_first(Some(keys::GSI1), &partition, "0", None, limit, after)
            .await
    }

    async fn funnel_days(
        &self,
        category: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCounts>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(crm_keys::funnel_partition(category)))
            .expression_attribute_values(":from", s(crm_keys::funnel_sort(from)))
            .expression_attribute_values(":to", s(crm_keys::funnel_sort(to)));
        from_items(Some(self.query_all(query).await?))
    }

    async fn put_upsells(&self, upsells: &[Upsell]) -> Result<()> {
        let puts = upsells.iter().map(|upsell| async move {
            let key = crm_keys::upsell(&upsell.customer_id, &upsell.booking_id, upsell.kind);
            self.put_new(to_item(&key, ENTITY_UPSELL, None, upsell)?)
                .await
        });
        futures::future::try_join_all(puts).await?;
        Ok(())
    }

    async fn upsells_of(
        &self,
        customer: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Upsell>> {
        let partition = keys::user_partition(customer);
        self.newest_first(
            None,
            &partition,
            crm_keys::UPSELL_PREFIX,
            None,
            limit,
            after,
        )
        .await
    }

    async fn upsell(
        &self,
        customer: &UserId,
        booking: &BookingId,
        kind: UpsellKind,
    ) -> Result<Option<Upsell>> {
        self.get(&crm_keys::upsell(customer, booking, kind)).await
    }
}
