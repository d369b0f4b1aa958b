//! A fault script for the offline providers: a comma-separated list of outcomes consumed one per
//! call (`ok`, or an error code such as `provider_unavailable`), then `ok` for ever. It lets tests,
//! the browser suite and demos show every failure path with no network. Empty means always `ok`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use contracts::codes;

use crate::ProviderError;

/// Outcomes still to be played, front first.
#[derive(Debug, Default)]
pub struct FaultScript {
    steps: Mutex<VecDeque<Option<ProviderError>>>,
}

impl FaultScript {
    /// Parses `ok,provider_unavailable,ok`. Unknown words are refused with the word named.
    pub fn parse(script: &str) -> Result<FaultScript, String> {
        let steps = script
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|step| match step {
                "ok" => Ok(None),
                codes::SYNTHESIS_REFUSED => Ok(Some(ProviderError::Refused)),
                codes::SYNTHESIS_INCOMPLETE => Ok(Some(ProviderError::Incomplete)),
                codes::SYNTHESIS_FAILED => Ok(Some(ProviderError::Failed("scripted".into()))),
                codes::CONTENT_BLOCKED => Ok(Some(ProviderError::ContentBlocked {
                    reason: "IMAGE_SAFETY".into(),
                })),
                codes::NO_IMAGE => Ok(Some(ProviderError::NoImage {
                    reason: "NO_IMAGE".into(),
                })),
                codes::RATE_LIMITED => Ok(Some(ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(20)),
                })),
                codes::PROVIDER_QUOTA => Ok(Some(ProviderError::QuotaExhausted)),
                codes::PROVIDER_AUTH => Ok(Some(ProviderError::Auth)),
                codes::PROVIDER_UNAVAILABLE => Ok(Some(ProviderError::Unavailable)),
                codes::PROVIDER_TIMEOUT => Ok(Some(ProviderError::Timeout)),
                codes::PROVIDER_BAD_RESPONSE => {
                    Ok(Some(ProviderError::BadResponse("scripted".into())))
                }
                other => Err(format!("unknown fault {other:?}")),
            })
            .collect::<Result<VecDeque<_>, _>>()?;
        Ok(FaultScript {
            steps: Mutex::new(steps),
        })
    }

    /// The next scripted outcome: `Err` to fail this call, `Ok` to go ahead.
    pub fn next(&self) -> Result<(), ProviderError> {
        let mut steps = self
            .steps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match steps.pop_front().flatten() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_play_in_order_then_succeed() {
        let script =
            FaultScript::parse("provider_unavailable, ok ,content_blocked").expect("valid");
        assert_eq!(script.next(), Err(ProviderError::Unavailable));
        assert_eq!(script.next(), Ok(()));
        assert!(matches!(
            script.next(),
            Err(ProviderError::ContentBlocked { .. })
        ));
        assert_eq!(script.next(), Ok(()));
        assert_eq!(script.next(), Ok(()));
    }

    #[test]
    fn unknown_steps_are_named() {
        let err = FaultScript::parse("ok,explode").expect_err("unknown");
        assert!(err.contains("explode"));
        assert!(FaultScript::parse("").expect("empty").next().is_ok());
    }
}
