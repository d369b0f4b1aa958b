//! [`GeminiImages`]: Nano Banana through the Gemini API,
//! `POST {api_url}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
//!
//! Asks for `responseModalities: ["IMAGE"]` and sends the aspect ratio as `imageConfig.aspectRatio`
//! (never as words in the prompt) and the size as `imageConfig.imageSize` where the model takes
//! it. Reference images go as `inlineData` parts before the prompt text in the one user turn. An
//! edit sends the image back: as the model's own turn with its `thoughtSignature` followed by a
//! user turn with the instruction when the model signed it (Google's thought-signature guide),
//! otherwise as one user turn, image then instruction. Reads the first non-thought `inlineData`
//! part (and its signature), decodes it with a size cap and checks the bytes. A 200 without an
//! image is mapped from `promptFeedback.blockReason` and `finishReason` to `content_blocked` or
//! `no_image` (the latter retried once).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::retry::{Attempt, RetryPolicy, Round, in_rounds, with_retries};
use crate::{GeneratedImage, ImageGenerator, ImageRequest, ProviderError, ProviderInfo};

/// Most bytes of inline images one request carries: Gemini takes requests up to 20 MB, and
/// base64 makes 3 bytes 4 characters (14 MB → 18.7 MB), leaving room for the prompt and the JSON.
pub const MAX_INLINE_IMAGE_BYTES: u64 = 14_000_000;

/// Everything the adapter needs. `Debug` never shows the key.
#[derive(Clone)]
pub struct GeminiConfig {
    pub api_key: SecretString,
    /// The API root, without `/v1beta`.
    pub api_url: String,
    pub model: String,
    /// Retries and the overall deadline (default 120 s → `provider_timeout`).
    pub retry: RetryPolicy,
    /// Largest decoded image accepted. Default 20 MiB.
    pub max_image_bytes: usize,
}

impl std::fmt::Debug for GeminiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiConfig")
            .field("api_url", &self.api_url)
            .field("model", &self.model)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl GeminiConfig {
    pub fn new(api_key: SecretString, api_url: &str, model: &str) -> Self {
        GeminiConfig {
            api_key,
            api_url: api_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            retry: RetryPolicy::standard(Duration::from_secs(120)),
            max_image_bytes: 20 * 1024 * 1024,
        }
    }
}

/// The Gemini image generator.
#[derive(Debug)]
pub struct GeminiImages {
    config: GeminiConfig,
    http: reqwest::Client,
}

impl GeminiImages {
    pub fn new(config: GeminiConfig) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(config.retry.deadline)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ProviderError::BadResponse(format!("HTTP client: {e}")))?;
        Ok(GeminiImages { config, http })
    }

    /// The body sent to `generateContent`. `imageSize` goes only to models that take it
    /// ([`crate::models`]); the older ones answer 400 to the field.
    pub fn request_body(&self, request: &ImageRequest<'_>) -> Value {
        let mut image_config = json!({"aspectRatio": request.aspect_ratio.as_str()});
        if self.capabilities().sends_size {
            image_config["imageSize"] = json!(request.image_size.as_str());
        }
        json!({
            "contents": contents(request),
            "generationConfig": {
                "responseModalities": ["IMAGE"],
                "imageConfig": image_config
            }
        })
    }

    async fn attempt(&self, body: &Value, n: u32, round: u32) -> Attempt<GeneratedImage> {
        let started = Instant::now();
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.config.api_url, self.config.model
        );
        let sent = self
            .http
            .post(url)
            .header("x-goog-api-key", self.config.api_key.expose_secret())
            .json(body)
            .send()
            .await;
        let outcome = match sent {
            Err(e) if e.is_timeout() => Attempt::Fail(ProviderError::Timeout),
            Err(_) => Attempt::Retry {
                error: ProviderError::Unavailable,
                retry_after: None,
            },
            Ok(response) => self.classify(response).await,
        };
        let code = match &outcome {
            Attempt::Done(_) => "ok",
            Attempt::Retry { error, .. } | Attempt::Fail(error) => crate::error_code(error),
        };
        tracing::info!(
            provider = "gemini",
            model = %self.config.model,
            attempt = n + 1,
            round = round + 1,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome = code,
            "provider attempt"
        );
        outcome
    }

    async fn classify(&self, response: reqwest::Response) -> Attempt<GeneratedImage> {
        let status = response.status();
        // A base64 body is 4/3 of the image; allow room for the JSON around it.
        let body_cap = self.config.max_image_bytes / 3 * 4 + 64 * 1024;
        if response
            .content_length()
            .is_some_and(|len| len as usize > body_cap)
        {
            return Attempt::Fail(ProviderError::BadResponse(
                "the response is too large".into(),
            ));
        }
        let text = match crate::read_capped(response, body_cap).await {
            Ok(bytes) => bytes,
            Err(error) => return Attempt::Fail(error),
        };
        if status.is_success() {
            return match serde_json::from_slice::<GenerateContentResponse>(&text) {
                Ok(body) => match extract_image(&body, self.config.max_image_bytes) {
                    Ok(image) => Attempt::Done(image),
                    Err(error) => Attempt::Fail(error),
                },
                Err(e) => Attempt::Fail(ProviderError::BadResponse(format!(
                    "generateContent body did not parse: {}",
                    crate::json_problem(&e)
                ))),
            };
        }
        let error = serde_json::from_slice::<GoogleErrorEnvelope>(&text)
            .ok()
            .map(|e| e.error);
        let canonical = error.as_ref().map_or("", |e| e.status.as_str());
        match status.as_u16() {
            429 => Attempt::Fail(ProviderError::RateLimited {
                retry_after: error.as_ref().and_then(GoogleError::retry_delay),
            }),
            402 => Attempt::Fail(ProviderError::QuotaExhausted),
            400 if canonical == "FAILED_PRECONDITION" => {
                Attempt::Fail(ProviderError::QuotaExhausted)
            }
            400 if error.as_ref().is_some_and(GoogleError::is_key_problem) => {
                Attempt::Fail(ProviderError::Auth)
            }
            // "models/x is not found for API version v1beta": the model is gone or never was.
            404 if canonical == "NOT_FOUND" => Attempt::Fail(ProviderError::ModelUnavailable {
                role: crate::ModelRole::Images,
                model: self.config.model.clone(),
            }),
            401 | 403 => Attempt::Fail(ProviderError::Auth),
            500 | 502 | 503 | 504 => Attempt::Retry {
                error: ProviderError::Unavailable,
                retry_after: None,
            },
            other => Attempt::Fail(ProviderError::BadResponse(format!(
                "HTTP {other} {canonical}"
            ))),
        }
    }
}

/// An image as an `inlineData` part.
fn inline_part(image: &crate::InputImage) -> Value {
    json!({"inlineData": {
        "mimeType": image.mime_type,
        "data": base64::engine::general_purpose::STANDARD.encode(&image.bytes),
    }})
}

/// The conversation sent: one user turn with the references and the prompt; or, for an edit,
/// the signed image as the model's turn and the instruction as the user's, or (unsigned) one
/// user turn with the image and the instruction.
fn contents(request: &ImageRequest<'_>) -> Value {
    let text = json!({"text": request.prompt});
    match request.edit {
        Some(edit) => match edit.thought_signature {
            Some(signature) => {
                let mut image = inline_part(edit.image);
                image["thoughtSignature"] = json!(signature);
                json!([
                    {"role": "model", "parts": [image]},
                    {"role": "user", "parts": [text]},
                ])
            }
            None => json!([{"role": "user", "parts": [inline_part(edit.image), text]}]),
        },
        None => {
            let mut parts: Vec<Value> = request.references.iter().map(inline_part).collect();
            parts.push(text);
            json!([{"role": "user", "parts": parts}])
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateContentResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    #[serde(default)]
    inline_data: Option<Blob>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default)]
    thought_signature: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Blob {
    mime_type: String,
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GoogleErrorEnvelope {
    error: GoogleError,
}

#[derive(Debug, Deserialize)]
struct GoogleError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl GoogleError {
    /// `RetryInfo.retryDelay`, a protobuf Duration such as `"55s"` or `"1.5s"`; nonsense is no
    /// hint, and a huge delay is capped ([`crate::retry::parse_wait_secs`]).
    fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .filter(|d| {
                d["@type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
            })
            .find_map(|d| d["retryDelay"].as_str())
            .and_then(|s| crate::retry::parse_wait_secs(s.trim().strip_suffix('s').unwrap_or(s)))
    }

    fn is_key_problem(&self) -> bool {
        self.details.iter().any(|d| {
            d["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("API_KEY") || r == "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        }) || self.message.contains("API key")
    }
}

/// Finish reasons that mean the content broke a policy: not retried.
const BLOCKING_FINISH_REASONS: [&str; 9] = [
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
    "LANGUAGE",
];

fn extract_image(
    body: &GenerateContentResponse,
    cap: usize,
) -> Result<GeneratedImage, ProviderError> {
    if let Some(reason) = body
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.clone())
    {
        return Err(ProviderError::ContentBlocked { reason });
    }
    let candidate = body.candidates.first();
    let part = candidate
        .and_then(|c| c.content.as_ref())
        .into_iter()
        .flat_map(|c| &c.parts)
        .filter(|p| p.thought != Some(true))
        .find(|p| p.inline_data.is_some());
    let Some(blob) = part.and_then(|p| p.inline_data.as_ref()) else {
        let reason = candidate
            .and_then(|c| c.finish_reason.clone())
            .unwrap_or_else(|| "NO_CANDIDATE".into());
        return Err(if BLOCKING_FINISH_REASONS.contains(&reason.as_str()) {
            ProviderError::ContentBlocked { reason }
        } else {
            ProviderError::NoImage { reason }
        });
    };
    if blob.data.len() / 4 * 3 > cap + 3 {
        return Err(ProviderError::BadResponse(format!(
            "the image is larger than {cap} bytes"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob.data.trim())
        .map_err(|e| ProviderError::BadResponse(format!("the image base64 is invalid: {e}")))?;
    if bytes.len() > cap {
        return Err(ProviderError::BadResponse(format!(
            "the image is larger than {cap} bytes"
        )));
    }
    let (mime, width, height) = crate::image_bytes::inspect(&bytes, &blob.mime_type)?;
    let thought_signature = part
        .and_then(|p| p.thought_signature.clone())
        .filter(|s| !s.is_empty() && s.len() <= crate::MAX_THOUGHT_SIGNATURE_CHARS);
    Ok(GeneratedImage {
        bytes: Bytes::from(bytes),
        mime_type: mime.to_owned(),
        width,
        height,
        thought_signature,
    })
}

#[async_trait]
impl ImageGenerator for GeminiImages {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: format!("Nano Banana {} (Gemini API)", self.config.model),
            offline: false,
        }
    }

    fn capabilities(&self) -> crate::models::Capabilities {
        crate::models::capabilities(&self.config.model)
    }

    fn max_input_image_bytes(&self) -> Option<u64> {
        Some(MAX_INLINE_IMAGE_BYTES)
    }

    async fn generate(&self, request: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
        let body = &self.request_body(&request);
        // "No image" is worth exactly one more round.
        in_rounds(&self.config.retry, 2, move |round, policy| async move {
            match with_retries(&policy, |n| self.attempt(body, n, round)).await {
                Err(error @ ProviderError::NoImage { .. }) => Round::Again(error),
                other => Round::Finished(other),
            }
        })
        .await
    }
}
