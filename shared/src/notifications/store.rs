//! Storage port of notifications: inbox, preferences, devices, subscriptions, escalations, statistics.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::store::OfflineMessage;
use crate::cursor::Position;
use crate::domain::{ConnectionId, NotificationId, UserId};
use crate::error::Result;
use crate::notifications::model::{
    Device, Escalation, Kind, Notification, Preferences, Subscription, Target,
};
use crate::store::*;

/// The notifier port: where chat hands the recipients none of whose devices got a message.
/// Until notifications deliver them, the table implementation records each as due.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Hands over messages that reached none of their recipient's devices.
    async fn messages_missed(&self, due: &[OfflineMessage]) -> Result<()>;
}

/// How writing a notification ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// Written (with its escalation, if asked).
    Created,
    /// The producer's idempotency key was used before for this recipient: nothing written.
    Duplicate,
    /// Another write touched the same counters at the same moment: retry.
    Contended,
}

/// A user's inbox counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Unread notifications.
    #[serde(default)]
    pub unread: i64,
    /// When the user last looked at the list.
    pub seen_at: Option<DateTime<Utc>>,
}

/// One day's delivery counters for one kind and channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounters {
    /// The kind's name.
    pub kind: String,
    /// The channel's name.
    pub channel: String,
    /// Outcome → count.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Notifications, inbox counters, preferences, escalations and delivery statistics.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Writes a notification, its idempotency claim and the unread counter, and joins or opens
    /// its group's escalation due at `escalate_at` (and, for one `emailed_at_once`, its own
    /// email due at once), atomically.
    async fn create_notification(
        &self,
        notification: &Notification,
        idempotency_key: &str,
        escalate_at: Option<DateTime<Utc>>,
    ) -> Result<Created>;
    /// Joins or opens the escalation of a notification after the fact (its live delivery
    /// reached no device).
    async fn escalate_later(&self, notification: &Notification, at: DateTime<Utc>) -> Result<()>;
    /// One notification.
    async fn get_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
    ) -> Result<Option<Notification>>;
    /// A page of the inbox, newest first.
    async fn notifications(
        &self,
        user: &UserId,
        unread_only: bool,
        kind: Option<Kind>,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Notification>>;
    /// The inbox counters.
    async fn inbox(&self, user: &UserId) -> Result<Inbox>;
    /// Marks one notification read (and clicked); `false` if it was read already or is gone.
    async fn mark_read(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
        clicked: bool,
    ) -> Result<bool>;
    /// Records when the user last looked at the list.
    async fn mark_seen(&self, user: &UserId, now: DateTime<Utc>) -> Result<()>;
    /// Deletes a notification (keeping the unread counter exact); `false` if it is gone.
    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool>;
    /// A user's preferences (defaults when never set).
    async fn preferences(&self, user: &UserId) -> Result<Preferences>;
    /// Stores a user's preferences.
    async fn put_preferences(&self, user: &UserId, preferences: &Preferences) -> Result<()>;
    /// Escalations due at `now`, soonest first.
    async fn due_escalations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Escalation>>;
    /// A group's unread notifications from `since` on, oldest first.
    async fn unread_in_group(
        &self,
        user: &UserId,
        group: &str,
        since: &NotificationId,
    ) -> Result<Vec<Notification>>;
    /// Leases a due escalation to one sweep until `until` (overlapping sweeps or a retried
    /// invocation must not send twice; a crashed sweep's lease runs out and the next resumes);
    /// `false` if another sweep holds it or it changed.
    async fn lease_escalation(
        &self,
        escalation: &Escalation,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Moves an escalation to `due` with `attempts`; `false` if it changed meanwhile.
    async fn reschedule(
        &self,
        escalation: &Escalation,
        due: DateTime<Utc>,
        attempts: u32,
    ) -> Result<bool>;
    /// Closes an escalation whose notifications up to `handled` were dealt with. If more
    /// joined meanwhile, it stays open for those only, due at `next_due` — or at `now` when
    /// a critical one joined.
    async fn close_escalation(
        &self,
        escalation: &Escalation,
        handled: &NotificationId,
        next_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Registers a device to `user`, taking its token from whoever held it (one holder per
    /// token: the previous holder's registration is removed in the same transaction). Returns
    /// the previous holder when it was another user.
    async fn claim_device(&self, user: &UserId, device: &Device) -> Result<Option<UserId>>;
    /// A user's live connections and registered devices, in one read.
    async fn reach(&self, user: &UserId) -> Result<Reach>;
    /// Forgets `user`'s registration of a device: the removed one, if it existed, and whether
    /// nobody holds its token any more (only then may its platform endpoint be deleted).
    async fn release_device(&self, user: &UserId, id: &str) -> Result<Option<(Device, bool)>>;
    /// The delivery counters of one day (`YYYY-MM-DD`), per kind and channel.
    async fn delivery_stats(&self, day: &str) -> Result<Vec<DeliveryCounters>>;
    /// Adds `by` to one delivery outcome (`sent`, `failed`, `read`, `clicked`…) of a day.
    async fn count_delivery(
        &self,
        day: &str,
        kind: Kind,
        channel: &str,
        outcome: &str,
        by: u64,
    ) -> Result<()>;
    /// Creates or replaces a subscription.
    async fn put_subscription(&self, subscription: &Subscription) -> Result<()>;
    /// Deletes a subscription; `false` if there was none.
    async fn delete_subscription(&self, user: &UserId, target: &Target) -> Result<bool>;
    /// A page of a user's subscriptions, by target.
    async fn subscriptions_of(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Subscription>>;
    /// Up to `limit` subscribers of a target whose user id sorts after `after`, in user-id
    /// order (the order a fan-out's cursor moves in).
    async fn subscribers(
        &self,
        target: &Target,
        after: Option<&UserId>,
        limit: u32,
    ) -> Result<Vec<Subscription>>;
    /// Starts a fan-out under a producer's key, or returns where an earlier run got to.
    async fn fan_out_progress(
        &self,
        target: &Target,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<FanOutProgress>;
    /// Writes one batch of a fan-out (each notification, its recipient's unread counter and
    /// its escalation when due is set) and moves the cursor from `from` to `to` in the same
    /// transaction; `false` when the cursor was no longer at `from` (another run wrote the
    /// batch). `last` marks the fan-out done.
    async fn write_fan_out_batch(
        &self,
        target: &Target,
        idempotency_key: &str,
        cursor: FanOutCursor<'_>,
        batch: &[(Notification, Option<DateTime<Utc>>)],
    ) -> Result<bool>;
}

/// How a user can be reached right now.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Open connections (expired ones skipped).
    pub connections: Vec<ConnectionId>,
    /// Registered push devices.
    pub devices: Vec<Device>,
}

/// Where a fan-out got to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOutProgress {
    /// The last subscriber written (absent before the first batch).
    #[serde(default)]
    pub cursor: Option<UserId>,
    /// Every subscriber was written.
    #[serde(default)]
    pub done: bool,
    /// Notifications written so far.
    #[serde(default)]
    pub created: u64,
}

/// How one fan-out batch moves the cursor.
#[derive(Clone, Copy, Debug)]
pub struct FanOutCursor<'a> {
    /// Where the batch starts (the previous batch's last subscriber).
    pub from: Option<&'a UserId>,
    /// The batch's last subscriber.
    pub to: Option<&'a UserId>,
    /// No subscriber comes after this batch.
    pub last: bool,
}
