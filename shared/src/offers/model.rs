//! Provider profiles and fixed-price offers: what a provider may publish, and money as integer
//! minor units with an ISO currency. Pure rules; storage and authorization live elsewhere.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{FileId, OfferId, UserId};
use crate::error::Error;

/// Currencies offers may be priced in: ISO 4217, lowercase as Stripe writes them, all with two
/// decimal places (so one minor unit is a cent).
pub const CURRENCIES: &[&str] = &["aud", "brl", "cad", "chf", "eur", "gbp", "usd"];
/// Smallest price in minor units: below Stripe's minimum charge in every listed currency.
pub const MIN_PRICE: i64 = 100;
/// Largest price in minor units (100,000.00): anything above is a typo, not a service.
pub const MAX_PRICE: i64 = 10_000_000;
/// Shortest and longest service, in minutes (a week).
pub const DURATION_MINUTES: (u32, u32) = (15, 10_080);
/// Images an offer may show.
pub const MAX_IMAGES: usize = 8;

/// A price: integer minor units and a lowercase ISO currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Money {
    /// Minor units (cents), 100 to 10,000,000.
    #[schema(minimum = 100, maximum = 10_000_000)]
    pub amount: i64,
    /// Lowercase ISO 4217 code.
    #[schema(pattern = "^(aud|brl|cad|chf|eur|gbp|usd)$", example = "eur")]
    pub currency: String,
}

impl Money {
    /// Checks the amount and currency; `field` names the price in errors.
    pub fn validate(&self, field: &str) -> Result<(), Error> {
        if !CURRENCIES.contains(&self.currency.as_str()) {
            return Err(Error::field(
                format!("{field}.currency"),
                format!("one of {}", CURRENCIES.join(", ")),
            ));
        }
        if !(MIN_PRICE..=MAX_PRICE).contains(&self.amount) {
            return Err(Error::field(
                format!("{field}.amount"),
                format!("minor units from {MIN_PRICE} to {MAX_PRICE}"),
            ));
        }
        Ok(())
    }
}

/// Whether buyers can see and buy an offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Listed and buyable.
    Active,
    /// Hidden from listings; only its provider sees it.
    Paused,
}

/// A provider's fixed-price listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// Id.
    pub id: OfferId,
    /// The provider who sells it.
    pub provider_id: UserId,
    /// Title.
    pub title: String,
    /// What the buyer gets.
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Price.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub price: Money,
    /// How long the service takes, in minutes.
    pub duration_minutes: u32,
    /// Images (the provider's ready profile or portfolio images).
    pub image_file_ids: Vec<FileId>,
    /// Listed or paused.
    pub status: OfferStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `POST /offers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOffer {
    /// 3–100 characters, not blank, no control characters; stored trimmed.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        min_length = 3,
        max_length = 100
    )]
    pub title: String,
    /// Up to 5,000 characters, not blank, no control characters but new lines and tabs;
    /// stored trimmed.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 5000
    )]
    pub description: String,
    /// Category slug: 1–40 lowercase letters, digits or `-`.
    #[schema(pattern = "^[a-z0-9-]{1,40}$", example = "plumbing")]
    pub category: String,
    /// Price.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub price: Money,
    /// 15 to 10,080 minutes.
    #[schema(minimum = 15, maximum = 10_080)]
    pub duration_minutes: u32,
    /// At most 8 of the caller's ready profile or portfolio images.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub image_file_ids: Vec<FileId>,
}

/// `PATCH /offers/{id}`: fields present replace the stored ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferPatch {
    /// 3–100 characters, not blank, no control characters; stored trimmed.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        min_length = 3,
        max_length = 100
    )]
    pub title: Option<String>,
    /// Up to 5,000 characters, not blank, no control characters but new lines and tabs;
    /// stored trimmed.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$",
        max_length = 5000
    )]
    pub description: Option<String>,
    /// Category slug.
    #[schema(pattern = "^[a-z0-9-]{1,40}$")]
    pub category: Option<String>,
    /// Price.
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub price: Option<Money>,
    /// 15 to 10,080 minutes.
    #[schema(minimum = 15, maximum = 10_080)]
    pub duration_minutes: Option<u32>,
    /// The full new list of images.
    #[schema(max_items = 8)]
    pub image_file_ids: Option<Vec<FileId>>,
    /// Pause or list again.
    pub status: Option<OfferStatus>,
}

/// A text field: `min` to `max` characters as sent (what the document's `minLength` and
/// `maxLength` count), at least one of them visible, without control characters (new lines
/// are allowed in long texts); stored trimmed.
pub(crate) fn text(raw: &str, field: &str, min: usize, max: usize) -> Result<String, Error> {
    let len = raw.chars().count();
    let multiline = max > 100;
    let controls = raw
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if len < min || len > max || raw.trim().is_empty() || controls {
        return Err(Error::field(
            field,
            format!("{min} to {max} characters, not blank, no control characters"),
        ));
    }
    Ok(raw.trim().to_owned())
}

/// Checks a category slug.
pub fn category(raw: &str, field: &str) -> Result<String, Error> {
    let ok = (1..=40).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Error::field(field, "1–40 lowercase letters, digits or '-'"))
    }
}

fn duration(minutes: u32) -> Result<u32, Error> {
    let (min, max) = DURATION_MINUTES;
    if (min..=max).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Error::field(
            "durationMinutes",
            format!("{min} to {max} minutes"),
        ))
    }
}

fn images(ids: &[FileId]) -> Result<Vec<FileId>, Error> {
    let distinct: BTreeSet<&FileId> = ids.iter().collect();
    if ids.len() > MAX_IMAGES || distinct.len() != ids.len() {
        return Err(Error::field(
            "imageFileIds",
            format!("at most {MAX_IMAGES} different images"),
        ));
    }
    Ok(ids.to_vec())
}

impl CreateOffer {
    /// The new offer of `provider`, active, if every field is valid.
    pub fn validate(self, provider: UserId, now: DateTime<Utc>) -> Result<Offer, Error> {
        self.price.validate("price")?;
        Ok(Offer {
            id: OfferId::at(now),
            provider_id: provider,
            title: text(&self.title, "title", 3, 100)?,
            description: text(&self.description, "description", 1, 5000)?,
            category: category(&self.category, "category")?,
            price: self.price,
            duration_minutes: duration(self.duration_minutes)?,
            image_file_ids: images(&self.image_file_ids)?,
            status: OfferStatus::Active,
            created_at: now,
            updated_at: now,
        })
    }
}

impl OfferPatch {
    /// `offer` with the patch applied, if every present field is valid.
    pub fn apply(self, mut offer: Offer, now: DateTime<Utc>) -> Result<Offer, Error> {
        if let Some(title) = self.title {
            offer.title = text(&title, "title", 3, 100)?;
        }
        if let Some(description) = self.description {
            offer.description = text(&description, "description", 1, 5000)?;
        }
        if let Some(slug) = self.category {
            offer.category = category(&slug, "category")?;
        }
        if let Some(price) = self.price {
            price.validate("price")?;
            offer.price = price;
        }
        if let Some(minutes) = self.duration_minutes {
            offer.duration_minutes = duration(minutes)?;
        }
        if let Some(ids) = self.image_file_ids {
            offer.image_file_ids = images(&ids)?;
        }
        if let Some(status) = self.status {
            offer.status = status;
        }
        offer.updated_at = now;
        Ok(offer)
    }
}

/// Where a provider works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceArea {
    /// Works remotely.
    pub remote: bool,
    /// The area served in person (a city or region), if any; at most 100 characters.
    #[schema(max_length = 100)]
    pub area: Option<String>,
}

/// A provider's public profile (`GET /providers/{id}` adds their rating and reviews).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderProfile {
    /// The provider.
    pub provider_id: UserId,
    /// About the provider.
    pub bio: String,
    /// What they are good at.
    pub specialties: Vec<String>,
    /// Category slugs they work in.
    pub categories: Vec<String>,
    /// Years of experience.
    pub years_of_experience: u32,
    /// Where they work.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub service_area: ServiceArea,
    /// The answer time they commit to, in hours.
    pub response_sla_hours: u32,
    /// Their portfolio: their ready portfolio (or profile) images, in order; any signed-in
    /// user may download them (`GET /files/{id}`).
    #[serde(default)]
    pub portfolio_file_ids: Vec<FileId>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `GET /providers/{id}`: the public profile and whether the provider can be paid (their
/// Stripe account is enabled; see `docs/payouts.md`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    /// The profile.
    #[serde(flatten)]
    pub profile: ProviderProfile,
    /// Whether completed bookings' earnings go to the provider at once (otherwise they are
    /// held until the provider finishes Stripe's onboarding).
    pub can_be_paid: bool,
    /// Their rating from customers' published reviews (see `docs/reputation.md`).
    pub rating: crate::reviews::model::Rating,
    /// Their latest published reviews (at most 3; `GET /providers/{id}/reviews` pages
    /// through all).
    pub latest_reviews: Vec<crate::reviews::model::Review>,
    /// Their measured first-response time in their booking and application threads (see
    /// `docs/reputation.md`), beside the `responseSlaHours` they commit to.
    pub first_response: crate::reviews::response::FirstResponse,
}

/// How many images a provider's portfolio shows.
const MAX_PORTFOLIO: usize = 12;

/// `PUT /me/provider-profile`: the whole profile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
    pub bio: String,
    /// At most 20, each 1–40 characters.
    #[schema(max_items = 20)]
    pub specialties: Vec<String>,
    /// At most 10 category slugs.
    #[schema(max_items = 10)]
    pub categories: Vec<String>,
    /// 0 to 80.
    #[schema(minimum = 0, maximum = 80)]
    pub years_of_experience: u32,
    /// Where they work.
    #[serde(deserialize_with = "crate::domain::object::object")]
    pub service_area: ServiceArea,
    /// 1 to 168 hours.
    #[schema(minimum = 1, maximum = 168)]
    pub response_sla_hours: u32,
    /// Up to 12 of the caller's ready portfolio (or profile) images, in the order shown;
    /// absent: none.
    #[serde(default)]
    #[schema(max_items = 12)]
    pub portfolio_file_ids: Vec<FileId>,
}

impl ProfileInput {
    /// The profile of `provider`, if every field is valid.
    pub fn validate(self, provider: UserId, now: DateTime<Utc>) -> Result<ProviderProfile, Error> {
        let bio = self.bio.trim().to_owned();
        if bio.chars().count() > 2000 {
            return Err(Error::field("bio", "at most 2,000 characters"));
        }
        if self.specialties.len() > 20 {
            return Err(Error::field("specialties", "at most 20"));
        }
        let specialties = self
            .specialties
            .iter()
            .map(|s| text(s, "specialties", 1, 40))
            .collect::<Result<Vec<_>, _>>()?;
        if self.categories.len() > 10 {
            return Err(Error::field("categories", "at most 10"));
        }
        let categories = self
            .categories
            .iter()
            .map(|c| category(c, "categories"))
            .collect::<Result<Vec<_>, _>>()?;
        if self.years_of_experience > 80 {
            return Err(Error::field("yearsOfExperience", "0 to 80"));
        }
        if !(1..=168).contains(&self.response_sla_hours) {
            return Err(Error::field("responseSlaHours", "1 to 168 hours"));
        }
        let area = match self.service_area.area {
            Some(area) => Some(text(&area, "serviceArea.area", 1, 100)?),
            None => None,
        };
        if area.is_none() && !self.service_area.remote {
            return Err(Error::field("serviceArea", "give an area, or remote: true"));
        }
        let mut portfolio = Vec::with_capacity(self.portfolio_file_ids.len());
        for id in self.portfolio_file_ids {
            if !portfolio.contains(&id) {
                portfolio.push(id);
            }
        }
        if portfolio.len() > MAX_PORTFOLIO {
            return Err(Error::field("portfolioFileIds", "at most 12 images"));
        }
        Ok(ProviderProfile {
            provider_id: provider,
            bio,
            specialties,
            categories,
            years_of_experience: self.years_of_experience,
            service_area: ServiceArea {
                remote: self.service_area.remote,
                area,
            },
            response_sla_hours: self.response_sla_hours,
            portfolio_file_ids: portfolio,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(amount: i64, currency: &str) -> CreateOffer {
        CreateOffer {
            title: "  Fix a leaking tap ".into(),
            description: "Parts included.".into(),
            category: "plumbing".into(),
            price: Money {
                amount,
                currency: currency.into(),
            },
            duration_minutes: 60,
            image_file_ids: Vec::new(),
        }
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::Validation { field, .. } => field.unwrap_or_default(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_valid_offer_is_active_and_trimmed() {
        let offer = create(4500, "eur")
            .validate(UserId::new(), Utc::now())
            .unwrap();
        assert_eq!(offer.title, "Fix a leaking tap");
        assert_eq!(offer.status, OfferStatus::Active);
    }

    #[test]
    fn negative_absurd_or_foreign_prices_are_refused_naming_the_field() {
        for (amount, currency, field) in [
            (-100, "eur", "price.amount"),
            (0, "eur", "price.amount"),
            (99, "eur", "price.amount"),
            (10_000_001, "usd", "price.amount"),
            (4500, "EUR", "price.currency"),
            (4500, "xyz", "price.currency"),
        ] {
            let err = create(amount, currency)
                .validate(UserId::new(), Utc::now())
                .unwrap_err();
            assert_eq!(field_of(err), field, "{amount} {currency}");
        }
    }

    #[test]
    fn overlong_text_bad_slugs_durations_and_images_are_refused() {
        let mut long = create(4500, "eur");
        long.title = "x".repeat(101);
        let mut control = create(4500, "eur");
        control.title = "Fix\na tap".into();
        assert_eq!(
            field_of(control.validate(UserId::new(), Utc::now()).unwrap_err()),
            "title"
        );
        assert_eq!(
            field_of(long.validate(UserId::new(), Utc::now()).unwrap_err()),
            "title"
        );
        let mut slug = create(4500, "eur");
        slug.category = "Plumbing".into();
        assert_eq!(
            field_of(slug.validate(UserId::new(), Utc::now()).unwrap_err()),
            "category"
        );
        let mut short = create(4500, "eur");
        short.duration_minutes = 5;
        assert_eq!(
            field_of(short.validate(UserId::new(), Utc::now()).unwrap_err()),
            "durationMinutes"
        );
        let mut twice = create(4500, "eur");
        let image = FileId::new();
        twice.image_file_ids = vec![image, image];
        assert_eq!(
            field_of(twice.validate(UserId::new(), Utc::now()).unwrap_err()),
            "imageFileIds"
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_can_pause() {
        let offer = create(4500, "eur")
            .validate(UserId::new(), Utc::now())
            .unwrap();
        let patch = OfferPatch {
            status: Some(OfferStatus::Paused),
            price: Some(Money {
                amount: 5000,
                currency: "eur".into(),
            }),
            ..Default::default()
        };
        let changed = patch.apply(offer.clone(), Utc::now()).unwrap();
        assert_eq!(changed.status, OfferStatus::Paused);
        assert_eq!(changed.price.amount, 5000);
        assert_eq!(changed.title, offer.title);
    }

    #[test]
    fn a_profile_needs_an_area_or_remote_work() {
        let input = |remote: bool, area: Option<&str>| ProfileInput {
            bio: "20 years of pipes.".into(),
            specialties: vec!["boilers".into()],
            categories: vec!["plumbing".into()],
            years_of_experience: 20,
            service_area: ServiceArea {
                remote,
                area: area.map(str::to_owned),
            },
            response_sla_hours: 4,
            portfolio_file_ids: Vec::new(),
        };
        assert!(
            input(true, None)
                .validate(UserId::new(), Utc::now())
                .is_ok()
        );
        assert!(
            input(false, Some("Lisbon"))
                .validate(UserId::new(), Utc::now())
                .is_ok()
        );
        let err = input(false, None)
            .validate(UserId::new(), Utc::now())
            .unwrap_err();
        assert_eq!(field_of(err), "serviceArea");
    }
}
