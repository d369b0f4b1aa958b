//! [`OpenAiSynthesizer`]: the live prompt writer, on OpenAI's Responses API (`POST {base}/responses`).
//!
//! The request and response bodies are async-openai's own types (`=0.43.0`, `response-types`
//! feature only), so the wire format is the one that crate checks against OpenAI's spec; the HTTP
//! call is a plain reqwest request. async-openai's `Client` is not compiled in: since 0.37 it wraps
//! every call in its own retry layer (3 retries, no jitter), which would multiply with ours. Here
//! [`crate::retry`] is the only retry layer, and we see `Retry-After` and `x-request-id` directly.

use std::time::{Duration, Instant};

use async_openai::types::responses::{
    CreateResponse, EasyInputContent, EasyInputMessage, InputItem, InputParam, MessageType,
    OutputItem, OutputMessageContent, Reasoning, Response, ResponseFormatJsonSchema,
    ResponseTextParam, Role, Status, TextResponseFormatConfiguration,
};
use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::retry::{Attempt, RetryPolicy, Round, in_rounds, retry_after_header, with_retries};
use crate::{PromptSynthesizer, ProviderError, ProviderInfo, Synthesis, SynthesisRequest};

/// The structured answer the model must give; its JSON schema is generated from this type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "prompt_synthesis")]
pub struct PromptSynthesisOutput {
    /// The final prompt for the Nano Banana image model: narrative prose, no lists.
    pub final_nanobanana_prompt: String,
    /// One line telling the person what was understood.
    pub summary: String,
    /// A literal description of the intended image, for screen readers.
    pub alt_text: String,
}

/// `reasoning.effort` on every request: how long the model may think before it writes. The values
/// GPT-6 models accept (provider-contracts.md §4); OpenAI's own default is `medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    None,
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

impl ReasoningEffort {
    /// Every accepted spelling, in order of effort.
    pub const NAMES: [&str; 6] = ["none", "low", "medium", "high", "xhigh", "max"];

    /// Reads one of [`Self::NAMES`], in any case.
    pub fn parse(text: &str) -> Option<ReasoningEffort> {
        use ReasoningEffort::*;
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "none" => None,
            "low" => Low,
            "medium" => Medium,
            "high" => High,
            "xhigh" => Xhigh,
            "max" => Max,
            _ => return Option::None,
        })
    }

    /// The spelling OpenAI (and `OPENAI_REASONING_EFFORT`) uses.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn wire(self) -> async_openai::types::responses::ReasoningEffort {
        use async_openai::types::responses::ReasoningEffort as Wire;
        match self {
            ReasoningEffort::None => Wire::None,
            ReasoningEffort::Low => Wire::Low,
            ReasoningEffort::Medium => Wire::Medium,
            ReasoningEffort::High => Wire::High,
            ReasoningEffort::Xhigh => Wire::Xhigh,
            ReasoningEffort::Max => Wire::Max,
        }
    }
}

/// The `text.format.name` sent with the schema.
pub const SCHEMA_NAME: &str = "prompt_synthesis";

/// Everything the adapter needs. `Debug` never shows the key.
#[derive(Clone)]
pub struct OpenAiConfig {
    pub api_key: SecretString,
    /// Includes `/v1`, no trailing slash.
    pub base_url: String,
    pub model: String,
    /// Sent as `reasoning.effort`. Default `low`.
    pub reasoning_effort: ReasoningEffort,
    /// Per HTTP attempt (reqwest's timeout). Default 30 s.
    pub attempt_timeout: Duration,
    /// Retries and the overall deadline.
    pub retry: RetryPolicy,
    pub max_output_tokens: u32,
    /// The shared prompt cap (`PROMPT_MAX_CHARS`).
    pub cap_chars: usize,
    /// Largest response body read; past it the answer is `provider_bad_response`, unread.
    /// Default 2 MiB (an answer of 2500 output tokens is a few KiB).
    pub max_response_bytes: usize,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("reasoning_effort", &self.reasoning_effort)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiConfig {
    /// Defaults: 30 s per attempt, 2 retries, 75 s overall, 2500 output tokens (reasoning
    /// tokens count against them).
    pub fn new(api_key: SecretString, base_url: &str, model: &str, cap_chars: usize) -> Self {
        OpenAiConfig {
            api_key,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            reasoning_effort: ReasoningEffort::Low,
            attempt_timeout: Duration::from_secs(30),
            retry: RetryPolicy::standard(Duration::from_secs(75)),
            max_output_tokens: 2500,
            cap_chars,
            max_response_bytes: 2 * 1024 * 1024,
        }
    }
}

/// The OpenAI prompt writer.
#[derive(Debug)]
pub struct OpenAiSynthesizer {
    config: OpenAiConfig,
    http: reqwest::Client,
}

impl OpenAiSynthesizer {
    pub fn new(config: OpenAiConfig) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(config.attempt_timeout)
            .connect_timeout(config.attempt_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ProviderError::BadResponse(format!("HTTP client: {e}")))?;
        Ok(OpenAiSynthesizer { config, http })
    }

    /// The body sent to `POST /responses`. Public so tests can check it against OpenAI's schema.
    pub fn request_body(&self, request: &SynthesisRequest<'_>, reminder: bool) -> CreateResponse {
        let mut items = vec![InputItem::EasyMessage(EasyInputMessage {
            r#type: MessageType::Message,
            role: Role::User,
            content: EasyInputContent::Text(brief(request)),
            phase: None,
        })];
        if reminder {
            items.push(InputItem::EasyMessage(EasyInputMessage {
                r#type: MessageType::Message,
                role: Role::Developer,
                content: EasyInputContent::Text(STRICT_REMINDER.to_owned()),
                phase: None,
            }));
        }
        CreateResponse {
            model: Some(self.config.model.clone()),
            instructions: Some(request.template.instructions.trim().to_owned()),
            input: InputParam::Items(items),
            text: Some(ResponseTextParam {
                format: TextResponseFormatConfiguration::JsonSchema(ResponseFormatJsonSchema {
                    description: Some(
                        "The final image prompt, a one-line summary and alt text.".to_owned(),
                    ),
                    name: SCHEMA_NAME.to_owned(),
                    schema: output_schema(),
                    strict: Some(true),
                }),
                verbosity: None,
            }),
            max_output_tokens: Some(self.config.max_output_tokens),
            reasoning: Some(Reasoning {
                effort: Some(self.config.reasoning_effort.wire()),
                ..Reasoning::default()
            }),
            store: Some(false),
            ..CreateResponse::default()
        }
    }

    /// One HTTP attempt, classified for the retry loop.
    async fn attempt(&self, body: &CreateResponse, n: u32, round: u32) -> Attempt<Body> {
        let started = Instant::now();
        let sent = self
            .http
            .post(format!("{}/responses", self.config.base_url))
            .bearer_auth(self.config.api_key.expose_secret())
            .json(body)
            .send()
            .await;
        let (outcome, request_id) = match sent {
            Err(e) => (transport_error(&e), None),
            Ok(response) => {
                let request_id = response
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                (
                    classify(response, self.config.max_response_bytes, &self.config.model).await,
                    request_id,
                )
            }
        };
        let code = match &outcome {
            Attempt::Done(_) => "ok",
            Attempt::Retry { error, .. } | Attempt::Fail(error) => crate::error_code(error),
        };
        tracing::info!(
            provider = "openai",
            model = %self.config.model,
            attempt = n + 1,
            round = round + 1,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome = code,
            request_id = request_id.as_deref().map_or("", crate::log_token),
            "provider attempt"
        );
        outcome
    }
}

const STRICT_REMINDER: &str = "Your previous reply was not a valid JSON object for the required schema. Reply again with ONLY one JSON object with exactly the string keys final_nanobanana_prompt, summary and alt_text, all non-empty, and nothing else: no prose, no code fences.";

/// The user message: the idea and the three answers, each marked when it is the template
/// default, and then the reference images the image model will see, counted and each with its
/// note, so the prompt can point at them ("the bottle from the first image").
pub fn brief(request: &SynthesisRequest<'_>) -> String {
    let mut text = format!("Idea: {}\n", request.idea.trim());
    for (i, (question, answer)) in request
        .template
        .questions
        .iter()
        .zip(request.answers)
        .enumerate()
    {
        let marker = if answer.defaulted {
            " [default: the person skipped or gave no usable answer, so this is the template's default; weigh it lightly]"
        } else {
            ""
        };
        text.push_str(&format!(
            "\nQuestion {}: {}\nAnswer{marker}: {}\n",
            i + 1,
            question.text.trim(),
            answer.text.trim()
        ));
    }
    let notes = request.reference_notes;
    if !notes.is_empty() {
        text.push_str(&format!(
            "\nReference images: {} (the image model receives them before your prompt, in this order; refer to each by its position, e.g. \"the first image\")\n",
            notes.len()
        ));
        for (i, note) in notes.iter().enumerate() {
            let note = note.trim();
            let note = if note.is_empty() { "(no note)" } else { note };
            text.push_str(&format!(
                "Image {} ({}): {note}\n",
                i + 1,
                domain::ordinal(i + 1)
            ));
        }
    }
    text
}

/// The strict JSON schema of [`PromptSynthesisOutput`]: every object closed, every property required.
pub fn output_schema() -> Value {
    let mut schema = schemars::schema_for!(PromptSynthesisOutput).to_value();
    strictify(&mut schema);
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    schema
}

fn strictify(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("object") {
                map.insert("additionalProperties".into(), Value::Bool(false));
                if let Some(props) = map.get("properties").and_then(Value::as_object) {
                    let keys: Vec<Value> = props.keys().cloned().map(Value::String).collect();
                    map.insert("required".into(), Value::Array(keys));
                }
            }
            map.values_mut().for_each(strictify);
        }
        Value::Array(items) => items.iter_mut().for_each(strictify),
        _ => {}
    }
}

fn transport_error(e: &reqwest::Error) -> Attempt<Body> {
    if e.is_timeout() {
        // A timed-out attempt is not repeated: the model was probably working, and a second 30 s
        // wait would double the person's wait. (async-openai does not retry timeouts either.)
        Attempt::Fail(ProviderError::Timeout)
    } else {
        // Connection refused or reset, DNS, TLS: transient.
        Attempt::Retry {
            error: ProviderError::Unavailable,
            retry_after: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

async fn classify(response: reqwest::Response, cap: usize, model: &str) -> Attempt<Body> {
    let status = response.status();
    let retry_after = retry_after_header(response.headers());
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Attempt::Fail(ProviderError::BadResponse(format!(
            "the response is larger than {cap} bytes"
        )));
    }
    let text = match crate::read_capped(response, cap).await {
        Ok(text) => text,
        Err(ProviderError::Unavailable) => {
            return Attempt::Retry {
                error: ProviderError::Unavailable,
                retry_after: None,
            };
        }
        Err(error) => return Attempt::Fail(error),
    };
    if status.is_success() {
        return match serde_json::from_slice::<Response>(&text) {
            Ok(body) => Attempt::Done(Body::Typed(Box::new(body))),
            // A field async-openai 0.43 does not know yet (a new output item type or error
            // code) must not lose an otherwise good answer: read the documented fields by hand.
            Err(e) => match serde_json::from_slice::<Value>(&text) {
                Ok(value) if value.is_object() => {
                    tracing::debug!(problem = %crate::json_problem(&e), "Responses body read leniently");
                    Attempt::Done(Body::Loose(value))
                }
                _ => Attempt::Fail(ProviderError::BadResponse(format!(
                    "the Responses body did not parse: {}",
                    crate::json_problem(&e)
                ))),
            },
        };
    }
    let error = serde_json::from_slice::<ErrorEnvelope>(&text)
        .ok()
        .map(|e| e.error);
    let is = |word: &str| {
        error
            .as_ref()
            .is_some_and(|e| e.kind.as_deref() == Some(word) || e.code.as_deref() == Some(word))
    };
    match status.as_u16() {
        429 if is("insufficient_quota") => Attempt::Fail(ProviderError::QuotaExhausted),
        429 => Attempt::Retry {
            error: ProviderError::RateLimited { retry_after },
            retry_after,
        },
        401 | 403 => Attempt::Fail(ProviderError::Auth),
        // The model is gone (or this key may not see it): no retry can fix that.
        404 if is("model_not_found") => Attempt::Fail(ProviderError::ModelUnavailable {
            role: crate::ModelRole::PromptWriter,
            model: model.to_owned(),
        }),
        408 | 409 | 500..=599 => Attempt::Retry {
            error: ProviderError::Unavailable,
            retry_after,
        },
        other => Attempt::Fail(ProviderError::BadResponse(format!(
            "HTTP {other} ({})",
            error
                .and_then(|e| e.code.or(e.kind))
                .unwrap_or_else(|| "no error code".into())
        ))),
    }
}

/// A 200 body: async-openai's `Response`, or plain JSON when that type could not hold it.
#[derive(Debug)]
enum Body {
    Typed(Box<Response>),
    Loose(Value),
}

/// What a 200 body says.
enum Reading {
    Answer(PromptSynthesisOutput),
    /// Not JSON, or JSON that does not fit the schema: worth one more try with a reminder.
    Malformed(String),
    Final(ProviderError),
}

fn read(body: &Body) -> Reading {
    match body {
        Body::Typed(response) => read_typed(response),
        Body::Loose(value) => read_loose(value),
    }
}

/// The same decisions as [`read_typed`], on the documented field names.
fn read_loose(value: &Value) -> Reading {
    match value["status"].as_str() {
        Some("completed") => {}
        Some("incomplete") => return Reading::Final(ProviderError::Incomplete),
        Some("failed") => {
            let code = value["error"]["code"].as_str().unwrap_or("unknown");
            return Reading::Final(ProviderError::Failed(code.to_owned()));
        }
        other => {
            return Reading::Final(ProviderError::BadResponse(format!(
                "unexpected response status {other:?}"
            )));
        }
    }
    let mut text = String::new();
    let mut refused = false;
    let messages = value["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "message");
    for part in messages.flat_map(|m| m["content"].as_array().into_iter().flatten()) {
        match part["type"].as_str() {
            Some("output_text") => text.push_str(part["text"].as_str().unwrap_or_default()),
            Some("refusal") => refused = true,
            _ => {}
        }
    }
    parse_answer(&text, refused)
}

fn read_typed(response: &Response) -> Reading {
    match response.status {
        Status::Completed => {}
        Status::Incomplete => {
            let reason = response
                .incomplete_details
                .as_ref()
                .map_or("unknown", |d| d.reason.as_str());
            tracing::info!(
                provider = "openai",
                reason = crate::log_token(reason),
                "response incomplete"
            );
            return Reading::Final(ProviderError::Incomplete);
        }
        Status::Failed => {
            let code = response
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(&e.code).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            return Reading::Final(ProviderError::Failed(code));
        }
        ref other => {
            return Reading::Final(ProviderError::BadResponse(format!(
                "unexpected response status {other:?}"
            )));
        }
    }
    // Reasoning items come first; the message can sit anywhere in `output`.
    let mut text = String::new();
    let mut refused = false;
    for item in &response.output {
        if let OutputItem::Message(message) = item {
            for part in &message.content {
                match part {
                    OutputMessageContent::OutputText(t) => text.push_str(&t.text),
                    OutputMessageContent::Refusal(_) => refused = true,
                }
            }
        }
    }
    parse_answer(&text, refused)
}

fn parse_answer(text: &str, refused: bool) -> Reading {
    if refused {
        return Reading::Final(ProviderError::Refused);
    }
    if text.trim().is_empty() {
        return Reading::Malformed("no output_text in the message".into());
    }
    match serde_json::from_str::<PromptSynthesisOutput>(text.trim()) {
        Ok(out)
            if !out.final_nanobanana_prompt.trim().is_empty()
                && !out.summary.trim().is_empty()
                && !out.alt_text.trim().is_empty() =>
        {
            Reading::Answer(out)
        }
        Ok(_) => Reading::Malformed("a field is empty".into()),
        Err(e) => Reading::Malformed(format!(
            "not the schema's JSON: {}",
            crate::json_problem(&e)
        )),
    }
}

#[async_trait]
impl PromptSynthesizer for OpenAiSynthesizer {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: format!(
                "OpenAI {} (Responses API, reasoning {})",
                self.config.model,
                self.config.reasoning_effort.name()
            ),
            offline: false,
        }
    }

    async fn synthesize(&self, request: SynthesisRequest<'_>) -> Result<Synthesis, ProviderError> {
        // A malformed answer is worth one more round, with a stricter reminder.
        in_rounds(&self.config.retry, 2, move |round, policy| async move {
            let body = self.request_body(&request, round > 0);
            let response = match with_retries(&policy, |n| self.attempt(&body, n, round)).await {
                Ok(response) => response,
                Err(error) => return Round::Finished(Err(error)),
            };
            match read(&response) {
                Reading::Answer(out) => Round::Finished(Ok(Synthesis::capped(
                    &out.final_nanobanana_prompt,
                    &out.summary,
                    &out.alt_text,
                    self.config.cap_chars,
                ))),
                Reading::Final(error) => Round::Finished(Err(error)),
                Reading::Malformed(problem) => {
                    tracing::info!(
                        provider = "openai",
                        round = round + 1,
                        problem = %problem,
                        "malformed structured output"
                    );
                    Round::Again(ProviderError::BadResponse(format!(
                        "the prompt writer's JSON was malformed twice ({problem})"
                    )))
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_strict() {
        let schema = output_schema();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        required.sort_unstable();
        assert_eq!(required, ["alt_text", "final_nanobanana_prompt", "summary"]);
        for key in required {
            assert_eq!(schema["properties"][key]["type"], "string");
        }
        assert!(schema.get("$schema").is_none());
    }
}
