//! A fault script for the offline providers: the words of [`contracts::faults`] (docs/providers.md
//! lists them), consumed one per call, then `ok` for ever. It lets tests, the browser suite and
//! demos show every failure path with no network. Empty means always `ok`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use contracts::faults::{Fault, parse_script};

use crate::{ModelRole, ProviderError};

/// Outcomes still to be played, front first.
#[derive(Debug, Default)]
pub struct FaultScript {
    steps: Mutex<VecDeque<Fault>>,
}

impl FaultScript {
    /// Parses `ok,provider_unavailable,ok`. Unknown words are refused with the word named.
    pub fn parse(script: &str) -> Result<FaultScript, String> {
        Ok(FaultScript {
            steps: Mutex::new(parse_script(script)?.into()),
        })
    }

    /// The next scripted outcome for a stand-in in `role`: `Err` to fail this call, `Ok` to go
    /// ahead.
    pub fn next(&self, role: ModelRole) -> Result<(), ProviderError> {
        let mut steps = self
            .steps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match steps
            .pop_front()
            .and_then(|fault| scripted_error(fault, role))
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The error an offline stand-in fails with: the one a live adapter reports for the same fault.
fn scripted_error(fault: Fault, role: ModelRole) -> Option<ProviderError> {
    Some(match fault {
        Fault::Ok => return None,
        Fault::ModelMissing => ProviderError::ModelUnavailable {
            role,
            model: "scripted".into(),
        },
        Fault::RateLimited => ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(20)),
        },
        Fault::Quota => ProviderError::QuotaExhausted,
        Fault::Auth => ProviderError::Auth,
        Fault::Status500 | Fault::Status503 => ProviderError::Unavailable,
        Fault::Timeout => ProviderError::Timeout,
        Fault::Malformed | Fault::ResultMissing | Fault::Oversized => {
            ProviderError::BadResponse("scripted".into())
        }
        Fault::Refusal => ProviderError::Refused,
        Fault::Incomplete => ProviderError::Incomplete,
        Fault::Failed => ProviderError::Failed("scripted".into()),
        Fault::ImageSafety => ProviderError::ContentBlocked {
            reason: "IMAGE_SAFETY".into(),
        },
        Fault::PromptBlocked => ProviderError::ContentBlocked {
            reason: "PROHIBITED_CONTENT".into(),
        },
        Fault::TextOnly | Fault::TaskFail => ProviderError::NoImage {
            reason: "NO_IMAGE".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_play_in_order_then_succeed() {
        let script =
            FaultScript::parse("provider_unavailable, ok ,content_blocked").expect("valid");
        assert_eq!(
            script.next(ModelRole::Images),
            Err(ProviderError::Unavailable)
        );
        assert_eq!(script.next(ModelRole::Images), Ok(()));
        assert!(matches!(
            script.next(ModelRole::Images),
            Err(ProviderError::ContentBlocked { .. })
        ));
        assert_eq!(script.next(ModelRole::Images), Ok(()));
        assert_eq!(script.next(ModelRole::Images), Ok(()));
    }

    #[test]
    fn each_word_fails_with_the_code_the_vocabulary_gives_it() {
        for word in [
            "ok",
            "429",
            "quota",
            "auth",
            "500",
            "provider_unavailable",
            "timeout",
            "malformed",
            "refusal",
            "incomplete",
            "failed",
            "image_safety",
            "prompt_blocked",
            "text_only",
            "task_fail",
            "404",
            "oversized",
            "model_not_found",
        ] {
            let fault = Fault::parse(word).expect("a word");
            for role in [ModelRole::PromptWriter, ModelRole::Images] {
                let code = scripted_error(fault, role).map(|error| crate::error_code(&error));
                assert_eq!(code, fault.code(), "{word}");
            }
        }
    }

    #[test]
    fn unknown_steps_are_named() {
        let err = FaultScript::parse("ok,explode").expect_err("unknown");
        assert!(err.contains("explode"));
        assert!(
            FaultScript::parse("")
                .expect("empty")
                .next(ModelRole::PromptWriter)
                .is_ok()
        );
    }
}
