//! Storage port of availability plans.

use async_trait::async_trait;

use super::model::Availability;
use crate::domain::UserId;
use crate::error::Result;

/// Availability plans.
#[async_trait]
pub trait AvailabilityStore: Send + Sync {
    /// A provider's plan.
    async fn availability(&self, provider: &UserId) -> Result<Option<Availability>>;
    /// Stores (replaces) a provider's plan.
    async fn put_availability(&self, plan: &Availability) -> Result<()>;
}
