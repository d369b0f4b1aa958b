//! [`TaskImages`]: the asynchronous "Nano Banana API" resellers: submit → poll → download. The
//! reference shape is kie.ai (`POST /api/v1/jobs/createTask`, `GET /api/v1/jobs/recordInfo?taskId=`,
//! `data.state` `waiting|queuing|generating|success|fail`, `data.resultJson` a JSON *string* with
//! `resultUrls`). Paths and the model name are configurable for look-alike services.
//!
//! The result URL is downloaded at once with a size cap, a content-type and magic-byte check, at
//! most [`MAX_REDIRECTS`] redirects (each hop checked) and a timeout, and without our API key.
//! URLs that resolve to loopback, private or link-local addresses are refused unless
//! `allow_private_urls` is set (tests and the simulator need it).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{GeneratedImage, ImageGenerator, ImageRequest, ProviderError, ProviderInfo};

/// Redirects followed when downloading a result.
pub const MAX_REDIRECTS: usize = 3;

/// Everything the adapter needs. `Debug` never shows the key.
#[derive(Clone)]
pub struct TaskConfig {
    pub api_key: SecretString,
    /// The API root, e.g. `https://api.kie.ai`.
    pub api_url: String,
    /// `model` in the submit body, e.g. `google/nano-banana`.
    pub model: String,
    /// Default `/api/v1/jobs/createTask`.
    pub submit_path: String,
    /// Default `/api/v1/jobs/recordInfo` (the task id goes in `?taskId=`).
    pub poll_path: String,
    /// First poll after this; then ×1.5 up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Submit, polls and download together end by this, else `provider_timeout`.
    pub deadline: Duration,
    /// Each HTTP request (submit, one poll, the download) ends by this.
    pub request_timeout: Duration,
    pub max_image_bytes: usize,
    /// `ALLOW_PRIVATE_RESULT_URLS`: let result URLs point at loopback/private addresses.
    pub allow_private_urls: bool,
}

impl std::fmt::Debug for TaskConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskConfig")
            .field("api_url", &self.api_url)
            .field("model", &self.model)
            .field("deadline", &self.deadline)
            .field("allow_private_urls", &self.allow_private_urls)
            .finish_non_exhaustive()
    }
}

impl TaskConfig {
    pub fn new(api_key: SecretString, api_url: &str, model: &str) -> Self {
        TaskConfig {
            api_key,
            api_url: api_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            submit_path: "/api/v1/jobs/createTask".into(),
            poll_path: "/api/v1/jobs/recordInfo".into(),
            poll_initial: Duration::from_secs(2),
            poll_max: Duration::from_secs(10),
            deadline: Duration::from_secs(240),
            request_timeout: Duration::from_secs(30),
            max_image_bytes: 20 * 1024 * 1024,
            allow_private_urls: false,
        }
    }
}

/// A task's normalised state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Succeeded { url: String },
    Failed { code: String, message: String },
}

/// The task-service image generator.
#[derive(Debug)]
pub struct TaskImages {
    config: TaskConfig,
    http: reqwest::Client,
    /// No redirects followed automatically: each hop is checked before it is fetched.
    download: reqwest::Client,
}

impl TaskImages {
    pub fn new(config: TaskConfig) -> Result<Self, ProviderError> {
        let build = |redirects: bool| {
            reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(Duration::from_secs(10))
                .redirect(if redirects {
                    reqwest::redirect::Policy::limited(MAX_REDIRECTS)
                } else {
                    reqwest::redirect::Policy::none()
                })
                .build()
                .map_err(|e| ProviderError::BadResponse(format!("HTTP client: {e}")))
        };
        Ok(TaskImages {
            http: build(true)?,
            download: build(false)?,
            config,
        })
    }

    /// The submit body (kie.ai `createTask`).
    pub fn submit_body(&self, request: &ImageRequest<'_>) -> Value {
        json!({
            "model": self.config.model,
            "input": {
                "prompt": request.prompt,
                "output_format": "png",
                "image_size": request.aspect_ratio.as_str(),
            }
        })
    }

    async fn submit(&self, request: &ImageRequest<'_>) -> Result<String, ProviderError> {
        let response = self
            .http
            .post(format!(
                "{}{}",
                self.config.api_url, self.config.submit_path
            ))
            .bearer_auth(self.config.api_key.expose_secret())
            .json(&self.submit_body(request))
            .send()
            .await
            .map_err(transport)?;
        let envelope = envelope(response).await?;
        envelope
            .data
            .as_ref()
            .and_then(|d| d["taskId"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::BadResponse("the submit answer has no taskId".into()))
    }

    /// One poll. Transient failures (network, 5xx, 429) count as still pending.
    pub async fn poll(&self, task_id: &str) -> Result<TaskState, ProviderError> {
        let mut url =
            reqwest::Url::parse(&format!("{}{}", self.config.api_url, self.config.poll_path))
                .map_err(|e| ProviderError::BadResponse(format!("bad poll URL: {e}")))?;
        url.query_pairs_mut().append_pair("taskId", task_id);
        let sent = self
            .http
            .get(url)
            .bearer_auth(self.config.api_key.expose_secret())
            .send()
            .await;
        let envelope = match sent {
            Err(_) => return Ok(TaskState::Pending),
            Ok(response) => match envelope(response).await {
                Err(ProviderError::Unavailable | ProviderError::RateLimited { .. }) => {
                    return Ok(TaskState::Pending);
                }
                other => other?,
            },
        };
        let data = envelope.data.unwrap_or(Value::Null);
        let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
        Ok(match text("state").as_str() {
            "waiting" | "queuing" | "generating" => TaskState::Pending,
            "success" => {
                let result: Value = serde_json::from_str(&text("resultJson")).map_err(|e| {
                    ProviderError::BadResponse(format!("resultJson is not JSON: {e}"))
                })?;
                let url = result["resultUrls"][0].as_str().ok_or_else(|| {
                    ProviderError::BadResponse("the task succeeded with no result URL".into())
                })?;
                TaskState::Succeeded {
                    url: url.to_owned(),
                }
            }
            "fail" => TaskState::Failed {
                code: text("failCode"),
                message: text("failMsg"),
            },
            other => {
                return Err(ProviderError::BadResponse(format!(
                    "unknown task state {other:?}"
                )));
            }
        })
    }

    /// Downloads the result, following at most [`MAX_REDIRECTS`] redirects, each checked.
    pub async fn download(&self, url: &str) -> Result<GeneratedImage, ProviderError> {
        let mut url = reqwest::Url::parse(url)
            .map_err(|e| ProviderError::BadResponse(format!("bad result URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&url).await?;
            let response = self
                .download
                .get(url.clone())
                .send()
                .await
                .map_err(transport)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        ProviderError::BadResponse("a redirect without Location".into())
                    })?;
                url = url
                    .join(location)
                    .map_err(|e| ProviderError::BadResponse(format!("bad redirect: {e}")))?;
                continue;
            }
            if !status.is_success() {
                return Err(ProviderError::BadResponse(format!(
                    "the result download answered HTTP {}",
                    status.as_u16()
                )));
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if !content_type.starts_with("image/") {
                return Err(ProviderError::BadResponse(format!(
                    "the result is {content_type:?}, not an image"
                )));
            }
            let cap = self.config.max_image_bytes;
            if response.content_length().is_some_and(|l| l as usize > cap) {
                return Err(ProviderError::BadResponse(format!(
                    "the result is larger than {cap} bytes"
                )));
            }
            let bytes = crate::read_capped(response, cap).await?;
            let (mime, width, height) = crate::image_bytes::inspect(&bytes, &content_type)?;
            return Ok(GeneratedImage {
                bytes,
                mime_type: mime.to_owned(),
                width,
                height,
            });
        }
        Err(ProviderError::BadResponse(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Refuses non-HTTP schemes and, unless allowed, hosts resolving to non-public addresses.
    async fn check_url(&self, url: &reqwest::Url) -> Result<(), ProviderError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProviderError::BadResponse(format!(
                "the result URL scheme {:?} is not allowed",
                url.scheme()
            )));
        }
        if self.config.allow_private_urls {
            return Ok(());
        }
        let host = url
            .host_str()
            .ok_or_else(|| ProviderError::BadResponse("the result URL has no host".into()))?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| ProviderError::Unavailable)?
                .map(|a| a.ip())
                .collect(),
        };
        if addrs.is_empty() || addrs.iter().any(|ip| !is_public(*ip)) {
            return Err(ProviderError::BadResponse(
                "the result URL points at a private or loopback address".into(),
            ));
        }
        Ok(())
    }
}

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 224)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link local
        }
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn transport(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Unavailable
    }
}

/// Reads a `{code, msg, data}` answer; both the HTTP status and the body `code` must say 200.
async fn envelope(response: reqwest::Response) -> Result<Envelope, ProviderError> {
    let status = response.status().as_u16();
    let bytes = crate::read_capped(response, 1024 * 1024).await?;
    let body: Option<Envelope> = serde_json::from_slice(&bytes).ok();
    let code = match (status, body.as_ref().and_then(|b| b.code)) {
        (200, Some(code)) => code,
        (200, None) => 200,
        (status, _) => i64::from(status),
    };
    match code {
        200 => body.ok_or_else(|| ProviderError::BadResponse("the answer is not JSON".into())),
        401 | 403 => Err(ProviderError::Auth),
        402 => Err(ProviderError::QuotaExhausted),
        429 => Err(ProviderError::RateLimited { retry_after: None }),
        500..=599 => Err(ProviderError::Unavailable),
        other => Err(ProviderError::BadResponse(format!(
            "the task service answered {other}: {}",
            body.and_then(|b| b.msg).unwrap_or_default()
        ))),
    }
}

#[async_trait]
impl ImageGenerator for TaskImages {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: format!("Nano Banana {} (task service)", self.config.model),
            offline: false,
        }
    }

    async fn generate(&self, request: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
        let started = Instant::now();
        let work = async {
            let task_id = self.submit(&request).await?;
            let mut wait = self.config.poll_initial;
            loop {
                tokio::time::sleep(wait).await;
                match self.poll(&task_id).await? {
                    TaskState::Pending => {}
                    TaskState::Succeeded { url } => return self.download(&url).await,
                    TaskState::Failed { code, message } => {
                        let lower = message.to_ascii_lowercase();
                        let reason = format!("task failed: {code}");
                        return Err(
                            if ["safety", "sensitive", "policy", "prohibit", "nsfw"]
                                .iter()
                                .any(|w| lower.contains(w))
                            {
                                ProviderError::ContentBlocked { reason }
                            } else {
                                ProviderError::NoImage { reason }
                            },
                        );
                    }
                }
                wait = wait.mul_f64(1.5).min(self.config.poll_max);
            }
        };
        let result = tokio::time::timeout(self.config.deadline, work)
            .await
            .unwrap_or(Err(ProviderError::Timeout));
        tracing::info!(
            provider = "task",
            model = %self.config.model,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome = result.as_ref().map_or_else(crate::error_code, |_| "ok"),
            "provider call"
        );
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
