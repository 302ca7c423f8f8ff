//! Notifications: the one internal API every producer calls ([`Notifications::notify`]), the
//! in-app inbox, preferences, and the escalation sweep.
//!
//! Delivery follows presence and read state. A notification is always stored in the inbox and
//! pushed at once to the recipient's open connections. A recipient with no open connection
//! gets an escalation: if the notification is still unread when its kind's delay has passed,
//! one SMS and/or email per digest group goes out — never inside quiet hours unless the kind is
//! critical (deferred to the end of the window instead). Reading in-app before then cancels it,
//! because the sweep sends only what is still unread. The sweep reads only due escalations
//! from the index, so its cost grows with what is due, not with the table.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::adapters::{PushSender, Pushed, Pusher};
use crate::auth::Caller;
use crate::chat::store::ChatStore;
use crate::cursor::CursorCodec;
use crate::domain::{ConnectionId, NotificationId, RoomId, UserId};
use crate::error::{Error, Result};
use crate::me::store::UserStore;
use crate::notifications::model::{
    Channel, ChannelSwitches, Device, Kind, Notification, Preferences, Target, render_text, spec,
};
use crate::notifications::store::{Created, NotificationStore, Reach};
use crate::realtime::service::{self as realtime, ServerEvent};
use crate::realtime::store::ConnectionStore;

/// Recipients handled at once by one `notify`.
pub(crate) const RECIPIENTS_IN_FLIGHT: usize = 16;
/// Escalations read per sweep page.
pub(crate) const SWEEP_PAGE: u32 = 100;
/// How long a sweep holds an escalation it is sending.
pub(crate) const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Attempts of a notification write that met a concurrent counter update.
pub(crate) const WRITE_ATTEMPTS: u32 = 5;

/// Who a notification is for.
#[derive(Clone, Debug)]
pub enum Recipients {
    /// These users.
    Users(Vec<UserId>),
    /// Every subscriber of a target, with the channels of their subscription.
    Subscribers(Target),
    /// The subscribers of a target who follow it everywhere, or narrowed to this area (a
    /// job on site: its category's followers there, and those who take work anywhere).
    SubscribersIn(Target, String),
}

/// What a producer asks for.
#[derive(Clone, Debug)]
pub struct NotifyRequest {
    /// Who is notified (the actor never is).
    pub recipients: Recipients,
    /// What about.
    pub kind: Kind,
    /// Who caused it.
    pub actor: Option<UserId>,
    /// The room it is about (also its digest group).
    pub room: Option<RoomId>,
    /// Facts for the texts and the client (`actor`, `room`, `preview`, ids to open…).
    pub data: serde_json::Value,
    /// The producer's idempotency key: the same key notifies each recipient once.
    pub idempotency_key: String,
}

/// What `notify` did.
#[derive(Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyReport {
    /// Notifications written.
    pub created: usize,
    /// Recipients already notified under this key.
    pub duplicates: usize,
    /// Recipients reached on an open connection.
    pub live: usize,
    /// Recipients whose notification will escalate if unread.
    pub escalating: usize,
    /// Mobile pushes accepted by the platform.
    pub pushed: usize,
    /// Mobile pushes that failed.
    pub push_failed: usize,
}

impl NotifyReport {
    pub(crate) fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Created(delivered) => {
                self.created += 1;
                self.live += usize::from(delivered.live);
                self.escalating += usize::from(delivered.escalating);
                self.pushed += delivered.pushed;
                self.push_failed += delivered.push_failed;
            }
        }
    }
}

/// A page of the inbox.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// Unread notifications in total.
    pub unread: i64,
    /// When the user last looked at the list.
    pub seen_at: Option<DateTime<Utc>>,
}

/// `GET /notifications/unread-count`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCount {
    /// Unread notifications.
    pub unread: i64,
}

/// `POST /notifications/read`: some ids, or all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkRead {
    /// Notifications to mark read (at most 100). Give `ids` or `all: true`.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub ids: Vec<NotificationId>,
    /// Mark every unread notification read.
    #[serde(default)]
    pub all: bool,
}

impl MarkRead {
    /// `ids` (at most 100) or `all: true`.
    fn check(&self) -> Result<()> {
        if self.ids.len() > 100 {
            return Err(Error::field("ids", "at most 100 ids"));
        }
        if self.ids.is_empty() && !self.all {
            return Err(Error::field("ids", "give ids, or all: true"));
        }
        Ok(())
    }
}

/// How many changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Marked {
    /// Notifications that were unread and are read now.
    pub marked: u32,
    /// Unread notifications left.
    pub unread: i64,
}

/// A user's preferences as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesView {
    /// The preferences.
    #[serde(flatten)]
    pub preferences: Preferences,
    /// The user's time zone (quiet hours are in it).
    pub time_zone: String,
}

/// Inbox filters of `GET /notifications`.
#[derive(Debug, Default)]
pub struct InboxQuery<'q> {
    /// Only unread ones.
    pub unread_only: bool,
    /// Only one kind.
    pub kind: Option<&'q str>,
    /// Page size.
    pub limit: u32,
    /// Cursor of the previous page.
    pub cursor: Option<&'q str>,
}

/// The notification service over its ports.
#[derive(Clone, Copy)]
pub struct Notifications<'a> {
    /// Notifications, counters, escalations.
    pub store: &'a dyn NotificationStore,
    /// Profiles (names, phone, email, time zone).
    pub users: &'a dyn UserStore,
    /// Open connections.
    pub connections: &'a dyn ConnectionStore,
    /// Posts to connections.
    pub pusher: &'a dyn Pusher,
    /// Mobile push, when the deployment has a platform application.
    pub push: Option<&'a dyn PushSender>,
    /// Rooms (a room's subscribers are notified while they are members).
    pub rooms: &'a dyn ChatStore,
}

impl<'a> Notifications<'a> {
    /// Notifies every recipient: inbox, live push, and escalation for those offline.
    #[instrument(skip_all, fields(kind = request.kind.as_str()))]
    pub async fn notify(
        &self,
        request: &NotifyRequest,
        now: DateTime<Utc>,
    ) -> Result<NotifyReport> {
        let report = match &request.recipients {
            Recipients::Subscribers(target) => {
                self.notify_subscribers(target, None, request, now).await?
            }
            Recipients::SubscribersIn(target, area) => {
                self.notify_subscribers(target, Some(area), request, now)
                    .await?
            }
            Recipients::Users(users) => {
                let mut recipients = users.clone();
                recipients.sort();
                recipients.dedup();
                recipients.retain(|user| Some(*user) != request.actor);
                let this = *self;
                let outcomes: Vec<Outcome> = futures::stream::iter(recipients)
                    .map(|user| async move { this.notify_one(request, user, now).await })
                    .buffer_unordered(RECIPIENTS_IN_FLIGHT)
                    .try_collect()
                    .await?;
                let mut report = NotifyReport::default();
                outcomes.into_iter().for_each(|o| report.add(o));
                report
            }
        };
        self.count_report(now, request.kind, &report).await;
        info!(?report, "notified");
        Ok(report)
    }

    /// The notification `request` makes for `user`.
    pub(crate) fn compose(
        &self,
        request: &NotifyRequest,
        user: UserId,
        channels: Option<ChannelSwitches>,
        now: DateTime<Utc>,
    ) -> Notification {
        let kind_spec = spec(request.kind);
        Notification {
            id: NotificationId::at(now),
            user_id: user,
            kind: request.kind,
            actor_id: request.actor,
            room_id: request.room,
            group: match request.room {
                Some(room) => format!("room:{room}"),
                None => format!("kind:{}", request.kind.as_str()),
            },
            title: render_text(kind_spec.title, &request.data),
            body: render_text(kind_spec.body, &request.data),
            data: request.data.clone(),
            created_at: now,
            read_at: None,
            clicked_at: None,
            channels,
            emailed_at_once: false,
        }
    }

    /// When a notification for a recipient with `connections` open escalates: never while
    /// they are online, nor when its subscription allows neither SMS nor email.
    pub(crate) fn escalate_at(
        notification: &Notification,
        connections: &[ConnectionId],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let escalates = notification.allows(Channel::Sms) || notification.allows(Channel::Email);
        (escalates && connections.is_empty()).then(|| now + spec(notification.kind).escalate_after)
    }

    /// After a notification is stored: posts it to the recipient's open connections; one that
    /// none of them reached (all gone) escalates after all and is pushed to their devices.
    pub(crate) async fn deliver(
        &self,
        notification: &Notification,
        reach: &Reach,
        escalating: bool,
        now: DateTime<Utc>,
    ) -> Result<Delivered> {
        let user = notification.user_id;
        let targets: Vec<_> = reach
            .connections
            .iter()
            .map(|c| (user, c.clone()))
            .collect();
        let payload = ServerEvent::NotificationNew {
            notification: notification.clone(),
        }
        .to_bytes()?;
        let live = !targets.is_empty()
            && realtime::fan_out(self.connections, self.pusher, &targets, &payload)
                .await
                .map(|r| !r.reached.is_empty())
                .unwrap_or(false);
        let mut escalating = escalating;
        // Every open connection turned out to be gone: escalate after all.
        if !live
            && !escalating
            && let Some(due) = Self::escalate_at(notification, &[], now)
        {
            self.store.escalate_later(notification, due).await?;
            escalating = true;
        }
        let (pushed, push_failed) = if live {
            (0, 0)
        } else {
            self.push_offline(notification, &reach.devices, now).await
        };
        Ok(Delivered {
            live,
            escalating,
            pushed,
            push_failed,
        })
    }

    /// Counts a report's outcomes, one counter update per outcome (best effort).
    async fn count_report(&self, now: DateTime<Utc>, kind: Kind, report: &NotifyReport) {
        let day = now.format("%Y-%m-%d").to_string();
        for (channel, outcome, n) in [
            (Channel::InApp, "sent", report.created),
            (Channel::InApp, "delivered", report.live),
            (Channel::Push, "sent", report.pushed),
            (Channel::Push, "failed", report.push_failed),
        ] {
            if n > 0 {
                self.count_channel(&day, kind, channel, outcome, n as u64)
                    .await;
            }
        }
    }

    /// One recipient: round trip 1 reads how to reach them (connections and devices), round
    /// trip 2 writes the notification (with an escalation only if none is open), then the posts.
    async fn notify_one(
        &self,
        request: &NotifyRequest,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let mut notification = self.compose(request, user, None, now);
        // A booking milestone to a named user is emailed at once (subscribers' broadcasts
        // escalate as any other notification).
        notification.emailed_at_once =
            spec(request.kind).milestone && notification.allows(Channel::Email);
        let reach = self.store.reach(&user).await?;
        let escalate_at = Self::escalate_at(&notification, &reach.connections, now);
        for attempt in 0..WRITE_ATTEMPTS {
            match self
                .store
                .create_notification(&notification, &request.idempotency_key, escalate_at)
                .await?
            {
                Created::Duplicate => return Ok(Outcome::Duplicate),
                Created::Contended => {
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                }
                Created::Created => {
                    let delivered = self
                        .deliver(&notification, &reach, escalate_at.is_some(), now)
                        .await?;
                    return Ok(Outcome::Created(delivered));
                }
            }
        }
        Err(Error::Conflict(
            "too many concurrent notifications; retry".into(),
        ))
    }

    /// `GET /notifications`.
    pub async fn inbox(
        &self,
        cursors: &CursorCodec,
        caller: &Caller,
        query: InboxQuery<'_>,
    ) -> Result<NotificationPage> {
        let me = caller.user_id;
        let scope = format!("notifications:{me}");
        let after = query
            .cursor
            .map(|c| cursors.decode(&scope, c))
            .transpose()?;
        let kind = query
            .kind
            .map(|raw| {
                serde_json::from_value::<Kind>(serde_json::Value::String(raw.to_owned()))
                    .map_err(|_| Error::field("kind", "not a notification kind"))
            })
            .transpose()?;
        let (page, inbox) = futures::try_join!(
            self.store
                .notifications(&me, query.unread_only, kind, query.limit, after),
            self.store.inbox(&me)
        )?;
        Ok(NotificationPage {
            items: page.items,
            next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
            unread: inbox.unread.max(0),
            seen_at: inbox.seen_at,
        })
    }

    /// `GET /notifications/unread-count`.
    pub async fn unread(&self, caller: &Caller) -> Result<UnreadCount> {
        let inbox = self.store.inbox(&caller.user_id).await?;
        Ok(UnreadCount {
            unread: inbox.unread.max(0),
        })
    }

    /// `POST /notifications/read`: the caller's own notifications only; others' ids are
    /// ignored as if they did not exist.
    pub async fn mark_read(
        &self,
        caller: &Caller,
        request: MarkRead,
        now: DateTime<Utc>,
    ) -> Result<Marked> {
        let me = caller.user_id;
        request.check()?;
        // Reads are counted per kind, so every notification is known before it is marked.
        let mut kinds: BTreeMap<NotificationId, Kind> = BTreeMap::new();
        if request.all {
            let mut after = None;
            loop {
                let page = self
                    .store
                    .notifications(&me, true, None, 100, after)
                    .await?;
                kinds.extend(page.items.iter().map(|n| (n.id, n.kind)));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        let store = self.store;
        let named: BTreeSet<NotificationId> = request
            .ids
            .into_iter()
            .filter(|id| !kinds.contains_key(id))
            .collect();
        let found: Vec<Option<Notification>> = futures::stream::iter(named)
            .map(|id| async move { store.get_notification(&me, &id).await })
            .buffer_unordered(RECIPIENTS_IN_FLIGHT)
            .try_collect()
            .await?;
        kinds.extend(found.into_iter().flatten().map(|n| (n.id, n.kind)));
        let marked: Vec<Option<Kind>> = futures::stream::iter(kinds)
            .map(|(id, kind)| async move {
                let marked = store.mark_read(&me, &id, now, false).await?;
                Ok::<_, Error>(marked.then_some(kind))
            })
            .buffer_unordered(RECIPIENTS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut per_kind: BTreeMap<Kind, u64> = BTreeMap::new();
        for kind in marked.iter().flatten() {
            *per_kind.entry(*kind).or_default() += 1;
        }
        let day = now.format("%Y-%m-%d").to_string();
        for (kind, n) in &per_kind {
            self.count_channel(&day, *kind, Channel::InApp, "read", *n)
                .await;
        }
        Ok(Marked {
            marked: per_kind.values().sum::<u64>() as u32,
            unread: self.store.inbox(&me).await?.unread.max(0),
        })
    }

    /// `POST /notifications/seen`.
    pub async fn mark_seen(&self, caller: &Caller, now: DateTime<Utc>) -> Result<()> {
        self.store.mark_seen(&caller.user_id, now).await
    }

    /// `POST /notifications/{id}/click`: opened (also read).
    pub async fn click(
        &self,
        caller: &Caller,
        id: &NotificationId,
        now: DateTime<Utc>,
    ) -> Result<Notification> {
        let me = caller.user_id;
        let notification = self
            .store
            .get_notification(&me, id)
            .await?
            .ok_or(Error::NotFound("notification"))?;
        let day = now.format("%Y-%m-%d").to_string();
        if self.store.mark_read(&me, id, now, true).await? {
            self.count_channel(&day, notification.kind, Channel::InApp, "read", 1)
                .await;
        }
        if notification.clicked_at.is_none() {
            self.count_channel(&day, notification.kind, Channel::InApp, "clicked", 1)
                .await;
        }
        self.store
            .get_notification(&me, id)
            .await?
            .ok_or(Error::NotFound("notification"))
    }

    /// `DELETE /notifications/{id}`.
    pub async fn delete(&self, caller: &Caller, id: &NotificationId) -> Result<()> {
        if self.store.delete_notification(&caller.user_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("notification"))
        }
    }

    /// Pushes to the devices of a recipient no connection reached, per preferences, the
    /// subscription's channels and quiet hours (critical kinds excepted); disabled endpoints
    /// are forgotten. Best effort: the notification is stored and will escalate whatever
    /// happens here. Returns the pushes sent and failed.
    async fn push_offline(
        &self,
        notification: &Notification,
        devices: &[Device],
        now: DateTime<Utc>,
    ) -> (usize, usize) {
        let Some(push) = self.push else {
            return (0, 0);
        };
        if !notification.allows(Channel::Push) {
            return (0, 0);
        }
        let user = &notification.user_id;
        if devices.is_empty() {
            return (0, 0);
        }
        let result = async {
            let (preferences, profile) =
                futures::try_join!(self.store.preferences(user), self.users.get_user(user))?;
            let kind = notification.kind;
            if !preferences.allows(kind, Channel::Push) {
                return Ok((0, 0));
            }
            let quiet = profile.and_then(|p| {
                preferences
                    .quiet_hours
                    .and_then(|q| q.ends_after(now, &p.time_zone))
            });
            if quiet.is_some() && !spec(kind).critical {
                return Ok((0, 0));
            }
            let (mut sent, mut failed) = (0, 0);
            for device in devices {
                let outcome = push
                    .push(
                        &device.endpoint,
                        &notification.title,
                        &notification.body,
                        &notification.data,
                    )
                    .await;
                match outcome {
                    Ok(Pushed::Sent) => sent += 1,
                    Ok(Pushed::Disabled) => {
                        info!(device = %device.id, "push endpoint disabled; device forgotten");
                        if let Some((_, true)) = self.store.release_device(user, &device.id).await?
                            && let Err(err) = push.unregister(&device.endpoint).await
                        {
                            warn!(error = ?err, "endpoint not deleted");
                        }
                    }
                    Err(err) => {
                        warn!(error = ?err, "push failed");
                        failed += 1;
                    }
                }
            }
            Ok::<_, Error>((sent, failed))
        }
        .await;
        result.unwrap_or_else(|err| {
            warn!(error = ?err, "push skipped");
            (0, 0)
        })
    }
}

/// What became of one recipient.
pub(crate) enum Outcome {
    /// Notified earlier under the same key.
    Duplicate,
    /// Stored now, and delivered so.
    Created(Delivered),
}

/// How a stored notification went out.
pub(crate) struct Delivered {
    /// Reached an open connection.
    pub live: bool,
    /// Will escalate if unread.
    pub escalating: bool,
    /// Pushes accepted.
    pub pushed: usize,
    /// Pushes failed.
    pub push_failed: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marking_read_takes_ids_or_all_and_at_most_100_ids() {
        let ids = |n: usize| (0..n).map(|_| NotificationId::new()).collect::<Vec<_>>();
        let request = |ids: Vec<NotificationId>, all: bool| MarkRead { ids, all };
        assert!(request(ids(1), false).check().is_ok());
        assert!(request(ids(100), false).check().is_ok());
        assert!(request(Vec::new(), true).check().is_ok());
        for bad in [request(Vec::new(), false), request(ids(101), false)] {
            let err = bad.check().unwrap_err();
            assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "ids"));
        }
    }
}
