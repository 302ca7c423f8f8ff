//! Payout accounts, commission rates and the commission report on the table. A provider's
//! account record sits in their partition; the rates are one item; the report keeps one
//! counter item per period, category and currency, added to by the transaction that
//! completes a booking, so a period's report is one query and never a scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::keys as payout_keys;
use super::model::{CommissionRates, CommissionTally, PayoutAccount, ReportLine};
use super::store::PayoutStore;
use crate::domain::UserId;
use crate::error::{Error, Result};
use crate::store::dynamo::*;

const ENTITY_PAYOUT_ACCOUNT: &str = "payout_account";
const ENTITY_COMMISSION_RATES: &str = "commission_rates";
const ENTITY_REPORT_LINE: &str = "commission_report_line";

impl DynamoStore {
    fn payout_account_item(&self, account: &PayoutAccount) -> Result<Item> {
        to_item(
            &payout_keys::payout_account(&account.provider_id),
            ENTITY_PAYOUT_ACCOUNT,
            None,
            account,
        )
    }

    /// A transaction's addition of a completed booking to its period's commission report.
    pub(crate) fn commission_tally_action(
        &self,
        tally: &CommissionTally,
    ) -> Result<TransactWriteItem> {
        let update = self
            .update(&payout_keys::report_line(
                &tally.period,
                &tally.category,
                &tally.currency,
            ))
            .update_expression(
                "SET entity_type = :entity, category = :category, currency = :currency \
                 ADD bookings :one, gross :gross, commission :commission, net :net",
            )
            .expression_attribute_values(":entity", s(ENTITY_REPORT_LINE))
            .expression_attribute_values(":category", s(&tally.category))
            .expression_attribute_values(":currency", s(&tally.currency))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":gross", n(tally.gross))
            .expression_attribute_values(":commission", n(tally.commission))
            .expression_attribute_values(":net", n(tally.net))
            .build()
            .map_err(Error::unexpected)?;
        Ok(TransactWriteItem::builder().update(update).build())
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
}
