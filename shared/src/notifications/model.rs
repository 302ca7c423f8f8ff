//! Notification rules: the catalog of notification kinds (channels, criticality, escalation
//! delay, texts), user preferences, quiet hours in the user's time zone, and digests. Pure: the
//! notification service applies them.
//!
//! Texts are minijinja templates over the notification's `data`, so producers pass facts
//! (`actor`, `room`, `preview`, `count`…) and wording lives here, next to the email templates.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{NotificationId, RoomId, TimeZone, UserId};
use crate::error::{Error, Result};

/// The topic of operators' alerts (payment disputes, timers that keep failing): only admins
/// may follow it (`PUT /me/subscriptions/topic:operations`), with the channels they choose.
pub const OPERATIONS_TOPIC: &str = "operations";

/// What a notification is about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A chat message reached none of the recipient's devices.
    ChatMessage,
    /// A job matching a provider's services was posted.
    JobPosted,
    /// A provider applied to the customer's job.
    ApplicationReceived,
    /// A booking was confirmed.
    BookingConfirmed,
    /// A booking was declined.
    BookingDeclined,
    /// A provider was assigned to a job.
    ProviderAssigned,
    /// A booked session starts soon.
    SessionStartingSoon,
    /// The provider wrote a session's summary.
    SessionSummary,
    /// A payment was received.
    PaymentReceived,
    /// Escrowed funds were released.
    PaymentReleased,
    /// A job was marked completed.
    JobCompleted,
    /// A review was submitted.
    ReviewSubmitted,
    /// A follow-up question was asked.
    FollowUpQuestion,
    /// A payment attempt for a booking failed; the booking can still be paid.
    PaymentFailed,
    /// A booking was cancelled (both parties are told, with the reason).
    BookingCancelled,
    /// A booking's payment is disputed with the card issuer, or the dispute was decided.
    PaymentDisputed,
    /// Support refunded (part of) a completed booking: the customer gets it back, the
    /// provider is told what goes back from their earnings.
    PaymentRefunded,
    /// A payout reached the provider's bank.
    PayoutPaid,
    /// A payout was returned by the provider's bank.
    PayoutFailed,
    /// An announcement from the platform.
    System,
}

impl Kind {
    /// Every kind, in catalog order.
    pub const ALL: [Kind; 20] = [
        Kind::ChatMessage,
        Kind::JobPosted,
        Kind::ApplicationReceived,
        Kind::BookingConfirmed,
        Kind::BookingDeclined,
        Kind::ProviderAssigned,
        Kind::SessionStartingSoon,
        Kind::SessionSummary,
        Kind::PaymentReceived,
        Kind::PaymentReleased,
        Kind::JobCompleted,
        Kind::ReviewSubmitted,
        Kind::FollowUpQuestion,
        Kind::PaymentFailed,
        Kind::BookingCancelled,
        Kind::PaymentDisputed,
        Kind::PaymentRefunded,
        Kind::PayoutPaid,
        Kind::PayoutFailed,
        Kind::System,
    ];

    /// The name used in keys and APIs.
    pub fn as_str(self) -> &'static str {
        spec(self).name
    }
}

/// A way to reach a user.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The in-app inbox and the open WebSocket connections (always on).
    InApp,
    /// Mobile push to registered devices.
    Push,
    /// Text message.
    Sms,
    /// Email.
    Email,
}

impl Channel {
    /// The name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InApp => "in_app",
            Self::Push => "push",
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

/// How one kind of notification behaves.
#[derive(Debug)]
pub struct KindSpec {
    /// Name in keys and APIs.
    pub name: &'static str,
    /// Channels used unless the user turned them off.
    pub channels: &'static [Channel],
    /// Critical: ignores quiet hours and preferences.
    pub critical: bool,
    /// A milestone of a booking (confirmed, assigned, starting, delivered, summary): sent to
    /// named users, its email goes at once and once, whether or not the notification was
    /// read (unless the user turned the kind's email off).
    pub milestone: bool,
    /// How long an unread notification waits before SMS/email.
    pub escalate_after: Duration,
    /// Title (minijinja over the data).
    pub title: &'static str,
    /// Body (minijinja over the data).
    pub body: &'static str,
    /// Digest line when several are pending (`count` is in the data).
    pub digest: &'static str,
}

const ALL_CHANNELS: &[Channel] = &[Channel::InApp, Channel::Push, Channel::Sms, Channel::Email];
const NO_SMS: &[Channel] = &[Channel::InApp, Channel::Push, Channel::Email];
const IN_APP_AND_EMAIL: &[Channel] = &[Channel::InApp, Channel::Email];

/// The catalog.
pub fn spec(kind: Kind) -> KindSpec {
    let minutes = Duration::minutes;
    let (name, channels, critical, escalate_after, title, body, digest) = match kind {
        Kind::ChatMessage => (
            "chat_message",
            ALL_CHANNELS,
            false,
            minutes(5),
            "New message from {{ actor }}",
            "{{ preview }}",
            "{{ count }} new messages from {{ actor }} in '{{ room }}'",
        ),
        Kind::JobPosted => (
            "job_posted",
            NO_SMS,
            false,
            minutes(30),
            "New job: {{ title }}",
            "{% if budget %}A new {{ category }} job: '{{ title }}' ({{ place }}), budget {{ budget }}.{% else %}A job matching your services was posted.{% endif %}",
            "{{ count }} new jobs match your services",
        ),
        Kind::ApplicationReceived => (
            "application_received",
            NO_SMS,
            false,
            minutes(10),
            "{{ actor }} applied to your job",
            "{{ actor }} applied to '{{ title }}'{% if price %} for {{ price }}{% endif %}.",
            "{{ count }} new applications to '{{ title }}'",
        ),
        Kind::BookingConfirmed => (
            "booking_confirmed",
            ALL_CHANNELS,
            false,
            minutes(10),
            "Booking confirmed",
            "{{ actor }} confirmed your booking for {{ when }}.",
            "{{ count }} bookings confirmed",
        ),
        Kind::BookingDeclined => (
            "booking_declined",
            NO_SMS,
            false,
            minutes(10),
            "Booking declined",
            "{% if expired %}{{ actor }} did not answer your request for {{ when }}: it expired and nothing was charged.{% else %}{{ actor }} declined your booking for {{ when }}.{% endif %}",
            "{{ count }} bookings declined",
        ),
        Kind::ProviderAssigned => (
            "provider_assigned",
            ALL_CHANNELS,
            false,
            minutes(10),
            // To the customer, or (`assignee` set) to the provider who got the work, or
            // (`requested` too) who is asked to accept or decline it.
            "{% if requested %}New request: {{ title }}{% elif assignee %}New booking: {{ title }}{% else %}{{ actor }} was assigned to your job{% endif %}",
            "{% if requested %}{{ actor }} asks to book {{ when }}: accept or decline it.{% elif assignee %}{{ actor }} booked '{{ title }}'; it is assigned to you.{% else %}{{ actor }} will take care of '{{ title }}'.{% endif %}",
            "{{ count }} assignments",
        ),
        Kind::SessionStartingSoon => (
            "session_starting_soon",
            ALL_CHANNELS,
            true,
            minutes(0),
            // Before the start to both parties, or (`late`) after it to a provider who has
            // not started.
            "{% if late %}Start your session: {{ title }}{% else %}Starting soon: {{ title }}{% endif %}",
            "{% if late %}{{ when }} with {{ actor }} should have started: start it now, or tell them in the chat.{% else %}{{ when }} with {{ actor }} starts in a few minutes.{% endif %}",
            "{{ count }} sessions start soon",
        ),
        Kind::SessionSummary => (
            "session_summary",
            IN_APP_AND_EMAIL,
            false,
            minutes(30),
            "Your session summary: {{ title }}",
            "{{ actor }} wrote what they found and what comes next for {{ when }}.",
            "{{ count }} session summaries",
        ),
        Kind::PaymentReceived => (
            "payment_received",
            NO_SMS,
            false,
            minutes(15),
            "Payment received",
            "{{ actor }} paid {{ amount }}.",
            "{{ count }} payments received",
        ),
        Kind::PaymentReleased => (
            "payment_released",
            NO_SMS,
            false,
            minutes(15),
            "Payment released",
            "{{ amount }} was released to you.",
            "{{ count }} payments released",
        ),
        Kind::JobCompleted => (
            "job_completed",
            NO_SMS,
            false,
            minutes(30),
            "Job completed",
            "'{{ title }}' was marked completed.",
            "{{ count }} jobs completed",
        ),
        Kind::ReviewSubmitted => (
            "review_submitted",
            IN_APP_AND_EMAIL,
            false,
            minutes(60),
            // To the reviewed party on publication, or (`hidden`) to the author of a review
            // an admin hid.
            "{% if hidden %}Your review was hidden{% else %}New review{% endif %}",
            "{% if hidden %}Your review of '{{ title }}' was hidden: {{ reason }}{% else %}{{ actor }} gave you {{ rating }} stars for '{{ title }}'.{% endif %}",
            "{{ count }} new reviews",
        ),
        Kind::FollowUpQuestion => (
            "follow_up_question",
            NO_SMS,
            false,
            minutes(10),
            "{{ actor }} asked a question",
            "{{ preview }}",
            "{{ count }} new questions",
        ),
        Kind::PaymentFailed => (
            "payment_failed",
            NO_SMS,
            false,
            minutes(5),
            "Payment failed",
            "Your payment for '{{ title }}' did not go through ({{ reason }}). You can try again.",
            "{{ count }} payments failed",
        ),
        Kind::BookingCancelled => (
            "booking_cancelled",
            ALL_CHANNELS,
            true,
            minutes(0),
            "Booking cancelled: {{ title }}",
            "{{ actor }} cancelled '{{ title }}': {{ reason }}{% if refund %} Refund: {{ refund }}.{% endif %}",
            "{{ count }} bookings cancelled",
        ),
        Kind::PaymentDisputed => (
            "payment_disputed",
            NO_SMS,
            false,
            minutes(10),
            "{% if outcome %}Dispute {{ outcome }}: {{ title }}{% else %}Payment disputed: {{ title }}{% endif %}",
            "{% if outcome == 'won' %}The payment for '{{ title }}' stands; its release goes ahead.{% elif outcome %}The card issuer returned {{ amount }} of the payment for '{{ title }}' to the customer.{% else %}The customer disputed {{ amount }} of the payment for '{{ title }}' with their card issuer; the money is on hold until it is decided.{% endif %}",
            "{{ count }} payment disputes",
        ),
        Kind::PaymentRefunded => (
            "payment_refunded",
            NO_SMS,
            false,
            minutes(10),
            "Refund: {{ title }}",
            "{% if provider %}Support refunded {{ amount }} of '{{ title }}' to the customer: {{ reason }}.{% if clawback %} {{ clawback }} of your earnings goes back with it.{% endif %}{% else %}{{ amount }} of your payment for '{{ title }}' is on its way back to you: {{ reason }}.{% endif %}",
            "{{ count }} refunds",
        ),
        Kind::PayoutPaid => (
            "payout_paid",
            NO_SMS,
            false,
            minutes(60),
            "Payout sent",
            "{{ amount }} reached your bank account.",
            "{{ count }} payouts sent",
        ),
        Kind::PayoutFailed => (
            "payout_failed",
            ALL_CHANNELS,
            false,
            minutes(10),
            "Payout failed",
            "Your bank returned a payout of {{ amount }} ({{ reason }}); the money is back in your balance. Check your bank details in the payout settings.",
            "{{ count }} payouts failed",
        ),
        Kind::System => (
            "system",
            IN_APP_AND_EMAIL,
            true,
            minutes(0),
            "{{ title }}",
            "{{ preview }}",
            "{{ count }} announcements",
        ),
    };
    KindSpec {
        name,
        channels,
        critical,
        milestone: matches!(
            kind,
            Kind::BookingConfirmed
                | Kind::ProviderAssigned
                | Kind::SessionStartingSoon
                | Kind::JobCompleted
                | Kind::SessionSummary
        ),
        escalate_after,
        title,
        body,
        digest,
    }
}

/// On/off per escalation channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelSwitches {
    /// Mobile push.
    pub push: bool,
    /// Text messages.
    pub sms: bool,
    /// Email.
    pub email: bool,
}

impl Default for ChannelSwitches {
    fn default() -> Self {
        Self {
            push: true,
            sms: true,
            email: true,
        }
    }
}

impl ChannelSwitches {
    fn get(&self, channel: Channel) -> bool {
        match channel {
            Channel::InApp => true,
            Channel::Push => self.push,
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }
}

/// A daily quiet window in the user's time zone (`"22:00"` to `"07:30"` crosses midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start: NaiveTime,
    /// End, `HH:MM`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "07:30")]
    pub end: NaiveTime,
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let raw = String::deserialize(d)?;
        NaiveTime::parse_from_str(&raw, "%H:%M")
            .map_err(|_| serde::de::Error::custom("expected a time as HH:MM"))
    }
}

impl QuietHours {
    /// When the quiet window containing `now` ends, or `None` if `now` is outside it.
    pub fn ends_after(&self, now: DateTime<Utc>, zone: &TimeZone) -> Option<DateTime<Utc>> {
        if self.start == self.end {
            return None;
        }
        let tz = zone.rules();
        let local = tz.local(now);
        let time = local.time();
        let crosses_midnight = self.start > self.end;
        let inside = if crosses_midnight {
            time >= self.start || time < self.end
        } else {
            time >= self.start && time < self.end
        };
        if !inside {
            return None;
        }
        let mut day = local.date_naive();
        if crosses_midnight && time >= self.start {
            day = day.succ_opt()?;
        }
        // A local time skipped by a DST change resolves to the first valid instant after it.
        let naive = day.and_time(self.end);
        tz.instant(naive)
            .or_else(|| tz.instant(naive + Duration::hours(1)))
    }
}

/// A user's notification preferences.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Global switches per channel.
    #[serde(default)]
    pub channels: ChannelSwitches,
    /// Overrides per kind (a kind absent here follows the global switches).
    #[serde(default)]
    pub kinds: BTreeMap<Kind, ChannelSwitches>,
    /// No push, SMS or email inside this window, except critical kinds.
    pub quiet_hours: Option<QuietHours>,
}

impl Preferences {
    /// Whether `kind` may use `channel` for this user.
    pub fn allows(&self, kind: Kind, channel: Channel) -> bool {
        let spec = spec(kind);
        if !spec.channels.contains(&channel) {
            return false;
        }
        if spec.critical || channel == Channel::InApp {
            return true;
        }
        self.channels.get(channel) && self.kinds.get(&kind).is_none_or(|k| k.get(channel))
    }
}

/// `PATCH /me/notification-preferences`: fields present replace the stored ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferencesPatch {
    /// New global switches.
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub channels: Option<ChannelSwitches>,
    /// Per-kind switches to set (merged into the stored ones), keyed by kind.
    #[schema(schema_with = kind_switches_schema)]
    #[serde(
        default,
        deserialize_with = "crate::domain::object::optional_object_values"
    )]
    pub kinds: Option<BTreeMap<Kind, ChannelSwitches>>,
    /// New quiet hours (`null` removes them).
    #[serde(default, deserialize_with = "crate::domain::object::patched_object")]
    pub quiet_hours: Option<Option<QuietHours>>,
    /// The user's IANA time zone (also their profile's).
    #[schema(format = "iana-time-zone", example = "Europe/Lisbon")]
    pub time_zone: Option<String>,
}

/// `kinds` is a map whose keys are [`Kind`]s: said with `propertyNames`, so clients (and the
/// API fuzzer) know any other key is refused.
fn kind_switches_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::Object,
            utoipa::openapi::Type::Null,
        ]))
        .property_names(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .enum_values(Some(Kind::ALL.map(|k| k.as_str()))),
        ))
        .additional_properties(Some(utoipa::openapi::Ref::from_schema_name(
            "ChannelSwitches",
        )))
        .build()
}

impl PreferencesPatch {
    /// Applies the patch; returns the new preferences and the validated time zone.
    pub fn apply(self, mut current: Preferences) -> Result<(Preferences, Option<TimeZone>)> {
        let zone = self
            .time_zone
            .map(|raw| TimeZone::parse(&raw, "timeZone"))
            .transpose()?;
        if let Some(channels) = self.channels {
            current.channels = channels;
        }
        if let Some(kinds) = self.kinds {
            current.kinds.extend(kinds);
        }
        if let Some(quiet) = self.quiet_hours {
            if quiet.is_some_and(|q| q.start == q.end) {
                return Err(Error::field("quietHours", "start and end must differ"));
            }
            current.quiet_hours = quiet;
        }
        Ok((current, zone))
    }
}

/// One in-app notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Id (ULID, sorts by time).
    pub id: NotificationId,
    /// Recipient.
    pub user_id: UserId,
    /// Kind.
    pub kind: Kind,
    /// Who caused it.
    pub actor_id: Option<UserId>,
    /// The room it is about.
    pub room_id: Option<RoomId>,
    /// Notifications of one group pending together become one digest.
    pub group: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// The producer's facts (ids to open, names).
    #[serde(default)]
    pub data: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the user read it (absent until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
    /// When the user opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked_at: Option<DateTime<Utc>>,
    /// The channels of the subscription it came through (absent: every channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelSwitches>,
    /// A booking milestone addressed to this user: emailed at once, whether or not it is
    /// read (its unread escalation then sends no second email).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emailed_at_once: bool,
}

impl Notification {
    /// Whether the subscription it came through lets it use `channel`.
    pub fn allows(&self, channel: Channel) -> bool {
        self.channels.is_none_or(|c| c.get(channel))
    }
}

/// A group of unread notifications waiting to go out by SMS/email.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escalation {
    /// Recipient.
    pub user_id: UserId,
    /// Digest group.
    pub group: String,
    /// Kind of the group's notifications.
    pub kind: Kind,
    /// The first notification of the group since the last escalation.
    pub first_id: NotificationId,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// The same, in epoch milliseconds (compared in write conditions).
    #[serde(default)]
    pub due_ms: i64,
    /// The newest notification that joined the group.
    #[serde(default)]
    pub last_id: Option<NotificationId>,
    /// Notifications up to this one were already handled by an earlier round.
    #[serde(default)]
    pub after_id: Option<NotificationId>,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The data of the latest notification (names for the digest).
    #[serde(default)]
    pub data: serde_json::Value,
    /// A milestone's email (group `mail:{notification}`): sent once whatever was read, no
    /// SMS.
    #[serde(default)]
    pub mail_only: bool,
}

/// The escalation group of a milestone notification's own email.
pub fn mail_group(notification: &NotificationId) -> String {
    format!("mail:{notification}")
}

/// Most delivery attempts of one escalation before it is recorded as failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// Backoff after `attempts` failures: 1, 2, 4, 8… minutes.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::minutes(1 << attempts.min(10))
}

/// A mobile platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Firebase Cloud Messaging (Android, and iOS through Firebase).
    Fcm,
    /// Apple Push Notification service.
    Apns,
}

/// A registered device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Id (derived from the token, so registering the same token again is idempotent).
    pub id: String,
    /// Platform.
    pub platform: Platform,
    /// The platform endpoint pushes go to.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub endpoint: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// `POST /me/devices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterDevice {
    /// Platform.
    pub platform: Platform,
    /// The push token the platform's SDK gave the app.
    #[schema(pattern = "^[A-Za-z0-9_:.-]{32,4096}$")]
    pub token: String,
}

impl RegisterDevice {
    /// Checks the token's shape (FCM tokens are ~150+ characters, APNs 64 hex).
    pub fn validate(&self) -> Result<()> {
        let token = &self.token;
        let ok = (32..=4096).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b));
        if ok {
            Ok(())
        } else {
            Err(Error::field("token", "not a push token"))
        }
    }
}

/// What a user can subscribe to: notifications sent to a target reach its subscribers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A chat room (its active members may subscribe).
    Room(RoomId),
    /// A job, by the id the job flows give it.
    Job(String),
    /// A user others follow (a provider's new services, a customer's new jobs).
    User(UserId),
    /// A named topic (`plumbing-lisbon`, `announcements`).
    Topic(String),
    /// A category of work (`plumbing`): its followers hear of every job posted in it.
    Category(String),
}

impl Target {
    /// Parses `room:<id>`, `job:<id>`, `user:<id>`, `topic:<name>` or `category:<slug>`; names
    /// and job ids are 1–64 lowercase letters, digits, `-` or `_` (ids also upper case), a
    /// category 1–40 lowercase letters, digits or `-`, so a target can never carry a key
    /// separator.
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let slug = |value: &str, lower: bool| {
            (1..=64).contains(&value.len())
                && value.bytes().all(|b| {
                    b.is_ascii_digit()
                        || b.is_ascii_lowercase()
                        || (!lower && b.is_ascii_uppercase())
                        || b == b'-'
                        || b == b'_'
                })
        };
        let parsed = match raw.split_once(':') {
            Some(("room", id)) => RoomId::parse(id, field).ok().map(Self::Room),
            Some(("user", id)) => UserId::parse(id, field).ok().map(Self::User),
            Some(("job", id)) if slug(id, false) => Some(Self::Job(id.to_owned())),
            Some(("topic", name)) if slug(name, true) => Some(Self::Topic(name.to_owned())),
            Some(("category", name)) => crate::offers::model::category(name, field)
                .ok()
                .map(Self::Category),
            _ => None,
        };
        parsed.ok_or_else(|| {
            Error::field(
                field,
                "expected room:<id>, job:<id>, user:<id>, topic:<name> (lowercase letters, \
                 digits, '-', '_') or category:<slug> (lowercase letters, digits, '-')",
            )
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Room(id) => write!(f, "room:{id}"),
            Self::Job(id) => write!(f, "job:{id}"),
            Self::User(id) => write!(f, "user:{id}"),
            Self::Topic(name) => write!(f, "topic:{name}"),
            Self::Category(name) => write!(f, "category:{name}"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw, "target").map_err(|_| serde::de::Error::custom("not a target"))
    }
}

/// A user's subscription to a target, with the channels it may use beyond the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscriber.
    pub user_id: UserId,
    /// What they follow (`room:<id>`, `job:<id>`, `user:<id>`, `topic:<name>`,
    /// `category:<slug>`).
    #[schema(value_type = String, pattern = "^(room:[0-7][0-9A-HJKMNP-TV-Z]{25}|user:[0-7][0-9A-HJKMNP-TV-Z]{25}|job:[A-Za-z0-9_-]{1,64}|topic:[a-z0-9_-]{1,64}|category:[a-z0-9-]{1,40})$", example = "category:plumbing")]
    pub target: Target,
    /// Channels for this target; the user's preferences and the kind's catalog still apply.
    pub channels: ChannelSwitches,
    /// A category followed only in this area: on-site jobs elsewhere are not told (remote
    /// ones are). Matched by name, ignoring case and spacing.
    #[serde(default)]
    pub area: Option<String>,
    /// When it was made or last changed.
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether it follows work in `area`: everywhere, or narrowed to that area.
    pub fn follows_area(&self, area: &str) -> bool {
        self.area
            .as_deref()
            .is_none_or(|mine| same_area(mine, area))
    }
}

/// Two area names the same place: equal ignoring case and spacing (`Lisbon` is ` lisbon `).
pub fn same_area(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_lowercase).collect() };
    words(a) == words(b)
}

/// `PUT /me/subscriptions/{target}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscribe {
    /// Channels beyond the inbox (all on when absent).
    #[serde(default, deserialize_with = "crate::domain::object::optional_object")]
    pub channels: Option<ChannelSwitches>,
    /// `category:` targets only: follow it in this area alone (1–100 characters, not
    /// blank), as jobs name their `location.area`; remote jobs are told everywhere.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        min_length = 1,
        max_length = 100,
        example = "Lisbon"
    )]
    pub area: Option<String>,
}

impl Subscribe {
    /// The checked area, trimmed.
    pub fn area(&self) -> Result<Option<String>, crate::error::Error> {
        self.area
            .as_deref()
            .map(|raw| crate::offers::model::text(raw, "area", 1, 100))
            .transpose()
    }
}

/// Renders one of the catalog's text templates over `data`.
pub fn render_text(template: &str, data: &serde_json::Value) -> String {
    let env = minijinja::Environment::new();
    env.render_str(template, data)
        .unwrap_or_else(|_| template.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
        }
    }

    #[test]
    fn quiet_hours_cross_midnight_in_the_users_zone() {
        let lisbon = TimeZone::parse("Europe/Lisbon", "tz").unwrap();
        let night = quiet("22:00", "07:30");
        // 23:00 in Lisbon (winter, UTC+0) → ends 07:30 the next morning.
        assert_eq!(
            night.ends_after(at("2026-11-22T23:00:00Z"), &lisbon),
            Some(at("2026-11-23T07:30:00Z"))
        );
        // 06:00 → ends 07:30 the same morning; 12:00 is not quiet.
        assert_eq!(
            night.ends_after(at("2026-11-23T06:00:00Z"), &lisbon),
            Some(at("2026-11-23T07:30:00Z"))
        );
        assert_eq!(night.ends_after(at("2026-11-23T12:00:00Z"), &lisbon), None);
        // Summer time (UTC+1): 21:30 UTC is 22:30 local.
        assert_eq!(
            night.ends_after(at("2026-07-01T21:30:00Z"), &lisbon),
            Some(at("2026-07-02T06:30:00Z"))
        );
        let tokyo = TimeZone::parse("Asia/Tokyo", "tz").unwrap();
        assert_eq!(
            quiet("13:00", "14:00").ends_after(at("2026-11-22T04:15:00Z"), &tokyo),
            Some(at("2026-11-22T05:00:00Z"))
        );
    }

    #[test]
    fn preferences_turn_channels_off_but_never_for_critical_kinds() {
        let mut prefs = Preferences::default();
        assert!(prefs.allows(Kind::ChatMessage, Channel::Sms));
        assert!(
            !prefs.allows(Kind::JobPosted, Channel::Sms),
            "not in its catalog"
        );
        prefs.channels.sms = false;
        assert!(!prefs.allows(Kind::ChatMessage, Channel::Sms));
        assert!(
            prefs.allows(Kind::SessionStartingSoon, Channel::Sms),
            "critical"
        );
        prefs.kinds.insert(
            Kind::ChatMessage,
            ChannelSwitches {
                push: true,
                sms: true,
                email: false,
            },
        );
        assert!(!prefs.allows(Kind::ChatMessage, Channel::Email));
        assert!(prefs.allows(Kind::PaymentReceived, Channel::Email));
        assert!(prefs.allows(Kind::ChatMessage, Channel::InApp));
    }

    #[test]
    fn texts_render_from_data_and_every_kind_has_a_distinct_name() {
        let data = serde_json::json!({ "actor": "Ana", "room": "Kitchen repair", "count": 3 });
        assert_eq!(
            render_text(spec(Kind::ChatMessage).digest, &data),
            "3 new messages from Ana in 'Kitchen repair'"
        );
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str(), "serde name matches the catalog");
        }
    }

    #[test]
    fn targets_round_trip_and_refuse_separators() {
        let room = RoomId::new();
        for raw in [
            format!("room:{room}"),
            format!("user:{}", UserId::new()),
            "job:JOB-42_a".to_owned(),
            "topic:plumbing-lisbon".to_owned(),
        ] {
            assert_eq!(Target::parse(&raw, "target").unwrap().to_string(), raw);
        }
        for bad in [
            "",
            "room:nope",
            "topic:Plumbing",
            "topic:a#b",
            "job:",
            "group:x",
            "topic",
        ] {
            assert!(Target::parse(bad, "target").is_err(), "{bad}");
        }
        let long = format!("topic:{}", "a".repeat(65));
        assert!(Target::parse(&long, "target").is_err());
    }

    #[test]
    fn a_subscriptions_channels_narrow_a_notification() {
        let mut n: Notification = serde_json::from_value(serde_json::json!({
            "id": NotificationId::new().to_string(), "userId": UserId::new().to_string(),
            "kind": "system", "group": "kind:system", "title": "t", "body": "b",
            "createdAt": "2026-11-22T10:00:00Z"
        }))
        .unwrap();
        assert!(n.allows(Channel::Sms) && n.allows(Channel::Email));
        n.channels = Some(ChannelSwitches {
            push: true,
            sms: false,
            email: true,
        });
        assert!(!n.allows(Channel::Sms) && n.allows(Channel::Email) && n.allows(Channel::InApp));
    }

    #[test]
    fn a_patch_validates_the_zone_and_merges_kinds() {
        let patch: PreferencesPatch = serde_json::from_value(serde_json::json!({
            "kinds": { "chat_message": { "push": true, "sms": false, "email": true } },
            "quietHours": { "start": "22:00", "end": "07:00" },
            "timeZone": "America/Sao_Paulo"
        }))
        .unwrap();
        let (prefs, zone) = patch.apply(Preferences::default()).unwrap();
        assert_eq!(zone.unwrap().as_str(), "America/Sao_Paulo");
        assert!(!prefs.allows(Kind::ChatMessage, Channel::Sms));
        assert!(prefs.quiet_hours.is_some());
        let bad: PreferencesPatch =
            serde_json::from_value(serde_json::json!({ "timeZone": "Mars/Base" })).unwrap();
        assert!(bad.apply(Preferences::default()).is_err());
    }

    #[test]
    fn a_follow_narrowed_to_an_area_matches_it_by_name_whatever_the_case_and_spacing() {
        let follow = |area: Option<&str>| Subscription {
            user_id: UserId::new(),
            target: Target::Category("plumbing".into()),
            channels: ChannelSwitches::default(),
            area: area.map(str::to_owned),
            updated_at: Utc::now(),
        };
        assert!(follow(None).follows_area("Porto"));
        assert!(follow(Some("Lisbon")).follows_area(" lisbon "));
        assert!(follow(Some("Vila  Nova de Gaia")).follows_area("vila nova de gaia"));
        assert!(!follow(Some("Lisbon")).follows_area("Porto"));
        assert!(!follow(Some("Lisbon")).follows_area("Lisbon Airport"));
    }
}
