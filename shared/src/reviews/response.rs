//! Providers' measured first-response time: in each of their booking and job-application
//! threads, the time from the customer's first message to the provider's first answer after
//! it. Kept incrementally from the table's stream of new messages — one small state item per
//! thread and one histogram per provider, never a scan — and read as a median.
//!
//! The histogram's buckets are bounded in minutes (1, 2, 3, 5, 10, … 7 days, then beyond);
//! the median is interpolated within its bucket, so it is exact at the bounds and within the
//! bucket's width elsewhere — minutes for quick answers, hours for slow ones, which is the
//! precision a profile shows.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chat::model::{Subject, SubjectType};
use crate::domain::{BookingId, RoomId, UserId};

/// Upper bounds (minutes) of the histogram's buckets; a last bucket takes what is slower.
pub const BOUNDS_MINUTES: [u32; 22] = [
    1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1080, 1440, 2880, 4320,
    10080,
];

/// The bucket of an answer that took `elapsed`: its index, and its counter attribute.
pub fn bucket(elapsed: Duration) -> (usize, String) {
    let seconds = elapsed.num_seconds().max(0);
    let index = BOUNDS_MINUTES
        .iter()
        .position(|&bound| seconds <= i64::from(bound) * 60)
        .unwrap_or(BOUNDS_MINUTES.len());
    (index, bucket_attribute(index))
}

/// The counter attribute of bucket `index` (`b00` … `b22`).
pub fn bucket_attribute(index: usize) -> String {
    format!("b{index:02}")
}

/// The median of a histogram (`counts[i]` answers in bucket `i`), in minutes, interpolated
/// linearly within its bucket; the last (open) bucket reads as its lower bound.
pub fn median_minutes(counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    // The middle rank, counted from 0.5 so that one sample sits mid-bucket.
    #[allow(clippy::cast_precision_loss)]
    let target = total as f64 / 2.0;
    let mut below = 0.0;
    for (index, &count) in counts.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        if count > 0.0 && below + count >= target {
            let lower = index
                .checked_sub(1)
                .and_then(|i| BOUNDS_MINUTES.get(i))
                .map_or(0.0, |&b| f64::from(b));
            let Some(&upper) = BOUNDS_MINUTES.get(index) else {
                return Some(lower);
            };
            let share = (target - below) / count;
            return Some(lower + share * (f64::from(upper) - lower));
        }
        below += count;
    }
    None
}

/// A provider's first-response time as their profile shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstResponse {
    /// How many threads it was measured in.
    pub count: u64,
    /// The median, in whole minutes (rounded); absent before a first measure.
    pub median_minutes: Option<u32>,
}

impl FirstResponse {
    /// From a histogram's counts.
    pub fn from_counts(counts: &[u64]) -> Self {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Self {
            count: counts.iter().sum(),
            median_minutes: median_minutes(counts).map(|m| m.round() as u32),
        }
    }
}

/// Where a thread's measure stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseState {
    /// The thread.
    pub room_id: RoomId,
    /// Whose answers are measured: the provider of the booking or application; `None` for a
    /// room that is neither (nothing is measured there).
    pub responder: Option<UserId>,
    /// The customer's first message not answered yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_at: Option<DateTime<Utc>>,
    /// The provider's first answer after it: the thread is measured, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
}

/// What a room's subject says of whose answers count.
#[derive(Debug, PartialEq, Eq)]
pub enum Responder {
    /// The provider of this booking (read from it).
    OfBooking(BookingId),
    /// This provider (a job application's thread names them: `{job}-{provider}`).
    Known(UserId),
    /// Not a booking or application thread.
    Nobody,
}

/// Whose answers count in a room about `subject`.
pub fn responder(subject: Option<&Subject>) -> Responder {
    match subject {
        Some(Subject {
            kind: SubjectType::Booking,
            id,
        }) => BookingId::parse(id, "subject")
            .map(Responder::OfBooking)
            .unwrap_or(Responder::Nobody),
        Some(Subject {
            kind: SubjectType::Job,
            id,
        }) => id
            .rsplit_once('-')
            .and_then(|(_, provider)| UserId::parse(provider, "subject").ok())
            .map(Responder::Known)
            .unwrap_or(Responder::Nobody),
        _ => Responder::Nobody,
    }
}

/// What a message does to its thread's measure.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// The customer's first unanswered message: the clock starts.
    Ask(ResponseState),
    /// The provider answered: the thread is measured with this bucket.
    Answer(ResponseState, usize),
    /// Nothing to change.
    Nothing,
}

/// What a message by `sender` at `at` does to `state`.
pub fn step(state: &ResponseState, sender: &UserId, at: DateTime<Utc>) -> Step {
    let Some(responder) = state.responder else {
        return Step::Nothing;
    };
    if state.answered_at.is_some() {
        return Step::Nothing;
    }
    match state.asked_at {
        None if *sender != responder => Step::Ask(ResponseState {
            asked_at: Some(at),
            ..state.clone()
        }),
        Some(asked) if *sender == responder && at >= asked => Step::Answer(
            ResponseState {
                answered_at: Some(at),
                ..state.clone()
            },
            bucket(at - asked).0,
        ),
        _ => Step::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_bounded_in_minutes() {
        assert_eq!(bucket(Duration::seconds(30)), (0, "b00".into()));
        assert_eq!(bucket(Duration::minutes(1)).0, 0);
        assert_eq!(bucket(Duration::seconds(61)).0, 1);
        assert_eq!(bucket(Duration::minutes(45)).0, 8);
        assert_eq!(bucket(Duration::days(30)), (22, "b22".into()));
    }

    #[test]
    fn the_median_is_interpolated_within_its_bucket() {
        let mut counts = [0u64; 23];
        assert_eq!(median_minutes(&counts), None);
        counts[4] = 1; // one answer in (5, 10] minutes: mid-bucket
        assert_eq!(median_minutes(&counts), Some(7.5));
        counts[4] = 2;
        counts[9] = 1; // (45, 60]
        counts[12] = 1; // (120, 180]
        // Four answers: the middle rank (2) ends the (5, 10] bucket.
        assert_eq!(median_minutes(&counts), Some(10.0));
        let mut slow = [0u64; 23];
        slow[22] = 3;
        assert_eq!(
            median_minutes(&slow),
            Some(10080.0),
            "the open bucket reads its bound"
        );
        let shown = FirstResponse::from_counts(&counts);
        assert_eq!((shown.count, shown.median_minutes), (4, Some(10)));
    }

    #[test]
    fn only_the_providers_first_answer_after_the_customers_first_message_counts() {
        let (provider, customer) = (UserId::new(), UserId::new());
        let at = Utc::now();
        let fresh = ResponseState {
            room_id: RoomId::at(at),
            responder: Some(provider),
            asked_at: None,
            answered_at: None,
        };
        assert_eq!(
            step(&fresh, &provider, at),
            Step::Nothing,
            "the provider spoke first"
        );
        let Step::Ask(asked) = step(&fresh, &customer, at) else {
            panic!("the customer's message starts the clock");
        };
        assert_eq!(
            step(&asked, &customer, at + Duration::minutes(1)),
            Step::Nothing
        );
        let Step::Answer(answered, bucket) = step(&asked, &provider, at + Duration::minutes(7))
        else {
            panic!("the provider's answer is measured");
        };
        assert_eq!(bucket, 4);
        assert_eq!(
            step(&answered, &provider, at + Duration::minutes(9)),
            Step::Nothing
        );
        let elsewhere = ResponseState {
            responder: None,
            ..fresh
        };
        assert_eq!(step(&elsewhere, &customer, at), Step::Nothing);
    }

    #[test]
    fn a_booking_or_application_thread_names_its_provider() {
        let booking = BookingId::new();
        let subject = |kind, id: String| Subject { kind, id };
        assert_eq!(
            responder(Some(&subject(SubjectType::Booking, booking.to_string()))),
            Responder::OfBooking(booking)
        );
        let provider = UserId::new();
        let job = crate::domain::JobId::new();
        assert_eq!(
            responder(Some(&subject(
                SubjectType::Job,
                format!("{job}-{provider}")
            ))),
            Responder::Known(provider)
        );
        assert_eq!(
            responder(Some(&subject(SubjectType::Lead, "x".into()))),
            Responder::Nobody
        );
        assert_eq!(responder(None), Responder::Nobody);
    }
}
