//! [`WithFallback`]: a prompt writer that falls back to another (the local composer) when the
//! primary fails for good. `SYNTHESIS_FALLBACK=local` (the default) uses it; `off` does not.
//!
//! Never falls back to the raw idea. A refusal is not overridden: the model declined the brief on
//! content grounds, and the person is told to rephrase (`synthesis_refused`). Every other failure
//! (incomplete, failed, malformed, rate limit, quota, auth, unavailable, timeout) falls back,
//! with a WARN event named `synthesis_fallback` and a counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::{PromptSynthesizer, ProviderError, ProviderInfo, Synthesis, SynthesisRequest};

/// The stable name of the log event (the `event` field) for a fallback.
pub const FALLBACK_EVENT: &str = "synthesis_fallback";

pub struct WithFallback {
    primary: Arc<dyn PromptSynthesizer>,
    fallback: Arc<dyn PromptSynthesizer>,
    count: AtomicU64,
}

impl WithFallback {
    pub fn new(primary: Arc<dyn PromptSynthesizer>, fallback: Arc<dyn PromptSynthesizer>) -> Self {
        WithFallback {
            primary,
            fallback,
            count: AtomicU64::new(0),
        }
    }

    /// Fallbacks taken since start (also exported as `refinery_synthesis_fallbacks_total`).
    pub fn fallbacks(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl PromptSynthesizer for WithFallback {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: format!(
                "{}, falling back to {}",
                self.primary.info().label,
                self.fallback.info().label
            ),
            offline: false,
        }
    }

    async fn synthesize(&self, request: SynthesisRequest<'_>) -> Result<Synthesis, ProviderError> {
        match self.primary.synthesize(request).await {
            Ok(synthesis) => Ok(synthesis),
            Err(ProviderError::Refused) => Err(ProviderError::Refused),
            Err(error) => {
                let total = self.count.fetch_add(1, Ordering::Relaxed) + 1;
                metrics::counter!("refinery_synthesis_fallbacks_total").increment(1);
                tracing::warn!(
                    event = FALLBACK_EVENT,
                    code = crate::error_code(&error),
                    fallbacks_total = total,
                    "prompt writer failed; using the fallback composer"
                );
                self.fallback.synthesize(request).await
            }
        }
    }
}
