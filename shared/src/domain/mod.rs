//! Validated newtypes and pure rules. Nothing here knows about AWS, HTTP or storage: every value
//! that crosses the API edge is parsed into one of these types once, so the rest of the code
//! never re-checks a string.

pub mod email;
pub mod ids;
pub mod object;
pub mod user;
pub mod whole;

pub use email::Email;

/// The name a unit enum variant has on the wire (its serde name, e.g. `pending_payment`), so a
/// `Display` or a stored filter value can never drift from what the API writes.
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
/// The days `from` to `to` (both included) a query may cover: `from` first, at most
/// `max_days` days; errors name `to`.
pub fn day_range(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    max_days: i64,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), crate::error::Error> {
    use crate::error::Error;
    if to < from {
        return Err(Error::field("to", "on or after from"));
    }
    if (to - from).num_days() >= max_days {
        return Err(Error::field(
            "to",
            format!("at most {max_days} days from `from`, both included"),
        ));
    }
    Ok((from, to))
}

pub use ids::{
    BookingId, ConnectionId, FileId, JobId, MessageId, NotificationId, OfferId, RoomId, SessionId,
    UserId,
};
pub use user::{
    AdminEmails, Locale, Phone, ProfileChanges, ProfilePatch, Role, TimeZone, User, Zone,
};
