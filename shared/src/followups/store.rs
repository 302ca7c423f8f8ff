//! Storage port of the follow-up settings and the premium flags (the child booking itself is
//! written by the bookings' store, as every checkout).

use async_trait::async_trait;

use super::model::{FollowUpSettings, Premium};
use crate::domain::UserId;
use crate::error::Result;

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
}
