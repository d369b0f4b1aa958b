//! provider-sim: a loopback fake of the three provider APIs Prompt Refinery talks to, speaking the
//! documented wire formats (bodies built from the fixtures in `fixtures/`):
//!
//! - OpenAI Responses: `POST /v1/responses`, and `GET /v1/models/{id}` (with `shutdown_date`)
//! - Gemini: `POST /v1beta/models/{model}:generateContent`, and `GET /v1beta/models/{model}`
//! - kie.ai-style tasks: `POST /api/v1/jobs/createTask`, `GET /api/v1/jobs/recordInfo?taskId=`,
//!   and the result files under `/files/`.
//!
//! Every request is recorded as received ([`Handle::received`]; [`Received::turns`] decodes a
//! Gemini conversation, inline images and thought signatures included), and each image answered
//! carries a thought signature of its own ([`thought_signature`]), as Gemini 3 image models sign
//! theirs.
//!
//! Each API has a fault script: comma-separated outcomes consumed one per call, then `ok` for
//! ever, in the vocabulary the offline stand-ins share ([`contracts::faults`]; docs/providers.md
//! says what each word sends). Every model exists except those in [`Config::missing_models`], which
//! answer 404 as the real APIs do (lookups and generation alike); OpenAI models carry the shutdown
//! dates of [`Config::shutdown_dates`]. Use it in-process with [`spawn`], or as the `provider-sim`
//! binary.

use base64::Engine;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

const OPENAI_SUCCESS: &str = include_str!("../fixtures/openai-responses-success.json");
const OPENAI_REFUSAL: &str = include_str!("../fixtures/openai-responses-refusal.json");
const OPENAI_INCOMPLETE: &str = include_str!("../fixtures/openai-responses-incomplete.json");
const OPENAI_FAILED: &str = include_str!("../fixtures/openai-responses-failed.json");
const OPENAI_429: &str = include_str!("../fixtures/openai-error-429-rate-limit.json");
const OPENAI_QUOTA: &str = include_str!("../fixtures/openai-error-429-insufficient-quota.json");
const OPENAI_401: &str = include_str!("../fixtures/openai-error-401.json");
const OPENAI_500: &str = include_str!("../fixtures/openai-error-500.json");
const OPENAI_404_MODEL: &str = include_str!("../fixtures/openai-error-404-model-not-found.json");
const OPENAI_MODEL: &str = include_str!("../fixtures/openai-model.json");
const GEMINI_404_MODEL: &str = include_str!("../fixtures/gemini-error-404-model-not-found.json");
const GEMINI_MODEL: &str = include_str!("../fixtures/gemini-model.json");
const GEMINI_SUCCESS: &str = include_str!("../fixtures/gemini-image-success-with-thoughts.json");
const GEMINI_SAFETY: &str = include_str!("../fixtures/gemini-image-safety-block.json");
const GEMINI_BLOCKED: &str = include_str!("../fixtures/gemini-prompt-blocked.json");
const GEMINI_TEXT_ONLY: &str = include_str!("../fixtures/gemini-text-only-no-image.json");
const GEMINI_429: &str = include_str!("../fixtures/gemini-error-429.json");
const GEMINI_400_KEY: &str = include_str!("../fixtures/gemini-error-400-invalid-key.json");
const GEMINI_503: &str = include_str!("../fixtures/gemini-error-503.json");
const KIE_CREATED: &str = include_str!("../fixtures/async-kie-create-task-response.json");
const KIE_GENERATING: &str = include_str!("../fixtures/async-kie-record-info-generating.json");
const KIE_SUCCESS: &str = include_str!("../fixtures/async-kie-record-info-success.json");
const KIE_FAIL: &str = include_str!("../fixtures/async-kie-record-info-fail.json");

/// The 1×1 PNG the fixtures carry, as bytes.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xFF, 0xD0, 0xF4,
    0x3F, 0x00, 0x08, 0x0D, 0x03, 0x15, 0xA0, 0xAB, 0xCF, 0xAB, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// [`PNG_1X1`] with a `tEXt` chunk naming answer `n`: the same pixel, a different file, as two
/// renders of one prompt are different images.
pub fn numbered_png(n: u64) -> Vec<u8> {
    let iend = PNG_1X1.len() - 12;
    let data = format!("Comment\0simulated image {n}");
    let mut chunk = b"tEXt".to_vec();
    chunk.extend_from_slice(data.as_bytes());
    let mut png = PNG_1X1[..iend].to_vec();
    png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    png.extend_from_slice(&PNG_1X1[iend..]);
    png
}

/// The `thoughtSignature` the simulator attaches to image `n` (counted from 0): opaque base64,
/// different for each image, so a test can tell which one came back.
pub fn thought_signature(n: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("simulated-signature-{n}"))
}

/// The PNG chunk checksum (CRC-32, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |mut crc, &b| {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
        crc
    })
}

/// The fault-script words and their parser: one vocabulary with the offline stand-ins.
pub use contracts::faults::{Fault, parse_script};

/// What the simulator does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port on 127.0.0.1; 0 lets the OS pick.
    pub port: u16,
    /// Added before every answer.
    pub latency: Duration,
    /// Replaces `latency` for the OpenAI API (prompt writing), when set.
    pub openai_latency: Option<Duration>,
    /// Replaces `latency` for the Gemini API (images), when set.
    pub gemini_latency: Option<Duration>,
    /// How long a `timeout` fault hangs.
    pub hang: Duration,
    pub openai_faults: Vec<Fault>,
    pub gemini_faults: Vec<Fault>,
    pub task_faults: Vec<Fault>,
    /// Model ids both APIs answer 404 for, on lookup and on use. Default [`RETIRED_MODELS`].
    pub missing_models: Vec<String>,
    /// `(OpenAI model id, "YYYY-MM-DD")`: the `shutdown_date` its lookup carries (others: null).
    /// Default [`SHUTDOWN_DATES`].
    pub shutdown_dates: Vec<(String, String)>,
}

/// Model ids retired by 2026-11-25 (provider-contracts.md §2.1 and §4; OpenAI removed
/// `gpt-4.5-preview` in July 2025).
pub const RETIRED_MODELS: [&str; 5] = [
    "gpt-4.5-preview",
    "gemini-3.1-flash-image",
    "gemini-2.5-flash-image",
    "gemini-2.5-flash-image-preview",
    "gemini-3-pro-image-preview",
];

/// OpenAI's announced shutdowns as of 2026-11-25 (its deprecations page).
pub const SHUTDOWN_DATES: [(&str, &str); 8] = [
    ("gpt-5", "2026-12-11"),
    ("gpt-5-mini", "2026-12-11"),
    ("gpt-5-nano", "2026-12-11"),
    ("o3", "2026-12-11"),
    ("gpt-4o", "2027-01-14"),
    ("gpt-4o-mini", "2027-01-14"),
    ("gpt-4.1", "2027-01-14"),
    ("gpt-4.1-mini", "2027-01-14"),
];

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            latency: Duration::ZERO,
            openai_latency: None,
            gemini_latency: None,
            hang: Duration::from_secs(600),
            openai_faults: Vec::new(),
            gemini_faults: Vec::new(),
            task_faults: Vec::new(),
            missing_models: RETIRED_MODELS.map(str::to_owned).to_vec(),
            shutdown_dates: SHUTDOWN_DATES
                .map(|(id, date)| (id.to_owned(), date.to_owned()))
                .to_vec(),
        }
    }
}

/// A request the simulator received (for tests).
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// One part of a Gemini `contents[]` turn, as received and decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedPart {
    Text(String),
    /// An `inlineData` part: its type, its decoded bytes, and its `thoughtSignature` if any.
    Image {
        mime_type: String,
        bytes: Vec<u8>,
        thought_signature: Option<String>,
    },
    /// Anything else (or base64 that did not decode), as sent.
    Other(Value),
}

impl Received {
    /// A `generateContent` request's turns in order: each turn's role and its parts, decoded.
    pub fn turns(&self) -> Vec<(String, Vec<ReceivedPart>)> {
        let empty = Vec::new();
        let turns = self.body["contents"].as_array().unwrap_or(&empty);
        turns
            .iter()
            .map(|turn| {
                let role = turn["role"].as_str().unwrap_or_default().to_owned();
                let parts = turn["parts"].as_array().unwrap_or(&empty);
                (role, parts.iter().map(ReceivedPart::of).collect())
            })
            .collect()
    }
}

impl ReceivedPart {
    fn of(part: &Value) -> ReceivedPart {
        if let Some(text) = part["text"].as_str() {
            return ReceivedPart::Text(text.to_owned());
        }
        let blob = &part["inlineData"];
        let decoded = blob["data"]
            .as_str()
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
        match (blob["mimeType"].as_str(), decoded) {
            (Some(mime_type), Some(bytes)) => ReceivedPart::Image {
                mime_type: mime_type.to_owned(),
                bytes,
                thought_signature: part["thoughtSignature"].as_str().map(str::to_owned),
            },
            _ => ReceivedPart::Other(part.clone()),
        }
    }
}

struct Shared {
    config: Config,
    addr: SocketAddr,
    openai: Mutex<VecDeque<Fault>>,
    gemini: Mutex<VecDeque<Fault>>,
    task: Mutex<VecDeque<Fault>>,
    /// Task id → (fault chosen at submit, polls so far).
    tasks: Mutex<HashMap<String, (Fault, u32)>>,
    received: Mutex<Vec<Received>>,
    /// Images answered so far; each carries its number, so no two are the same file.
    images_made: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn next(queue: &Mutex<VecDeque<Fault>>) -> Fault {
        queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(Fault::Ok)
    }

    fn record(&self, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) {
        let body = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Received {
                method: method.to_owned(),
                path: path.to_owned(),
                headers: headers.clone(),
                body,
            });
    }

    fn is_missing(&self, model: &str) -> bool {
        self.config.missing_models.iter().any(|m| m == model)
    }

    async fn delay(&self) {
        self.wait(self.config.latency).await;
    }

    async fn wait(&self, latency: Duration) {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
}

/// A running simulator; dropping it stops the server.
pub struct Handle {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces a fault script while running (`openai`, `gemini` or `task`).
    pub fn set_faults(&self, api: &str, faults: Vec<Fault>) {
        let queue = match api {
            "openai" => &self.shared.openai,
            "gemini" => &self.shared.gemini,
            _ => &self.shared.task,
        };
        *queue.lock().unwrap_or_else(|p| p.into_inner()) = faults.into();
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connections the listener holds before they are accepted (the kernel caps it at `somaxconn`).
/// A provider takes a thousand new connections at once without turning any away; with the usual
/// 128 (`TcpListener::bind`, as the standard library) the kernel dropped hundreds of those a
/// burst of image calls opened while the cores were busy (`ListenOverflows`), and each came
/// again a second later, a stall inside the provider calls that no real provider causes.
const BACKLOG: u32 = 4096;

/// Binds 127.0.0.1:`config.port` and serves in a background task.
pub async fn spawn(config: Config) -> std::io::Result<(SocketAddr, Handle)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // As `TcpListener::bind` does: a fixed port can be bound again straight after a restart.
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], config.port)))?;
    let listener = socket.listen(BACKLOG)?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        openai: Mutex::new(config.openai_faults.clone().into()),
        gemini: Mutex::new(config.gemini_faults.clone().into()),
        task: Mutex::new(config.task_faults.clone().into()),
        tasks: Mutex::new(HashMap::new()),
        received: Mutex::new(Vec::new()),
        images_made: std::sync::atomic::AtomicU64::new(0),
        config,
        addr,
    });
    let app = Router::new()
        .route("/v1/responses", post(openai))
        .route("/v1/models/{model}", get(openai_model))
        .route(
            "/v1beta/models/{model_action}",
            post(gemini).get(gemini_model),
        )
        .route("/api/v1/jobs/createTask", post(create_task))
        .route("/api/v1/jobs/recordInfo", get(record_info))
        .route("/files/{name}", get(file))
        // Reference images and edits arrive inline (base64): room for three 7 MB images, above
        // Gemini's own 20 MB request limit.
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, Handle { shared, task }))
}

fn json_response(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_owned(),
    )
        .into_response()
}

fn parse(fixture: &str) -> Value {
    serde_json::from_str(fixture).unwrap_or(Value::Null)
}

async fn openai(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    s.record("POST", "/v1/responses", &headers, &body);
    s.wait(s.config.openai_latency.unwrap_or(s.config.latency))
        .await;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("gpt-6-luna").to_owned();
    let with_model = |fixture: &str| {
        let mut v = parse(fixture);
        v["model"] = json!(model);
        v["store"] = json!(false);
        v.to_string()
    };
    let fault = Shared::next(&s.openai);
    if s.is_missing(&model) || fault == Fault::ModelMissing {
        return openai_model_not_found(&model);
    }
    match fault {
        Fault::Ok => {
            let idea = request["input"][0]["content"]
                .as_str()
                .and_then(|t| t.lines().next())
                .unwrap_or("Idea: something")
                .trim_start_matches("Idea:")
                .trim()
                .to_owned();
            let answer = json!({
                "final_nanobanana_prompt": format!("A richly detailed, cinematic image of {idea}, lit with soft directional light, shot on a wide lens with a shallow depth of field."),
                "summary": format!("{}, as a cinematic image.", upper_first(&idea)),
                "alt_text": format!("A cinematic picture of {idea}."),
            });
            let mut v = parse(OPENAI_SUCCESS);
            v["model"] = json!(model);
            v["text"] = request["text"].clone();
            v["output"][1]["content"][0]["text"] = json!(answer.to_string());
            json_response(StatusCode::OK, &v.to_string())
        }
        Fault::Malformed => {
            let mut v = parse(OPENAI_SUCCESS);
            v["model"] = json!(model);
            v["output"][1]["content"][0]["text"] = json!("Sure! Here is your prompt: {not json");
            json_response(StatusCode::OK, &v.to_string())
        }
        Fault::Refusal => json_response(StatusCode::OK, &with_model(OPENAI_REFUSAL)),
        Fault::Incomplete => json_response(StatusCode::OK, &with_model(OPENAI_INCOMPLETE)),
        Fault::Failed => json_response(StatusCode::OK, &with_model(OPENAI_FAILED)),
        Fault::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::RETRY_AFTER, "1"),
            ],
            OPENAI_429,
        )
            .into_response(),
        Fault::Quota => json_response(StatusCode::TOO_MANY_REQUESTS, OPENAI_QUOTA),
        Fault::Auth => json_response(StatusCode::UNAUTHORIZED, OPENAI_401),
        Fault::Status503 => json_response(StatusCode::SERVICE_UNAVAILABLE, OPENAI_500),
        Fault::Timeout => {
            tokio::time::sleep(s.config.hang).await;
            json_response(StatusCode::GATEWAY_TIMEOUT, OPENAI_500)
        }
        _ => json_response(StatusCode::INTERNAL_SERVER_ERROR, OPENAI_500),
    }
}

/// OpenAI's 404 for a model that does not exist or that this key cannot see.
fn openai_model_not_found(model: &str) -> Response {
    let mut v = parse(OPENAI_404_MODEL);
    v["error"]["message"] = json!(format!(
        "The model `{model}` does not exist or you do not have access to it."
    ));
    json_response(StatusCode::NOT_FOUND, &v.to_string())
}

/// `GET /v1/models/{id}`: the model object, with its `shutdown_date` (or null).
async fn openai_model(
    State(s): State<Arc<Shared>>,
    Path(model): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.record("GET", &format!("/v1/models/{model}"), &headers, b"");
    s.delay().await;
    if s.is_missing(&model) {
        return openai_model_not_found(&model);
    }
    let shutdown = s
        .config
        .shutdown_dates
        .iter()
        .find(|(id, _)| *id == model)
        .map(|(_, date)| date.clone());
    let mut v = parse(OPENAI_MODEL);
    v["id"] = json!(model);
    v["shutdown_date"] = json!(shutdown);
    json_response(StatusCode::OK, &v.to_string())
}

/// Gemini's 404 for a model id it does not have.
fn gemini_model_not_found(model: &str) -> Response {
    let mut v = parse(GEMINI_404_MODEL);
    v["error"]["message"] = json!(format!(
        "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
    ));
    json_response(StatusCode::NOT_FOUND, &v.to_string())
}

/// `GET /v1beta/models/{model}`: the model's metadata (Gemini gives no shutdown date here).
async fn gemini_model(
    State(s): State<Arc<Shared>>,
    Path(model): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.record("GET", &format!("/v1beta/models/{model}"), &headers, b"");
    s.delay().await;
    if model.contains(':') || s.is_missing(&model) {
        return gemini_model_not_found(&model);
    }
    let mut v = parse(GEMINI_MODEL);
    v["name"] = json!(format!("models/{model}"));
    v["displayName"] = json!(model);
    json_response(StatusCode::OK, &v.to_string())
}

async fn gemini(
    State(s): State<Arc<Shared>>,
    Path(model_action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.record(
        "POST",
        &format!("/v1beta/models/{model_action}"),
        &headers,
        &body,
    );
    let Some(model) = model_action.strip_suffix(":generateContent") else {
        return json_response(
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":404,"message":"Not found","status":"NOT_FOUND"}}"#,
        );
    };
    s.wait(s.config.gemini_latency.unwrap_or(s.config.latency))
        .await;
    let fault = Shared::next(&s.gemini);
    if s.is_missing(model) || fault == Fault::ModelMissing {
        return gemini_model_not_found(model);
    }
    match fault {
        Fault::Ok => {
            let n = s
                .images_made
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut v = parse(GEMINI_SUCCESS);
            v["modelVersion"] = json!(model);
            v["candidates"][0]["content"]["parts"][2]["inlineData"]["data"] =
                json!(base64::engine::general_purpose::STANDARD.encode(numbered_png(n)));
            v["candidates"][0]["content"]["parts"][2]["thoughtSignature"] =
                json!(thought_signature(n));
            json_response(StatusCode::OK, &v.to_string())
        }
        Fault::ImageSafety => json_response(StatusCode::OK, GEMINI_SAFETY),
        Fault::PromptBlocked => json_response(StatusCode::OK, GEMINI_BLOCKED),
        Fault::TextOnly => json_response(StatusCode::OK, GEMINI_TEXT_ONLY),
        Fault::Malformed => json_response(StatusCode::OK, "{\"candidates\": [ this is not json"),
        Fault::RateLimited => {
            let mut v = parse(GEMINI_429);
            v["error"]["details"][2]["retryDelay"] = json!("1s");
            json_response(StatusCode::TOO_MANY_REQUESTS, &v.to_string())
        }
        Fault::Quota => json_response(
            StatusCode::PAYMENT_REQUIRED,
            r#"{"error":{"code":402,"message":"Your prepaid credits are used up.","status":"RESOURCE_EXHAUSTED"}}"#,
        ),
        Fault::Auth => json_response(StatusCode::BAD_REQUEST, GEMINI_400_KEY),
        Fault::Timeout => {
            tokio::time::sleep(s.config.hang).await;
            json_response(StatusCode::GATEWAY_TIMEOUT, GEMINI_503)
        }
        Fault::Status500 => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
        ),
        _ => json_response(StatusCode::SERVICE_UNAVAILABLE, GEMINI_503),
    }
}

async fn create_task(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    s.record("POST", "/api/v1/jobs/createTask", &headers, &body);
    s.delay().await;
    let fault = Shared::next(&s.task);
    match fault {
        Fault::Auth => {
            return json_response(
                StatusCode::UNAUTHORIZED,
                r#"{"code":401,"msg":"Unauthorized","data":null}"#,
            );
        }
        Fault::Quota => {
            return json_response(
                StatusCode::OK,
                r#"{"code":402,"msg":"Insufficient credits","data":null}"#,
            );
        }
        Fault::Status500 | Fault::Status503 => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"code":500,"msg":"Internal error","data":null}"#,
            );
        }
        Fault::Timeout => {
            tokio::time::sleep(s.config.hang).await;
        }
        _ => {}
    }
    let mut tasks = s.tasks.lock().unwrap_or_else(|p| p.into_inner());
    let id = format!("task_sim_{}", tasks.len() + 1);
    tasks.insert(id.clone(), (fault, 0));
    drop(tasks);
    let mut v = parse(KIE_CREATED);
    v["data"]["taskId"] = json!(id);
    json_response(StatusCode::OK, &v.to_string())
}

async fn record_info(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let id = query.get("taskId").cloned().unwrap_or_default();
    s.record(
        "GET",
        &format!("/api/v1/jobs/recordInfo?taskId={id}"),
        &headers,
        b"",
    );
    s.delay().await;
    let mut tasks = s.tasks.lock().unwrap_or_else(|p| p.into_inner());
    let Some((fault, polls)) = tasks.get_mut(&id) else {
        return json_response(
            StatusCode::OK,
            r#"{"code":404,"msg":"Task not found","data":null}"#,
        );
    };
    *polls += 1;
    let (fault, polls) = (*fault, *polls);
    drop(tasks);
    let mut v = if polls == 1 {
        parse(KIE_GENERATING)
    } else if fault == Fault::TaskFail {
        parse(KIE_FAIL)
    } else {
        let mut v = parse(KIE_SUCCESS);
        let file = match fault {
            Fault::ResultMissing => "missing.png".to_owned(),
            Fault::Oversized => "oversized.png".to_owned(),
            _ => format!("{id}.png"),
        };
        let url = format!("http://{}/files/{file}", s.addr);
        v["data"]["resultJson"] = json!(json!({"resultUrls": [url]}).to_string());
        v
    };
    v["data"]["taskId"] = json!(id);
    json_response(StatusCode::OK, &v.to_string())
}

async fn file(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.record("GET", &format!("/files/{name}"), &headers, b"");
    match name.as_str() {
        "missing.png" => (StatusCode::NOT_FOUND, "not found").into_response(),
        "oversized.png" => {
            let mut big = PNG_1X1.to_vec();
            big.resize(32 * 1024 * 1024, 0);
            ([(header::CONTENT_TYPE, "image/png")], big).into_response()
        }
        _ => ([(header::CONTENT_TYPE, "image/png")], PNG_1X1).into_response(),
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_unknown_words_are_named() {
        assert_eq!(
            parse_script("429, ok,500,timeout"),
            Ok(vec![
                Fault::RateLimited,
                Fault::Ok,
                Fault::Status500,
                Fault::Timeout
            ])
        );
        assert_eq!(parse_script(""), Ok(vec![]));
        assert!(
            parse_script("ok,explode")
                .expect_err("unknown")
                .contains("explode")
        );
    }

    #[test]
    fn fixtures_are_json_and_the_png_matches_them() {
        for fixture in [OPENAI_SUCCESS, OPENAI_REFUSAL, GEMINI_SUCCESS, KIE_SUCCESS] {
            assert!(serde_json::from_str::<Value>(fixture).is_ok());
        }
        assert!(GEMINI_SUCCESS.contains("iVBORw0KGgo"));
        assert_eq!(PNG_1X1.len(), 70);
        // The IEND chunk's checksum is the CRC of its type: the checksum code agrees with it.
        assert_eq!(crc32(b"IEND").to_be_bytes(), PNG_1X1[66..70]);
        let (a, b) = (numbered_png(0), numbered_png(1));
        assert_ne!(a, b);
        assert!(a.starts_with(&PNG_1X1[..33]) && a.ends_with(&PNG_1X1[58..]));
    }

    #[tokio::test]
    async fn spawn_serves_and_scripts_play_in_order() {
        let (addr, handle) = spawn(Config {
            gemini_faults: vec![Fault::Status503],
            ..Config::default()
        })
        .await
        .expect("binds");
        assert!(addr.ip().is_loopback());
        let url = format!("http://{addr}/v1beta/models/m:generateContent");
        let client = reqwest::Client::new();
        let first = client.post(&url).body("{}").send().await.expect("answer");
        assert_eq!(first.status().as_u16(), 503);
        let second = client.post(&url).body("{}").send().await.expect("answer");
        assert_eq!(second.status().as_u16(), 200);
        assert_eq!(handle.received().len(), 2);
    }

    #[tokio::test]
    async fn models_are_looked_up_and_missing_ones_answer_404_everywhere() {
        let (addr, _handle) = spawn(Config {
            missing_models: vec!["gone-model".into()],
            shutdown_dates: vec![("gpt-old".into(), "2026-12-01".into())],
            ..Config::default()
        })
        .await
        .expect("binds");
        let client = reqwest::Client::new();
        let get = |path: String| {
            let client = client.clone();
            async move {
                let response = client
                    .get(format!("http://{addr}{path}"))
                    .send()
                    .await
                    .expect("answer");
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.expect("json"))
            }
        };
        let (status, old) = get("/v1/models/gpt-old".into()).await;
        assert_eq!(
            (status, &old["id"], &old["shutdown_date"]),
            (200, &json!("gpt-old"), &json!("2026-12-01"))
        );
        let (_, luna) = get("/v1/models/gpt-6-luna".into()).await;
        assert_eq!(luna["shutdown_date"], Value::Null);
        let (status, gone) = get("/v1/models/gone-model".into()).await;
        assert_eq!(
            (status, &gone["error"]["code"]),
            (404, &json!("model_not_found"))
        );
        let (status, banana) = get("/v1beta/models/gemini-nano-banana-2.1".into()).await;
        assert_eq!(
            (status, &banana["name"]),
            (200, &json!("models/gemini-nano-banana-2.1"))
        );
        let (status, gone) = get("/v1beta/models/gone-model".into()).await;
        assert_eq!(
            (status, &gone["error"]["status"]),
            (404, &json!("NOT_FOUND"))
        );

        let post = |path: &str, body: Value| {
            client
                .post(format!("http://{addr}{path}"))
                .json(&body)
                .send()
        };
        let used = post("/v1/responses", json!({"model": "gone-model"}))
            .await
            .expect("answer");
        assert_eq!(used.status().as_u16(), 404);
        let used = post("/v1beta/models/gone-model:generateContent", json!({}))
            .await
            .expect("answer");
        assert_eq!(used.status().as_u16(), 404);
        let image = post(
            "/v1beta/models/gemini-nano-banana-2.1:generateContent",
            json!({}),
        )
        .await
        .expect("answer");
        let image: Value = image.json().await.expect("json");
        assert_eq!(image["modelVersion"], "gemini-nano-banana-2.1");
    }
}
