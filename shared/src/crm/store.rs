//! Storage port of the interaction log, the funnel counters and the upsells.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::model::{DayCounts, Interaction, Upsell, UpsellKind};
use crate::cursor::Position;
use crate::domain::{BookingId, UserId};
use crate::error::Result;
use crate::store::Page;

/// The most interactions recorded in one transaction: each takes two of its 100 actions at
/// most, and the counter rows one per category and one for all.
pub const RECORD_AT_ONCE: usize = 24;

/// The interaction log, its counters and the upsells.
#[async_trait]
pub trait CrmStore: Send + Sync {
    /// Records `interactions` (at most [`RECORD_AT_ONCE`]), each once, in one transaction with
    /// their days' counters (their categories' and every category's, summed per row) and,
    /// for an upsell stage, the upsell's own record of it; `false`, recording none, when one
    /// of them was recorded before (nothing is counted twice).
    async fn record_all(&self, interactions: &[Interaction]) -> Result<bool>;

    /// Records one interaction (see [`CrmStore::record_all`]).
    async fn record(&self, interaction: &Interaction) -> Result<bool> {
        self.record_all(std::slice::from_ref(interaction)).await
    }
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
