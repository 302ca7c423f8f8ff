//! The escalation sweep: SMS and email for notifications still unread after their kind's
//! delay, one digest per room or kind, with backoff on failures; it reads only what is due.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tracing::{info, instrument, warn};

use crate::adapters::{Mailer, SmsSender};
use crate::error::Result;
use crate::me::store::UserStore;
use crate::notifications::click::ClickLinks;
use crate::notifications::model::{
    Channel, Escalation, Kind, MAX_ATTEMPTS, Notification, render_text, retry_delay, spec,
};
use crate::notifications::store::NotificationStore;
use crate::templates::{EmailTemplates, NotificationEmail};

use super::service::*;

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Escalations read.
    pub due: usize,
    /// SMS sent.
    pub sms: usize,
    /// Emails sent.
    pub emails: usize,
    /// Dropped: everything in them was read in time.
    pub cancelled: usize,
    /// Deferred to the end of quiet hours.
    pub deferred: usize,
    /// Failed and rescheduled (or given up after the last attempt).
    pub failed: usize,
}

/// The escalation sweep's ports.
#[derive(Clone, Copy)]
pub struct Escalations<'a> {
    /// Escalations, notifications, preferences, statistics.
    pub store: &'a dyn NotificationStore,
    /// Profiles.
    pub users: &'a dyn UserStore,
    /// SMS.
    pub sms: &'a dyn SmsSender,
    /// Email.
    pub mailer: &'a dyn Mailer,
    /// Email templates.
    pub templates: &'a EmailTemplates,
    /// Tracked links into the app for email buttons, if the app's URL is configured.
    pub links: Option<&'a ClickLinks>,
}

enum Handled {
    Leased,
    Sent { sms: bool, email: bool },
    Cancelled,
    Deferred,
    Failed,
}

impl<'a> Escalations<'a> {
    /// Sends everything due at `now` (the schedule's firing time).
    #[instrument(skip_all)]
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        loop {
            let due = self.store.due_escalations(now, SWEEP_PAGE).await?;
            if due.is_empty() {
                break;
            }
            let page = due.len();
            report.due += page;
            let this = *self;
            let results: Vec<Result<Handled>> = futures::stream::iter(due)
                .map(|esc| async move { this.handle(&esc, now).await })
                .buffer_unordered(8)
                .collect()
                .await;
            let mut progressed = false;
            for result in results {
                match result {
                    Ok(Handled::Leased) => {}
                    Ok(Handled::Sent { sms, email }) => {
                        report.sms += usize::from(sms);
                        report.emails += usize::from(email);
                        progressed = true;
                    }
                    Ok(Handled::Cancelled) => {
                        report.cancelled += 1;
                        progressed = true;
                    }
                    Ok(Handled::Deferred) => {
                        report.deferred += 1;
                        progressed = true;
                    }
                    Ok(Handled::Failed) => {
                        report.failed += 1;
                        progressed = true;
                    }
                    Err(err) => warn!(error = ?err, "escalation left for the next sweep"),
                }
            }
            // Everything handled leaves the due range; stop if a page made no progress.
            if page < SWEEP_PAGE as usize || !progressed {
                break;
            }
        }
        info!(?report, "escalation sweep");
        Ok(report)
    }

    async fn handle(&self, esc: &Escalation, now: DateTime<Utc>) -> Result<Handled> {
        if !self.store.lease_escalation(esc, now, now + LEASE).await? {
            return Ok(Handled::Leased);
        }
        match self.send(esc, now).await {
            Ok(handled) => Ok(handled),
            // Anything else that breaks (a profile that no longer parses, a store error) is
            // an attempt too: retried with the same backoff, then dropped, so a poisoned
            // escalation cannot come back every lease forever.
            Err(err) if esc.attempts + 1 < MAX_ATTEMPTS => {
                warn!(error = ?err, attempts = esc.attempts + 1, "escalation failed; retrying");
                self.store
                    .reschedule(esc, now + retry_delay(esc.attempts), esc.attempts + 1)
                    .await?;
                Ok(Handled::Failed)
            }
            Err(err) => {
                warn!(error = ?err, user_id = %esc.user_id, group = %esc.group, "escalation dropped");
                let handled = esc.last_id.unwrap_or(esc.first_id);
                let next_due = now + spec(esc.kind).escalate_after;
                self.store
                    .close_escalation(esc, &handled, next_due, now)
                    .await?;
                Ok(Handled::Failed)
            }
        }
    }

    /// Sends one leased escalation.
    async fn send(&self, esc: &Escalation, now: DateTime<Utc>) -> Result<Handled> {
        if esc.mail_only {
            return self.send_milestone(esc, now).await;
        }
        let mut unread = self
            .store
            .unread_in_group(&esc.user_id, &esc.group, &esc.first_id)
            .await?;
        unread.retain(|n| esc.after_id.is_none_or(|after| n.id > after));
        // Everything up to here is dealt with by this round; later arrivals stay open.
        let handled = unread
            .iter()
            .map(|n| n.id)
            .chain(esc.last_id)
            .max()
            .unwrap_or(esc.first_id);
        let next_due = now + spec(esc.kind).escalate_after;
        if unread.is_empty() {
            self.store
                .close_escalation(esc, &handled, next_due, now)
                .await?;
            return Ok(Handled::Cancelled);
        }
        let (user, preferences) = futures::try_join!(
            self.users.get_user(&esc.user_id),
            self.store.preferences(&esc.user_id)
        )?;
        let Some(user) = user else {
            self.store
                .close_escalation(esc, &handled, next_due, now)
                .await?;
            return Ok(Handled::Cancelled);
        };
        // A group holding a critical notification goes out whatever the quiet hours.
        let critical = unread.iter().any(|n| spec(n.kind).critical);
        if !critical
            && let Some(end) = preferences
                .quiet_hours
                .and_then(|q| q.ends_after(now, &user.time_zone))
        {
            self.store.reschedule(esc, end, esc.attempts).await?;
            return Ok(Handled::Deferred);
        }
        let (_, title) = headline(&unread);
        let day = now.format("%Y-%m-%d").to_string();
        let mut failed = false;
        let mut sent_sms = false;
        let mut sent_email = false;
        // A channel goes out if some notification's kind and subscription allow it (email
        // not for a milestone emailed at once already).
        let wanted = |channel| {
            unread.iter().any(|n| {
                preferences.allows(n.kind, channel)
                    && n.allows(channel)
                    && !(channel == Channel::Email && n.emailed_at_once)
            })
        };
        if wanted(Channel::Sms)
            && let Some(phone) = &user.phone
        {
            // What happened and where to read it: never a body, which can carry text another
            // user wrote (a chat message, a cancellation reason) and would make anyone's
            // words ring a phone.
            let text = sms_text(&title);
            match self.sms.send_sms(phone, &text).await {
                Ok(()) => sent_sms = true,
                Err(err) => {
                    warn!(error = ?err, "sms failed");
                    failed = true;
                }
            }
            self.record(&day, esc.kind, Channel::Sms, !failed).await;
        }
        if wanted(Channel::Email) {
            // The email tells what no earlier email told: milestones went out at once.
            let mailable: Vec<Notification> = unread
                .iter()
                .filter(|n| !n.emailed_at_once)
                .cloned()
                .collect();
            let (latest, title) = headline(&mailable);
            let lines = mailable
                .iter()
                .rev()
                .take(5)
                .map(|n| format!("{}: {}", n.title, n.body))
                .collect();
            let link = self
                .links
                .map(|links| links.link(latest, Channel::Email, now));
            let email = self.templates.notification(
                &user.email,
                &NotificationEmail {
                    title: &title,
                    lines,
                    link,
                },
            )?;
            let ok = match self.mailer.send(&email).await {
                Ok(()) => {
                    sent_email = true;
                    true
                }
                Err(err) => {
                    warn!(error = ?err, "email failed");
                    failed = true;
                    false
                }
            };
            self.record(&day, esc.kind, Channel::Email, ok).await;
        }
        if failed && esc.attempts + 1 < MAX_ATTEMPTS {
            // Retry the whole group later; channels that worked may repeat, which beats losing
            // the failed one.
            self.store
                .reschedule(esc, now + retry_delay(esc.attempts), esc.attempts + 1)
                .await?;
            return Ok(Handled::Failed);
        }
        self.store
            .close_escalation(esc, &handled, next_due, now)
            .await?;
        if failed {
            return Ok(Handled::Failed);
        }
        Ok(Handled::Sent {
            sms: sent_sms,
            email: sent_email,
        })
    }

    /// A milestone's own email: the notification as it is (read or not), once, unless the
    /// user turned the kind's email off; a failed send is retried with the usual backoff.
    async fn send_milestone(&self, esc: &Escalation, now: DateTime<Utc>) -> Result<Handled> {
        let (user, preferences, notification) = futures::try_join!(
            self.users.get_user(&esc.user_id),
            self.store.preferences(&esc.user_id),
            self.store.get_notification(&esc.user_id, &esc.first_id)
        )?;
        let close = || self.store.close_escalation(esc, &esc.first_id, now, now);
        let (Some(user), Some(notification)) = (user, notification) else {
            close().await?;
            return Ok(Handled::Cancelled);
        };
        if !preferences.allows(notification.kind, Channel::Email) {
            close().await?;
            return Ok(Handled::Cancelled);
        }
        let link = self
            .links
            .map(|links| links.link(&notification, Channel::Email, now));
        let email = self.templates.notification(
            &user.email,
            &NotificationEmail {
                title: &notification.title,
                lines: vec![notification.body.clone()],
                link,
            },
        )?;
        let sent = self.mailer.send(&email).await;
        let day = now.format("%Y-%m-%d").to_string();
        self.record(&day, esc.kind, Channel::Email, sent.is_ok())
            .await;
        match sent {
            Ok(()) => {
                // Sent: a failed close must not send it again (the lease runs out instead,
                // and the next sweep closes it).
                if let Err(err) = close().await {
                    warn!(error = ?err, "milestone email sent but not closed");
                }
                Ok(Handled::Sent {
                    sms: false,
                    email: true,
                })
            }
            Err(err) if esc.attempts + 1 < MAX_ATTEMPTS => {
                warn!(error = ?err, "milestone email failed; retrying");
                self.store
                    .reschedule(esc, now + retry_delay(esc.attempts), esc.attempts + 1)
                    .await?;
                Ok(Handled::Failed)
            }
            Err(err) => {
                warn!(error = ?err, user_id = %esc.user_id, "milestone email dropped");
                close().await?;
                Ok(Handled::Failed)
            }
        }
    }

    async fn record(&self, day: &str, kind: Kind, channel: Channel, ok: bool) {
        let outcome = if ok { "sent" } else { "failed" };
        if let Err(err) = self
            .store
            .count_delivery(day, kind, channel.as_str(), outcome, 1)
            .await
        {
            warn!(error = ?err, "delivery not counted");
        }
    }
}

/// The notification a group's SMS or email leads with and its title. One notification speaks
/// for itself; several of one kind are that kind's digest ("3 bookings cancelled"); mixed
/// kinds lead with the newest critical one (else the newest) and count the rest, so a
/// digest never labels an assignment as a cancellation.
fn headline(unread: &[Notification]) -> (&Notification, String) {
    let newest = &unread[unread.len() - 1];
    let lead = unread
        .iter()
        .rev()
        .find(|n| spec(n.kind).critical)
        .unwrap_or(newest);
    let title = match unread.len() {
        1 => lead.title.clone(),
        count if unread.iter().all(|n| n.kind == lead.kind) => {
            let mut data = lead.data.clone();
            data["count"] = serde_json::json!(count);
            render_text(spec(lead.kind).digest, &data)
        }
        count => {
            let more = count - 1;
            let s = if more == 1 { "" } else { "s" };
            format!("{} (and {more} more update{s})", lead.title)
        }
    };
    (lead, title)
}

/// An SMS: the title (what happened) and where to read the rest. No link: a signed link is
/// longer than the message and would double its segments (and its price).
fn sms_text(title: &str) -> String {
    format!("{title}. Read it in the app.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NotificationId, UserId};

    fn notification(kind: Kind, title: &str, body: &str) -> Notification {
        Notification {
            id: NotificationId::new(),
            user_id: UserId::new(),
            kind,
            actor_id: None,
            room_id: None,
            group: "room:x".into(),
            title: title.into(),
            body: body.into(),
            data: serde_json::json!({ "title": "Fix a leaking tap" }),
            created_at: chrono::Utc::now(),
            read_at: None,
            clicked_at: None,
            channels: None,
            emailed_at_once: false,
        }
    }

    #[test]
    fn a_digest_of_mixed_kinds_leads_with_the_critical_one_and_counts_the_rest() {
        let assigned = notification(
            Kind::ProviderAssigned,
            "New booking: Fix a leaking tap",
            "b",
        );
        let cancelled = notification(
            Kind::BookingCancelled,
            "Booking cancelled: Fix a leaking tap",
            "Ana cancelled: call me at example.com",
        );
        let chat = notification(Kind::ChatMessage, "Ana sent a message", "hi");
        let group = [assigned.clone(), cancelled.clone(), chat];
        let (lead, title) = headline(&group);
        assert_eq!(lead.id, cancelled.id);
        assert_eq!(
            title,
            "Booking cancelled: Fix a leaking tap (and 2 more updates)"
        );
        let (_, title) = headline(&[assigned.clone(), cancelled.clone()]);
        assert_eq!(
            title,
            "Booking cancelled: Fix a leaking tap (and 1 more update)"
        );
        // One kind: its digest; one notification: its own title.
        let (_, title) = headline(&[cancelled.clone(), cancelled.clone()]);
        assert_eq!(title, "2 bookings cancelled");
        let (_, title) = headline(std::slice::from_ref(&assigned));
        assert_eq!(title, assigned.title);
    }

    #[test]
    fn an_sms_says_what_happened_and_where_to_read_it() {
        let text = sms_text("Booking cancelled: Fix a leaking tap");
        assert_eq!(
            text,
            "Booking cancelled: Fix a leaking tap. Read it in the app."
        );
    }
}
