//! [`LocalComposer`]: the prompt writer with no network, wrapping `domain::compose` (which names
//! the reference images in prose when there are any).

use std::time::Duration;

use async_trait::async_trait;

use crate::faults::FaultScript;
use crate::{PromptSynthesizer, ProviderError, ProviderInfo, Synthesis, SynthesisRequest};

/// Composes prompts locally. Deterministic for the same input.
#[derive(Debug)]
pub struct LocalComposer {
    cap_chars: usize,
    latency: Duration,
    faults: FaultScript,
}

impl LocalComposer {
    /// `cap_chars` bounds the prompt; `latency` is added to each call (0 in tests).
    pub fn new(cap_chars: usize, latency: Duration, faults: FaultScript) -> LocalComposer {
        LocalComposer {
            cap_chars,
            latency,
            faults,
        }
    }
}

#[async_trait]
impl PromptSynthesizer for LocalComposer {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: "Local prompt composer (offline)".to_owned(),
            offline: true,
        }
    }

    async fn synthesize(&self, request: SynthesisRequest<'_>) -> Result<Synthesis, ProviderError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.faults.next(crate::ModelRole::PromptWriter)?;
        Ok(domain::compose_with_references(
            request.template,
            request.idea,
            request.answers,
            request.reference_notes,
            self.cap_chars,
        ))
    }
}
