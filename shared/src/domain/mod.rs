//! Validated newtypes and pure rules. Nothing here knows about AWS, HTTP or storage: every value
//! that crosses the API edge is parsed into one of these types once, so the rest of the code
//! never re-checks a string.

pub mod email;
pub mod ids;
pub mod user;

pub use email::Email;
pub use ids::{
    BookingId, ConnectionId, FileId, MessageId, NotificationId, OfferId, RoomId, SessionId, UserId,
};
pub use user::{AdminEmails, Locale, Phone, ProfileChanges, ProfilePatch, Role, TimeZone, User};
