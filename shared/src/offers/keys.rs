//! Keys of provider profiles, offers and their category listings. Built here and nowhere else,
//! from typed ids; the tests pin every string (changing one is a data migration, not a
//! refactor).

use crate::domain::{OfferId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &["OFFER#", "OFFERS#", "PROVIDER"];

/// A provider's public profile, in the user's partition.
pub fn provider_profile(provider: &UserId) -> Key {
    key(user_partition(provider), "PROVIDER")
}

/// An offer.
pub fn offer(id: &OfferId) -> Key {
    key(format!("{OFFER_PREFIX}{id}"), "OFFER")
}

/// `GSI1` keys of an offer, in its provider's partition: a provider's offers, newest first.
pub fn offer_by_provider(provider: &UserId, id: &OfferId) -> Key {
    key(user_partition(provider), format!("{OFFER_PREFIX}{id}"))
}

/// `SK` (and `GSI1SK`) prefix of offers.
pub const OFFER_PREFIX: &str = "OFFER#";

/// The listing of an active offer in its category: a copy of the offer, so a category page is
/// one query, newest first (ids are ULIDs).
pub fn listing(category: &str, id: &OfferId) -> Key {
    key(category_partition(category), format!("{OFFER_PREFIX}{id}"))
}

/// The partition of a category's listings.
pub fn category_partition(category: &str) -> String {
    format!("OFFERS#{category}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const OFFER: &str = "01JD0000000000000000000007";

    #[test]
    fn offer_keys_are_pinned() {
        let user = UserId::parse(USER, "u").unwrap();
        let id = OfferId::parse(OFFER, "o").unwrap();
        assert_eq!(
            provider_profile(&user),
            Key {
                pk: format!("USER#{USER}"),
                sk: "PROVIDER".into()
            }
        );
        assert_eq!(
            offer(&id),
            Key {
                pk: format!("OFFER#{OFFER}"),
                sk: "OFFER".into()
            }
        );
        assert_eq!(
            offer_by_provider(&user, &id),
            Key {
                pk: format!("USER#{USER}"),
                sk: format!("OFFER#{OFFER}")
            }
        );
        assert_eq!(
            listing("plumbing", &id),
            Key {
                pk: "OFFERS#plumbing".into(),
                sk: format!("OFFER#{OFFER}")
            }
        );
    }
}
