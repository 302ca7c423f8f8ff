//! Offer and provider-profile use cases: who may publish, change and see what.
//! Providers publish; every signed-in user reads profiles and active offers; a paused offer is
//! visible only to its provider (and admins), and to anyone else it does not exist.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, instrument};
use utoipa::ToSchema;

use super::model::{
    CreateOffer, Offer, OfferPatch, OfferStatus, ProfileInput, ProviderProfile, PublicProfile,
};
use super::store::OfferStore;
use crate::auth::Caller;
use crate::bookings::model::PartyRole;
use crate::cursor::CursorCodec;
use crate::domain::{FileId, OfferId, Role, UserId};
use crate::error::{Error, Result};
use crate::files::store::FileStore;
use crate::payouts::store::PayoutStore;
use crate::reviews::response::FirstResponse;
use crate::reviews::store::{ResponseStore, ReviewStore};

/// A page of offers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferPage {
    /// Newest first.
    pub items: Vec<Offer>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// The offer and profile service.
pub struct Offers<'a> {
    /// Profiles and offers.
    pub store: &'a dyn OfferStore,
    /// To check an offer's images.
    pub files: &'a dyn FileStore,
    /// Page cursors.
    pub cursors: &'a CursorCodec,
}

fn provider_only(caller: &Caller) -> Result<()> {
    if caller.roles.contains(&Role::Provider) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only providers publish offers and profiles".into(),
        ))
    }
}

fn sees(caller: &Caller, offer: &Offer) -> bool {
    offer.status == OfferStatus::Active
        || offer.provider_id == caller.user_id
        || caller.roles.contains(&Role::Admin)
}

/// How many of a provider's latest reviews their profile shows.
const LATEST_REVIEWS: u32 = 3;

impl Offers<'_> {
    /// `PUT /me/provider-profile`.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn put_profile(
        &self,
        caller: &Caller,
        input: ProfileInput,
        now: DateTime<Utc>,
    ) -> Result<ProviderProfile> {
        provider_only(caller)?;
        let profile = input.validate(caller.user_id, now)?;
        self.check_images(
            &caller.user_id,
            &profile.portfolio_file_ids,
            "portfolioFileIds",
        )
        .await?;
        self.store.put_profile(&profile).await?;
        Ok(profile)
    }

    /// `GET /providers/{id}`.
    pub async fn profile(&self, provider: &UserId) -> Result<ProviderProfile> {
        self.store
            .get_profile(provider)
            .await?
            .ok_or(Error::NotFound("provider"))
    }

    /// `GET /providers/{id}`: the profile and, read in parallel, whether the provider's payout
    /// account can be paid, their rating, their latest reviews and their measured
    /// first-response time.
    pub async fn public_profile(
        &self,
        accounts: &dyn PayoutStore,
        reviews: &dyn ReviewStore,
        responses: &dyn ResponseStore,
        provider: &UserId,
    ) -> Result<PublicProfile> {
        let (profile, account, rating, latest, first) = futures::try_join!(
            self.profile(provider),
            accounts.payout_account(provider),
            reviews.rating(provider, PartyRole::Provider),
            reviews.published_of(provider, PartyRole::Provider, LATEST_REVIEWS, None),
            responses.first_responses(provider),
        )?;
        Ok(PublicProfile {
            can_be_paid: account.is_some_and(|a| a.can_be_paid),
            profile,
            rating,
            latest_reviews: latest.items,
            first_response: FirstResponse::from_counts(&first),
        })
    }

    /// `POST /offers`.
    #[instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn create(
        &self,
        caller: &Caller,
        request: CreateOffer,
        now: DateTime<Utc>,
    ) -> Result<Offer> {
        provider_only(caller)?;
        let offer = request.validate(caller.user_id, now)?;
        self.check_images(&caller.user_id, &offer.image_file_ids, "imageFileIds")
            .await?;
        self.store.create_offer(&offer).await?;
        info!(offer_id = %offer.id, "offer published");
        Ok(offer)
    }

    /// `GET /offers/{id}`.
    pub async fn get(&self, caller: &Caller, id: &OfferId) -> Result<Offer> {
        match self.store.get_offer(id).await? {
            Some(offer) if sees(caller, &offer) => Ok(offer),
            _ => Err(Error::NotFound("offer")),
        }
    }

    /// The offer `caller` may change: 404 when they cannot see it, 403 when it is another
    /// provider's.
    async fn own(&self, caller: &Caller, id: &OfferId) -> Result<Offer> {
        let offer = self.get(caller, id).await?;
        if offer.provider_id != caller.user_id {
            return Err(Error::Forbidden("another provider's offer".into()));
        }
        Ok(offer)
    }

    /// `PATCH /offers/{id}`.
    #[instrument(skip_all, fields(user_id = %caller.user_id, offer_id = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: &OfferId,
        patch: OfferPatch,
        now: DateTime<Utc>,
    ) -> Result<Offer> {
        let before = self.own(caller, id).await?;
        let images_changed = patch.image_file_ids.is_some();
        let after = patch.apply(before.clone(), now)?;
        if images_changed {
            self.check_images(&caller.user_id, &after.image_file_ids, "imageFileIds")
                .await?;
        }
        if !self.store.replace_offer(&before, &after).await? {
            return Err(Error::Conflict(
                "the offer changed meanwhile; read it and retry".into(),
            ));
        }
        Ok(after)
    }

    /// `DELETE /offers/{id}`.
    #[instrument(skip_all, fields(user_id = %caller.user_id, offer_id = %id))]
    pub async fn delete(&self, caller: &Caller, id: &OfferId) -> Result<()> {
        let offer = self.own(caller, id).await?;
        if !self.store.delete_offer(&offer).await? {
            return Err(Error::Conflict(
                "the offer changed meanwhile; read it and retry".into(),
            ));
        }
        Ok(())
    }

    /// `GET /offers?category=…`: a category's active offers, newest first.
    pub async fn listed(
        &self,
        category: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<OfferPage> {
        let category = super::model::category(category, "category")?;
        let scope = format!("offers:{category}");
        let after = cursor.map(|c| self.cursors.decode(&scope, c)).transpose()?;
        let page = self.store.listed_offers(&category, limit, after).await?;
        Ok(OfferPage {
            items: page.items,
            next_cursor: page.next.map(|p| self.cursors.encode(&scope, &p)),
        })
    }

    /// `GET /providers/{id}/offers`: newest first; the provider also sees their paused ones.
    pub async fn of_provider(
        &self,
        caller: &Caller,
        provider: &UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<OfferPage> {
        let scope = format!("provider-offers:{provider}");
        let after = cursor.map(|c| self.cursors.decode(&scope, c)).transpose()?;
        let page = self.store.offers_of(provider, limit, after).await?;
        Ok(OfferPage {
            items: page.items.into_iter().filter(|o| sees(caller, o)).collect(),
            next_cursor: page.next.map(|p| self.cursors.encode(&scope, &p)),
        })
    }

    /// Every image must be one of the caller's ready profile or portfolio images.
    async fn check_images(&self, owner: &UserId, ids: &[FileId], field: &str) -> Result<()> {
        let files =
            futures::future::try_join_all(ids.iter().map(|id| self.files.get_file(id))).await?;
        let ok = files
            .iter()
            .all(|file| file.as_ref().is_some_and(|f| f.is_ready_image_of(owner)));
        if ok {
            Ok(())
        } else {
            Err(Error::field(
                field,
                "each must be one of your ready profile or portfolio images",
            ))
        }
    }
}
