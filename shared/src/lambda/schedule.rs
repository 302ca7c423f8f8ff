//! Scheduled (EventBridge) invocations. A failure is returned to the runtime as an error whose
//! type says whether a retry may help, so the schedule's retry policy and alarms see it.

use std::future::Future;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing::{error, info};

use super::BoxError;
use crate::error::{Error, Result};

/// The error reported to the runtime for a failed scheduled run or stream batch.
#[derive(Debug)]
pub struct EventFailure(pub Error);

impl From<EventFailure> for Diagnostic {
    fn from(failure: EventFailure) -> Self {
        let error_type = if failure.0.is_retryable() {
            "Retryable"
        } else {
            "Permanent"
        };
        // The message stays generic; the cause chain went to the log.
        Diagnostic {
            error_type: error_type.into(),
            error_message: failure.0.code().into(),
        }
    }
}

/// The time the schedule fired (falls back to now for hand-made test events).
pub fn fired_at(event: &EventBridgeEvent) -> DateTime<Utc> {
    event.time.unwrap_or_else(Utc::now)
}

/// Runs one scheduled event.
pub async fn handle<F, Fut>(event: EventBridgeEvent, handler: F) -> Result<(), EventFailure>
where
    F: FnOnce(DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    match handler(fired_at(&event)).await {
        Ok(()) => {
            info!("scheduled run finished");
            Ok(())
        }
        Err(err) => {
            error!(error = ?err, "scheduled run failed");
            Err(EventFailure(err))
        }
    }
}

/// Serves a scheduled function until the runtime stops.
pub async fn run<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| async move { handle(event.payload, handler).await }))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> EventBridgeEvent {
        let path = format!(
            "{}/../events/schedule/tick.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_handler_receives_the_time_the_schedule_fired() {
        let result = handle(fixture(), |at| async move {
            assert_eq!(at.to_rfc3339(), "2026-11-22T10:00:00+00:00");
            Ok(())
        })
        .await;
        assert!(result.is_ok());
    }

    #[tokio::test]
    async fn failures_are_reported_as_retryable_or_permanent() {
        let failure = handle(fixture(), |_| async {
            Err(Error::unexpected(anyhow::anyhow!("throttled")))
        })
        .await
        .unwrap_err();
        assert_eq!(Diagnostic::from(failure).error_type, "Retryable");
        let failure = handle(fixture(), |_| async { Err(Error::field("x", "y")) })
            .await
            .unwrap_err();
        assert_eq!(Diagnostic::from(failure).error_type, "Permanent");
    }
}
