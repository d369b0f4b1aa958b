//! The two provider roles and their implementations.
//!
//! - [`PromptSynthesizer`]: template + idea + answers → the final prompt, a summary and alt text.
//! - [`ImageGenerator`]: prompt + aspect ratio + size (+ a seed for the offline renderer) → image
//!   bytes; [`ImageGenerator::capabilities`] says which sizes and ratios it makes.
//!
//! Both are async and cancel by being dropped (the server runs each job under a cancellation token
//! and drops the future). Failures are a [`ProviderError`], which the API maps to a stable code.
//! [`local`] holds the offline stand-ins; [`openai`], [`gemini`] and [`task`] the live adapters,
//! [`models`] what each image model can make, [`retry`] their one retry layer, [`fallback`] the
//! synthesis fallback, and [`lookup`] the start-up lookup of the configured models.

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
pub mod lookup;
pub mod models;
pub mod openai;
pub mod retry;
pub mod task;

/// What a prompt writer needs: the template, the idea and the three resolved answers, and the
/// notes of the reference images the image model will receive before the prompt (in order; an
/// empty note when none was given), so the prompt can name them ("the bottle from the first
/// image").
#[derive(Debug, Clone, Copy)]
pub struct SynthesisRequest<'a> {
    pub template: &'a Template,
    pub idea: &'a str,
    pub answers: &'a [Answer],
    pub reference_notes: &'a [String],
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
    /// Reference images, sent before the prompt in this order. Only to a generator whose
    /// [`ImageGenerator::takes_input_images`] is true.
    pub references: &'a [InputImage],
    /// For an edit in words: the image to change; `prompt` is then the instruction.
    pub edit: Option<EditSource<'a>>,
}

/// An image sent to the image model with the text: a reference, or the image an edit changes.
#[derive(Clone)]
pub struct InputImage {
    pub bytes: Bytes,
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub mime_type: String,
    /// What it is for ("our product"); empty when none was given. The offline renderer labels
    /// its inset with it.
    pub note: String,
}

impl std::fmt::Debug for InputImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputImage")
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The image an edit changes, and the thought signature the model returned with it (sent back
/// as Google's thought-signature guide asks, so the model keeps its context).
#[derive(Debug, Clone, Copy)]
pub struct EditSource<'a> {
    pub image: &'a InputImage,
    pub thought_signature: Option<&'a str>,
}

impl<'a> ImageRequest<'a> {
    /// A 1K request with seed 0.
    pub fn new(prompt: &'a str, aspect_ratio: AspectRatio) -> ImageRequest<'a> {
        ImageRequest {
            prompt,
            aspect_ratio,
            image_size: ImageSize::OneK,
            seed: 0,
            references: &[],
            edit: None,
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
    /// The `thoughtSignature` Gemini attached to the image part, if any: kept with the image and
    /// sent back when it is edited. Opaque; never shown to anyone.
    pub thought_signature: Option<String>,
}

/// Longest thought signature kept (base64 characters). A longer one is dropped: an edit then
/// goes as a single turn, which needs none.
pub const MAX_THOUGHT_SIGNATURE_CHARS: usize = 256 * 1024;

/// Which of the two roles a model serves, so a failure can name the setting that picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRole {
    /// The prompt writer ([`PromptSynthesizer`]).
    PromptWriter,
    /// The image generator ([`ImageGenerator`]).
    Images,
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
    /// True when it accepts images with the text (references, edits). The server refuses
    /// those requests up front for a generator that takes none.
    fn takes_input_images(&self) -> bool {
        true
    }
    /// Most bytes of input images (references, an edited image) one request may carry, where the
    /// API limits its request size; the server refuses more before any provider call.
    fn max_input_image_bytes(&self) -> Option<u64> {
        None
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
    /// The provider says the configured model does not exist, or this key cannot see it (OpenAI
    /// 404 `model_not_found`, Gemini 404 `NOT_FOUND`). Another try cannot help: an operator must
    /// configure another model for `role`.
    #[error("the provider has no model {model:?}")]
    ModelUnavailable { role: ModelRole, model: String },
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
        ProviderError::ModelUnavailable { .. } => codes::PROVIDER_MODEL_UNAVAILABLE,
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
