//! Storage port of user profiles.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Email, ProfileChanges, User, UserId};
use crate::error::Result;

/// User profiles and the email → user claim.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// A profile by id.
    async fn get_user(&self, id: &UserId) -> Result<Option<User>>;
    /// The owner of an address.
    async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>>;
    /// Creates a profile and claims its address in one transaction; `false` when the
    /// address was claimed concurrently (the caller then reads the winner).
    async fn create_user(&self, user: &User) -> Result<bool>;
    /// Applies validated changes and returns the new profile; `NotFound` if it is gone.
    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<User>;
}
