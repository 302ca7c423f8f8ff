//! Storage port of the follow-up settings, the premium flags and the premium upgrades
//! customers buy (a follow-up's child booking itself is written by the bookings' store, as
//! every checkout).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{FollowUpSettings, Premium, PremiumUpgrade};
use crate::bookings::store::Creation;
use crate::domain::UserId;
use crate::error::Result;
use crate::store::RateLimit;

/// The follow-up settings and the customers' premium flags.
#[async_trait]
pub trait FollowUpStore: Send + Sync {
    /// The admins' settings (the defaults while none are set).
    async fn follow_up_settings(&self) -> Result<FollowUpSettings>;
    /// Replaces the settings.
    async fn put_follow_up_settings(&self, settings: &FollowUpSettings) -> Result<()>;
    /// A customer's premium flag (not premium while never set).
    async fn premium(&self, user: &UserId) -> Result<Premium>;
    /// Sets a customer's premium flag.
    async fn put_premium(&self, premium: &Premium) -> Result<()>;
    /// The upgrade `user` bought under `key`, if any.
    async fn upgrade(&self, user: &UserId, key: &str) -> Result<Option<PremiumUpgrade>>;
    /// Writes a new upgrade (its key's claim), counted against `limits`: `KeyTaken` when an
    /// upgrade with its key exists, `Limited` when a limit is reached (nothing written).
    async fn create_upgrade(
        &self,
        upgrade: &PremiumUpgrade,
        limits: &[RateLimit<'_>],
        now: DateTime<Utc>,
    ) -> Result<Creation>;
    /// Writes `after` if the stored upgrade is still at version `before`; `false` otherwise.
    async fn save_upgrade(&self, before: u32, after: &PremiumUpgrade) -> Result<bool>;
    /// The upgrade paid, in one transaction: `after` (if the stored upgrade is still at
    /// version `before`), the customer's flag `premium`, and Stripe's `event` consumed.
    /// `false` when something else moved it first (or the event was consumed).
    async fn upgrade_paid(
        &self,
        before: u32,
        after: &PremiumUpgrade,
        premium: &Premium,
        event: &str,
    ) -> Result<bool>;
}
