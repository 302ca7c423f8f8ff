//! The single table's attribute names, the key type, and the keys no one feature owns (the
//! per-user partition, rate windows). Every other key is built in its feature's `keys` module,
//! from typed ids, and pinned by that module's tests; [`tests`] checks that no two features
//! use the same key tag.

use crate::domain::UserId;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// Partition key of index `GSI1`.
pub const GSI1PK: &str = "GSI1PK";
/// Sort key of index `GSI1`.
pub const GSI1SK: &str = "GSI1SK";
/// Name of the index over `GSI1PK`/`GSI1SK`.
pub const GSI1: &str = "GSI1";
/// Attribute naming the entity of an item.
pub const ENTITY_TYPE: &str = "entity_type";
/// The table's TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";

/// A primary key (or an index key pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// Partition part.
    pub pk: String,
    /// Sort part.
    pub sk: String,
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

/// One fixed window of a rate limit.
pub fn rate_window(scope: &str, subject: &str, window_start: i64) -> Key {
    key(
        format!("RATE#{scope}#{subject}"),
        format!("WINDOW#{window_start}"),
    )
}

/// `GSI1PK` of everything listed per user.
pub fn user_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// The leading tags of the keys the core builds: the per-user partition every feature's
/// per-user items share (each with its own sort-key tag), and rate-limit windows.
pub const PREFIXES: &[&str] = &["USER#", "RATE#", "WINDOW#"];

#[cfg(test)]
mod tests {
    use super::*;

    /// No two features (nor a feature and the core) use the same key tag, and no tag is the
    /// start of another's: a `begins_with` query of one can never return another's items.
    #[test]
    fn no_two_features_share_a_key_prefix() {
        let owners: [(&str, &[&str]); 15] = [
            ("core", PREFIXES),
            ("auth", crate::auth::keys::PREFIXES),
            ("me", crate::me::keys::PREFIXES),
            ("files", crate::files::keys::PREFIXES),
            ("chat", crate::chat::keys::PREFIXES),
            ("notifications", crate::notifications::keys::PREFIXES),
            ("realtime", crate::realtime::keys::PREFIXES),
            ("offers", crate::offers::keys::PREFIXES),
            ("bookings", crate::bookings::keys::PREFIXES),
            ("payouts", crate::payouts::keys::PREFIXES),
            ("jobs", crate::jobs::keys::PREFIXES),
            ("scheduling", crate::scheduling::keys::PREFIXES),
            ("reviews", crate::reviews::keys::PREFIXES),
            ("followups", crate::followups::keys::PREFIXES),
            ("crm", crate::crm::keys::PREFIXES),
        ];
        for (i, (a, ours)) in owners.iter().enumerate() {
            for (b, theirs) in &owners[i + 1..] {
                for x in *ours {
                    for y in *theirs {
                        assert!(
                            !x.starts_with(y) && !y.starts_with(x),
                            "{a} uses {x:?} and {b} uses {y:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_user_partition_and_rate_windows_are_pinned() {
        let user = UserId::parse("01JD0000000000000000000001", "u").unwrap();
        assert_eq!(user_partition(&user), "USER#01JD0000000000000000000001");
        assert_eq!(
            rate_window("otp-email", "a@b.co", 1_700_000_000),
            Key {
                pk: "RATE#otp-email#a@b.co".into(),
                sk: "WINDOW#1700000000".into()
            }
        );
    }
}
