//! The OpenAPI 3.1 description of the HTTP API, generated from the same Rust types the
//! handlers (de)serialize, plus the JSON Schemas of the WebSocket messages (`ClientMessage`,
//! `ServerEvent`) as components. The committed `docs/openapi.json` is checked against this in
//! the tests, and another test checks that every route of template.yaml is described, so the
//! document cannot drift from the code or the deployment.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::adapters::s3::FormField;
use crate::auth::service::{CodeRequest, CodeSent, RefreshRequest, TokenResponse, VerifyRequest};
use crate::bookings::model::{
    Account, BookingState, BookingView, CancelRequest, DeclineRequest, DeliverRequest, DisputeInfo,
    DisputeStatus, Entry, PartyRole, PaymentState, PurchaseRequest, RefundInfo, RefundRequest,
    SavedCard, Schedule, SessionSettings, SessionSettingsRequest, Source, Summary, SummaryRequest,
    Timer, TimerKind, TransferInfo,
};
use crate::bookings::service::{
    BookingDetail, BookingPage, PaymentLine, PaymentPage, Purchase, WebhookAnswer, WebhookOutcome,
};
use crate::bookings::store::LedgerStep;
use crate::chat::model::{
    AddMembers, Attachment, CreateRoom, EditMessage, Member, MemberRole, MembershipPatch, Message,
    MessageKind, MessagePreview, Reaction, ReadUpTo, Room, RoomKind, RoomPatch, SendMessage,
    SubjectType,
};
use crate::chat::service::{
    MemberPresence, MessagePage, Peer, RoomDetail, RoomPage, RoomSummary, UnreadTotal,
};
use crate::crm::model::{
    Conversion, Funnel, FunnelRow, Interaction, Period, Stage, StageCounts, Upsell, UpsellKind,
    UpsellRef,
};
use crate::crm::service::{InteractionPage, UpsellPage, UpsellPurchase, UpsellPurchaseRequest};
use crate::domain::{
    BookingId, FileId, JobId, MessageId, NotificationId, OfferId, ProfilePatch, Role, RoomId, User,
    UserId,
};
use crate::error::{ErrorBody, ErrorDetail};
use crate::files::model::{FileRecord, FileStatus, Purpose, UploadRequest};
use crate::files::service::{DownloadLink, UploadTicket};
use crate::followups::model::{
    FollowUp, FollowUpKind, FollowUpRequest, FollowUpSettings, FollowUpSettingsRequest,
    FollowUpTerms, Premium, PremiumCheckout, PremiumRequest, PremiumUpgrade, UpgradeState,
};
use crate::jobs::model::{
    Application, ApplicationInput, ApplicationState, Job, JobPatch, JobState, PostJob, Window,
};
use crate::jobs::service::{ApplicationPage, JobPage};
use crate::me::service::{SessionPage, SessionView};
use crate::notifications::model::{
    Channel, ChannelSwitches, Device, Kind, Notification, Platform, Preferences, PreferencesPatch,
    QuietHours, RegisterDevice, Subscribe, Subscription,
};
use crate::notifications::service::{
    MarkRead, Marked, NotificationPage, NotifyReport, PreferencesView, UnreadCount,
};
use crate::notifications::settings::{DeliveryStats, StatsRow};
use crate::notifications::subscriptions::{Broadcast, SubscriptionPage};
use crate::offers::model::{
    CreateOffer, Money, Offer, OfferPatch, OfferStatus, ProfileInput, ProviderProfile,
    PublicProfile, ServiceArea,
};
use crate::offers::service::OfferPage;
use crate::payouts::model::{
    AccountState, Amount, BalanceView, CategoryRate, CommissionInput, CommissionRates,
    CommissionReport, Earnings, EarningsLine, Onboarding, PayoutAccount, PayoutPage, PayoutRecord,
    PayoutStatus, WithdrawRequest,
};
use crate::realtime::service::{
    ClientMessage, PresenceStatus, ReceiptKind, RoomChange, ServerEvent, TypingState,
};
use crate::reviews::model::{
    BookingReviews, Hidden, HideRequest, Rating, Reply, ReplyRequest, Review, ReviewPage,
    ReviewRequest,
};
use crate::reviews::response::FirstResponse;
use crate::routes::Access;
use crate::scheduling::model::{Availability, Interval, Override, SetAvailability, Slot, Week};
use crate::scheduling::service::{BookSlot, SlotList};

#[allow(dead_code)]
mod paths {
    use super::*;

    /// Email a six-digit sign-in code. Answers the same whether or not the address has an
    /// account. Limited per 15 minutes to 5 requests per address and client network, 30 per
    /// address, and 30 per client network (an IPv4 address or an IPv6 /64; `OtpRequestsPerIp`).
    #[utoipa::path(post, path = "/auth/otp", tag = "auth", request_body = CodeRequest,
        responses((status = 202, body = CodeSent), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64)))))]
    fn request_code() {}

    /// Exchange a code for tokens; creates the account on first sign-in. A code dies after 5
    /// wrong attempts or 10 minutes; 15 attempts per address per 15 minutes. An address listed
    /// in the deployment's `AdminEmails` gets the `admin` role when it signs in.
    #[utoipa::path(post, path = "/auth/otp/verify", tag = "auth", request_body = VerifyRequest,
        responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64)))))]
    fn verify_code() {}

    /// Rotate a refresh token. Each token works once; reusing a replaced one revokes the session.
    #[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
        responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
    fn refresh() {}

    /// End the session of a refresh token (idempotent).
    #[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest,
        responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
    fn logout() {}

    /// The caller's profile.
    #[utoipa::path(get, path = "/me", tag = "me",
        responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
    fn get_me() {}

    /// Change the caller's profile; the caller's open WebSocket connections receive `user.updated`.
    #[utoipa::path(patch, path = "/me", tag = "me", request_body = ProfilePatch,
        responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn update_me() {}

    /// The caller's signed-in devices, oldest first.
    #[utoipa::path(get, path = "/me/sessions", tag = "me",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = SessionPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
    fn list_sessions() {}

    /// Declare an upload. Answers a form to POST to S3 (fields in order, then `file`) whose
    /// policy admits exactly the declared size and content type for 5 minutes.
    #[utoipa::path(post, path = "/files", tag = "files", request_body = UploadRequest,
        responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
    fn create_upload() {}

    /// Check the uploaded object (size, type, leading bytes), copy exactly the checked bytes to
    /// the file's stored key and mark the file ready; only those bytes are ever downloadable. A
    /// mismatch deletes the upload (400, field `file`); 409 when nothing was uploaded yet or the
    /// upload was replaced while it was checked (complete again). Idempotent.
    #[utoipa::path(post, path = "/files/{id}/complete", tag = "files",
        params(("id" = FileId, Path, description = "file id")),
        responses((status = 200, body = FileRecord), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn complete_upload() {}

    /// A 5-minute download link. Visible to the owner, to every signed-in user for a ready
    /// profile or portfolio image, to the members of a room it was sent to, and to whom a job
    /// it is attached to shows it; anyone else gets 404.
    #[utoipa::path(get, path = "/files/{id}", tag = "files",
        params(("id" = FileId, Path, description = "file id")),
        responses((status = 200, body = DownloadLink), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn get_file() {}

    /// Delete the caller's file (object and record).
    #[utoipa::path(delete, path = "/files/{id}", tag = "files",
        params(("id" = FileId, Path, description = "file id")),
        responses((status = 204), (status = 404, body = ErrorBody)))]
    fn delete_file() {}

    /// Create a group (`kind: group`), or get or create the direct room with a user
    /// (`kind: direct`) or the room of a job, booking or lead (`kind: subject`). 201 when
    /// created; 200 with the existing direct/subject room (two concurrent calls give one
    /// room). Subject rooms are opened by their job, booking or lead flows: through this route
    /// only an admin may open one (403 for anyone else); 409 for an admin when the subject's
    /// room exists without them. Members get `room.updated`.
    #[utoipa::path(post, path = "/rooms", tag = "chat", request_body = CreateRoom,
        responses((status = 201, body = RoomDetail), (status = 200, body = RoomDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn create_room() {}

    /// The caller's rooms: pinned ones first (all on the first page), then by last activity,
    /// with last-message preview, unread count and, for direct rooms, the peer's presence.
    #[utoipa::path(get, path = "/rooms", tag = "chat",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = RoomPage), (status = 400, body = ErrorBody)))]
    fn list_rooms() {}

    /// The badge: unread messages over every room that is not muted.
    #[utoipa::path(get, path = "/me/unread", tag = "chat",
        responses((status = 200, body = UnreadTotal)))]
    fn unread() {}

    /// A room and its members (read/delivered markers, online). Non-members get 404.
    #[utoipa::path(get, path = "/rooms/{id}", tag = "chat",
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 200, body = RoomDetail), (status = 404, body = ErrorBody)))]
    fn get_room() {}

    /// Rename a room or change its avatar (owner of a group or subject room).
    #[utoipa::path(patch, path = "/rooms/{id}", tag = "chat", request_body = RoomPatch,
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 200, body = Room), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn update_room() {}

    /// Add members (owner). At most 80 members per room.
    #[utoipa::path(post, path = "/rooms/{id}/members", tag = "chat", request_body = AddMembers,
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 200, body = RoomDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn add_members() {}

    /// Remove a member (owner), or leave (the caller's own id). An owner who leaves hands
    /// the room to the earliest-joined member.
    #[utoipa::path(delete, path = "/rooms/{id}/members/{userId}", tag = "chat",
        params(("id" = RoomId, Path, description = "room id"), ("userId" = UserId, Path, description = "member")),
        responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn remove_member() {}

    /// Mute or pin the room for the caller (at most 20 pins).
    #[utoipa::path(patch, path = "/rooms/{id}/membership", tag = "chat", request_body = MembershipPatch,
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 200, body = Member), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn update_membership() {}

    /// Move the caller's read marker; the unread count becomes the messages from others
    /// after it. Members get a `receipt` (read).
    #[utoipa::path(post, path = "/rooms/{id}/read", tag = "chat", request_body = ReadUpTo,
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 200, body = Member), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn mark_read() {}

    /// History, newest first by `seq`; `before` pages back from a message's `seq`, `after`
    /// returns what came after a message, oldest first (catching up after a reconnect).
    #[utoipa::path(get, path = "/rooms/{id}/messages", tag = "chat",
        params(("id" = RoomId, Path, description = "room id"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("before" = Option<MessageId>, Query, description = "message id: what came before it (by seq), newest first"), ("after" = Option<MessageId>, Query, description = "message id: what committed after it, in sequence order"), ("afterSeq" = Option<u64>, Query, maximum = 999_999_999_999_999_f64, description = "sequence number: what committed after it, in sequence order")),
        responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn history() {}

    /// Send a message (also the `sendMessage` WebSocket action). 201; 200 with the first
    /// message when `clientMessageId` was used before. 5 per second per user. Every member's
    /// connections get `message.new`. 409 `conflict` with `Retry-After` when the room stayed
    /// too busy to take the next sequence number within the send's deadline (nothing was
    /// written): retry with the same `clientMessageId` after that many seconds.
    #[utoipa::path(post, path = "/rooms/{id}/messages", tag = "chat", request_body = SendMessage,
        params(("id" = RoomId, Path, description = "room id")),
        responses((status = 201, body = Message), (status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, headers(("retry-after" = u64))), (status = 429, body = ErrorBody, headers(("retry-after" = u64)))))]
    fn send_message() {}

    /// Edit the caller's message; members get `message.updated`.
    #[utoipa::path(patch, path = "/rooms/{id}/messages/{messageId}", tag = "chat", request_body = EditMessage,
        params(("id" = RoomId, Path, description = "room id"), ("messageId" = MessageId, Path, description = "message id")),
        responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn edit_message() {}

    /// Delete the caller's message, leaving a tombstone; members get `message.deleted`.
    #[utoipa::path(delete, path = "/rooms/{id}/messages/{messageId}", tag = "chat",
        params(("id" = RoomId, Path, description = "room id"), ("messageId" = MessageId, Path, description = "message id")),
        responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn delete_message() {}

    /// Add the caller's reaction (idempotent); members get `reaction.updated`.
    #[utoipa::path(put, path = "/rooms/{id}/messages/{messageId}/reactions/{emoji}", tag = "chat",
        params(("id" = RoomId, Path, description = "room id"), ("messageId" = MessageId, Path, description = "message id"), ("emoji" = String, Path, description = "one emoji (at most 8 code points, no spaces, controls or ASCII punctuation), percent-encoded", pattern = r"^[^\s\u0000-\u001f\u007f-\u009f!-/:-@\[-`{-~]{1,8}$")),
        responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn add_reaction() {}

    /// Remove the caller's reaction (idempotent); members get `reaction.updated`.
    #[utoipa::path(delete, path = "/rooms/{id}/messages/{messageId}/reactions/{emoji}", tag = "chat",
        params(("id" = RoomId, Path, description = "room id"), ("messageId" = MessageId, Path, description = "message id"), ("emoji" = String, Path, description = "one emoji (at most 8 code points, no spaces, controls or ASCII punctuation), percent-encoded", pattern = r"^[^\s\u0000-\u001f\u007f-\u009f!-/:-@\[-`{-~]{1,8}$")),
        responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn remove_reaction() {}

    /// The caller's in-app notifications, newest first, with the unread count.
    #[utoipa::path(get, path = "/notifications", tag = "notifications",
        params(("unreadOnly" = Option<bool>, Query, description = "only unread ones"), ("kind" = Option<Kind>, Query, description = "only one kind"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody)))]
    fn list_notifications() {}

    /// Unread notifications (the badge).
    #[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications",
        responses((status = 200, body = UnreadCount)))]
    fn notification_count() {}

    /// Mark notifications read: `ids` (at most 100), or `all: true`. Reading before the
    /// escalation delay cancels the SMS/email. Others' ids are ignored.
    #[utoipa::path(post, path = "/notifications/read", tag = "notifications", request_body = MarkRead,
        responses((status = 200, body = Marked), (status = 400, body = ErrorBody)))]
    fn mark_notifications_read() {}

    /// Record that the caller looked at the list (`seenAt`).
    #[utoipa::path(post, path = "/notifications/seen", tag = "notifications",
        responses((status = 204)))]
    fn mark_notifications_seen() {}

    /// The caller opened a notification: marks it read and clicked (counted once).
    #[utoipa::path(post, path = "/notifications/{id}/click", tag = "notifications",
        params(("id" = NotificationId, Path, description = "notification id")),
        responses((status = 200, body = Notification), (status = 404, body = ErrorBody)))]
    fn click_notification() {}

    /// Delete one of the caller's notifications.
    #[utoipa::path(delete, path = "/notifications/{id}", tag = "notifications",
        params(("id" = NotificationId, Path, description = "notification id")),
        responses((status = 204), (status = 404, body = ErrorBody)))]
    fn delete_notification() {}

    /// The caller's notification preferences and time zone.
    #[utoipa::path(get, path = "/me/notification-preferences", tag = "notifications",
        responses((status = 200, body = PreferencesView)))]
    fn notification_preferences() {}

    /// Change channels, per-kind switches, quiet hours (`null` removes them) or the time zone.
    #[utoipa::path(patch, path = "/me/notification-preferences", tag = "notifications", request_body = PreferencesPatch,
        responses((status = 200, body = PreferencesView), (status = 400, body = ErrorBody)))]
    fn update_notification_preferences() {}

    /// Delivery statistics (admins): sent, delivered, failed, read and clicked counts and rates
    /// per channel and per kind × channel, over at most 31 days (UTC; default today).
    #[utoipa::path(get, path = "/admin/notification-stats", tag = "notifications",
        params(("from" = Option<String>, Query, format = Date, description = "YYYY-MM-DD"), ("to" = Option<String>, Query, format = Date, description = "YYYY-MM-DD")),
        responses((status = 200, body = DeliveryStats), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn notification_stats() {}

    /// Register a device's push token (FCM or APNs) for mobile push while the user is offline.
    /// Registering the same token again answers the same device. A token belongs to one user at
    /// a time: registering it from another account moves it there (409 when two accounts
    /// register it at the same instant; retry).
    #[utoipa::path(post, path = "/me/devices", tag = "notifications", request_body = RegisterDevice,
        responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn register_device() {}

    /// Forget one of the caller's devices (404 when the token has since moved to another
    /// account; that account's registration is untouched).
    #[utoipa::path(delete, path = "/me/devices/{id}", tag = "notifications",
        params(("id" = String, Path, description = "device id")),
        responses((status = 204), (status = 404, body = ErrorBody)))]
    fn unregister_device() {}

    /// Follow a target with channel flags, or change them: `room:<id>` (a room you are in),
    /// `user:<id>` (another user), `topic:<name>` (lowercase letters, digits, `-`, `_`),
    /// `category:<slug>` (every job posted in the category: `job_posted`); `job:<id>` is made
    /// by the job's own flows. An empty body turns every channel on. A category's follow may
    /// be narrowed with `area` (400 on any other target): on-site jobs are then told only
    /// when their `location.area` names the same place (ignoring case and spacing; `Lisbon`
    /// and ` lisbon ` match, `Lisbon Airport` does not); remote jobs are told to every
    /// follower. Following again replaces the area (absent: everywhere).
    #[utoipa::path(put, path = "/me/subscriptions/{target}", tag = "notifications", request_body = Subscribe,
        params(("target" = String, Path, description = "room:<id>, user:<id>, job:<id>, topic:<name> or category:<slug>", pattern = "^(room:[0-7][0-9A-HJKMNP-TV-Z]{25}|user:[0-7][0-9A-HJKMNP-TV-Z]{25}|job:[A-Za-z0-9_-]{1,64}|topic:[a-z0-9_-]{1,64}|category:[a-z0-9-]{1,40})$")),
        responses((status = 200, body = Subscription), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn subscribe() {}

    /// Stop following a target.
    #[utoipa::path(delete, path = "/me/subscriptions/{target}", tag = "notifications",
        params(("target" = String, Path, description = "as subscribed", pattern = "^(room:[0-7][0-9A-HJKMNP-TV-Z]{25}|user:[0-7][0-9A-HJKMNP-TV-Z]{25}|job:[A-Za-z0-9_-]{1,64}|topic:[a-z0-9_-]{1,64}|category:[a-z0-9-]{1,40})$")),
        responses((status = 204), (status = 404, body = ErrorBody)))]
    fn unsubscribe() {}

    /// The targets the caller follows.
    #[utoipa::path(get, path = "/me/subscriptions", tag = "notifications",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = SubscriptionPage)))]
    fn list_subscriptions() {}

    /// Notify every subscriber of a target (admins): inbox, live push, and escalation per the
    /// subscription's channels. The same `idempotencyKey` notifies each subscriber once and
    /// resumes an interrupted run where it stopped.
    #[utoipa::path(post, path = "/admin/notifications", tag = "notifications", request_body = Broadcast,
        responses((status = 200, body = NotifyReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn broadcast_notification() {}

    /// Create or replace the caller's public provider profile (providers only: 403 for
    /// others). A profile needs an area, or `remote: true`.
    #[utoipa::path(put, path = "/me/provider-profile", tag = "offers", request_body = ProfileInput,
        responses((status = 200, body = ProviderProfile), (status = 403, body = ErrorBody)))]
    fn put_provider_profile() {}

    /// A provider's public profile, `canBePaid` (their Stripe payout account is enabled),
    /// their `rating` from customers' published reviews, their `latestReviews` (at most 3)
    /// and their measured `firstResponse` time (404 when they have no profile).
    #[utoipa::path(get, path = "/providers/{id}", tag = "offers",
        params(("id" = UserId, Path, description = "provider")),
        responses((status = 200, body = PublicProfile), (status = 404, body = ErrorBody)))]
    fn get_provider_profile() {}

    /// A provider's offers, newest first; the provider also sees their paused ones.
    #[utoipa::path(get, path = "/providers/{id}/offers", tag = "offers",
        params(("id" = UserId, Path, description = "provider"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = OfferPage)))]
    fn list_provider_offers() {}

    /// The caller's review of the other party of a completed booking (`author` is their
    /// side): 1–5 stars and a text. Each party reviews once (409 for a second review), within
    /// 7 days of the completion (409 before the booking completes and after the window).
    /// Double-blind: the review stays unpublished (`publishedAt` absent, seen by its author
    /// only) until the other party has reviewed too — the second review publishes both in one
    /// step — or the window closes. On publication the reviewed party gets
    /// `review_submitted` and the provider's `rating` counts it. 404 for anyone but the
    /// booking's parties.
    #[utoipa::path(post, path = "/bookings/{id}/reviews", tag = "reviews", request_body = ReviewRequest,
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 201, body = Review), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn submit_review() {}

    /// What the caller may see of a booking's reviews: their own (published or not) and the
    /// other party's once published; admins see both. `canReview` says whether the caller
    /// may still write theirs, `windowClosesAt` when the window closes (absent until the
    /// booking completes). 404 for anyone but the parties and admins.
    #[utoipa::path(get, path = "/bookings/{id}/reviews", tag = "reviews",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingReviews), (status = 404, body = ErrorBody)))]
    fn list_booking_reviews() {}

    /// A provider's published reviews by their customers, newest publication first (hidden
    /// ones are left out). Any signed-in user.
    #[utoipa::path(get, path = "/providers/{id}/reviews", tag = "reviews",
        params(("id" = UserId, Path, description = "provider"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = ReviewPage), (status = 400, body = ErrorBody)))]
    fn list_provider_reviews() {}

    /// Marks a published review helpful: once per user, so repeating it answers the same
    /// count. 403 for the review's author; 404 when the review does not exist, is not
    /// published or is hidden.
    #[utoipa::path(put, path = "/bookings/{id}/reviews/{author}/helpful", tag = "reviews",
        params(("id" = BookingId, Path, description = "booking id"), ("author" = PartyRole, Path, description = "the review's author's side")),
        responses((status = 200, body = Review), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn vote_review() {}

    /// The reviewed provider's one public reply to a published review of them (409 for a
    /// second; 403 for anyone else who can see the review; 404 when it does not exist, is
    /// not published or is hidden).
    #[utoipa::path(put, path = "/bookings/{id}/reviews/{author}/reply", tag = "reviews", request_body = ReplyRequest,
        params(("id" = BookingId, Path, description = "booking id"), ("author" = PartyRole, Path, description = "the review's author's side")),
        responses((status = 200, body = Review), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn reply_review() {}

    /// Hides an abusive published review (admins; 403 for anyone else): it leaves the
    /// provider's listing and rating, and its author gets `review_submitted` with the reason.
    /// Hiding it again answers it as it is; 409 while it is not published.
    #[utoipa::path(post, path = "/bookings/{id}/reviews/{author}/hide", tag = "reviews", request_body = HideRequest,
        params(("id" = BookingId, Path, description = "booking id"), ("author" = PartyRole, Path, description = "the review's author's side")),
        responses((status = 200, body = Review), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn hide_review() {}

    /// Whether the caller (the booking's customer) may open a follow-up of it now: `canOpen`,
    /// `windowClosesAt` (absent until the booking completes; the admins' window, 14 days
    /// until set) and the `price` it would cost (in the booking's currency; 0 and `free`
    /// for a premium customer). 403 for the booking's provider and admins, 404 for anyone
    /// else.
    #[utoipa::path(get, path = "/bookings/{id}/follow-ups/terms", tag = "follow-ups",
        params(("id" = BookingId, Path, description = "the completed booking's id")),
        responses((status = 200, body = FollowUpTerms), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn get_follow_up_terms() {}

    /// The customer of a completed booking opens a follow-up (a quick question, a mini
    /// extension, a new issue) within the follow-up window: a new booking (`source:
    /// follow_up`, `followUp.parentId` naming the parent) with the same provider, continuing
    /// the parent's chat room (`roomId`, `threadId`). A premium customer's is free
    /// (`paymentState: free`): `accepted` at once, with no payment, and the provider gets
    /// `follow_up_question` with the question. Otherwise it costs the admins' price (see
    /// `GET /bookings/{id}/follow-ups/terms`) and is paid like a purchase: `pending_payment`
    /// with a PaymentIntent's `clientSecret`, `accepted` when Stripe reports the payment,
    /// which tells the provider the question. It then goes through the steps of any booking
    /// (start, deliver, confirm; cancel). The same `idempotencyKey` again answers 200 with the
    /// same booking. 400 names the field; 403 for the booking's provider and admins, 404 for
    /// anyone else; 409 before the booking completes or after the window; 429 with
    /// `Retry-After` past 10 new purchases per buyer, or 3 follow-ups of one booking, in 10
    /// minutes; 502 when Stripe cannot be reached (retry with the same key).
    #[utoipa::path(post, path = "/bookings/{id}/follow-ups", tag = "follow-ups", request_body = FollowUpRequest,
        params(("id" = BookingId, Path, description = "the completed booking's id")),
        responses((status = 201, body = Purchase), (status = 200, body = Purchase, description = "an earlier follow-up with the same key"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64))), (status = 502, body = ErrorBody)))]
    fn open_follow_up() {}

    /// The follow-up window and price, and the premium upgrade's price (admins; 403 for
    /// anyone else): 14 days, 900 and 4,900 minor units until set.
    #[utoipa::path(get, path = "/admin/follow-up-settings", tag = "follow-ups",
        responses((status = 200, body = FollowUpSettings), (status = 403, body = ErrorBody)))]
    fn get_follow_up_settings() {}

    /// Sets the follow-up window (1 to 90 days after the parent's completion) and price (100
    /// to 50,000 minor units of the parent's currency), and the premium upgrade's price (100
    /// to 100,000 minor units of the recommending booking's currency; 4,900 when absent)
    /// (admins; 403 for anyone else; 400 names the field). Follow-ups opened and upsells
    /// recommended from now on use them.
    #[utoipa::path(put, path = "/admin/follow-up-settings", tag = "follow-ups", request_body = FollowUpSettingsRequest,
        responses((status = 200, body = FollowUpSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn set_follow_up_settings() {}

    /// Flags a user premium, or not (admins; 403 for anyone else; 404 for an unknown user):
    /// the follow-ups they open from now on are free.
    #[utoipa::path(put, path = "/admin/users/{id}/premium", tag = "follow-ups", request_body = PremiumRequest,
        params(("id" = UserId, Path, description = "user id")),
        responses((status = 200, body = Premium), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn set_premium() {}

    /// Whether the caller is premium (their follow-ups free). After paying a premium upgrade,
    /// a client reads this until `premium` is true: the webhook sets it when Stripe reports
    /// the payment.
    #[utoipa::path(get, path = "/me/premium", tag = "follow-ups",
        responses((status = 200, body = Premium)))]
    fn get_premium() {}

    /// The caller's upsell recommendations, newest booking first. Each completed booking
    /// leaves its customer a `follow_up` (until the follow-up window closes, `expiresAt`),
    /// when it was an offer still on sale a `maintenance_plan` (the same offer again), and,
    /// unless the customer is premium, a `premium_upgrade` (left out of the listing once the
    /// customer is premium, unless bought through it). The first listing of each is recorded
    /// as shown (`shownAt`, once, in the CRM log and the funnel). Continue while `nextCursor`
    /// is present.
    #[utoipa::path(get, path = "/me/upsells", tag = "crm",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = UpsellPage)))]
    fn list_upsells() {}

    /// The caller opens one of their upsell recommendations: recorded as clicked (`clickedAt`,
    /// and shown if it was not yet), once each however often it is opened. 404 for anyone
    /// else's or an unknown one.
    #[utoipa::path(post, path = "/me/upsells/{bookingId}/{kind}/click", tag = "crm",
        params(("bookingId" = BookingId, Path, description = "the completed booking that recommends it"), ("kind" = UpsellKind, Path, description = "which recommendation")),
        responses((status = 200, body = Upsell), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn click_upsell() {}

    /// The caller buys one of their upsell recommendations through the normal purchase flow,
    /// answering as that flow does: a `follow_up` opens a follow-up of the booking
    /// (`question` required, `followUpKind` optional; see `POST /bookings/{id}/follow-ups`:
    /// free for premium customers, its window applies), a `maintenance_plan` buys the offer
    /// again (see `POST /offers/{id}/purchase`); both answer a `Purchase` (`booking`,
    /// `paymentIntentId`, `clientSecret`), and the new booking names the upsell (`upsell`).
    /// A `premium_upgrade` answers a `PremiumCheckout` (`premiumUpgrade`, `paymentIntentId`,
    /// `clientSecret`) at the recommended price: once Stripe reports the payment the caller
    /// is premium (`GET /me/premium`); a failed payment leaves it payable with the same
    /// secret; 409 when the caller is premium already. Once the booking or upgrade is paid
    /// (or a follow-up accepted free) the upsell is recorded as purchased (`purchasedAt`,
    /// and `purchaseBookingId` for a booking), once, however many are bought. The same
    /// `idempotencyKey` again answers 200 with the same booking or upgrade; a key used for
    /// another purchase is a 409. 400 names the field; 404 for anyone else's or an unknown
    /// one (or an offer no longer on sale); 409 and 429 as the flow it goes through; 502 when
    /// Stripe cannot be reached (retry with the same key).
    #[utoipa::path(post, path = "/me/upsells/{bookingId}/{kind}/purchase", tag = "crm", request_body = UpsellPurchaseRequest,
        params(("bookingId" = BookingId, Path, description = "the completed booking that recommends it"), ("kind" = UpsellKind, Path, description = "which recommendation")),
        responses((status = 201, body = UpsellPurchase), (status = 200, body = UpsellPurchase, description = "an earlier purchase with the same key"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64))), (status = 502, body = ErrorBody)))]
    fn purchase_upsell() {}

    /// The CRM funnel (admins; 403 for anyone else): how many times each stage was reached
    /// (`intake`: a job posted or a booking requested; `sessionBooked`: accepted, paid or
    /// free; `sessionCompleted`; `summaryViewed`: the customer's first read of a summary;
    /// `upsellShown`, `upsellClicked`, `upsellPurchased`), per period (`day`, ISO `week`,
    /// `month`; only periods with interactions are listed) and over the range, with each
    /// stage's conversion to the next (`rate` = next / this, absent when this is 0). Counts
    /// are of the stages reached in each period, by UTC day (not cohorts). `from` and `to`
    /// are UTC days, at most 366 days apart (the last 30 days by default); `category` narrows
    /// to one category. Read from day counters moved with each interaction: one query.
    #[utoipa::path(get, path = "/admin/crm/funnel", tag = "crm",
        params(("from" = Option<String>, Query, description = "first day, YYYY-MM-DD (29 days before `to` by default)"), ("to" = Option<String>, Query, description = "last day, YYYY-MM-DD, included (today by default)"), ("category" = Option<String>, Query, description = "category slug", pattern = "^[a-z0-9-]{1,40}$"), ("period" = Option<Period>, Query, description = "how the range is cut (day by default)")),
        responses((status = 200, body = Funnel), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn get_crm_funnel() {}

    /// A customer's CRM interaction log, newest first (admins; 403 for anyone else): each
    /// stage they reached, once per booking (or job, or upsell), with its time. Written by the
    /// flows themselves; no client can add to it. Continue while `nextCursor` is present.
    #[utoipa::path(get, path = "/admin/customers/{id}/interactions", tag = "crm",
        params(("id" = UserId, Path, description = "the customer"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = InteractionPage), (status = 403, body = ErrorBody)))]
    fn list_customer_interactions() {}

    /// Post a job (any signed-in user, as a customer): title, description, category, budget,
    /// location (an area, or remote), an optional wanted window of dates and up to 10 of the
    /// caller's ready `job_document` uploads (images, PDFs, documents; providers who can see
    /// the open job may download them). 201 with the job, `open`, listed in its category; every
    /// follower of `category:<slug>` gets `job_posted` (inbox, live, and push/email per their
    /// preferences), once. 400 names the first bad field; nothing is stored.
    #[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = PostJob,
        responses((status = 201, body = Job), (status = 400, body = ErrorBody)))]
    fn post_job() {}

    /// A category's open jobs, newest first.
    #[utoipa::path(get, path = "/jobs", tag = "jobs",
        params(("category" = String, Query, description = "category slug", pattern = "^[a-z0-9-]{1,40}$"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = JobPage)))]
    fn list_jobs() {}

    /// The caller's jobs, newest first, of one state when given.
    #[utoipa::path(get, path = "/me/jobs", tag = "jobs",
        params(("state" = Option<JobState>, Query, description = "only jobs in this state"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = JobPage)))]
    fn list_my_jobs() {}

    /// A job: an open one to every signed-in user; one no longer open only to its poster and
    /// admins (404 for anyone else).
    #[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
        params(("id" = JobId, Path, description = "job id")),
        responses((status = 200, body = Job), (status = 404, body = ErrorBody)))]
    fn get_job() {}

    /// Edit an open job (its poster; the category stays: its followers were told). 403 for
    /// someone else's open job, 404 when the caller cannot see it, 409 when it is no longer
    /// open or changed meanwhile.
    #[utoipa::path(patch, path = "/jobs/{id}", tag = "jobs", request_body = JobPatch,
        params(("id" = JobId, Path, description = "job id")),
        responses((status = 200, body = Job), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn update_job() {}

    /// Cancel an open job (its poster): it leaves its category's listing at once, its
    /// attachments stop being visible to providers, and its pending applications are
    /// declined (their providers get `booking_declined`, within seconds). 403 for someone else's open job, 404 when
    /// the caller cannot see it, 409 when it is no longer open.
    #[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs",
        params(("id" = JobId, Path, description = "job id")),
        responses((status = 200, body = Job), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn cancel_job() {}

    /// Apply to an open job, or change your quote (providers with a provider profile; 403 for
    /// anyone else, for the job's poster, and for a provider without a profile). The price is
    /// in the job budget's currency; `proposedStart`, when given, in the future. The first
    /// application answers 201 and opens the chat room of the poster and the provider
    /// (`roomId`, a `job` subject room with just the two of them); the poster gets
    /// `application_received`. Applying again — a changed quote, or after withdrawing —
    /// answers 200 with the same room. 404 when the caller cannot see the job; 409 when it is
    /// no longer open, changed meanwhile, or the application was declined or accepted.
    #[utoipa::path(put, path = "/jobs/{id}/application", tag = "jobs", request_body = ApplicationInput,
        params(("id" = JobId, Path, description = "job id")),
        responses((status = 200, body = Application), (status = 201, body = Application), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn apply_to_job() {}

    /// Withdraw your pending application (the room and its history stay; you may apply again
    /// while the job is open). 404 without an application (or when the job is not visible),
    /// 409 when it is not pending or the job is no longer open.
    #[utoipa::path(delete, path = "/jobs/{id}/application", tag = "jobs",
        params(("id" = JobId, Path, description = "job id")),
        responses((status = 200, body = Application), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn withdraw_application() {}

    /// A job's applications, each with the provider's public profile: its poster and admins
    /// only (403 for anyone else who can see the job, 404 for anyone who cannot).
    #[utoipa::path(get, path = "/jobs/{id}/applications", tag = "jobs",
        params(("id" = JobId, Path, description = "job id"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = ApplicationPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
    fn list_job_applications() {}

    /// The caller's applications, newest job first, of one state when given
    /// (`providerProfile` is null here: they are yours).
    #[utoipa::path(get, path = "/me/applications", tag = "jobs",
        params(("state" = Option<ApplicationState>, Query, description = "only applications in this state"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = ApplicationPage)))]
    fn list_my_applications() {}

    /// Accept a pending application to your open job (its poster only: 403 for anyone else
    /// who can see the job, admins included; 404 when the caller cannot see the job or the
    /// provider has no application). One transaction moves the job to `awaiting_payment`,
    /// the application to `accepted` and creates the booking (`source` `job_application`,
    /// price = the quote, the job's title and category, `jobId`, and `threadId` = the
    /// application's room: the booking continues that conversation) in `pending_payment`
    /// with its Stripe PaymentIntent; pay it with `clientSecret` as for a purchase. Once paid,
    /// the job is `assigned` and the other pending applications are declined (their providers
    /// get `booking_declined`); if the booking ends unpaid (15 minutes, or cancelled), the job
    /// is `open` again and this application `pending` again. Accepting the same application
    /// again answers 200 with the same booking and payment (a lost answer, a second device);
    /// anything else while the job is not open is 409 naming its state, as is a withdrawn,
    /// declined or changed application. 429 with `Retry-After` past 10 new purchases per
    /// buyer in 10 minutes; 502 when Stripe cannot be reached (accept again).
    #[utoipa::path(post, path = "/jobs/{id}/applications/{providerId}/accept", tag = "jobs",
        params(("id" = JobId, Path, description = "job id"), ("providerId" = UserId, Path, description = "the applying provider's user id")),
        responses((status = 201, body = Purchase), (status = 200, body = Purchase, description = "this application was accepted before: its booking and payment"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64))), (status = 502, body = ErrorBody)))]
    fn accept_application() {}

    /// Publish a fixed-price offer (providers only: 403 for others). Images must be the
    /// caller's ready profile or portfolio images. 201 with the offer, active.
    #[utoipa::path(post, path = "/offers", tag = "offers", request_body = CreateOffer,
        responses((status = 201, body = Offer), (status = 403, body = ErrorBody)))]
    fn create_offer() {}

    /// A category's active offers, newest first.
    #[utoipa::path(get, path = "/offers", tag = "offers",
        params(("category" = String, Query, description = "category slug", pattern = "^[a-z0-9-]{1,40}$"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = OfferPage)))]
    fn list_offers() {}

    /// An offer; a paused one exists only for its provider (404 for anyone else).
    #[utoipa::path(get, path = "/offers/{id}", tag = "offers",
        params(("id" = OfferId, Path, description = "offer id")),
        responses((status = 200, body = Offer), (status = 404, body = ErrorBody)))]
    fn get_offer() {}

    /// Set your availability (providers only: 403 for others), replacing the whole plan:
    /// your IANA `timeZone`, a `weekly` plan (per weekday, up to 8 intervals `HH:MM`–`HH:MM`
    /// local, `24:00` ending at midnight, not overlapping, each with a price `multiplier` of
    /// 0.5–5 with two decimals at most, default 1), date `overrides` (each date once, up to
    /// 100; no intervals: closed that day), `minNoticeMinutes` (0–10,080) and
    /// `bufferMinutes` (0–240) kept free around every booking. 400 names the first wrong
    /// field (`weekly.friday[1].end`, `overrides[0].date`, …).
    #[utoipa::path(put, path = "/me/availability", tag = "scheduling", request_body = SetAvailability,
        responses((status = 200, body = Availability), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn set_availability() {}

    /// Your availability as set (404 before you set one).
    #[utoipa::path(get, path = "/me/availability", tag = "scheduling",
        responses((status = 200, body = Availability), (status = 404, body = ErrorBody)))]
    fn get_availability() {}

    /// An offer's free slots on the provider's local dates `from` to `to` (both included, at
    /// most 31 days): each the offer's duration long, starting every 30 minutes from the
    /// start of an interval of that date (its override, or its weekday) and ending within
    /// it, at least the minimum notice from now; in UTC and in the provider's local time
    /// with its offset; priced at the offer's price × the interval's multiplier, rounded down
    /// to the minor unit. Across DST changes the plan stays in local time: a local time the
    /// change skips has no slot, a repeated one is offered once (its first occurrence), and
    /// every slot lasts the offer's duration in real time. 404 for an offer the caller cannot
    /// see, or a provider without availability; 400 for a missing or wrong date or range;
    /// 409 for an offer longer than 480 minutes (bought, not booked by slot).
    #[utoipa::path(get, path = "/offers/{id}/slots", tag = "scheduling",
        params(("id" = OfferId, Path, description = "offer id"), ("from" = String, Query, description = "first local date, YYYY-MM-DD", format = Date), ("to" = String, Query, description = "last local date, YYYY-MM-DD, at most 30 days after from", format = Date)),
        responses((status = 200, body = SlotList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn list_offer_slots() {}

    /// Request a free slot of an active offer (`start` exactly as `GET /offers/{id}/slots`
    /// lists it). The slot is checked against the provider's plan and held time, and the
    /// booking — `source` `slot`, `pending_payment`, the slot's price and its `schedule` —
    /// holds the provider's time from the start to the end plus their buffer, in its own
    /// transaction, quarter hour by quarter hour: of concurrent requests for overlapping time
    /// (the same slot, or overlapping slots of different offers of one provider) exactly one
    /// is written, every other is 409. The answer is a purchase's: a Stripe PaymentIntent with
    /// manual capture and its `clientSecret`. Once the card is authorized the booking is
    /// `requested` and the provider gets `provider_assigned` (a request); they accept
    /// (captured) or decline (voided) within 6 days and before the start, or it expires
    /// (voided). Unpaid within 15 minutes it is `payment_expired`; a declined, expired or
    /// cancelled request frees its time. A slot starting more than 6 days after the request
    /// (an authorization would lapse first) saves the card instead: the answer carries a
    /// `setupIntentId` and its `clientSecret` (for `confirmSetup`), the card is saved to the
    /// customer's Stripe Customer, `setup_intent.succeeded` makes the booking `requested`
    /// (`paymentState: scheduled`), and once accepted it is charged off-session 48 h before
    /// the start (see `POST /bookings/{id}/pay` when the bank refuses). The same
    /// `idempotencyKey` again answers 200 with the same booking. 400 for one's own offer; 404 for a paused or unknown offer or a provider
    /// without availability; 409 when `start` is not a free slot now or another booking took
    /// it, or for offers longer than 8 hours; 429 as for purchases (they count together); 502
    /// when Stripe cannot be reached.
    #[utoipa::path(post, path = "/offers/{id}/book", tag = "scheduling", request_body = BookSlot,
        params(("id" = OfferId, Path, description = "offer id")),
        responses((status = 201, body = Purchase), (status = 200, body = Purchase, description = "an earlier request with the same key"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64))), (status = 502, body = ErrorBody)))]
    fn book_slot() {}

    /// Edit, pause (`status: paused`) or list again one of the caller's offers: 403 for another
    /// provider's offer, 404 when the caller cannot see it, 409 when it changed meanwhile.
    #[utoipa::path(patch, path = "/offers/{id}", tag = "offers", request_body = OfferPatch,
        params(("id" = OfferId, Path, description = "offer id")),
        responses((status = 200, body = Offer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn update_offer() {}

    /// Delete one of the caller's offers: 403 for another provider's, 404 when not visible.
    #[utoipa::path(delete, path = "/offers/{id}", tag = "offers",
        params(("id" = OfferId, Path, description = "offer id")),
        responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn delete_offer() {}

    /// Buy an active offer. Creates a booking in `pending_payment` and a Stripe PaymentIntent
    /// (captured on confirmation; `transfer_group` and metadata `booking_id` name the
    /// booking) and returns its `clientSecret` for Stripe's client SDK. Pay within 15 minutes:
    /// the booking then becomes `accepted` when Stripe reports the payment (poll
    /// `GET /bookings/{id}` or wait for the `booking_confirmed` notification), or
    /// `payment_expired`. The same `idempotencyKey` again answers 200 with the same booking
    /// and payment (409 if that key bought another offer). 400 for one's own offer; 404 for
    /// a paused or unknown offer; 502 when Stripe cannot be reached (retry with the same key).
    /// 429 with `Retry-After` past 10 new purchases per buyer, or 3 of one offer, in 10
    /// minutes (a key already used is never limited).
    #[utoipa::path(post, path = "/offers/{id}/purchase", tag = "bookings", request_body = PurchaseRequest,
        params(("id" = OfferId, Path, description = "offer id")),
        responses((status = 201, body = Purchase), (status = 200, body = Purchase, description = "an earlier purchase with the same key"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody, headers(("retry-after" = u64))), (status = 502, body = ErrorBody)))]
    fn purchase_offer() {}

    /// The caller's bookings, newest first: `role=customer` for "my orders", `role=provider`
    /// for "my tasks", both without it; `state`, `category` and `source` narrow further. A
    /// page holds up to `limit` bookings; continue while `nextCursor` is present (a cursor
    /// works only with the filters it was issued for).
    #[utoipa::path(get, path = "/bookings", tag = "bookings",
        params(("role" = Option<PartyRole>, Query, description = "the caller's side"), ("state" = Option<BookingState>, Query, description = "only bookings in this state"), ("category" = Option<String>, Query, description = "category slug", pattern = "^[a-z0-9-]{1,40}$"), ("source" = Option<Source>, Query, description = "only bookings from this source"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = BookingPage)))]
    fn list_bookings() {}

    /// The caller's payment history as a customer, newest first: per paid booking, what was
    /// charged and given back (refunds, and disputes decided for the customer) and where the
    /// money is. Bookings never paid are skipped, so a page may hold fewer than `limit`;
    /// continue while `nextCursor` is present.
    #[utoipa::path(get, path = "/me/payments", tag = "bookings",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = PaymentPage)))]
    fn list_payments() {}

    /// A booking and its ledger, for its two parties and admins; anyone else gets 404.
    #[utoipa::path(get, path = "/bookings/{id}", tag = "bookings",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingDetail), (status = 404, body = ErrorBody)))]
    fn get_booking() {}

    /// The provider accepts a request (`requested` → `accepted`): the authorized payment is
    /// captured, the booking's room opens for the two parties, its charge is written and the
    /// customer gets `booking_confirmed`. 403 for the customer, 404 for anyone else, 409 with
    /// the current state when it does not apply (or when Stripe can no longer capture the
    /// authorization); 502 when Stripe cannot be reached (accept again: the capture is made
    /// once).
    #[utoipa::path(post, path = "/bookings/{id}/accept", tag = "scheduling",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn accept_booking() {}

    /// The customer pays a session's saved-card charge that the bank refused (a session
    /// booked more than 6 days ahead is charged off-session 48 h before its start; a refusal
    /// sets `paymentState: failed` with `paymentError` and sends `payment_failed`). Answers
    /// the booking, the PaymentIntent (`paymentIntentId`) and its `clientSecret` for Stripe's
    /// client SDK to confirm on-session (another card, or the same one with 3-D Secure);
    /// `payment_intent.succeeded` then writes the charge. Unpaid 24 h before the start, the
    /// booking is `cancelled_by_operator`. 403 for the provider, 404 for anyone else, 409 when
    /// there is nothing to pay; 502 when Stripe cannot be reached.
    #[utoipa::path(post, path = "/bookings/{id}/pay", tag = "scheduling",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = Purchase), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn pay_booking() {}

    /// How sessions are followed (admins; 403 for anyone else): `supportAlertAfterMinutes`,
    /// when a session not started is reported to the admins following `topic:operations`
    /// (15 until set).
    #[utoipa::path(get, path = "/admin/session-settings", tag = "scheduling",
        responses((status = 200, body = SessionSettings), (status = 403, body = ErrorBody)))]
    fn get_session_settings() {}

    /// Sets how sessions are followed (admins; 403 for anyone else): the support alert's delay
    /// after a session's start, 4 to 240 minutes (400 names the field otherwise). Support
    /// alerts set from now on use it.
    #[utoipa::path(put, path = "/admin/session-settings", tag = "scheduling", request_body = SessionSettingsRequest,
        responses((status = 200, body = SessionSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
    fn set_session_settings() {}

    /// The provider declines a request (`requested` → `declined`), with an optional `reason`
    /// for the customer: the authorization is voided (nothing is charged), the slot is free
    /// again and the customer gets `booking_declined`. 403 for the customer, 404 for anyone
    /// else, 409 with the current state when it does not apply. An unanswered request
    /// expires the same way (`expired`) before its authorization lapses or the slot starts.
    #[utoipa::path(post, path = "/bookings/{id}/decline", tag = "scheduling", request_body(content = DeclineRequest, description = "optional: an empty body declines without a reason"),
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn decline_booking() {}

    /// The provider starts the work (`accepted` → `in_progress`). 403 for the customer, 404
    /// for anyone else, 409 with the current state when it does not apply.
    #[utoipa::path(post, path = "/bookings/{id}/start", tag = "bookings",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn start_booking() {}

    /// The provider delivers (`in_progress` → `delivered`), optionally with up to 10 of their
    /// ready `proof_of_work` uploads, which both parties may then download, and a note. The
    /// customer is notified; the booking completes by itself 48 h later unless confirmed
    /// before. 403 for the customer, 404 for anyone else, 409 when it does not apply.
    #[utoipa::path(post, path = "/bookings/{id}/deliver", tag = "bookings", request_body = DeliverRequest,
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn deliver_booking() {}

    /// The provider writes the session's summary, once, from the start of the work on
    /// (`in_progress`, `delivered` or `completed`): `findings` (required), `stepsTaken`,
    /// `partsNeeded`, `nextSteps` and up to 10 of their ready `proof_of_work` uploads as
    /// photos, which both parties may then download. The customer gets `session_summary`
    /// (in-app; by email while unread). 400 names the field, 403 for the customer, 404 for
    /// anyone else, 409 before the start or when a summary exists.
    #[utoipa::path(post, path = "/bookings/{id}/summary", tag = "bookings", request_body = SummaryRequest,
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn submit_summary() {}

    /// A session's summary, to its parties and admins. The customer's first read records
    /// `viewedAt` (once). 404 when there is no summary yet, or for anyone else.
    #[utoipa::path(get, path = "/bookings/{id}/summary", tag = "bookings",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = Summary), (status = 404, body = ErrorBody)))]
    fn get_summary() {}

    /// The customer confirms completion (`delivered` → `completed`); the ledger then shows the
    /// commission and the provider's earning, and the earning (price less the booking's
    /// commission) is transferred to the provider's Stripe account (`paymentState`
    /// `released`, ledger step `release`, `payment_released` to the provider) — at once when
    /// their account can be paid, otherwise when Stripe enables it. 403 for the provider, 404
    /// for anyone else, 409 when it does not apply.
    #[utoipa::path(post, path = "/bookings/{id}/confirm", tag = "bookings",
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn confirm_booking() {}

    /// Cancel, by either party (or an admin), with a reason both parties receive (SMS or
    /// email to whoever is offline). Refund policy: the provider or an admin cancelling
    /// refunds in full; the customer gets everything back before the work starts and nothing
    /// once it is `in_progress`; an unpaid booking's payment is cancelled. The refund goes
    /// through Stripe (`refund.stripeRefundId` once taken; retried every minute until then).
    /// What a paid booking's customer does not get back is settled as earned (`settled`,
    /// ledger step `settlement`): the provider's share of it (less the booking's commission)
    /// is transferred to them once the refund is with Stripe, as a completion's release
    /// (`transfer`, `payment_released`). 404 for anyone else, 409 when the state does not
    /// allow it or the payment is disputed.
    #[utoipa::path(post, path = "/bookings/{id}/cancel", tag = "bookings", request_body = CancelRequest,
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn cancel_booking() {}

    /// Admins only: refund `amount` minor units (all the booking still keeps when absent) of
    /// a completed booking, or of what a cancellation settled; several partial refunds add
    /// up. The commission and the provider's earning shrink to the split of what remains: a
    /// transfer already released loses the provider's part of the refund (a reversal at
    /// Stripe, ledger step `reversal`), then the refund goes through Stripe (`refund`, ledger
    /// step `refund_after_completion`); an unreleased earning is released smaller. Both
    /// parties get `payment_refunded`. Retrying with the same `idempotencyKey` changes
    /// nothing and answers the booking. 400 for an amount out of range, 403 for anyone but an
    /// admin (and for an admin who is one of the booking's parties: nobody refunds their own
    /// deal), 409 when the booking keeps nothing to refund, is disputed, or an earlier refund
    /// has not reached Stripe yet.
    #[utoipa::path(post, path = "/bookings/{id}/refund", tag = "bookings", request_body = RefundRequest,
        params(("id" = BookingId, Path, description = "booking id")),
        responses((status = 200, body = BookingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
    fn refund_booking() {}

    /// Stripe's webhook endpoint (public: the `Stripe-Signature` header is the credential,
    /// checked against the endpoint's secret with a 300 s tolerance; missing, forged or stale
    /// → 400 and nothing changes). Each event is applied once, however often and in whatever
    /// order it arrives; every well-signed event we do not use, whatever its object, is
    /// answered 200 `ignored`. Bodies up to 1 MiB (413 beyond). 502 (Stripe unreachable when
    /// the payment is read again) and 409 (the booking changed under the event) ask Stripe
    /// to deliver it again.
    #[utoipa::path(post, path = "/webhooks/stripe", tag = "bookings", request_body(content = serde_json::Value, description = "a Stripe event, exactly as Stripe signed it"),
        params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256>")),
        responses((status = 200, body = WebhookAnswer), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn stripe_webhook() {}

    /// Start (or continue) getting paid: creates the calling provider's Stripe Connect
    /// Express account the first time (once, however often or concurrently this is called)
    /// and answers a fresh single-use link to Stripe's hosted onboarding (`url`, valid about
    /// five minutes). Stripe sends the provider back to `{AppUrl}/payouts/onboarding/return`,
    /// or to `{AppUrl}/payouts/onboarding/refresh` when the link was used or expired — call
    /// `POST /me/payouts/onboarding/refresh` there for a new one. Stripe reports the result
    /// through its webhook (`account.updated`); read it with `GET /me/payouts/account`. 403
    /// without the `provider` role; 502 when Stripe cannot be reached, or the deployment has
    /// no `AppUrl`.
    #[utoipa::path(post, path = "/me/payouts/onboarding", tag = "payouts",
        responses((status = 200, body = Onboarding), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn start_payout_onboarding() {}

    /// A new onboarding link for the caller's existing account (what the app calls when
    /// Stripe sends the provider to the refresh URL). 404 before `POST
    /// /me/payouts/onboarding`; otherwise as that route.
    #[utoipa::path(post, path = "/me/payouts/onboarding/refresh", tag = "payouts",
        responses((status = 200, body = Onboarding), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn refresh_payout_onboarding() {}

    /// Where the calling provider's onboarding is, as Stripe last reported it: `not_started`,
    /// `pending` (the form is not finished), `restricted` (Stripe needs `requirementsDue`) or
    /// `enabled`. `canBePaid`: completed bookings' earnings are transferred at once; until
    /// then they are held and go out when Stripe enables the account. 403 without the
    /// `provider` role.
    #[utoipa::path(get, path = "/me/payouts/account", tag = "payouts",
        responses((status = 200, body = PayoutStatus), (status = 403, body = ErrorBody)))]
    fn get_payout_account() {}

    /// The calling provider's Stripe balance: `available` (withdrawable, or paid out on
    /// Stripe's next automatic payout) and `pending` (transferred, not settled yet) per
    /// currency, and `manualPayouts` (whether they withdraw with `POST /me/payouts`). 403
    /// without the `provider` role; 404 before onboarding; 502 when Stripe cannot be reached.
    #[utoipa::path(get, path = "/me/payouts/balance", tag = "payouts",
        responses((status = 200, body = BalanceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn get_payout_balance() {}

    /// Withdraw: pays the available balance of one currency (`currency`, needed only when the
    /// balance holds several) out to the provider's bank. Only where the provider's account
    /// is on manual payouts; otherwise **409** says payouts are automatic. The same
    /// `idempotencyKey` again answers the same payout. **409** also when the account is not
    /// enabled yet, nothing is available, or Stripe refuses (its reason in the message); 404
    /// before onboarding; 502 when Stripe cannot be reached (retry with the same key).
    /// `payout_paid` or `payout_failed` follows when the bank answers.
    #[utoipa::path(post, path = "/me/payouts", tag = "payouts", request_body = WithdrawRequest,
        responses((status = 201, body = PayoutRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
    fn withdraw_payout() {}

    /// The calling provider's payouts (withdrawals and Stripe's automatic ones), newest
    /// first, as Stripe last reported each (`pending`, `in_transit`, `paid`, `failed`,
    /// `canceled`). 403 without the `provider` role.
    #[utoipa::path(get, path = "/me/payouts", tag = "payouts",
        params(("limit" = Option<u32>, Query, description = "1 to 100, default 20", minimum = 1, maximum = 100), ("cursor" = Option<String>, Query, description = "nextCursor of the previous page; absent or empty: the first page")),
        responses((status = 200, body = PayoutPage), (status = 403, body = ErrorBody)))]
    fn list_payouts() {}

    /// The calling provider's earnings per month (UTC) and currency: bookings completed,
    /// `gross` (what customers paid), `commission` and `net`, counted when each booking
    /// completed (a lost dispute counts its write-off back). Newest month first. 403 without
    /// the `provider` role.
    #[utoipa::path(get, path = "/me/earnings", tag = "payouts",
        responses((status = 200, body = Earnings), (status = 403, body = ErrorBody)))]
    fn get_earnings() {}

    /// The platform's commission rates: the default and per-category overrides, in basis
    /// points (1000 = 10 %). Admins only (403 otherwise).
    #[utoipa::path(get, path = "/admin/commission", tag = "payouts",
        responses((status = 200, body = CommissionRates), (status = 403, body = ErrorBody)))]
    fn get_commission_rates() {}

    /// Replaces the commission rates (0 to 10000 basis points each; a category at most once,
    /// as a category slug). Each booking keeps the rate it was created with: only bookings
    /// created from now on use these. Admins only (403 otherwise).
    #[utoipa::path(put, path = "/admin/commission", tag = "payouts", request_body = CommissionInput,
        responses((status = 200, body = CommissionRates), (status = 403, body = ErrorBody)))]
    fn set_commission_rates() {}

    /// A month's commission: per category and currency, the bookings completed in it (UTC)
    /// with their gross, commission and the providers' net, counted when each completed.
    /// `period` defaults to this month. Admins only (403 otherwise).
    #[utoipa::path(get, path = "/admin/commission/report", tag = "payouts",
        params(("period" = Option<String>, Query, description = "a month, YYYY-MM", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")),
        responses((status = 200, body = CommissionReport), (status = 403, body = ErrorBody)))]
    fn get_commission_report() {}

    /// A tracked link from a notification email (public: the signed token is the credential).
    /// Records the click and the read, then redirects to the notification in the app. An
    /// expired link still redirects but records nothing.
    #[utoipa::path(get, path = "/n/{token}", tag = "notifications",
        params(("token" = String, Path, description = "signed link token")),
        responses((status = 302, description = "to the app"), (status = 400, body = ErrorBody)))]
    fn open_notification_link() {}
}

/// Each operation's security comes from its route declaration ([`crate::routes`]): bearer for
/// `Bearer` and `Admin` routes (which can also answer 403), none for public ones.
struct DeclaredSecurity;

impl Modify for DeclaredSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (method, path, access) in crate::routes::http_routes() {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                continue;
            };
            let op = match method {
                "GET" => &mut item.get,
                "POST" => &mut item.post,
                "PUT" => &mut item.put,
                "PATCH" => &mut item.patch,
                "DELETE" => &mut item.delete,
                _ => continue,
            };
            let Some(op) = op.as_mut() else { continue };
            if access == Access::Public {
                continue;
            }
            op.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            if access == Access::Admin {
                op.responses
                    .responses
                    .entry("403".to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description("The caller is not an admin.")
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// Responses every operation of a kind can give, added in one place so none is forgotten: 401
/// (our `ErrorBody`; the authorizer lets the function answer even without a header) on every
/// bearer operation, 400 wherever a path, query or body is read, and 413 everywhere (every
/// route refuses a body over 16 KiB before reading it).
struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                let bearer = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let reads_input = op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if bearer {
                    add(
                        "401",
                        "No, an invalid or an expired access token (`WWW-Authenticate: Bearer`).",
                    );
                }
                if reads_input {
                    add(
                        "400",
                        "A malformed path id, query value or body; `field` names it.",
                    );
                }
                add("413", "The body is larger than 16 KiB.");
            }
        }
    }
}

/// The operations of a path item, for modifiers that touch each one.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// OpenAPI links from the responses that return ids to the operations that take them, so
/// clients and fuzzers can chain calls: (operation, status, link name, target operation,
/// target parameter, JSON pointer into the response body).
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "create_room",
        "201",
        "GetRoom",
        "get_room",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "201",
        "UpdateRoom",
        "update_room",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "201",
        "AddMembers",
        "add_members",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "201",
        "UpdateMembership",
        "update_membership",
        "id",
        "/room/id",
    ),
    ("create_room", "201", "History", "history", "id", "/room/id"),
    (
        "create_room",
        "201",
        "SendMessage",
        "send_message",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "201",
        "MarkRead",
        "mark_read",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "200",
        "GetRoom",
        "get_room",
        "id",
        "/room/id",
    ),
    (
        "create_room",
        "200",
        "SendMessage",
        "send_message",
        "id",
        "/room/id",
    ),
    (
        "list_rooms",
        "200",
        "GetFirstRoom",
        "get_room",
        "id",
        "/items/0/room/id",
    ),
    (
        "send_message",
        "201",
        "EditMessage",
        "edit_message",
        "messageId",
        "/id",
    ),
    (
        "send_message",
        "201",
        "DeleteMessage",
        "delete_message",
        "messageId",
        "/id",
    ),
    (
        "send_message",
        "201",
        "AddReaction",
        "add_reaction",
        "messageId",
        "/id",
    ),
    (
        "send_message",
        "201",
        "RemoveReaction",
        "remove_reaction",
        "messageId",
        "/id",
    ),
    (
        "create_upload",
        "201",
        "CompleteUpload",
        "complete_upload",
        "id",
        "/file/id",
    ),
    (
        "create_upload",
        "201",
        "GetFile",
        "get_file",
        "id",
        "/file/id",
    ),
    (
        "create_upload",
        "201",
        "DeleteFile",
        "delete_file",
        "id",
        "/file/id",
    ),
    (
        "register_device",
        "201",
        "UnregisterDevice",
        "unregister_device",
        "id",
        "/id",
    ),
    (
        "list_notifications",
        "200",
        "ClickFirst",
        "click_notification",
        "id",
        "/items/0/id",
    ),
    (
        "list_notifications",
        "200",
        "DeleteFirst",
        "delete_notification",
        "id",
        "/items/0/id",
    ),
    (
        "subscribe",
        "200",
        "Unsubscribe",
        "unsubscribe",
        "target",
        "/target",
    ),
    ("post_job", "201", "GetJob", "get_job", "id", "/id"),
    ("post_job", "201", "UpdateJob", "update_job", "id", "/id"),
    ("post_job", "201", "CancelJob", "cancel_job", "id", "/id"),
];

struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Message operations also need the room id, which the send answers as `roomId`.
        let room_of_message = [
            "edit_message",
            "delete_message",
            "add_reaction",
            "remove_reaction",
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                let id = op.operation_id.clone().unwrap_or_default();
                for (_, status, name, target, param, pointer) in
                    LINKS.iter().filter(|link| link.0 == id)
                {
                    let mut link = LinkBuilder::new()
                        .operation_id(*target)
                        .parameter(*param, format!("$response.body#{pointer}"));
                    if room_of_message.contains(target) {
                        link = link.parameter("id", "$response.body#/roomId");
                    }
                    if let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) {
                        response
                            .links
                            .insert((*name).to_owned(), link.build().into());
                    }
                }
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "gigwire API", description = "HTTP API of the gigwire marketplace backend. \
        Real-time events travel over the WebSocket API (connect with `?token=<access token>`); \
        their messages are the `ClientMessage` and `ServerEvent` schemas."),
    paths(paths::request_code, paths::verify_code, paths::refresh, paths::logout, paths::get_me, paths::update_me, paths::list_sessions, paths::create_upload, paths::complete_upload, paths::get_file, paths::delete_file, paths::create_room, paths::list_rooms, paths::unread, paths::get_room, paths::update_room, paths::add_members, paths::remove_member, paths::update_membership, paths::mark_read, paths::history, paths::send_message, paths::edit_message, paths::delete_message, paths::add_reaction, paths::remove_reaction, paths::list_notifications, paths::notification_count, paths::mark_notifications_read, paths::mark_notifications_seen, paths::click_notification, paths::delete_notification, paths::notification_preferences, paths::update_notification_preferences, paths::notification_stats, paths::register_device, paths::unregister_device, paths::subscribe, paths::unsubscribe, paths::list_subscriptions, paths::broadcast_notification, paths::open_notification_link, paths::put_provider_profile, paths::get_provider_profile, paths::list_provider_offers, paths::submit_review, paths::list_booking_reviews, paths::list_provider_reviews, paths::vote_review, paths::reply_review, paths::hide_review, paths::get_follow_up_terms, paths::open_follow_up, paths::get_follow_up_settings, paths::set_follow_up_settings, paths::set_premium, paths::get_premium, paths::list_upsells, paths::click_upsell, paths::purchase_upsell, paths::get_crm_funnel, paths::list_customer_interactions, paths::create_offer, paths::list_offers, paths::get_offer, paths::update_offer, paths::delete_offer, paths::set_availability, paths::get_availability, paths::list_offer_slots, paths::book_slot, paths::post_job, paths::list_jobs, paths::list_my_jobs, paths::get_job, paths::update_job, paths::cancel_job, paths::apply_to_job, paths::withdraw_application, paths::list_job_applications, paths::list_my_applications, paths::accept_application, paths::purchase_offer, paths::list_bookings, paths::list_payments, paths::get_booking, paths::accept_booking, paths::pay_booking, paths::get_session_settings, paths::set_session_settings, paths::decline_booking, paths::start_booking, paths::deliver_booking, paths::submit_summary, paths::get_summary, paths::confirm_booking, paths::cancel_booking, paths::refund_booking, paths::stripe_webhook, paths::start_payout_onboarding, paths::refresh_payout_onboarding, paths::get_payout_account, paths::get_payout_balance, paths::withdraw_payout, paths::list_payouts, paths::get_earnings, paths::get_commission_rates, paths::set_commission_rates, paths::get_commission_report),
    components(schemas(ErrorBody, ErrorDetail, Role, User, SessionView, ClientMessage, ServerEvent, Purpose, FileStatus, FormField, RoomKind, SubjectType, MemberRole, MessageKind, Attachment, Reaction, MessagePreview, TypingState, ReceiptKind, PresenceStatus, RoomChange, MemberPresence, RoomSummary, Peer, Kind, Channel, ChannelSwitches, QuietHours, Preferences, StatsRow, Platform, Money, OfferStatus, ServiceArea, BookingState, Source, PartyRole, Timer, TimerKind, RefundInfo, Account, Entry, LedgerStep, WebhookOutcome, PaymentState, TransferInfo, DisputeInfo, DisputeStatus, AccountState, PayoutAccount, CategoryRate, Amount, EarningsLine, PaymentLine, JobState, Window, ApplicationState, Interval, Week, Override, Slot, Schedule, SavedCard, SessionSettings, SessionSettingsRequest, Summary, Review, Reply, Hidden, Rating, BookingReviews, ReviewPage, ReviewRequest, ReplyRequest, HideRequest, FirstResponse, FollowUp, FollowUpKind, FollowUpRequest, FollowUpSettings, FollowUpSettingsRequest, FollowUpTerms, Premium, PremiumRequest, UpgradeState, PremiumUpgrade, PremiumCheckout, UpsellPurchase, Stage, UpsellKind, UpsellRef, Interaction, Upsell, StageCounts, Conversion, FunnelRow, Period, Funnel, UpsellPage, InteractionPage, UpsellPurchaseRequest)),
    modifiers(&BearerAuth, &DeclaredSecurity, &StandardResponses, &Links),
    tags((name = "auth", description = "Email one-time-code sign-in and tokens"), (name = "me", description = "The signed-in user"), (name = "files", description = "Uploads and downloads"), (name = "chat", description = "Rooms, members and messages; live events travel over the WebSocket"), (name = "notifications", description = "In-app inbox and notification preferences"), (name = "offers", description = "Provider profiles and fixed-price offers"), (name = "bookings", description = "Purchases, bookings, their steps and money; Stripe's webhook"), (name = "payouts", description = "Providers' Stripe accounts, commission rates and reports"), (name = "jobs", description = "Customers' jobs (leads), listed by category; followers of a category are told"), (name = "scheduling", description = "Providers' availability and their offers' free slots"), (name = "reviews", description = "Double-blind reviews of completed bookings and providers' ratings"), (name = "follow-ups", description = "Follow-up requests on completed bookings; the admins' window, price and premium customers"), (name = "crm", description = "Customers' upsell recommendations; the admins' funnel and interaction logs"))
)]
pub struct ApiDoc;

/// The document as pretty JSON, as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    // utoipa 5 serializes a Link's `operationId` as `operation_id` (its struct lacks the
    // camelCase rename), which OpenAPI tools ignore: spell it as the specification does.
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let responses = paths
            .values_mut()
            .filter_map(|item| item.as_object_mut())
            .flat_map(|item| item.values_mut())
            .filter_map(|op| op.get_mut("responses")?.as_object_mut())
            .flat_map(|responses| responses.values_mut());
        for response in responses {
            let links = response.get_mut("links").and_then(|l| l.as_object_mut());
            for link in links.into_iter().flat_map(|l| l.values_mut()) {
                if let Some(link) = link.as_object_mut()
                    && let Some(id) = link.remove("operation_id")
                {
                    link.insert("operationId".into(), id);
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::check;
    use std::collections::BTreeSet;

    #[test]
    fn the_committed_document_matches_the_code() {
        check(
            "docs/openapi.json",
            &openapi_json(),
            "UPDATE_OPENAPI",
            "UPDATE_OPENAPI=1 cargo test --workspace --lib api_doc",
        );
    }

    #[test]
    fn the_document_describes_exactly_the_declared_routes_with_their_security() {
        let doc = ApiDoc::openapi();
        let described: BTreeSet<(String, bool)> = doc
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                    ("PUT", &item.put),
                ]
                .into_iter()
                .filter_map(move |(method, op)| {
                    let op = op.as_ref()?;
                    let bearer = op.security.as_ref().is_some_and(|s| !s.is_empty());
                    Some((format!("{method} {path}"), bearer))
                })
            })
            .collect();
        let declared: BTreeSet<(String, bool)> = crate::routes::http_routes()
            .map(|(method, path, access)| (format!("{method} {path}"), access != Access::Public))
            .collect();
        assert!(!declared.is_empty());
        assert_eq!(described, declared);
    }
}
