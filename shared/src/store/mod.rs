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
