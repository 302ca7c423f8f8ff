//! Storage port of provider profiles and offers.

use async_trait::async_trait;

use super::model::{Offer, ProviderProfile};
use crate::cursor::Position;
use crate::domain::{OfferId, UserId};
use crate::error::Result;
use crate::store::Page;

/// Provider profiles and offers.
#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Stores (replaces) a provider's profile.
    async fn put_profile(&self, profile: &ProviderProfile) -> Result<()>;
    /// A provider's profile.
    async fn get_profile(&self, provider: &UserId) -> Result<Option<ProviderProfile>>;
    /// Stores a new offer (and its category listing when active).
    async fn create_offer(&self, offer: &Offer) -> Result<()>;
    /// An offer by id.
    async fn get_offer(&self, id: &OfferId) -> Result<Option<Offer>>;
    /// Replaces `before` with `after` (same id) and moves its listing; `false` when the stored
    /// offer is no longer `before` (changed or deleted concurrently).
    async fn replace_offer(&self, before: &Offer, after: &Offer) -> Result<bool>;
    /// Deletes an offer and its listing; `false` when it was changed or gone meanwhile.
    async fn delete_offer(&self, offer: &Offer) -> Result<bool>;
    /// A page of a category's active offers, newest first.
    async fn listed_offers(
        &self,
        category: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Offer>>;
    /// A page of a provider's offers (active and paused), newest first.
    async fn offers_of(
        &self,
        provider: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Offer>>;
}
