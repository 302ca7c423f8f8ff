//! Keys of reviews, their window timers, helpful votes and rating aggregates. Built here and
//! nowhere else, from typed ids; the tests pin every string (changing one is a data
//! migration, not a refactor).

use crate::bookings::model::PartyRole;
use crate::domain::{BookingId, RoomId, UserId};
use crate::keys::{Key, key, user_partition};

/// The leading tags of this feature's keys (partition, sort and index parts); no other
/// feature may use them (checked in [`crate::keys`]).
pub const PREFIXES: &[&str] = &[
    REVIEW_PREFIX,
    BY_PREFIX,
    HELPFUL_PREFIX,
    RATING_PREFIX,
    WINDOWS,
    "REVIEW_OUTBOX#",
    "REVIEW_WINDOW",
    FIRST_RESPONSE,
];

/// `PK` of a booking's reviews partition and `GSI1SK` prefix of published reviews.
pub const REVIEW_PREFIX: &str = "REVIEW#";
/// `SK` prefix of the reviews in a booking's partition.
pub const BY_PREFIX: &str = "BY#";
const HELPFUL_PREFIX: &str = "HELPFUL#";
const RATING_PREFIX: &str = "RATING#";
/// `GSI1PK` of the open review windows, by closing time.
pub const WINDOWS: &str = "REVIEW_WINDOWS";

fn role(role: PartyRole) -> &'static str {
    match role {
        PartyRole::Customer => "customer",
        PartyRole::Provider => "provider",
    }
}

fn partition(booking: &BookingId) -> String {
    format!("{REVIEW_PREFIX}{booking}")
}

/// The review a booking's party (`author`) wrote, in the booking's reviews partition (one
/// per party and booking: the key is the rule), so a booking's reviews are one query.
pub fn review(booking: &BookingId, author: PartyRole) -> Key {
    key(partition(booking), format!("{BY_PREFIX}{}", role(author)))
}

/// `GSI1` keys of a published, visible review, in the reviewed user's partition under the
/// side they were on: their latest reviews as a provider are one query, newest first.
pub fn published(
    subject: &UserId,
    as_role: PartyRole,
    published_ms: i64,
    booking: &BookingId,
) -> Key {
    key(
        user_partition(subject),
        format!(
            "{REVIEW_PREFIX}{}#{:015}#{booking}",
            role(as_role),
            published_ms.max(0)
        ),
    )
}

/// The `GSI1SK` prefix of a user's published reviews as `as_role`.
pub fn published_prefix(as_role: PartyRole) -> String {
    format!("{REVIEW_PREFIX}{}#", role(as_role))
}

/// A user's helpful vote on a review (one per user and review: the key is the rule).
pub fn helpful(booking: &BookingId, author: PartyRole, voter: &UserId) -> Key {
    key(
        partition(booking),
        format!("{HELPFUL_PREFIX}{}#{voter}", role(author)),
    )
}

/// A user's rating aggregates as one side (count, total, distribution), in their partition.
pub fn rating(user: &UserId, as_role: PartyRole) -> Key {
    key(
        user_partition(user),
        format!("{RATING_PREFIX}{}", role(as_role)),
    )
}

/// A booking's open review window (written with its first review, deleted when both are
/// published or the window closes).
pub fn window(booking: &BookingId) -> Key {
    key(partition(booking), "REVIEW_WINDOW")
}

/// `GSI1` keys of an open review window, by closing time: the sweep reads only what is due.
pub fn window_due(due_ms: i64, booking: &BookingId) -> Key {
    key(
        WINDOWS.to_owned(),
        format!("{:015}#{booking}", due_ms.max(0)),
    )
}

const FIRST_RESPONSE: &str = "FIRST_RESPONSE";

/// Where a thread's first-response measure stands (one per room).
pub fn first_response(room: &RoomId) -> Key {
    key(format!("{FIRST_RESPONSE}#{room}"), FIRST_RESPONSE)
}

/// A provider's first-response histogram, in their partition.
pub fn first_responses(user: &UserId) -> Key {
    key(user_partition(user), format!("{FIRST_RESPONSE}S"))
}

/// What publishing (or hiding) `author`'s review announces, sent from the table's stream by
/// the bookings' outbox sender (the same item shape as a booking transition's).
pub fn outbox(booking: &BookingId, author: PartyRole, step: &str) -> Key {
    key(
        partition(booking),
        format!("REVIEW_OUTBOX#{}#{step}", role(author)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "01JD0000000000000000000001";
    const BOOKING: &str = "01JD0000000000000000000009";

    #[test]
    fn review_keys_are_pinned() {
        let user = UserId::parse(USER, "u").unwrap();
        let id = BookingId::parse(BOOKING, "b").unwrap();
        let pinned = [
            (
                review(&id, PartyRole::Customer),
                format!("REVIEW#{BOOKING}"),
                "BY#customer".to_owned(),
            ),
            (
                published(&user, PartyRole::Provider, 1_700_000_000_000, &id),
                format!("USER#{USER}"),
                format!("REVIEW#provider#001700000000000#{BOOKING}"),
            ),
            (
                helpful(&id, PartyRole::Provider, &user),
                format!("REVIEW#{BOOKING}"),
                format!("HELPFUL#provider#{USER}"),
            ),
            (
                rating(&user, PartyRole::Provider),
                format!("USER#{USER}"),
                "RATING#provider".to_owned(),
            ),
            (
                window(&id),
                format!("REVIEW#{BOOKING}"),
                "REVIEW_WINDOW".to_owned(),
            ),
            (
                window_due(1_700_000_000_000, &id),
                "REVIEW_WINDOWS".to_owned(),
                format!("001700000000000#{BOOKING}"),
            ),
            (
                outbox(&id, PartyRole::Customer, "published"),
                format!("REVIEW#{BOOKING}"),
                "REVIEW_OUTBOX#customer#published".to_owned(),
            ),
        ];
        let room = RoomId::parse(BOOKING, "r").unwrap();
        let pinned = pinned.into_iter().chain([
            (
                first_response(&room),
                format!("FIRST_RESPONSE#{BOOKING}"),
                "FIRST_RESPONSE".to_owned(),
            ),
            (
                first_responses(&user),
                format!("USER#{USER}"),
                "FIRST_RESPONSES".to_owned(),
            ),
        ]);
        for (got, pk, sk) in pinned {
            assert_eq!(got, Key { pk, sk });
        }
        assert_eq!(published_prefix(PartyRole::Provider), "REVIEW#provider#");
    }
}
