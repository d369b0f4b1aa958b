//! The two provider roles and their implementations.
//!
//! - [`PromptSynthesizer`]: template + idea + answers → the final prompt, a summary and alt text.
//! - [`ImageGenerator`]: prompt + aspect ratio + size (+ a seed for the offline renderer) → image
//!   bytes; [`ImageGenerator::capabilities`] says which sizes and ratios it makes.
//!
//! Both are async and cancel by being dropped (the server runs each job under a cancellation token
//! and drops the future). Failures are a [`ProviderError`], which the API maps to a stable code.
//! [`local`] holds the offline stand-ins; [`openai`], [`gemini`] and [`task`] the live adapters,
//! [`models`] what each image model can make, [`retry`] their one retry layer, and [`fallback`]
//! the synthesis fallback.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use contracts::{AspectRatio, ImageSize};
use domain::{Answer, Template};

pub mod fallback;
pub mod faults;
pub mod gemini;
pub mod image_bytes;
pub mod local;
pub mod models;
pub mod openai;
pub mod retry;
pub mod task;

/// What a prompt writer needs: the template, the idea and the three resolved answers.
#[derive(Debug, Clone, Copy)]
pub struct SynthesisRequest<'a> {
    pub template: &'a Template,
    pub idea: &'a str,
    pub answers: &'a [Answer],
}

/// The written prompt and the lines a person may see. Same shape as `domain::Composition`.
pub type Synthesis = domain::Composition;

/// What an image generator needs.
#[derive(Debug, Clone, Copy)]
pub struct ImageRequest<'a> {
    pub prompt: &'a str,
    pub aspect_ratio: AspectRatio,
    /// Checked against [`ImageGenerator::capabilities`] before the call.
    pub image_size: ImageSize,
    /// Varies the picture where the provider takes no seed of its own (the offline renderer):
    /// each image of a job, and each job, gets a different one.
    pub seed: u64,
}

impl<'a> ImageRequest<'a> {
    /// A 1K request with seed 0.
    pub fn new(prompt: &'a str, aspect_ratio: AspectRatio) -> ImageRequest<'a> {
        ImageRequest {
            prompt,
            aspect_ratio,
            image_size: ImageSize::OneK,
            seed: 0,
        }
    }
}

/// A generated image, already downloaded.
#[derive(Debug, Clone)]
pub struct GeneratedImage {
    pub bytes: Bytes,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
}

/// Names a provider for the start-up log and `GET /api/meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// A person-readable label, e.g. "Local preview renderer (offline)".
    pub label: String,
    /// True for the offline stand-ins.
    pub offline: bool,
}

/// Writes the final image prompt.
#[async_trait]
pub trait PromptSynthesizer: Send + Sync {
    fn info(&self) -> ProviderInfo;
    async fn synthesize(&self, request: SynthesisRequest<'_>) -> Result<Synthesis, ProviderError>;
}

/// Renders an image from a prompt.
#[async_trait]
pub trait ImageGenerator: Send + Sync {
    fn info(&self) -> ProviderInfo;
    /// The sizes and ratios it can make; by default the set every image model takes.
    fn capabilities(&self) -> models::Capabilities {
        models::Capabilities::CONSERVATIVE
    }
    async fn generate(&self, request: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError>;
}

/// Why a provider call failed for good (after any retries the adapter makes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The prompt writer refused the request (a refusal part, or a content filter).
    #[error("the prompt writer refused the request")]
    Refused,
    /// The prompt writer stopped early (e.g. `max_output_tokens`).
    #[error("the prompt writer returned an incomplete answer")]
    Incomplete,
    /// The prompt writer reported `status: failed`.
    #[error("the prompt writer failed: {0}")]
    Failed(String),
    /// The image provider blocked the prompt or the image on safety grounds.
    #[error("the image provider blocked the content ({reason})")]
    ContentBlocked { reason: String },
    /// The image provider answered without an image.
    #[error("the image provider returned no image ({reason})")]
    NoImage { reason: String },
    /// Too many requests; `retry_after` when the provider said.
    #[error("the provider is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    /// The account's quota or billing is exhausted.
    #[error("the provider account has no quota left")]
    QuotaExhausted,
    /// The key is missing, wrong or not allowed to use the model.
    #[error("the provider rejected our credentials")]
    Auth,
    /// 5xx or connection failures after retries.
    #[error("the provider is unavailable")]
    Unavailable,
    /// No answer within the deadline.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider answered something we could not use (bad JSON, wrong image bytes, too big).
    #[error("the provider sent a response we could not use: {0}")]
    BadResponse(String),
}

/// The stable code (`contracts::codes`) of each failure, for logs and the API envelope.
pub fn error_code(error: &ProviderError) -> &'static str {
    use contracts::codes;
    match error {
        ProviderError::Refused => codes::SYNTHESIS_REFUSED,
        ProviderError::Incomplete => codes::SYNTHESIS_INCOMPLETE,
        ProviderError::Failed(_) => codes::SYNTHESIS_FAILED,
        ProviderError::ContentBlocked { .. } => codes::CONTENT_BLOCKED,
        ProviderError::NoImage { .. } => codes::NO_IMAGE,
        ProviderError::RateLimited { .. } => codes::RATE_LIMITED,
        ProviderError::QuotaExhausted => codes::PROVIDER_QUOTA,
        ProviderError::Auth => codes::PROVIDER_AUTH,
        ProviderError::Unavailable => codes::PROVIDER_UNAVAILABLE,
        ProviderError::Timeout => codes::PROVIDER_TIMEOUT,
        ProviderError::BadResponse(_) => codes::PROVIDER_BAD_RESPONSE,
    }
}

/// Reads a response body, failing with `BadResponse` past `cap` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, ProviderError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return Err(ProviderError::BadResponse(format!(
                        "the response is larger than {cap} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(e) if e.is_timeout() => return Err(ProviderError::Timeout),
            Err(_) => return Err(ProviderError::Unavailable),
        }
    }
}

/// What kind of JSON problem `error` is and where, without serde's own text: that text quotes
/// the input (`invalid type: string "..."`, ``unknown field `...` ``), and the input is a model's
/// output or a provider's body, which must not reach a log line or an error message.
pub(crate) fn json_problem(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match error.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "JSON cut off",
        Category::Data => "JSON of the wrong shape",
        Category::Io => "unreadable JSON",
    };
    format!("{kind} (line {}, column {})", error.line(), error.column())
}

/// A provider-supplied identifier (a reason code, a request id) fit for a log line: kept when it
/// is a short token, otherwise `"other"`, so a provider cannot write free text into our logs.
pub(crate) fn log_token(text: &str) -> &str {
    let is_token = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if is_token { text } else { "other" }
}
