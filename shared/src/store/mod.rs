//! Storage shared by every feature: one page of a list, the rate limiter, and
//! [`dynamo::DynamoStore`], the single-table client whose helpers every feature's `dynamo`
//! module uses to implement that feature's storage ports (declared in its own `store` module,
//! one narrow trait per aggregate, so services state exactly what they read and write).

pub mod dynamo;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::cursor::Position;
use crate::error::Result;

/// One page of a list and where the next one starts.
#[derive(Debug)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where to resume; `None` on the last page.
    pub next: Option<Position>,
}

/// Whether a rate-limited action may go ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit.
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
}

/// A fixed-window limit: at most `limit` hits of `subject` in `scope` per `window_secs`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit<'a> {
    /// What is limited (`chat-send`, `purchase`, …).
    pub scope: &'a str,
    /// Whose hits count (a user, a user and an offer).
    pub subject: &'a str,
    /// Hits allowed per window.
    pub limit: u32,
    /// The window's length in seconds.
    pub window_secs: i64,
}

impl RateLimit<'_> {
    /// When the window around `now` starts and ends (Unix seconds).
    pub fn window(&self, now: DateTime<Utc>) -> (i64, i64) {
        let start = now.timestamp() - now.timestamp().rem_euclid(self.window_secs);
        (start, start + self.window_secs)
    }

    /// Seconds until the window around `now` ends (at least 1).
    pub fn retry_after(&self, now: DateTime<Utc>) -> u64 {
        (self.window(now).1 - now.timestamp()).max(1) as u64
    }
}

/// Fixed-window counters.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit of `subject` in `scope`, allowing at most `limit` per window.
    async fn hit(
        &self,
        scope: &str,
        subject: &str,
        limit: u32,
        window_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision>;
}
