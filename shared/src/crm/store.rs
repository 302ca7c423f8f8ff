//! Storage port of the interaction log, the funnel counters and the upsells.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::model::{DayCounts, Interaction, Upsell, UpsellKind};
use crate::cursor::Position;
use crate::domain::{BookingId, UserId};
use crate::error::Result;
use crate::store::Page;

/// The interaction log, its counters and the upsells.
#[async_trait]
pub trait CrmStore: Send + Sync {
    /// Records `interaction` once, in one transaction with its day's counters (its category's
    /// and every category's) and, for an upsell stage, the upsell's own record of it;
    /// `false` when it was recorded before (nothing is counted twice).
    async fn record(&self, interaction: &Interaction) -> Result<bool>;
    /// A customer's interactions, newest first.
    async fn interactions_of(
        &self,
        customer: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Interaction>>;
    /// The day counters of `category` (`None`: every category) from `from` to `to`.
    async fn funnel_days(
        &self,
        category: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCounts>>;
    /// Stores each upsell unless it exists (a retried recommendation changes nothing).
    async fn put_upsells(&self, upsells: &[Upsell]) -> Result<()>;
    /// A customer's upsells, newest booking first.
    async fn upsells_of(
        &self,
        customer: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Upsell>>;
    /// One of a customer's upsells.
    async fn upsell(
        &self,
        customer: &UserId,
        booking: &BookingId,
        kind: UpsellKind,
    ) -> Result<Option<Upsell>>;
}
