//! A provider's availability — a weekly plan in their IANA time zone (intervals per weekday,
//! each with a price multiplier), date overrides (closed, or other hours), a minimum notice
//! and a buffer between bookings — and the free slots it offers for an offer's duration.
//! Pure rules. Plans are wall-clock times in the provider's zone; a slot is turned into an
//! instant here, so a 09:00–17:00 plan stays 09:00–17:00 local across DST changes, a local
//! time that does not exist (the spring gap) offers no slot, and a repeated one (the autumn
//! hour) is offered once, at its first occurrence.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{TimeZone, UserId};
use crate::error::Error;
use crate::offers::model::{Money, text};

/// Intervals one day may have.
pub const MAX_INTERVALS: usize = 8;
/// Date overrides a plan may hold.
pub const MAX_OVERRIDES: usize = 100;
/// The longest minimum notice, in minutes (a week).
pub const MAX_NOTICE_MINUTES: u32 = 10_080;
/// The longest buffer between bookings, in minutes.
pub const MAX_BUFFER_MINUTES: u32 = 240;
/// The most days one slot query covers.
pub const MAX_RANGE_DAYS: i64 = 31;
/// Slots start every this many minutes from their interval's start.
pub const SLOT_STEP_MINUTES: u32 = 30;
/// Multipliers, in hundredths: 0.5 to 5.0.
const MULTIPLIER_HUNDREDTHS: (u32, u32) = (50, 500);
/// The provider's time is held in cells of this many minutes (UTC quarter hours): plan times
/// are on quarter hours and every zone's offset is a multiple of 15 minutes, so a slot
/// starts on a cell's boundary and two bookings share a cell only when they overlap.
pub const CELL_MINUTES: i64 = 15;
/// The longest offer that is booked by slot (its time and buffer are held cell by cell, in
/// the booking's own transaction).
pub const MAX_SLOT_MINUTES: u32 = 480;

/// Local hours of one day with their price multiplier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interval {
    /// Local start, `HH:MM` (00:00–23:59).
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub start: String,
    /// Local end, `HH:MM`, after the start on the same day (`24:00` is midnight).
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", example = "17:00")]
    pub end: String,
    /// The price multiplier of slots starting in it: 0.5 to 5.0 with at most two decimals
    /// (1 standard, e.g. 1.5 peak).
    #[serde(default = "standard")]
    #[schema(minimum = 0.5, maximum = 5.0, multiple_of = 0.01, example = 1.5)]
    pub multiplier: f64,
}

fn standard() -> f64 {
    1.0
}

/// The weekly plan: each weekday's intervals (absent or empty: closed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Week {
    /// Mondays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub monday: Vec<Interval>,
    /// Tuesdays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub tuesday: Vec<Interval>,
    /// Wednesdays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub wednesday: Vec<Interval>,
    /// Thursdays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub thursday: Vec<Interval>,
    /// Fridays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub friday: Vec<Interval>,
    /// Saturdays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub saturday: Vec<Interval>,
    /// Sundays.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub sunday: Vec<Interval>,
}

impl Week {
    fn days_mut(&mut self) -> [(&'static str, &mut Vec<Interval>); 7] {
        [
            ("monday", &mut self.monday),
            ("tuesday", &mut self.tuesday),
            ("wednesday", &mut self.wednesday),
            ("thursday", &mut self.thursday),
            ("friday", &mut self.friday),
            ("saturday", &mut self.saturday),
            ("sunday", &mut self.sunday),
        ]
    }

    /// A weekday's intervals.
    pub fn day(&self, day: Weekday) -> &[Interval] {
        match day {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }
}

/// One date's hours instead of its weekday's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Override {
    /// The local date (`YYYY-MM-DD`).
    #[schema(value_type = String, format = Date, example = "2026-12-24")]
    pub date: NaiveDate,
    /// Its intervals; empty (or absent): closed all day.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub intervals: Vec<Interval>,
    /// Why (shown to nobody but the provider), up to 200 characters.
    #[schema(max_length = 200, example = "Christmas Eve")]
    pub reason: Option<String>,
}

/// `PUT /me/availability`: the whole plan.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetAvailability {
    /// The provider's IANA time zone, in which every time of the plan is read.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// The weekly plan.
    #[serde(default, deserialize_with = "crate::domain::object::object")]
    pub weekly: Week,
    /// Dates with other hours, or closed; each date once.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub overrides: Vec<Override>,
    /// How long before its start a slot can still be booked, in minutes (0–10,080).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_080)]
    pub min_notice_minutes: u32,
    /// Free time kept before and after every booking, in minutes (0–240).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 240)]
    pub buffer_minutes: u32,
}

/// A provider's availability, as stored and answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    /// The provider.
    pub provider_id: UserId,
    /// Their IANA time zone.
    pub time_zone: TimeZone,
    /// The weekly plan (each day's intervals sorted by start).
    pub weekly: Week,
    /// Date overrides, by date.
    pub overrides: Vec<Override>,
    /// Minimum notice, in minutes.
    pub min_notice_minutes: u32,
    /// Buffer around bookings, in minutes.
    pub buffer_minutes: u32,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `HH:MM` as minutes since midnight; `24:00` only as an end.
fn clock(raw: &str, field: &str, end: bool) -> Result<u32, Error> {
    let invalid = || {
        Error::field(
            field,
            if end {
                "HH:MM from 00:01 to 24:00"
            } else {
                "HH:MM from 00:00 to 23:59"
            },
        )
    };
    if end && raw == "24:00" {
        return Ok(24 * 60);
    }
    if raw.len() != 5 {
        return Err(invalid());
    }
    let time = NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| invalid())?;
    let minutes = time.num_seconds_from_midnight() / 60;
    if end && minutes == 0 {
        return Err(invalid());
    }
    if i64::from(minutes) % CELL_MINUTES != 0 {
        return Err(Error::field(
            field,
            "on a quarter hour (:00, :15, :30, :45)",
        ));
    }
    Ok(minutes)
}

/// A multiplier of 0.5 to 5.0 with at most two decimals, in hundredths.
fn hundredths(multiplier: f64, field: &str) -> Result<u32, Error> {
    let scaled = multiplier * 100.0;
    let rounded = scaled.round();
    let (min, max) = MULTIPLIER_HUNDREDTHS;
    if !scaled.is_finite()
        || (scaled - rounded).abs() > 1e-6
        || rounded < f64::from(min)
        || rounded > f64::from(max)
    {
        return Err(Error::field(field, "0.5 to 5 with at most two decimals"));
    }
    Ok(rounded as u32)
}

impl Interval {
    /// Its local start and end, in minutes since midnight.
    fn minutes(&self) -> (u32, u32) {
        // Checked when the plan was set.
        (
            clock(&self.start, "start", false).unwrap_or(0),
            clock(&self.end, "end", true).unwrap_or(0),
        )
    }

    /// Its multiplier in hundredths (checked when the plan was set).
    fn hundredths(&self) -> u32 {
        hundredths(self.multiplier, "multiplier").unwrap_or(100)
    }
}

/// One day's intervals checked, sorted by start and apart from each other.
fn day(intervals: &mut Vec<Interval>, field: &str) -> Result<(), Error> {
    if intervals.len() > MAX_INTERVALS {
        return Err(Error::field(
            field,
            format!("at most {MAX_INTERVALS} intervals"),
        ));
    }
    let mut spans = Vec::with_capacity(intervals.len());
    for (i, interval) in intervals.iter_mut().enumerate() {
        let start = clock(&interval.start, &format!("{field}[{i}].start"), false)?;
        let end = clock(&interval.end, &format!("{field}[{i}].end"), true)?;
        if end <= start {
            return Err(Error::field(
                format!("{field}[{i}].end"),
                "after the start, on the same day",
            ));
        }
        let share = hundredths(interval.multiplier, &format!("{field}[{i}].multiplier"))?;
        interval.multiplier = f64::from(share) / 100.0;
        spans.push((start, end));
    }
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| spans[i].0);
    if order.windows(2).any(|w| spans[w[1]].0 < spans[w[0]].1) {
        return Err(Error::field(field, "intervals must not overlap"));
    }
    let sorted = order.iter().map(|&i| intervals[i].clone()).collect();
    *intervals = sorted;
    Ok(())
}

impl SetAvailability {
    /// The checked plan of `provider` at `now`, or the first field that is wrong.
    pub fn validate(mut self, provider: UserId, now: DateTime<Utc>) -> Result<Availability, Error> {
        let time_zone = TimeZone::parse(&self.time_zone, "timeZone")?;
        for (name, intervals) in self.weekly.days_mut() {
            day(intervals, &format!("weekly.{name}"))?;
        }
        if self.overrides.len() > MAX_OVERRIDES {
            return Err(Error::field(
                "overrides",
                format!("at most {MAX_OVERRIDES} dates"),
            ));
        }
        let mut dates = BTreeSet::new();
        for (i, o) in self.overrides.iter_mut().enumerate() {
            if !dates.insert(o.date) {
                return Err(Error::field(
                    format!("overrides[{i}].date"),
                    "each date once",
                ));
            }
            day(&mut o.intervals, &format!("overrides[{i}].intervals"))?;
            o.reason = o
                .reason
                .as_deref()
                .map(|r| text(r, &format!("overrides[{i}].reason"), 1, 200))
                .transpose()?;
        }
        self.overrides.sort_by_key(|o| o.date);
        if self.min_notice_minutes > MAX_NOTICE_MINUTES {
            return Err(Error::field(
                "minNoticeMinutes",
                format!("0 to {MAX_NOTICE_MINUTES}"),
            ));
        }
        if self.buffer_minutes > MAX_BUFFER_MINUTES {
            return Err(Error::field(
                "bufferMinutes",
                format!("0 to {MAX_BUFFER_MINUTES}"),
            ));
        }
        Ok(Availability {
            provider_id: provider,
            time_zone,
            weekly: self.weekly,
            overrides: self.overrides,
            min_notice_minutes: self.min_notice_minutes,
            buffer_minutes: self.buffer_minutes,
            updated_at: now,
        })
    }
}

/// A free slot of an offer.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC): the start plus the offer's duration, in real time.
    pub end: DateTime<Utc>,
    /// Start in the provider's zone, with its offset (`2026-03-29T09:00:00+02:00`).
    pub local_start: String,
    /// End in the provider's zone, with its offset.
    pub local_end: String,
    /// The multiplier of the interval it starts in.
    pub multiplier: f64,
    /// What it costs: the offer's price × the multiplier, rounded down to the minor unit.
    pub price: Money,
}

/// A time the provider is taken (a booking), without its buffer.
pub type Busy = (DateTime<Utc>, DateTime<Utc>);

/// The cells (their UTC starts) a booking holding `start` to `end` claims: every quarter
/// hour it touches.
pub fn cells(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let step = CELL_MINUTES * 60;
    let first = start.timestamp().div_euclid(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|at| *at < end.timestamp())
        .filter_map(|at| DateTime::from_timestamp(at, 0))
        .collect()
}

/// `base` × `hundredths` / 100, rounded down to the minor unit (a fraction of a cent is never
/// charged).
pub fn priced(base: &Money, hundredths: u32) -> Money {
    Money {
        amount: base.amount * i64::from(hundredths) / 100,
        currency: base.currency.clone(),
    }
}

/// The dates `from` to `to` (inclusive) a slot query may cover: `from` first, at most
/// [`MAX_RANGE_DAYS`] days.
pub fn range(from: NaiveDate, to: NaiveDate) -> Result<(NaiveDate, NaiveDate), Error> {
    crate::domain::day_range(from, to, MAX_RANGE_DAYS)
}

impl Availability {
    fn zone(&self) -> crate::domain::Zone {
        self.time_zone.rules()
    }

    /// The intervals of a local date: its override's, or its weekday's.
    pub fn on(&self, date: NaiveDate) -> &[Interval] {
        self.overrides
            .iter()
            .find(|o| o.date == date)
            .map_or_else(|| self.weekly.day(date.weekday()), |o| &o.intervals)
    }

    /// The free slots of `minutes` at price `base` on the local dates `from` to `to`
    /// (checked by [`range`]), starting at least the minimum notice after `now`, each with its
    /// buffer clear of every `busy` time; by start.
    pub fn slots(
        &self,
        minutes: u32,
        base: &Money,
        (from, to): (NaiveDate, NaiveDate),
        busy: &[Busy],
        now: DateTime<Utc>,
    ) -> Vec<Slot> {
        let zone = self.zone();
        let length = Duration::minutes(i64::from(minutes));
        let buffer = Duration::minutes(i64::from(self.buffer_minutes));
        let earliest = now + Duration::minutes(i64::from(self.min_notice_minutes));
        let mut out = Vec::new();
        for date in from.iter_days().take_while(|d| *d <= to) {
            let midnight = date.and_time(NaiveTime::MIN);
            for interval in self.on(date) {
                let (open, close) = interval.minutes();
                let close = midnight + Duration::minutes(i64::from(close));
                let mut at = open;
                while at + minutes <= 24 * 60 {
                    let local = midnight + Duration::minutes(i64::from(at));
                    at += SLOT_STEP_MINUTES;
                    // A local time the change skips has no slot; a repeated one has its first.
                    let Some(start) = zone.instant(local) else {
                        continue;
                    };
                    let end = start + length;
                    let local_end = zone.local(end);
                    if local_end.naive_local() > close {
                        break;
                    }
                    let clear = busy.iter().all(|(b_start, b_end)| {
                        end + buffer <= *b_start || *b_end <= start - buffer
                    });
                    if start < earliest || !clear {
                        continue;
                    }
                    out.push(Slot {
                        start,
                        end,
                        local_start: zone.local(start).to_rfc3339(),
                        local_end: local_end.to_rfc3339(),
                        multiplier: f64::from(interval.hundredths()) / 100.0,
                        price: priced(base, interval.hundredths()),
                    });
                }
            }
        }
        out.sort_by_key(|s| s.start);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(start: &str, end: &str, multiplier: f64) -> Interval {
        Interval {
            start: start.into(),
            end: end.into(),
            multiplier,
        }
    }

    /// A plan in `zone` open 09:00–17:00 every day, with a 1.5 peak 17:00–19:00 on Fridays.
    fn plan(zone: &str) -> Availability {
        let nine_to_five = vec![interval("09:00", "17:00", 1.0)];
        SetAvailability {
            time_zone: zone.into(),
            weekly: Week {
                monday: nine_to_five.clone(),
                tuesday: nine_to_five.clone(),
                wednesday: nine_to_five.clone(),
                thursday: nine_to_five.clone(),
                friday: vec![
                    interval("17:00", "19:00", 1.5),
                    interval("09:00", "17:00", 1.0),
                ],
                saturday: nine_to_five.clone(),
                sunday: nine_to_five,
            },
            overrides: Vec::new(),
            min_notice_minutes: 0,
            buffer_minutes: 0,
        }
        .validate(UserId::new(), at("2026-01-01T00:00:00Z"))
        .unwrap()
    }

    fn at(instant: &str) -> DateTime<Utc> {
        instant.parse().unwrap()
    }

    fn date(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn eur(amount: i64) -> Money {
        Money {
            amount,
            currency: "eur".into(),
        }
    }

    /// The slots of one local date, an hour long, priced 45.00, asked long before.
    fn day_of(plan: &Availability, day: &str) -> Vec<Slot> {
        plan.slots(
            60,
            &eur(4500),
            range(date(day), date(day)).unwrap(),
            &[],
            at("2026-01-01T00:00:00Z"),
        )
    }

    fn starts(slots: &[Slot]) -> Vec<&str> {
        slots.iter().map(|s| &s.local_start[11..16]).collect()
    }

    #[test]
    fn nine_to_five_stays_nine_to_five_local_across_both_dst_changes() {
        for (zone, before, change, after, winter_utc, summer_utc) in [
            // Berlin: summer time from 2026-03-29 02:00, back on 2026-10-25 03:00.
            (
                "Europe/Berlin",
                "2026-03-22",
                "2026-03-29",
                "2026-10-25",
                8,
                7,
            ),
            // New York: from 2026-03-08 02:00, back on 2026-11-01 02:00.
            (
                "America/New_York",
                "2026-03-01",
                "2026-03-08",
                "2026-11-01",
                14,
                13,
            ),
        ] {
            let plan = plan(zone);
            for (day, utc_hour) in [
                (before, winter_utc),
                (change, summer_utc),
                (after, winter_utc),
            ] {
                let slots = day_of(&plan, day);
                // 09:00, 09:30, … 16:00: fifteen hour-long slots, 09:00 local every time.
                assert_eq!(slots.len(), 15, "{zone} {day}");
                assert_eq!(starts(&slots)[0], "09:00", "{zone} {day}");
                assert_eq!(starts(&slots)[14], "16:00", "{zone} {day}");
                assert_eq!(
                    slots[0].start.format("%H").to_string(),
                    format!("{utc_hour:02}"),
                    "{zone} {day}: {}",
                    slots[0].local_start
                );
                assert!(slots.iter().all(|s| s.end - s.start == Duration::hours(1)));
            }
        }
    }

    #[test]
    fn the_missing_spring_hour_has_no_slot_and_the_repeated_autumn_hour_has_one() {
        let mut plan = plan("Europe/Berlin");
        let night = vec![interval("01:00", "04:00", 1.0)];
        plan.overrides = vec![
            Override {
                date: date("2026-03-29"),
                intervals: night.clone(),
                reason: None,
            },
            Override {
                date: date("2026-10-25"),
                intervals: night,
                reason: None,
            },
        ];
        // Spring: 02:00–03:00 does not exist. 01:00 and 01:30 last an hour and end after the
        // gap (03:00, 03:30 local); 03:00 ends at 04:00.
        let spring = day_of(&plan, "2026-03-29");
        assert_eq!(starts(&spring), ["01:00", "01:30", "03:00"]);
        assert_eq!(spring[0].local_end, "2026-03-29T03:00:00+02:00");
        // Autumn: 02:00–03:00 happens twice; each start is offered once (its first
        // occurrence, summer time), and every slot is an hour of real time, none overlapping.
        let autumn = day_of(&plan, "2026-10-25");
        assert_eq!(
            starts(&autumn),
            ["01:00", "01:30", "02:00", "02:30", "03:00"]
        );
        assert_eq!(autumn[2].local_start, "2026-10-25T02:00:00+02:00");
        assert_eq!(autumn[4].local_start, "2026-10-25T03:00:00+01:00");
        assert!(autumn.windows(2).all(|w| w[0].start < w[1].start));
        assert!(autumn.iter().all(|s| s.end - s.start == Duration::hours(1)));
    }

    #[test]
    fn peak_hours_cost_the_multiplier_rounded_down_and_overrides_replace_the_day() {
        let mut plan = plan("Europe/Lisbon");
        // A Friday: 09:00–16:00 at 45.00, then the 17:00 and 17:30 … 18:00 peak slots.
        let friday = day_of(&plan, "2026-12-11");
        let peak: Vec<&Slot> = friday.iter().filter(|s| s.multiplier == 1.5).collect();
        assert_eq!(
            peak.iter()
                .map(|s| &s.local_start[11..16])
                .collect::<Vec<_>>(),
            ["17:00", "17:30", "18:00"]
        );
        assert_eq!(peak[0].price, eur(6750));
        assert_eq!(priced(&eur(999), 115).amount, 1148, "1148.85 rounds down");
        assert_eq!(priced(&eur(101), 50).amount, 50, "50.5 rounds down");
        // Closed on one date, other hours on another.
        plan.overrides = vec![
            Override {
                date: date("2026-12-24"),
                intervals: Vec::new(),
                reason: Some("Christmas Eve".into()),
            },
            Override {
                date: date("2026-12-26"),
                intervals: vec![interval("10:00", "12:00", 2.0)],
                reason: None,
            },
        ];
        assert!(day_of(&plan, "2026-12-24").is_empty());
        let boxing = day_of(&plan, "2026-12-26");
        assert_eq!(starts(&boxing), ["10:00", "10:30", "11:00"]);
        assert_eq!(boxing[0].price, eur(9000));
    }

    #[test]
    fn notice_bookings_and_buffers_take_slots_away() {
        let mut plan = plan("UTC");
        plan.min_notice_minutes = 120;
        plan.buffer_minutes = 30;
        let now = at("2026-12-07T09:10:00Z");
        let busy = [(at("2026-12-07T13:00:00Z"), at("2026-12-07T14:00:00Z"))];
        let slots = plan.slots(
            60,
            &eur(4500),
            range(date("2026-12-07"), date("2026-12-07")).unwrap(),
            &busy,
            now,
        );
        // From 11:10 on (two hours' notice); nothing within 30 minutes of 13:00–14:00.
        assert_eq!(
            starts(&slots),
            ["11:30", "14:30", "15:00", "15:30", "16:00"]
        );
    }

    #[test]
    fn a_booking_claims_every_quarter_hour_it_touches_and_neighbours_share_none() {
        let claim = |from: &str, to: &str| cells(at(from), at(to));
        assert_eq!(
            claim("2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z").len(),
            4
        );
        // 50 minutes and a 5-minute buffer end mid-cell: the cell is claimed whole ...
        let first = claim("2026-12-07T09:00:00Z", "2026-12-07T09:55:00Z");
        assert_eq!(first.last(), Some(&at("2026-12-07T09:45:00Z")));
        // ... and the next slot (on a quarter hour, after that end) claims none of them.
        let next = claim("2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z");
        assert!(first.iter().all(|c| !next.contains(c)));
        // Overlapping bookings share a cell.
        let overlapping = claim("2026-12-07T09:30:00Z", "2026-12-07T10:30:00Z");
        assert!(overlapping.iter().any(|c| first.contains(c)));
    }

    #[test]
    fn a_range_is_at_most_31_days_and_plans_name_their_wrong_field() {
        assert!(range(date("2026-12-01"), date("2026-12-31")).is_ok());
        assert!(range(date("2026-12-01"), date("2027-01-01")).is_err());
        assert!(range(date("2026-12-02"), date("2026-12-01")).is_err());
        let base = || SetAvailability {
            time_zone: "Europe/Berlin".into(),
            weekly: Week::default(),
            overrides: Vec::new(),
            min_notice_minutes: 0,
            buffer_minutes: 0,
        };
        type Spoil = fn(&mut SetAvailability);
        let cases: [(&str, Spoil); 10] = [
            ("timeZone", |p| p.time_zone = "Mars/Base".into()),
            ("weekly.monday[0].start", |p| {
                p.weekly.monday = vec![interval("09:10", "17:00", 1.0)]
            }),
            ("weekly.monday[0].start", |p| {
                p.weekly.monday = vec![interval("9:00", "17:00", 1.0)]
            }),
            ("weekly.monday[0].end", |p| {
                p.weekly.monday = vec![interval("09:00", "09:00", 1.0)]
            }),
            ("weekly.tuesday[0].multiplier", |p| {
                p.weekly.tuesday = vec![interval("09:00", "10:00", 1.234)]
            }),
            ("weekly.tuesday[0].multiplier", |p| {
                p.weekly.tuesday = vec![interval("09:00", "10:00", 9.0)]
            }),
            ("weekly.friday", |p| {
                p.weekly.friday = vec![
                    interval("09:00", "12:00", 1.0),
                    interval("11:00", "13:00", 1.0),
                ]
            }),
            ("overrides[1].date", |p| {
                let closed = Override {
                    date: date("2026-12-24"),
                    intervals: Vec::new(),
                    reason: None,
                };
                p.overrides = vec![closed.clone(), closed];
            }),
            ("minNoticeMinutes", |p| p.min_notice_minutes = 20_000),
            ("bufferMinutes", |p| p.buffer_minutes = 241),
        ];
        for (field, spoil) in cases {
            let mut request = base();
            spoil(&mut request);
            match request.validate(UserId::new(), Utc::now()).unwrap_err() {
                Error::Validation {
                    field: Some(named), ..
                } => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // Midnight ends a day; intervals come back sorted.
        let mut fine = base();
        fine.weekly.sunday = vec![
            interval("20:00", "24:00", 1.25),
            interval("08:00", "12:00", 1.0),
        ];
        let plan = fine.validate(UserId::new(), Utc::now()).unwrap();
        assert_eq!(plan.weekly.sunday[0].start, "08:00");
        assert_eq!(plan.weekly.sunday[1].end, "24:00");
    }
}
