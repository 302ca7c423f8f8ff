//! Subscriptions and the fan-out to subscribers. Users follow a target (a room they are in, a
//! job, another user, a topic) with channel flags; a producer notifies the target and every
//! subscriber gets the notification through the same inbox, live push and escalation as a
//! direct one, narrowed to the channels of their subscription.
//!
//! The fan-out is built for audiences in the thousands: subscribers are read a page at a time
//! in user-id order, their connections looked up with bounded concurrency, and each batch of
//! 33 written in ONE transaction (notification, unread counter, escalation per subscriber)
//! that also moves the fan-out's cursor. A retry or a second run under the same key resumes
//! at the cursor, and a batch two runs race for is written by exactly one of them, so a crash
//! between batches loses nothing and notifies nobody twice.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::cursor::CursorCodec;
use crate::domain::{Role, UserId};
use crate::error::{Error, Result};
use crate::notifications::model::{
    Kind, Notification, OPERATIONS_TOPIC, Subscribe, Subscription, Target,
};
use crate::notifications::service::{
    Delivered, Notifications, NotifyReport, NotifyRequest, Outcome, Recipients,
};
use crate::notifications::store::{FanOutCursor, Reach};

/// Subscribers written per transaction: three actions each (notification, counter,
/// escalation) plus the cursor fill DynamoDB's limit of 100.
const FAN_OUT_BATCH: usize = 33;
/// Subscribers read per page: three batches.
const FAN_OUT_PAGE: u32 = 99;
/// Subscribers whose connections are read, or who are posted to, at once.
const FAN_OUT_IN_FLIGHT: usize = 32;

/// A page of the caller's subscriptions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionPage {
    /// By target.
    pub items: Vec<Subscription>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `POST /admin/notifications`: an announcement to a target's subscribers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Broadcast {
    /// Whose subscribers (`topic:<name>`, `room:<id>`, `job:<id>`, `user:<id>`,
    /// `category:<slug>`).
    #[schema(value_type = String, pattern = "^(room:[0-7][0-9A-HJKMNP-TV-Z]{25}|user:[0-7][0-9A-HJKMNP-TV-Z]{25}|job:[A-Za-z0-9_-]{1,64}|topic:[a-z0-9_-]{1,64}|category:[a-z0-9-]{1,40})$", example = "topic:announcements")]
    pub target: Target,
    /// Kind (`system` when absent).
    pub kind: Option<Kind>,
    /// Facts for the kind's texts (`title` and `preview` for `system`): an object of at most
    /// 4 KB as JSON.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// 1–128 printable ASCII characters: the same key notifies each subscriber once, and
    /// resumes an interrupted run.
    #[schema(pattern = "^[!-~]{1,128}$")]
    pub idempotency_key: String,
}

/// Subscriptions over their ports.
#[derive(Clone, Copy)]
pub struct Subscriptions<'a> {
    /// The notification service (its store holds the subscriptions).
    pub notifications: Notifications<'a>,
}

impl Subscriptions<'_> {
    /// `PUT /me/subscriptions/{target}`: follows a target, or changes the channels.
    #[instrument(skip_all, fields(target = raw_target))]
    pub async fn subscribe(
        &self,
        caller: &Caller,
        raw_target: &str,
        request: Subscribe,
        now: DateTime<Utc>,
    ) -> Result<Subscription> {
        let target = Target::parse(raw_target, "target")?;
        let area = request.area()?;
        if area.is_some() && !matches!(target, Target::Category(_)) {
            return Err(Error::field(
                "area",
                "only a category's follow is narrowed to an area",
            ));
        }
        self.may_follow(caller, &target).await?;
        let subscription = Subscription {
            user_id: caller.user_id,
            target,
            channels: request.channels.unwrap_or_default(),
            area,
            updated_at: now,
        };
        self.notifications
            .store
            .put_subscription(&subscription)
            .await?;
        info!("subscribed");
        Ok(subscription)
    }

    /// `DELETE /me/subscriptions/{target}`.
    pub async fn unsubscribe(&self, caller: &Caller, raw_target: &str) -> Result<()> {
        let target = Target::parse(raw_target, "target")?;
        if self
            .notifications
            .store
            .delete_subscription(&caller.user_id, &target)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound("subscription"))
        }
    }

    /// `GET /me/subscriptions`.
    pub async fn list(
        &self,
        cursors: &CursorCodec,
        caller: &Caller,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<SubscriptionPage> {
        let scope = format!("subscriptions:{}", caller.user_id);
        let after = cursor.map(|c| cursors.decode(&scope, c)).transpose()?;
        let page = self
            .notifications
            .store
            .subscriptions_of(&caller.user_id, limit, after)
            .await?;
        Ok(SubscriptionPage {
            items: page.items,
            next_cursor: page.next.map(|p| cursors.encode(&scope, &p)),
        })
    }

    /// `POST /admin/notifications` (admins): notifies a target's subscribers.
    pub async fn broadcast(
        &self,
        caller: &Caller,
        request: Broadcast,
        now: DateTime<Utc>,
    ) -> Result<NotifyReport> {
        caller.admin_only()?;
        let key = request.idempotency_key.as_str();
        if !(1..=128).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::field(
                "idempotencyKey",
                "1–128 printable ASCII characters",
            ));
        }
        if !request.data.is_object() || request.data.to_string().len() > 4096 {
            return Err(Error::field("data", "an object of at most 4 KB"));
        }
        let request = NotifyRequest {
            recipients: Recipients::Subscribers(request.target),
            kind: request.kind.unwrap_or(Kind::System),
            actor: Some(caller.user_id),
            room: None,
            data: request.data,
            idempotency_key: format!("broadcast:{key}"),
        };
        self.notifications.notify(&request, now).await
    }

    /// Who may follow what: a room's active members, any other existing user, any category,
    /// any topic but the operators' (admins only: it carries disputes and failures of other
    /// people's bookings); jobs only through their own flows (admins here), as with a job's chat
    /// room, since nothing here can tell a job's parties yet.
    async fn may_follow(&self, caller: &Caller, target: &Target) -> Result<()> {
        let me = caller.user_id;
        match target {
            Target::Topic(topic)
                if topic == OPERATIONS_TOPIC && !caller.roles.contains(&Role::Admin) =>
            {
                Err(Error::Forbidden(
                    "only admins follow the operators' topic".into(),
                ))
            }
            Target::Topic(_) | Target::Category(_) => Ok(()),
            Target::Room(room) => {
                let member = self.notifications.rooms.get_member(room, &me).await?;
                if member.is_some_and(|m| m.is_active()) {
                    Ok(())
                } else {
                    Err(Error::NotFound("room"))
                }
            }
            Target::User(user) if *user == me => {
                Err(Error::field("target", "you cannot follow yourself"))
            }
            Target::User(user) => match self.notifications.users.get_user(user).await? {
                Some(_) => Ok(()),
                None => Err(Error::NotFound("user")),
            },
            Target::Job(_) if caller.roles.contains(&Role::Admin) => Ok(()),
            Target::Job(_) => Err(Error::Forbidden(
                "job subscriptions are made by the job's own flows".into(),
            )),
        }
    }
}

impl Notifications<'_> {
    /// Notifies every subscriber of `target` in batches (see the module's notes).
    #[instrument(skip_all, fields(target = %target))]
    pub(crate) async fn notify_subscribers(
        &self,
        target: &Target,
        area: Option<&str>,
        request: &NotifyRequest,
        now: DateTime<Utc>,
    ) -> Result<NotifyReport> {
        let key = request.idempotency_key.as_str();
        let mut report = NotifyReport::default();
        let mut progress = self.store.fan_out_progress(target, key, now).await?;
        if progress.done {
            report.duplicates = progress.created as usize;
            return Ok(report);
        }
        // A room's subscribers are notified while they are in it.
        let members: Option<Vec<UserId>> = match target {
            Target::Room(room) => Some(
                self.rooms
                    .members(room)
                    .await?
                    .into_iter()
                    .filter(|m| m.is_active())
                    .map(|m| m.user_id)
                    .collect(),
            ),
            _ => None,
        };
        // Two stages overlap: the batch just written is delivered (posts, pushes) while the
        // next one's connections are looked up.
        let mut written: Vec<Written> = Vec::new();
        'run: while !progress.done {
            let page = self
                .store
                .subscribers(target, progress.cursor.as_ref(), FAN_OUT_PAGE)
                .await?;
            let last_page = page.len() < FAN_OUT_PAGE as usize;
            if page.is_empty() {
                let cursor = FanOutCursor {
                    from: progress.cursor.as_ref(),
                    to: None,
                    last: true,
                };
                if self
                    .store
                    .write_fan_out_batch(target, key, cursor, &[])
                    .await?
                {
                    break;
                }
                progress = self.store.fan_out_progress(target, key, now).await?;
                continue;
            }
            let chunks: Vec<&[Subscription]> = page.chunks(FAN_OUT_BATCH).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let last = last_page && i + 1 == chunks.len();
                let recipients: Vec<Subscription> = chunk
                    .iter()
                    .filter(|s| {
                        Some(s.user_id) != request.actor
                            && members.as_ref().is_none_or(|m| m.contains(&s.user_id))
                            && area.is_none_or(|a| s.follows_area(a))
                    })
                    .cloned()
                    .collect();
                let (outcomes, looked_up) = futures::join!(
                    self.deliver_all(std::mem::take(&mut written), now),
                    self.look_up(recipients, request, now)
                );
                outcomes.into_iter().for_each(|o| report.add(o));
                let looked_up = looked_up?;
                let batch: Vec<_> = looked_up
                    .iter()
                    .map(|w| (w.notification.clone(), w.escalate_at))
                    .collect();
                let to = chunk.last().map(|s| s.user_id);
                let cursor = FanOutCursor {
                    from: progress.cursor.as_ref(),
                    to: to.as_ref(),
                    last,
                };
                if !self
                    .store
                    .write_fan_out_batch(target, key, cursor, &batch)
                    .await?
                {
                    // Another run wrote this batch: carry on from where it got to.
                    progress = self.store.fan_out_progress(target, key, now).await?;
                    continue 'run;
                }
                progress.cursor = to;
                progress.done = last;
                written = looked_up;
            }
        }
        let outcomes = self.deliver_all(written, now).await;
        outcomes.into_iter().for_each(|o| report.add(o));
        Ok(report)
    }
}

/// A subscriber's notification, composed and looked up, on its way to the table.
struct Written {
    notification: Notification,
    reach: Reach,
    escalate_at: Option<DateTime<Utc>>,
}

impl Notifications<'_> {
    /// Composes each subscriber's notification and reads how to reach them (connections and
    /// devices, one query each).
    async fn look_up(
        &self,
        recipients: Vec<Subscription>,
        request: &NotifyRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<Written>> {
        // Owned items: the stream's futures must not borrow their arguments.
        let this = *self;
        futures::stream::iter(recipients)
            .map(|sub| async move {
                let reach = this.store.reach(&sub.user_id).await?;
                let notification = this.compose(request, sub.user_id, Some(sub.channels), now);
                let escalate_at = Self::escalate_at(&notification, &reach.connections, now);
                Ok::<_, Error>(Written {
                    notification,
                    reach,
                    escalate_at,
                })
            })
            .buffer_unordered(FAN_OUT_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Delivers a written batch. Each notification is stored and committed: a failed post
    /// only loses its live copy.
    async fn deliver_all(&self, written: Vec<Written>, now: DateTime<Utc>) -> Vec<Outcome> {
        let this = *self;
        futures::stream::iter(written)
            .map(|w| async move {
                let escalating = w.escalate_at.is_some();
                let delivered = this
                    .deliver(&w.notification, &w.reach, escalating, now)
                    .await
                    .unwrap_or_else(|err| {
                        warn!(error = ?err, "live delivery failed");
                        Delivered {
                            live: false,
                            escalating,
                            pushed: 0,
                            push_failed: 0,
                        }
                    });
                Outcome::Created(delivered)
            })
            .buffer_unordered(FAN_OUT_IN_FLIGHT)
            .collect()
            .await
    }
}
