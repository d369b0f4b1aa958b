//! The fault-script vocabulary, one for the offline stand-ins (`OFFLINE_SYNTHESIS_FAULTS`,
//! `OFFLINE_IMAGE_FAULTS`) and provider-sim (`--openai-faults`, `--gemini-faults`,
//! `--task-faults`). docs/providers.md ("Fault scripts") documents each word.
//!
//! A script is comma-separated words, one consumed per provider call, then `ok` for ever; empty
//! means always `ok`. Each word names one [`Fault`] and the error code it ends in
//! ([`Fault::code`]): an offline stand-in fails with that code at once; provider-sim sends what the
//! real API sends in that case, and the live adapter turns it into the same code (after the retries
//! it makes, so `429,ok` ends well).

use crate::codes;

/// One scripted outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The normal answer.
    Ok,
    /// Too many requests, with a short `Retry-After`.
    RateLimited,
    /// The account is out of credit.
    Quota,
    /// The key is rejected.
    Auth,
    /// The configured model does not exist (OpenAI 404 `model_not_found`, Gemini 404 `NOT_FOUND`).
    ModelMissing,
    /// An HTTP 500.
    Status500,
    /// An HTTP 503.
    Status503,
    /// No answer in time.
    Timeout,
    /// An answer that cannot be read.
    Malformed,
    /// The prompt writer refuses.
    Refusal,
    /// The prompt writer stops early.
    Incomplete,
    /// The prompt writer reports a failure.
    Failed,
    /// The image is blocked on safety grounds.
    ImageSafety,
    /// The prompt is blocked before any image is made.
    PromptBlocked,
    /// An answer with text but no image.
    TextOnly,
    /// An image task that ends failed.
    TaskFail,
    /// An image task whose result URL answers 404.
    ResultMissing,
    /// An image larger than any cap.
    Oversized,
}

/// Every fault: its words (the first is its name) and the code it ends in (`None`: success).
const VOCABULARY: [(Fault, &[&str], Option<&str>); 18] = [
    (Fault::Ok, &["ok"], None),
    (
        Fault::RateLimited,
        &[codes::RATE_LIMITED, "429"],
        Some(codes::RATE_LIMITED),
    ),
    (
        Fault::Quota,
        &[codes::PROVIDER_QUOTA, "quota", "insufficient_quota"],
        Some(codes::PROVIDER_QUOTA),
    ),
    (
        Fault::Auth,
        &[codes::PROVIDER_AUTH, "auth", "401"],
        Some(codes::PROVIDER_AUTH),
    ),
    (
        Fault::ModelMissing,
        &[codes::PROVIDER_MODEL_UNAVAILABLE, "model_not_found"],
        Some(codes::PROVIDER_MODEL_UNAVAILABLE),
    ),
    (
        Fault::Status500,
        &["500"],
        Some(codes::PROVIDER_UNAVAILABLE),
    ),
    (
        Fault::Status503,
        &[codes::PROVIDER_UNAVAILABLE, "503"],
        Some(codes::PROVIDER_UNAVAILABLE),
    ),
    (
        Fault::Timeout,
        &[codes::PROVIDER_TIMEOUT, "timeout"],
        Some(codes::PROVIDER_TIMEOUT),
    ),
    (
        Fault::Malformed,
        &[codes::PROVIDER_BAD_RESPONSE, "malformed"],
        Some(codes::PROVIDER_BAD_RESPONSE),
    ),
    (
        Fault::Refusal,
        &[codes::SYNTHESIS_REFUSED, "refusal"],
        Some(codes::SYNTHESIS_REFUSED),
    ),
    (
        Fault::Incomplete,
        &[codes::SYNTHESIS_INCOMPLETE, "incomplete"],
        Some(codes::SYNTHESIS_INCOMPLETE),
    ),
    (
        Fault::Failed,
        &[codes::SYNTHESIS_FAILED, "failed"],
        Some(codes::SYNTHESIS_FAILED),
    ),
    (
        Fault::ImageSafety,
        &[codes::CONTENT_BLOCKED, "image_safety"],
        Some(codes::CONTENT_BLOCKED),
    ),
    (
        Fault::PromptBlocked,
        &["prompt_blocked"],
        Some(codes::CONTENT_BLOCKED),
    ),
    (
        Fault::TextOnly,
        &[codes::NO_IMAGE, "text_only"],
        Some(codes::NO_IMAGE),
    ),
    (Fault::TaskFail, &["task_fail"], Some(codes::NO_IMAGE)),
    (
        Fault::ResultMissing,
        &["result_missing", "404"],
        Some(codes::PROVIDER_BAD_RESPONSE),
    ),
    (
        Fault::Oversized,
        &["oversized"],
        Some(codes::PROVIDER_BAD_RESPONSE),
    ),
];

impl Fault {
    /// Reads one word (case-insensitive); an unknown word is refused with the word named.
    pub fn parse(word: &str) -> Result<Fault, String> {
        let word = word.trim().to_ascii_lowercase();
        VOCABULARY
            .iter()
            .find(|(_, words, _)| words.contains(&word.as_str()))
            .map(|(fault, _, _)| *fault)
            .ok_or_else(|| format!("unknown fault {word:?}"))
    }

    /// The error code a person ends up with; `None` for [`Fault::Ok`].
    pub fn code(self) -> Option<&'static str> {
        self.entry().2
    }

    /// The fault's name, the first of its words.
    pub fn name(self) -> &'static str {
        self.entry().1[0]
    }

    fn entry(self) -> &'static (Fault, &'static [&'static str], Option<&'static str>) {
        VOCABULARY
            .iter()
            .find(|(fault, _, _)| *fault == self)
            .unwrap_or(&VOCABULARY[0])
    }
}

/// Reads a whole script, e.g. `429,ok` or `provider_unavailable, ok`. Empty means always `ok`.
pub fn parse_script(script: &str) -> Result<Vec<Fault>, String> {
    script
        .split(',')
        .filter(|word| !word.trim().is_empty())
        .map(Fault::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_one_entry_and_its_words_are_unique() {
        let mut words: Vec<&str> = VOCABULARY
            .iter()
            .flat_map(|(_, w, _)| w.iter().copied())
            .collect();
        for (i, (fault, _, _)) in VOCABULARY.iter().enumerate() {
            assert_eq!(
                VOCABULARY.iter().position(|(f, _, _)| f == fault),
                Some(i),
                "{fault:?} is listed twice"
            );
            assert_eq!(Fault::parse(fault.name()), Ok(*fault));
        }
        let count = words.len();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), count, "a word names two faults");
    }

    #[test]
    fn codes_and_wire_words_name_the_same_fault() {
        assert_eq!(
            parse_script("429, ok,500,TIMEOUT"),
            Ok(vec![
                Fault::RateLimited,
                Fault::Ok,
                Fault::Status500,
                Fault::Timeout
            ])
        );
        assert_eq!(Fault::parse("rate_limited"), Fault::parse("429"));
        assert_eq!(Fault::parse("provider_unavailable"), Ok(Fault::Status503));
        assert_eq!(Fault::Status500.code(), Some(codes::PROVIDER_UNAVAILABLE));
        assert_eq!(Fault::Ok.code(), None);
        assert_eq!(parse_script(""), Ok(vec![]));
        assert!(
            parse_script("ok,explode")
                .expect_err("unknown")
                .contains("explode")
        );
    }
}
