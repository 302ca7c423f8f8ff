//! A secret read from SSM in the background from cold start, awaited where it is first needed.
//!
//! Why: a function that read its secrets before its first poll for an event paid the SSM round
//! trip in its cold start (measured: 1.5–3.3 ms above the median function's init, locally,
//! without the TLS handshake AWS adds). Started at init and awaited at first use, the read
//! overlaps with the wait for the first event, and a function that never needs the secret on
//! a request (a booking start, a delivery, a read) never waits for it. A read that failed is
//! tried again at the next use rather than remembered, so one SSM hiccup at cold start does
//! not break the instance for its lifetime.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use tracing::warn;

type Fetch<T> = Box<dyn Fn() -> BoxFuture<'static, anyhow::Result<T>> + Send + Sync>;

/// How long a request waits for a read: the cold-start read may have been frozen mid-flight
/// with the environment (Lambda freezes it between invocations), and a fresh read takes one
/// round trip.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How often the background read gives way before it starts: enough for the runtime's first
/// request for an event (connect, write) to go first on a single-threaded runtime.
const YIELDS: usize = 4;

/// A value being fetched (see the module). Clones share the value.
pub struct Prefetch<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    value: OnceCell<T>,
    /// The read started at cold start, until someone awaits it.
    first: Mutex<Option<JoinHandle<anyhow::Result<T>>>>,
    /// How to read it again when the first read failed.
    fetch: Fetch<T>,
}

impl<T> Clone for Prefetch<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Send + Sync + 'static> Prefetch<T> {
    /// Starts `fetch` now, in the background (needs the Tokio runtime).
    pub fn start<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        let fetch: Fetch<T> = Box::new(move || Box::pin(fetch()));
        let read = fetch();
        let first = tokio::spawn(async move {
            // Let the function's first poll for an event go out before this read's own work
            // (building and signing the request) takes the thread.
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
            }
            read.await
        });
        Self {
            inner: Arc::new(Inner {
                value: OnceCell::new(),
                first: Mutex::new(Some(first)),
                fetch,
            }),
        }
    }

    /// The value: the background read's result, or a new read if that one failed.
    pub async fn get(&self) -> anyhow::Result<&T> {
        self.inner
            .value
            .get_or_try_init(|| async {
                let first = self
                    .inner
                    .first
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                if let Some(mut first) = first {
                    match tokio::time::timeout(READ_TIMEOUT, &mut first).await {
                        Ok(Ok(Ok(value))) => return Ok(value),
                        Ok(Ok(Err(e))) => warn!(error = %e, "the read at cold start failed; again"),
                        Ok(Err(e)) => warn!(error = %e, "the read at cold start died; again"),
                        Err(_) => {
                            // Stalled (a connection frozen with the environment): read anew.
                            first.abort();
                            warn!("the read at cold start stalled; again");
                        }
                    }
                }
                tokio::time::timeout(READ_TIMEOUT, (self.inner.fetch)())
                    .await
                    .map_err(|_| anyhow::anyhow!("the read timed out"))?
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn reads_once_and_shares_the_value() {
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reads);
        let secret = Prefetch::start(move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok("sk_test_1".to_owned())
            }
        });
        let clone = secret.clone();
        assert_eq!(secret.get().await.unwrap(), "sk_test_1");
        assert_eq!(clone.get().await.unwrap(), "sk_test_1");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_read_is_tried_again_not_remembered() {
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reads);
        let secret = Prefetch::start(move || {
            let attempt = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match attempt {
                    0 | 1 => anyhow::bail!("SSM unreachable"),
                    _ => Ok(7_u32),
                }
            }
        });
        // The cold-start read and the first retry fail; the caller sees the error.
        assert!(secret.get().await.is_err());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        // The next use reads again and keeps the value.
        assert_eq!(*secret.get().await.unwrap(), 7);
        assert_eq!(*secret.get().await.unwrap(), 7);
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
