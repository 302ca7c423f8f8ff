//! Payout accounts, commission rates and the commission report on the table. A provider's
//! account record sits in their partition; the rates are one item; the report keeps one
//! counter item per period, category and currency, added to by the transaction that
//! completes a booking, so a period's report is one query and never a scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::keys as payout_keys;
use super::model::{
    CommissionRates, CommissionTally, EarningsLine, PayoutAccount, PayoutRecord, ReportLine,
};
use super::store::PayoutStore;
use crate::cursor::Position;
use crate::domain::UserId;
use crate::error::{Error, Result};
use crate::keys;
use crate::store::Page;
use crate::store::dynamo::*;

const ENTITY_PAYOUT_ACCOUNT: &str = "payout_account";
const ENTITY_COMMISSION_RATES: &str = "commission_rates";
const ENTITY_REPORT_LINE: &str = "commission_report_line";
const ENTITY_EARNINGS_LINE: &str = "earnings_line";
const ENTITY_PAYOUT: &str = "payout";
const ENTITY_WITHDRAWAL: &str = "withdrawal";

impl DynamoStore {
    fn payout_account_item(&self, account: &PayoutAccount) -> Result<Item> {
        to_item(
            &payout_keys::payout_account(&account.provider_id),
            ENTITY_PAYOUT_ACCOUNT,
            None,
            account,
        )
    }

    /// A transaction's additions of a completed booking to its period's commission report
    /// and to its provider's earnings (the same counters, keyed twice).
    pub(crate) fn commission_tally_actions(
        &self,
        tally: &CommissionTally,
    ) -> Result<Vec<TransactWriteItem>> {
        let lines = [
            (
                payout_keys::report_line(&tally.period, &tally.category, &tally.currency),
                ENTITY_REPORT_LINE,
            ),
            (
                payout_keys::earnings_line(&tally.provider, &tally.period, &tally.currency),
                ENTITY_EARNINGS_LINE,
            ),
        ];
        lines
            .into_iter()
            .map(|(key, entity)| {
                let update = self
                    .update(&key)
                    .update_expression(
                        "SET entity_type = :entity, category = :category, currency = :currency, \
                         period = :period \
                         ADD bookings :bookings, gross :gross, commission :commission, net :net",
                    )
                    .expression_attribute_values(":entity", s(entity))
                    .expression_attribute_values(":category", s(&tally.category))
                    .expression_attribute_values(":currency", s(&tally.currency))
                    .expression_attribute_values(":period", s(&tally.period))
                    .expression_attribute_values(":bookings", n(tally.bookings))
                    .expression_attribute_values(":gross", n(tally.gross))
                    .expression_attribute_values(":commission", n(tally.commission))
                    .expression_attribute_values(":net", n(tally.net))
                    .build()
                    .map_err(Error::unexpected)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }
}

#[async_trait]
impl PayoutStore for DynamoStore {
    async fn payout_account(&self, provider: &UserId) -> Result<Option<PayoutAccount>> {
        self.get(&payout_keys::payout_account(provider)).await
    }

    async fn create_payout_account(&self, account: &PayoutAccount) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.payout_account_item(account)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        conditional(put).await
    }

    async fn save_payout_account(&self, account: &PayoutAccount) -> Result<()> {
        self.put(self.payout_account_item(account)?).await
    }

    async fn commission_rates(&self) -> Result<CommissionRates> {
        Ok(self
            .get(&payout_keys::commission_rates())
            .await?
            .unwrap_or_default())
    }

    async fn put_commission_rates(&self, rates: &CommissionRates) -> Result<()> {
        let item = to_item(
            &payout_keys::commission_rates(),
            ENTITY_COMMISSION_RATES,
            None,
            rates,
        )?;
        self.put(item).await
    }

    async fn commission_report(&self, period: &str) -> Result<Vec<ReportLine>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(payout_keys::report_partition(period)));
        from_items(Some(self.query_all(query).await?))
    }

    async fn withdrawal(&self, provider: &UserId, key: &str) -> Result<Option<PayoutRecord>> {
        self.get(&payout_keys::withdrawal(provider, key)).await
    }

    async fn save_withdrawal(
        &self,
        provider: &UserId,
        key: &str,
        payout: &PayoutRecord,
    ) -> Result<()> {
        let claim = to_item(
            &payout_keys::withdrawal(provider, key),
            ENTITY_WITHDRAWAL,
            None,
            payout,
        )?;
        let record_key =
            payout_keys::payout(provider, payout.created_at.timestamp(), &payout.payout_id);
        let record = to_item(&record_key, ENTITY_PAYOUT, None, payout)?;
        self.transact_conditional(vec![
            self.put_action(claim, None)?,
            self.put_action(record, None)?,
        ])
        .await
        .map(drop)
    }

    async fn save_payout(&self, provider: &UserId, payout: &PayoutRecord) -> Result<()> {
        let key = payout_keys::payout(provider, payout.created_at.timestamp(), &payout.payout_id);
        self.put(to_item(&key, ENTITY_PAYOUT, None, payout)?).await
    }

    async fn payouts_of(
        &self,
        provider: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<PayoutRecord>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::user_partition(provider)))
            .expression_attribute_values(":prefix", s(payout_keys::PAYOUT_PREFIX))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(after.map(position_to_item))
            .send()
            .await
            .map_err(Error::unexpected)?;
        Ok(Page {
            items: from_items(out.items)?,
            next: out.last_evaluated_key.map(item_to_position).transpose()?,
        })
    }

    async fn earnings_of(&self, provider: &UserId) -> Result<Vec<EarningsLine>> {
        let pk = keys::user_partition(provider);
        self.partition_items(&pk, payout_keys::EARNINGS_PREFIX, true)
            .await
    }
}
