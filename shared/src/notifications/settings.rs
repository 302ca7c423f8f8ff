//! Devices for mobile push, notification preferences, and delivery statistics.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tracing::{info, warn};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::ProfileChanges;
use crate::error::{Error, Result};
use crate::notifications::model::{Channel, Device, Kind, PreferencesPatch, RegisterDevice};
use crate::notifications::store::DeliveryCounters;

use super::service::*;

impl Notifications<'_> {
    /// `POST /me/devices`: registers a push token (idempotent per token). A token belongs to
    /// one user at a time: registering it moves it from whoever held it (one phone, two
    /// accounts), who stops receiving pushes on it as after signing out.
    pub async fn register_device(
        &self,
        caller: &Caller,
        request: RegisterDevice,
        now: DateTime<Utc>,
    ) -> Result<Device> {
        request.validate()?;
        let push = self.push.ok_or_else(|| {
            Error::BadRequest("mobile push is not configured on this deployment".into())
        })?;
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("{:?}:{}", request.platform, request.token).as_bytes(),
        );
        let id: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let endpoint = push.register(&request.token).await?;
        let device = Device {
            id,
            platform: request.platform,
            endpoint,
            created_at: now,
        };
        let previous = self.store.claim_device(&caller.user_id, &device).await?;
        info!(device = %device.id, moved = previous.is_some(), "device registered");
        Ok(device)
    }

    /// `DELETE /me/devices/{id}`: forgets the caller's registration only; the platform
    /// endpoint is deleted when nobody holds the token any more.
    pub async fn unregister_device(&self, caller: &Caller, id: &str) -> Result<()> {
        let Some((device, unheld)) = self.store.release_device(&caller.user_id, id).await? else {
            return Err(Error::NotFound("device"));
        };
        if unheld
            && let Some(push) = self.push
            && let Err(err) = push.unregister(&device.endpoint).await
        {
            warn!(error = ?err, "endpoint not deleted");
        }
        Ok(())
    }

    /// Counts `by` outcomes of a channel (best effort: statistics never fail a delivery).
    pub(crate) async fn count_channel(
        &self,
        day: &str,
        kind: Kind,
        channel: Channel,
        outcome: &str,
        by: u64,
    ) {
        if let Err(err) = self
            .store
            .count_delivery(day, kind, channel.as_str(), outcome, by)
            .await
        {
            warn!(error = ?err, outcome, "outcome not counted");
        }
    }

    /// `GET /admin/notification-stats?from&to` (admins): outcomes and rates per channel and
    /// per kind × channel over at most 31 days.
    pub async fn stats(
        &self,
        caller: &Caller,
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryStats> {
        caller.admin_only()?;
        let days = stats_days(from, to, now)?;
        let (first, last) = (days[0].clone(), days[days.len() - 1].clone());
        let store = self.store;
        let per_day: Vec<Vec<DeliveryCounters>> = futures::stream::iter(days)
            .map(|d| async move { store.delivery_stats(&d).await })
            .buffered(8)
            .try_collect()
            .await?;
        let mut by_kind: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for row in per_day.into_iter().flatten() {
            for (outcome, n) in &row.counts {
                *by_kind
                    .entry((row.kind.clone(), row.channel.clone()))
                    .or_default()
                    .entry(outcome.clone())
                    .or_default() += n;
                *by_channel
                    .entry(row.channel.clone())
                    .or_default()
                    .entry(outcome.clone())
                    .or_default() += n;
            }
        }
        Ok(DeliveryStats {
            from: first,
            to: last,
            channels: by_channel
                .into_iter()
                .map(|(channel, c)| StatsRow::new(None, channel, &c))
                .collect(),
            kinds: by_kind
                .into_iter()
                .map(|((kind, channel), c)| StatsRow::new(Some(kind), channel, &c))
                .collect(),
        })
    }

    /// `GET /me/notification-preferences`.
    pub async fn preferences(&self, caller: &Caller) -> Result<PreferencesView> {
        let (preferences, user) = futures::try_join!(
            self.store.preferences(&caller.user_id),
            self.users.get_user(&caller.user_id)
        )?;
        let user = user.ok_or(Error::NotFound("user"))?;
        Ok(PreferencesView {
            preferences,
            time_zone: user.time_zone.as_str().to_owned(),
        })
    }

    /// `PATCH /me/notification-preferences`.
    pub async fn update_preferences(
        &self,
        caller: &Caller,
        patch: PreferencesPatch,
        now: DateTime<Utc>,
    ) -> Result<PreferencesView> {
        let me = caller.user_id;
        let current = self.store.preferences(&me).await?;
        let (preferences, zone) = patch.apply(current)?;
        self.store.put_preferences(&me, &preferences).await?;
        let user = match zone {
            Some(zone) => {
                let changes = ProfileChanges {
                    time_zone: Some(zone),
                    ..Default::default()
                };
                self.users.update_profile(&me, &changes, now).await?
            }
            None => self
                .users
                .get_user(&me)
                .await?
                .ok_or(Error::NotFound("user"))?,
        };
        Ok(PreferencesView {
            preferences,
            time_zone: user.time_zone.as_str().to_owned(),
        })
    }
}

/// The UTC days a statistics request covers: `from` to `to` inclusive (each `YYYY-MM-DD`,
/// default today), at most 31 days.
fn stats_days(from: Option<&str>, to: Option<&str>, now: DateTime<Utc>) -> Result<Vec<String>> {
    let day = |raw: Option<&str>, field: &str| -> Result<NaiveDate> {
        match raw {
            None => Ok(now.date_naive()),
            Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| Error::field(field, "expected a date as YYYY-MM-DD")),
        }
    };
    let (to, from) = (day(to, "to")?, day(from, "from")?);
    if from > to || (to - from).num_days() > 30 {
        return Err(Error::field(
            "from",
            "from must be on or before to, at most 31 days",
        ));
    }
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect())
}

/// Delivery statistics over a period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStats {
    /// First day (UTC).
    pub from: String,
    /// Last day (UTC).
    pub to: String,
    /// Totals per channel.
    pub channels: Vec<StatsRow>,
    /// Per kind and channel.
    pub kinds: Vec<StatsRow>,
}

/// Outcomes of one channel (and kind), with rates.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsRow {
    /// Kind (absent on channel totals).
    pub kind: Option<String>,
    /// Channel.
    pub channel: String,
    /// Sent (in-app: created).
    pub sent: u64,
    /// Reached an open connection (in-app).
    pub delivered: u64,
    /// Failed (SMS, email).
    pub failed: u64,
    /// Read (in-app, when opened).
    pub read: u64,
    /// Opened (in-app).
    pub clicked: u64,
    /// delivered / sent.
    pub delivery_rate: Option<f64>,
    /// failed / (sent + failed).
    pub failure_rate: Option<f64>,
    /// read / sent.
    pub read_rate: Option<f64>,
    /// clicked / sent.
    pub click_rate: Option<f64>,
}

impl StatsRow {
    fn new(kind: Option<String>, channel: String, counts: &BTreeMap<String, u64>) -> Self {
        let get = |name: &str| counts.get(name).copied().unwrap_or(0);
        let (sent, failed) = (get("sent"), get("failed"));
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        Self {
            kind,
            channel,
            sent,
            delivered: get("delivered"),
            failed,
            read: get("read"),
            clicked: get("clicked"),
            delivery_rate: ratio(get("delivered"), sent),
            failure_rate: ratio(failed, sent + failed),
            read_rate: ratio(get("read"), sent),
            click_rate: ratio(get("clicked"), sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-31T23:30:00Z".parse().unwrap()
    }

    #[test]
    fn statistics_cover_today_by_default_and_at_most_31_days() {
        assert_eq!(stats_days(None, None, now()).unwrap(), ["2026-03-31"]);
        let march = stats_days(Some("2026-03-01"), None, now()).unwrap();
        assert_eq!((march.len(), march[0].as_str()), (31, "2026-03-01"));
        assert_eq!(
            stats_days(Some("2026-02-28"), Some("2026-03-01"), now()).unwrap(),
            ["2026-02-28", "2026-03-01"]
        );
        for (from, to) in [
            (Some("2026-02-28"), None),
            (Some("2026-04-01"), None),
            (Some("2026-03-02"), Some("2026-03-01")),
        ] {
            let err = stats_days(from, to, now()).unwrap_err();
            assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "from"));
        }
        let err = stats_days(None, Some("31/03/2026"), now()).unwrap_err();
        assert!(matches!(err, Error::Validation { field: Some(ref f), .. } if f == "to"));
    }

    #[test]
    fn rates_are_shares_of_what_was_sent() {
        let counts = BTreeMap::from([
            ("sent".to_owned(), 8),
            ("delivered".to_owned(), 6),
            ("failed".to_owned(), 2),
            ("read".to_owned(), 4),
            ("clicked".to_owned(), 1),
        ]);
        let row = StatsRow::new(Some("system".into()), "email".into(), &counts);
        assert_eq!((row.sent, row.failed, row.read), (8, 2, 4));
        assert_eq!(row.delivery_rate, Some(0.75));
        assert_eq!(row.failure_rate, Some(0.2));
        assert_eq!(row.click_rate, Some(0.125));
        let none = StatsRow::new(None, "sms".into(), &BTreeMap::new());
        assert_eq!(none.delivery_rate, None);
    }
}
