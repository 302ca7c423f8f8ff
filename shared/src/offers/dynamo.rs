//! Provider profiles and offers on the table. An offer item carries its provider's `GSI1`
//! keys (the provider's list, newest first); an active offer also has a listing item, a copy
//! in its category's partition, so a category page is one query. Every change of an offer is
//! one transaction conditioned on the version read (`updatedAt`), which also moves or removes
//! the listing, so a listing never outlives or disagrees with its offer.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use tracing::instrument;

use super::model::{Offer, OfferStatus, ProviderProfile};
use super::store::OfferStore;
use crate::cursor::Position;
use crate::domain::{OfferId, UserId};
use crate::error::{Error, Result};
use crate::keys;
use crate::offers::keys as offer_keys;
use crate::store::Page;
use crate::store::dynamo::*;

const ENTITY_PROFILE: &str = "provider_profile";
const ENTITY_OFFER: &str = "offer";
const ENTITY_LISTING: &str = "offer_listing";

/// The version of an offer as stored (`updatedAt`, written by the same serializer).
fn version(offer: &Offer) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(offer.updated_at).map_err(Error::unexpected)
}

impl DynamoStore {
    fn offer_item(&self, offer: &Offer) -> Result<Item> {
        to_item(
            &offer_keys::offer(&offer.id),
            ENTITY_OFFER,
            Some(&offer_keys::offer_by_provider(
                &offer.provider_id,
                &offer.id,
            )),
            offer,
        )
    }

    fn listing_item(&self, offer: &Offer) -> Result<Item> {
        to_item(
            &offer_keys::listing(&offer.category, &offer.id),
            ENTITY_LISTING,
            None,
            offer,
        )
    }
}

#[async_trait]
impl OfferStore for DynamoStore {
    #[instrument(skip_all, fields(provider_id = %profile.provider_id))]
    async fn put_profile(&self, profile: &ProviderProfile) -> Result<()> {
        let key = offer_keys::provider_profile(&profile.provider_id);
        self.put(to_item(&key, ENTITY_PROFILE, None, profile)?)
            .await
    }

    async fn get_profile(&self, provider: &UserId) -> Result<Option<ProviderProfile>> {
        self.get(&offer_keys::provider_profile(provider)).await
    }

    #[instrument(skip_all, fields(offer_id = %offer.id))]
    async fn create_offer(&self, offer: &Offer) -> Result<()> {
        let mut actions =
            vec![self.put_action(self.offer_item(offer)?, Some("attribute_not_exists(PK)"))?];
        if offer.status == OfferStatus::Active {
            actions.push(self.put_action(self.listing_item(offer)?, None)?);
        }
        if self.transact_conditional(actions).await? {
            Ok(())
        } else {
            Err(Error::Conflict("an offer with this id exists".into()))
        }
    }

    async fn get_offer(&self, id: &OfferId) -> Result<Option<Offer>> {
        self.get(&offer_keys::offer(id)).await
    }

    #[instrument(skip_all, fields(offer_id = %after.id))]
    async fn replace_offer(&self, before: &Offer, after: &Offer) -> Result<bool> {
        let offer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.offer_item(after)?))
            .condition_expression("updatedAt = :before")
            .expression_attribute_values(":before", version(before)?)
            .build()
            .map_err(Error::unexpected)?;
        let mut actions = vec![TransactWriteItem::builder().put(offer).build()];
        if before.status == OfferStatus::Active
            && (after.status != OfferStatus::Active || after.category != before.category)
        {
            actions.push(self.delete_action(&offer_keys::listing(&before.category, &before.id))?);
        }
        if after.status == OfferStatus::Active {
            actions.push(self.put_action(self.listing_item(after)?, None)?);
        }
        self.transact_conditional(actions).await
    }

    #[instrument(skip_all, fields(offer_id = %offer.id))]
    async fn delete_offer(&self, offer: &Offer) -> Result<bool> {
        let condition = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&offer_keys::offer(&offer.id))))
            .condition_expression("updatedAt = :before")
            .expression_attribute_values(":before", version(offer)?)
            .build()
            .map_err(Error::unexpected)?;
        let actions = vec![
            TransactWriteItem::builder().delete(condition).build(),
            self.delete_action(&offer_keys::listing(&offer.category, &offer.id))?,
        ];
        self.transact_conditional(actions).await
    }

    async fn listed_offers(
        &self,
        category: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Offer>> {
        let pk = offer_keys::category_partition(category);
        self.newest_first(None, &pk, offer_keys::OFFER_PREFIX, None, limit, after)
            .await
    }

    async fn offers_of(
        &self,
        provider: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Offer>> {
        let pk = keys::user_partition(provider);
        self.newest_first(
            Some(keys::GSI1),
            &pk,
            offer_keys::OFFER_PREFIX,
            None,
            limit,
            after,
        )
        .await
    }
}
