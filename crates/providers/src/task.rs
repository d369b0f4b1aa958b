//! [`TaskImages`]: the asynchronous "Nano Banana API" resellers: submit → poll → download. The
//! reference shape is kie.ai (`POST /api/v1/jobs/createTask`, `GET /api/v1/jobs/recordInfo?taskId=`,
//! `data.state` `waiting|queuing|generating|success|fail`, `data.resultJson` a JSON *string* with
//! `resultUrls`). Paths and the model name are configurable for look-alike services. They take
//! input images only as public URLs, which a session's private references and images are not, so
//! this adapter takes none ([`ImageGenerator::takes_input_images`]).
//!
//! The result URL is downloaded at once with a size cap, a content-type and magic-byte check, at
//! most [`MAX_REDIRECTS`] redirects (each hop checked) and a timeout, and without our API key.
//! Result hosts that are not on the public internet (loopback, private, link-local, and every
//! other special-purpose range, IPv4 inside IPv6 included) are refused unless
//! `allow_private_urls` is set (tests and the simulator need it). The check sits in the download
//! client's DNS resolver ([`PublicAddrs`]), so the connection goes to an address that passed it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ipnet::{Ipv4Net, Ipv6Net};
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
    /// Fetches results: no redirects followed automatically (each hop is checked before it is
    /// fetched), no proxy (a proxy would look the host up itself, past our check), and, unless
    /// private URLs are allowed, only public addresses out of DNS ([`PublicAddrs`]).
    download: reqwest::Client,
}

impl TaskImages {
    pub fn new(config: TaskConfig) -> Result<Self, ProviderError> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(Duration::from_secs(10))
        };
        let http = builder()
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build();
        let download = builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let download = if config.allow_private_urls {
            download
        } else {
            download.dns_resolver(Arc::new(PublicAddrs))
        };
        let client_error =
            |e: reqwest::Error| ProviderError::BadResponse(format!("HTTP client: {e}"));
        Ok(TaskImages {
            http: http.map_err(client_error)?,
            download: download.build().map_err(client_error)?,
            config,
        })
    }

    /// The submit body (kie.ai `createTask`). The reference model (`google/nano-banana`) takes no
    /// size, so none is sent and [`ImageGenerator::capabilities`] offers 1K only.
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
                    ProviderError::BadResponse(format!(
                        "resultJson is not JSON: {}",
                        crate::json_problem(&e)
                    ))
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
            self.check_url(&url)?;
            let response = self.download.get(url.clone()).send().await.map_err(|e| {
                if refused_by_resolver(&e) {
                    private_url()
                } else {
                    transport(e)
                }
            })?;
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
                thought_signature: None,
            });
        }
        Err(ProviderError::BadResponse(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Refuses non-HTTP schemes and, unless allowed, a host written as a non-public address.
    /// (A host name is checked by the download client's resolver, as it connects.)
    fn check_url(&self, url: &reqwest::Url) -> Result<(), ProviderError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProviderError::BadResponse(format!(
                "the result URL scheme {:?} is not allowed",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| ProviderError::BadResponse("the result URL has no host".into()))?;
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>();
        match literal {
            Ok(ip) if !self.config.allow_private_urls && !is_public(ip) => Err(private_url()),
            _ => Ok(()),
        }
    }
}

fn private_url() -> ProviderError {
    ProviderError::BadResponse("the result URL points at a private or loopback address".into())
}

/// The download client's DNS resolver: the system's lookup with every address that is not
/// public ([`is_public`]) removed. The connection is made to what it returns, so the address
/// checked is the address used; there is no second lookup a DNS server could answer differently.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicAddrs;

/// The resolver found no public address for a result host.
#[derive(Debug, thiserror::Error)]
#[error("the host has no public address")]
struct NoPublicAddress;

impl reqwest::dns::Resolve for PublicAddrs {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(NoPublicAddress.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// True when a failed request failed because [`PublicAddrs`] refused its host.
fn refused_by_resolver(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<NoPublicAddress>() {
            return true;
        }
        source = e.source();
    }
    false
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(first: u16, second: u16, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(first, second, 0, 0, 0, 0, 0, 0), prefix)
}

/// IPv4 ranges that are not on the public internet: IANA's special-purpose registry (the ranges
/// not globally reachable), multicast, and the reserved 240/4 with the broadcast address.
const NOT_PUBLIC_V4: [Ipv4Net; 15] = [
    v4(0, 0, 0, 0, 8),       // "this network"
    v4(10, 0, 0, 0, 8),      // private
    v4(100, 64, 0, 0, 10),   // shared address space (carrier-grade NAT)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link local (cloud metadata lives here)
    v4(172, 16, 0, 0, 12),   // private
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments
    v4(192, 0, 2, 0, 24),    // documentation
    v4(192, 88, 99, 0, 24),  // the retired 6to4 relay anycast
    v4(192, 168, 0, 0, 16),  // private
    v4(198, 18, 0, 0, 15),   // benchmarking
    v4(198, 51, 100, 0, 24), // documentation
    v4(203, 0, 113, 0, 24),  // documentation
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, and 255.255.255.255
];

/// Global unicast: every public IPv6 address is in here. Outside it lie `::/8` (unspecified,
/// loopback, IPv4-compatible), `100::/64` (discard), `64:ff9b:1::/48` (local-use NAT64),
/// `5f00::/16` (SRv6), `fc00::/7` (unique local), `fe80::/10` (link local), `fec0::/10` (site
/// local) and `ff00::/8` (multicast).
const GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 3);
/// Inside global unicast but not public.
const NOT_PUBLIC_V6: [Ipv6Net; 3] = [
    v6(0x2001, 0, 23), // IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
    v6(0x2001, 0x0db8, 32), // documentation
    v6(0x3fff, 0, 20), // documentation
];
/// Well-known NAT64 (`64:ff9b::/96`): the last 32 bits are the IPv4 address reached.
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// 6to4 (`2002::/16`): bits 16..48 are the IPv4 address reached.
const SIX_TO_FOUR: Ipv6Net = v6(0x2002, 0, 16);

/// True for addresses on the public internet. IPv4 carried in IPv6 (mapped, NAT64, 6to4) is
/// judged by the IPv4 address it reaches.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !NOT_PUBLIC_V4.iter().any(|net| net.contains(&v4)),
        IpAddr::V6(v6) => {
            let [_, s1, s2, .., s6, s7] = v6.segments();
            let embedded = |high: u16, low: u16| {
                let [a, b] = high.to_be_bytes();
                let [c, d] = low.to_be_bytes();
                IpAddr::V4(Ipv4Addr::new(a, b, c, d))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                is_public(IpAddr::V4(v4))
            } else if NAT64.contains(&v6) {
                is_public(embedded(s6, s7))
            } else if SIX_TO_FOUR.contains(&v6) {
                is_public(embedded(s1, s2))
            } else {
                GLOBAL_UNICAST.contains(&v6) && !NOT_PUBLIC_V6.iter().any(|net| net.contains(&v6))
            }
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

    /// The task services take input images only as public URLs (`image_urls`), and the
    /// session's images are private to it: none is sent.
    fn takes_input_images(&self) -> bool {
        false
    }

    async fn generate(&self, request: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
        if !request.references.is_empty() || request.edit.is_some() {
            // The server refuses these before calling (`takes_input_images`).
            return Err(ProviderError::BadResponse(
                "the task service takes no input images".into(),
            ));
        }
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
            // IANA special-purpose IPv4 ranges.
            "0.1.2.3",
            "100.127.255.254",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.251",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv4 inside IPv6: mapped, compatible, NAT64 (well-known and local-use), 6to4.
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::c0a8:101",
            "64:ff9b:1::808:808",
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            // IANA special-purpose IPv6 ranges.
            "::",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2001:10::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fe80::1:2",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
