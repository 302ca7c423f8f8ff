//! Storage port of availability plans.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use super::model::{Availability, Busy};
use crate::domain::UserId;
use crate::error::Result;

/// Availability plans.
#[async_trait]
pub trait AvailabilityStore: Send + Sync {
    /// A provider's plan.
    async fn availability(&self, provider: &UserId) -> Result<Option<Availability>>;
    /// Stores (replaces) a provider's plan.
    async fn put_availability(&self, plan: &Availability) -> Result<()>;
    /// The bookings holding a provider's time between `from` and `to` (their own start
    /// and end, without buffer), each once.
    async fn busy(
        &self,
        provider: &UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Busy>>;
}
