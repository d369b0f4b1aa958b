//! The one retry layer of the live adapters: capped exponential backoff with jitter, honouring a
//! provider's `Retry-After`, bounded by a retry count and an overall deadline. Each adapter decides
//! per attempt whether an outcome is worth another try; this module decides when, and when to stop.
//! [`in_rounds`] repeats a whole retried call once more when its answer asks for it (a malformed
//! prompt, an image-less answer), all under one deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::ProviderError;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the bound is 2).
    pub max_retries: u32,
    /// The first backoff; doubled per retry.
    pub base_delay: Duration,
    /// No computed backoff exceeds this.
    pub max_delay: Duration,
    /// All attempts and waits together end by this; past it the call fails with `Timeout`.
    pub deadline: Duration,
}

impl RetryPolicy {
    /// Two retries, 500 ms doubling to at most 8 s, within `deadline`.
    pub fn standard(deadline: Duration) -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            deadline,
        }
    }

    /// The wait before retry number `retry` (0-based). A provider's `Retry-After` wins over the
    /// computed backoff (it is what the provider asked for); otherwise `base × 2^retry`, capped,
    /// with "equal jitter": a random point in the upper half, so parallel clients spread out.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after;
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = half.as_millis() as u64;
        let extra = if jitter_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::random_range(0..=jitter_ms))
        };
        half + extra
    }
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Success: stop.
    Done(T),
    /// A transient failure: try again if the policy allows, after `retry_after` when given.
    Retry {
        error: ProviderError,
        retry_after: Option<Duration>,
    },
    /// A failure another try would not fix: stop.
    Fail(ProviderError),
}

/// Runs `attempt(n)` for n = 0, 1, … until it is done, fails for good, runs out of retries, or
/// the deadline passes (`Timeout`). A wait that would end past the deadline is not started: the
/// last transient error is returned at once instead.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
) -> Result<T, ProviderError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let deadline = Instant::now() + policy.deadline;
    let mut n = 0;
    loop {
        let outcome = match tokio::time::timeout_at(deadline, attempt(n)).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(ProviderError::Timeout),
        };
        match outcome {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { error, retry_after } => {
                if n >= policy.max_retries {
                    return Err(error);
                }
                let wait = policy.delay(n, retry_after);
                // Compared with the time left, never added to an instant: a provider's wait may
                // be as long as a `Duration` holds, and `Instant + Duration` panics on overflow.
                if wait >= deadline.saturating_duration_since(Instant::now()) {
                    return Err(error);
                }
                tracing::debug!(
                    retry = n + 1,
                    wait_ms = wait.as_millis() as u64,
                    "provider retry"
                );
                tokio::time::sleep(wait).await;
                n += 1;
            }
        }
    }
}

/// What one round of [`in_rounds`] came to.
#[derive(Debug)]
pub enum Round<T> {
    /// Stop with this result.
    Finished(Result<T, ProviderError>),
    /// Worth another round (the caller changes something, e.g. a stricter reminder); this error
    /// stands if no round is left.
    Again(ProviderError),
}

/// Runs up to `rounds` rounds under one overall deadline (`policy.deadline`): each round gets the
/// policy with the time that is left, runs its own [`with_retries`] and says whether to go on.
/// Past the deadline before a round starts: `Timeout`.
pub async fn in_rounds<T, F, Fut>(
    policy: &RetryPolicy,
    rounds: u32,
    mut round: F,
) -> Result<T, ProviderError>
where
    F: FnMut(u32, RetryPolicy) -> Fut,
    Fut: Future<Output = Round<T>>,
{
    let deadline = Instant::now() + policy.deadline;
    let mut last = ProviderError::Timeout;
    for n in 0..rounds {
        let left = RetryPolicy {
            deadline: deadline.saturating_duration_since(Instant::now()),
            ..*policy
        };
        if left.deadline.is_zero() {
            return Err(ProviderError::Timeout);
        }
        match round(n, left).await {
            Round::Finished(result) => return result,
            Round::Again(error) => last = error,
        }
    }
    Err(last)
}

/// The longest wait a provider can ask for that we keep as asked: anything longer is read as this
/// (no deadline comes near it, so the call ends at once either way, and the person is told a
/// day rather than a number of seconds that overflows a clock).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Reads a provider's "wait this long" in seconds, whole or fractional (`"55"`, `"1.5"`).
/// Negative, not-a-number, infinite or unreadable values are `None` (no hint: the computed
/// backoff applies); huge ones are [`MAX_RETRY_AFTER`]. Never panics, whatever the provider sent.
pub fn parse_wait_secs(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    if !secs.is_finite() || secs.is_sign_negative() {
        return None;
    }
    Duration::try_from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())).ok()
}

/// Parses a `Retry-After` header in seconds (HTTP dates are not used by these providers, and
/// read as no hint).
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_wait_secs(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            deadline: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = policy();
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200));
            let d9 = p.delay(9, None);
            assert!(d9 >= Duration::from_millis(150) && d9 <= Duration::from_millis(300));
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_two_retries() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&policy(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Attempt::Retry {
                    error: ProviderError::Unavailable,
                    retry_after: None,
                }
            }
        })
        .await;
        assert_eq!(result, Err(ProviderError::Unavailable));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_the_deadline_bounds_it() {
        let start = Instant::now();
        let result = with_retries(&policy(), |n| async move {
            if n == 0 {
                Attempt::Retry {
                    error: ProviderError::RateLimited { retry_after: None },
                    retry_after: Some(Duration::from_secs(2)),
                }
            } else {
                Attempt::Done(n)
            }
        })
        .await;
        assert_eq!(result, Ok(1));
        assert!(start.elapsed() >= Duration::from_secs(2));

        // A Retry-After beyond the deadline is not waited for.
        let start = Instant::now();
        let result: Result<(), _> = with_retries(&policy(), |_| async {
            Attempt::Retry {
                error: ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(60)),
                },
                retry_after: Some(Duration::from_secs(60)),
            }
        })
        .await;
        assert!(matches!(result, Err(ProviderError::RateLimited { .. })));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn provider_waits_are_read_without_panicking() {
        for (text, expected) in [
            ("55", Some(Duration::from_secs(55))),
            (" 1.5 ", Some(Duration::from_millis(1500))),
            ("0", Some(Duration::ZERO)),
            ("1e20", Some(MAX_RETRY_AFTER)),
            ("18446744073709551616", Some(MAX_RETRY_AFTER)),
            ("1e400", None),
            ("-1", None),
            ("-0", None),
            ("NaN", None),
            ("inf", None),
            ("1.5.3", None),
            ("soon", None),
            ("", None),
        ] {
            assert_eq!(parse_wait_secs(text), expected, "{text:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_as_long_as_a_duration_holds_ends_the_call_at_once() {
        let start = Instant::now();
        let result: Result<(), _> = with_retries(&policy(), |_| async {
            Attempt::Retry {
                error: ProviderError::RateLimited { retry_after: None },
                retry_after: Some(Duration::MAX),
            }
        })
        .await;
        assert!(matches!(result, Err(ProviderError::RateLimited { .. })));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_a_hanging_attempt() {
        let result: Result<(), _> = with_retries(&policy(), |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Attempt::Fail(ProviderError::Unavailable)
        })
        .await;
        assert_eq!(result, Err(ProviderError::Timeout));
    }
}
