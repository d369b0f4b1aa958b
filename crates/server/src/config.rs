//! Settings from environment variables (optionally loaded from `.env`), with defaults in code.
//! `.env.example` documents every variable. A bad value stops the start with the variable's name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
pub use providers::openai::ReasoningEffort;
use secrecy::{ExposeSecret, SecretString};

use crate::client_addr::TrustedProxies;

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `BIND`: address to listen on. Default `127.0.0.1:8080`; tests use port 0.
    pub bind: SocketAddr,
    pub session: SessionSettings,
    /// `PROMPT_MAX_CHARS`: cap on the synthesized prompt, cut at a sentence boundary.
    pub prompt_max_chars: usize,
    /// `IMAGE_STORE_MB`: room for generated images; the oldest are dropped first.
    pub image_store_bytes: usize,
    pub storage: StorageSettings,
    /// `SHUTDOWN_GRACE_SECS`: on SIGTERM or Ctrl-C, how long running jobs may finish before
    /// they are ended `generation_interrupted`. Default 30.
    pub shutdown_grace: Duration,
    /// `TEMPLATES_DIR`: load templates from here instead of the built-in set.
    pub templates_dir: Option<PathBuf>,
    /// `STATIC_DIR`: the built SPA (trunk's `dist/`).
    pub static_dir: PathBuf,
    /// `ACCESS_PASSWORD` (at least 12 characters): when set, everything but `/healthz` needs
    /// this password (see `access`).
    pub access_password: Option<SecretString>,
    /// `QUOTA_PER_SESSION_DAY` / `QUOTA_PER_CLIENT_DAY` / `QUOTA_GLOBAL_DAY`: live generations
    /// a day, per session, per client address (IPv4 address, IPv6 /64) and in all; `None` when
    /// the variable says `unlimited`.
    pub quota_per_session_day: Option<u32>,
    pub quota_per_client_day: Option<u32>,
    pub quota_global_day: Option<u32>,
    /// `SPECULATIVE_SYNTHESIS` (default true): write the prompt in the background as soon as a
    /// brief is complete, so Generate waits only for the image.
    pub speculative_synthesis: bool,
    /// `RATE_LIMIT_IP_PER_MINUTE` / `RATE_LIMIT_SESSION_PER_MINUTE`: `/api` requests (0 = off).
    pub rate_limit_ip_per_minute: Option<u32>,
    pub rate_limit_session_per_minute: Option<u32>,
    /// `REQUEST_TIMEOUT_SECS`: a request (its body included) must be answered within this, else
    /// 408 `request_timeout`. The job long-poll and event stream have their own bounds. Also how
    /// long a reader may take none of its answer before its connection is closed. Default 30.
    pub request_timeout: Duration,
    /// `HEADER_TIMEOUT_SECS`: a connection must deliver a request's headers within this (an idle
    /// keep-alive connection is closed after it too). Default 30.
    pub header_read_timeout: Duration,
    pub openai: OpenAiSettings,
    pub nanobanana: NanoBananaSettings,
    pub offline: OfflineSettings,
}

/// Cookie and store settings.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `SESSION_SECRET` (≥ 32 bytes). `None`: the embedded default makes one once and keeps it
    /// in `DATA_DIR` (refused with PostgreSQL, where every instance must share one).
    pub secret: Option<SecretString>,
    /// `SESSION_IDLE_HOURS`: a session unused this long is dropped. Default 24.
    pub idle_timeout: Duration,
    /// `MAX_SESSIONS`: at most this many sessions; the least recently used is dropped first.
    pub max_sessions: usize,
    /// `TRUST_FORWARDED_PROTO`: mark cookies `Secure` when a proxy says `X-Forwarded-Proto: https`.
    pub trust_forwarded_proto: bool,
    /// `TRUSTED_PROXIES`: peers whose `CF-Connecting-IP` / `X-Forwarded-For` name the client
    /// for per-client limits (see `client_addr`). Default loopback.
    pub trusted_proxies: TrustedProxies,
}

/// Where sessions, jobs, images and quotas are kept (see docs/deployment.md).
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// `DATA_DIR`: the embedded default's folder (SQLite database, images, session secret).
    /// Default `./data`.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: `sqlite://...` or `postgres://...`. `None`: `sqlite://$DATA_DIR/refinery.db`.
    pub database_url: Option<String>,
    /// `IMAGE_STORE_URL`: `file://...` or `s3://bucket/prefix`. `None`: `$DATA_DIR/images`.
    pub image_store_url: Option<String>,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`: for an `s3://` image store.
    pub s3: store::S3Options,
    /// `IMAGE_RETENTION_DAYS`: images older than this are dropped. Default 30.
    pub image_retention: Duration,
    /// `JOB_LEASE_SECS`: a job whose instance stops renewing it for this long (it died) ends
    /// `generation_interrupted`. Default 15.
    pub job_lease: Duration,
    /// `DATABASE_MAX_CONNECTIONS`: on PostgreSQL the connection pool size per instance; on
    /// SQLite the read connections (a thread each) beside the one that writes. Default 10.
    pub max_connections: u32,
}

impl StorageSettings {
    /// `DATABASE_URL`, or the embedded default under `DATA_DIR`.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("refinery.db").display()))
    }

    /// `IMAGE_STORE_URL`, or the embedded default under `DATA_DIR`.
    pub fn image_store_url(&self) -> String {
        self.image_store_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("images").display()))
    }

    /// True when the rows live in PostgreSQL (several instances may share them).
    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.database_url())
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The OpenAI prompt writer.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// `OPENAI_API_KEY`. Unset: the local prompt composer runs instead.
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`, including `/v1`.
    pub base_url: String,
    /// `OPENAI_MODEL`.
    pub model: String,
    /// `OPENAI_REASONING_EFFORT`: `reasoning.effort` on every request. Default `low`.
    pub reasoning_effort: ReasoningEffort,
    /// `OPENAI_TIMEOUT_SECS`: per HTTP attempt. Default 30.
    pub timeout: Duration,
    /// `SYNTHESIS_FALLBACK`: what to do when the prompt writer fails for good. Default `local`.
    pub fallback: SynthesisFallback,
}

/// `SYNTHESIS_FALLBACK=local|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthesisFallback {
    /// Write the prompt with the local composer instead (never the raw idea).
    Local,
    /// Report the failure to the person.
    Off,
}

/// `NANOBANANA_MODE=gemini|task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanoBananaMode {
    /// Google's Gemini API `generateContent` (the default).
    Gemini,
    /// An asynchronous reseller (kie.ai shape): submit, poll, download.
    Task,
}

/// The asynchronous task service (`NANOBANANA_MODE=task`).
#[derive(Debug, Clone)]
pub struct TaskServiceSettings {
    /// `NANOBANANA_TASK_API_URL`: the service root. Default `https://api.kie.ai`.
    pub api_url: String,
    /// `NANOBANANA_TASK_MODEL`: `model` in the submit body. Default `google/nano-banana`.
    pub model: String,
    /// `NANOBANANA_TASK_SUBMIT_PATH`. Default `/api/v1/jobs/createTask`.
    pub submit_path: String,
    /// `NANOBANANA_TASK_POLL_PATH`. Default `/api/v1/jobs/recordInfo`.
    pub poll_path: String,
    /// `NANOBANANA_TASK_POLL_MS`: the first poll's delay (then ×1.5, at most 10 s). Default 2000.
    pub poll_initial: Duration,
}

/// The Nano Banana (Gemini image) provider.
#[derive(Debug, Clone)]
pub struct NanoBananaSettings {
    /// `NANOBANANA_API_KEY`. Unset: the local preview renderer runs instead.
    pub api_key: Option<SecretString>,
    /// `NANOBANANA_API_URL`: the API root, without `/v1beta`.
    pub api_url: String,
    /// `NANOBANANA_MODEL`.
    pub model: String,
    /// `NANOBANANA_MODE`: `gemini` (default) or `task`.
    pub mode: NanoBananaMode,
    /// `NANOBANANA_TIMEOUT_SECS`: deadline for one image, retries included. Default 120.
    pub timeout: Duration,
    pub task: TaskServiceSettings,
    /// `ALLOW_PRIVATE_RESULT_URLS`: let task result URLs point at loopback/private addresses
    /// (the simulator and tests). Default false.
    pub allow_private_result_urls: bool,
}

/// Knobs of the offline stand-ins, for demos and tests.
#[derive(Debug, Clone, Default)]
pub struct OfflineSettings {
    /// `OFFLINE_LATENCY_MS`: added to each offline provider call. Default 0.
    pub latency: Duration,
    /// `OFFLINE_SYNTHESIS_FAULTS`: a fault script for the local composer, e.g. `synthesis_failed,ok`.
    pub synthesis_faults: String,
    /// `OFFLINE_IMAGE_FAULTS`: a fault script for the local renderer, e.g. `provider_unavailable,ok`.
    pub image_faults: String,
}

pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// OpenAI's recommended replacement for the small GPT-5 models (`gpt-5-mini` shuts down on
/// 2026-12-11). Checked 2026-11-25; see docs/providers.md.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-6-luna";
/// The prompt is short structured writing: OpenAI suggests `none` or `low` for simple tasks.
pub const DEFAULT_REASONING_EFFORT: ReasoningEffort = ReasoningEffort::Low;
pub const DEFAULT_NANOBANANA_API_URL: &str = "https://generativelanguage.googleapis.com";
/// Nano Banana 2.1, GA since 2026-10-06 (`gemini-3.1-flash-image` was deprecated that day).
/// Checked 2026-11-25; see docs/providers.md.
pub const DEFAULT_NANOBANANA_MODEL: &str = "gemini-nano-banana-2.1";
pub const DEFAULT_TASK_API_URL: &str = "https://api.kie.ai";
pub const DEFAULT_TASK_MODEL: &str = "google/nano-banana";
const MIN_SECRET_BYTES: usize = 32;
/// A shared instance's password is typed by people but guessed by scripts; the login limits
/// slow guessing, length makes it hopeless.
const MIN_PASSWORD_CHARS: usize = 12;

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Settings> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secret = |name: &str| get(name).map(SecretString::from);

        let bind = match get("BIND") {
            Some(v) => v
                .parse()
                .with_context(|| format!("BIND={v:?} is not an address like 127.0.0.1:8080"))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let session_secret = secret("SESSION_SECRET");
        if session_secret.is_none() && !bind.ip().is_loopback() {
            bail!(
                "BIND={bind} is reachable from other machines, so SESSION_SECRET must be set (try: openssl rand -hex 32)"
            );
        }
        if let Some(s) = &session_secret
            && s.expose_secret().len() < MIN_SECRET_BYTES
        {
            bail!(
                "SESSION_SECRET is {} bytes; it needs at least {MIN_SECRET_BYTES} (try: openssl rand -hex 32)",
                s.expose_secret().len()
            );
        }
        let storage = storage(&get)?;
        if session_secret.is_none() && storage.is_postgres() {
            bail!(
                "DATABASE_URL is PostgreSQL, so SESSION_SECRET must be set, the same on every instance (try: openssl rand -hex 32; see docs/deployment.md)"
            );
        }
        let access_password = secret("ACCESS_PASSWORD");
        if let Some(password) = &access_password {
            let chars = password.expose_secret().chars().count();
            if chars < MIN_PASSWORD_CHARS {
                bail!(
                    "ACCESS_PASSWORD is {chars} characters; it needs at least {MIN_PASSWORD_CHARS} (a passphrase of a few words is easy to read out)"
                );
            }
        }
        if get("TRUST_FORWARDED_FOR").is_some() {
            bail!(
                "TRUST_FORWARDED_FOR is no longer read: forwarded client addresses are now believed only from TRUSTED_PROXIES (comma-separated CIDRs; default 127.0.0.0/8,::1/128, which covers a local cloudflared; `none` believes no one). Remove TRUST_FORWARDED_FOR, and set TRUSTED_PROXIES if your proxy is not on this machine."
            );
        }
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            Some(v) => TrustedProxies::parse(&v).map_err(|e| anyhow!("TRUSTED_PROXIES: {e}"))?,
            None => TrustedProxies::default(),
        };
        let openai = OpenAiSettings {
            api_key: secret("OPENAI_API_KEY"),
            base_url: url(&get, "OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL)?,
            model: get("OPENAI_MODEL").unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned()),
            reasoning_effort: match get("OPENAI_REASONING_EFFORT") {
                None => DEFAULT_REASONING_EFFORT,
                Some(v) => ReasoningEffort::parse(&v).ok_or_else(|| {
                    anyhow!(
                        "OPENAI_REASONING_EFFORT={v:?} must be one of {}",
                        ReasoningEffort::NAMES.join(", ")
                    )
                })?,
            },
            timeout: Duration::from_secs(number(&get, "OPENAI_TIMEOUT_SECS", 30, 1..=600)?),
            fallback: match get("SYNTHESIS_FALLBACK")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("local") => SynthesisFallback::Local,
                Some("off") => SynthesisFallback::Off,
                Some(other) => bail!("SYNTHESIS_FALLBACK={other:?} must be local or off"),
            },
        };
        let nanobanana = NanoBananaSettings {
            api_key: secret("NANOBANANA_API_KEY"),
            api_url: url(&get, "NANOBANANA_API_URL", DEFAULT_NANOBANANA_API_URL)?,
            model: get("NANOBANANA_MODEL").unwrap_or_else(|| DEFAULT_NANOBANANA_MODEL.to_owned()),
            mode: match get("NANOBANANA_MODE")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("gemini") => NanoBananaMode::Gemini,
                Some("task") => NanoBananaMode::Task,
                Some(other) => bail!("NANOBANANA_MODE={other:?} must be gemini or task"),
            },
            timeout: Duration::from_secs(number(&get, "NANOBANANA_TIMEOUT_SECS", 120, 1..=1800)?),
            task: TaskServiceSettings {
                api_url: url(&get, "NANOBANANA_TASK_API_URL", DEFAULT_TASK_API_URL)?,
                model: get("NANOBANANA_TASK_MODEL")
                    .unwrap_or_else(|| DEFAULT_TASK_MODEL.to_owned()),
                submit_path: path(
                    &get,
                    "NANOBANANA_TASK_SUBMIT_PATH",
                    "/api/v1/jobs/createTask",
                )?,
                poll_path: path(&get, "NANOBANANA_TASK_POLL_PATH", "/api/v1/jobs/recordInfo")?,
                poll_initial: Duration::from_millis(number(
                    &get,
                    "NANOBANANA_TASK_POLL_MS",
                    2000,
                    10..=60_000,
                )?),
            },
            allow_private_result_urls: flag(&get, "ALLOW_PRIVATE_RESULT_URLS")?,
        };
        Ok(Settings {
            bind,
            session: SessionSettings {
                secret: session_secret,
                idle_timeout: Duration::from_secs(
                    number(&get, "SESSION_IDLE_HOURS", 24, 1..=24 * 365)? * 3600,
                ),
                max_sessions: number(&get, "MAX_SESSIONS", 10_000, 1..=10_000_000)? as usize,
                trust_forwarded_proto: flag(&get, "TRUST_FORWARDED_PROTO")?,
                trusted_proxies,
            },
            prompt_max_chars: number(&get, "PROMPT_MAX_CHARS", 1500, 200..=10_000)? as usize,
            image_store_bytes: number(&get, "IMAGE_STORE_MB", 256, 1..=65_536)? as usize
                * 1024
                * 1024,
            storage,
            shutdown_grace: Duration::from_secs(number(&get, "SHUTDOWN_GRACE_SECS", 30, 0..=3600)?),
            templates_dir: get("TEMPLATES_DIR").map(PathBuf::from),
            static_dir: get("STATIC_DIR").map_or_else(|| PathBuf::from("dist"), PathBuf::from),
            access_password,
            quota_per_session_day: quota(&get, "QUOTA_PER_SESSION_DAY", 25, 1_000_000)?,
            quota_per_client_day: quota(&get, "QUOTA_PER_CLIENT_DAY", 50, 1_000_000)?,
            quota_global_day: quota(&get, "QUOTA_GLOBAL_DAY", 200, 10_000_000)?,
            speculative_synthesis: get("SPECULATIVE_SYNTHESIS").is_none()
                || flag(&get, "SPECULATIVE_SYNTHESIS")?,
            rate_limit_ip_per_minute: limit(number(
                &get,
                "RATE_LIMIT_IP_PER_MINUTE",
                600,
                0..=1_000_000,
            )?),
            rate_limit_session_per_minute: limit(number(
                &get,
                "RATE_LIMIT_SESSION_PER_MINUTE",
                240,
                0..=1_000_000,
            )?),
            request_timeout: Duration::from_secs(number(
                &get,
                "REQUEST_TIMEOUT_SECS",
                30,
                1..=600,
            )?),
            header_read_timeout: Duration::from_secs(number(
                &get,
                "HEADER_TIMEOUT_SECS",
                30,
                1..=600,
            )?),
            openai,
            nanobanana,
            offline: OfflineSettings {
                latency: Duration::from_millis(number(&get, "OFFLINE_LATENCY_MS", 0, 0..=600_000)?),
                synthesis_faults: get("OFFLINE_SYNTHESIS_FAULTS").unwrap_or_default(),
                image_faults: get("OFFLINE_IMAGE_FAULTS").unwrap_or_default(),
            },
        })
    }

    /// Settings for tests and tools: loopback, OS-picked port, offline providers, a fixed secret,
    /// and throwaway storage: a database in a temporary folder, image bytes in memory (tests point
    /// `storage` at files or servers).
    pub fn for_tests() -> Settings {
        let mut settings = Settings::from_lookup(|name| match name {
            "BIND" => Some("127.0.0.1:0".to_owned()),
            "SESSION_SECRET" => Some("test-secret-test-secret-test-secret-0123".to_owned()),
            "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
            "IMAGE_STORE_URL" => Some("memory://".to_owned()),
            _ => None,
        })
        .unwrap_or_else(|e| unreachable!("built-in test settings are valid: {e}"));
        settings.static_dir = PathBuf::from("/nonexistent-static-dir");
        // Tests fire requests faster than any person; the rate-limit tests turn limits back on.
        settings.rate_limit_ip_per_minute = None;
        settings.rate_limit_session_per_minute = None;
        // Every test person comes from 127.0.0.1; the client quota test turns it back on.
        settings.quota_per_client_day = None;
        settings
    }
}

/// 0 means "no limit".
fn limit(value: u64) -> Option<u32> {
    u32::try_from(value).ok().filter(|&v| v > 0)
}

/// The storage variables; a malformed URL names its variable.
fn storage(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<StorageSettings> {
    let data_dir = get("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from);
    let database_url = get("DATABASE_URL");
    if let Some(url) = &database_url
        && !(url.starts_with("sqlite:") || is_postgres_url(url))
    {
        bail!(
            "DATABASE_URL={:?} must start with sqlite:// or postgres://",
            store::redact_url(url)
        );
    }
    let image_store_url = get("IMAGE_STORE_URL");
    if let Some(url) = &image_store_url {
        store::ImageLocation::parse(url).map_err(|e| anyhow!("IMAGE_STORE_URL: {e}"))?;
    }
    let endpoint = get("AWS_ENDPOINT_URL");
    if let Some(endpoint) = &endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        bail!("AWS_ENDPOINT_URL={endpoint:?} must be an http:// or https:// URL");
    }
    Ok(StorageSettings {
        data_dir,
        database_url,
        image_store_url,
        s3: store::S3Options {
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(SecretString::from),
            session_token: get("AWS_SESSION_TOKEN").map(SecretString::from),
            region: get("AWS_REGION"),
            endpoint,
            allow_http: flag(get, "AWS_ALLOW_HTTP")?,
        },
        image_retention: Duration::from_secs(
            number(get, "IMAGE_RETENTION_DAYS", 30, 1..=36_500)? * 86_400,
        ),
        job_lease: Duration::from_secs(number(get, "JOB_LEASE_SECS", 15, 2..=600)?),
        max_connections: number(get, "DATABASE_MAX_CONNECTIONS", 10, 1..=1000)? as u32,
    })
}

/// A daily spend limit: a positive count, or `unlimited` written out. `0` is refused: it used to
/// mean "no limit", and reading it as "nothing allowed" would surprise as much.
fn quota(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    max: u64,
) -> anyhow::Result<Option<u32>> {
    match get(name) {
        Some(v) if v.eq_ignore_ascii_case("unlimited") => Ok(None),
        Some(v) if v == "0" => bail!(
            "{name}=0 is ambiguous: write {name}=unlimited for no limit, or a number of images a day"
        ),
        Some(_) => Ok(u32::try_from(number(get, name, 0, 1..=max)?).ok()),
        None => Ok(Some(default)),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<u64> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let value: u64 = raw
        .parse()
        .map_err(|_| anyhow!("{name}={raw:?} is not a whole number"))?;
    if !range.contains(&value) {
        bail!(
            "{name}={value} is out of range ({}..={})",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

fn flag(get: &impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<bool> {
    match get(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => bail!("{name}={other:?} must be true or false"),
    }
}

fn path(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
) -> anyhow::Result<String> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    if !value.starts_with('/') {
        bail!("{name}={value:?} must be a path starting with /");
    }
    Ok(value)
}

fn url(get: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> anyhow::Result<String> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        bail!("{name}={value:?} must be an http:// or https:// URL");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_offline_on_loopback() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert!(s.openai.api_key.is_none() && s.nanobanana.api_key.is_none());
        assert!(s.session.secret.is_none(), "made once and kept in DATA_DIR");
        assert_eq!(s.storage.database_url(), "sqlite://data/refinery.db");
        assert_eq!(s.storage.image_store_url(), "file://data/images");
        assert_eq!(s.storage.image_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
        assert_eq!(s.prompt_max_chars, 1500);
        assert_eq!(s.session.idle_timeout, Duration::from_secs(24 * 3600));
        assert_eq!(s.openai.timeout, Duration::from_secs(30));
        assert_eq!(s.openai.model, "gpt-6-luna");
        assert_eq!(s.openai.reasoning_effort, ReasoningEffort::Low);
        assert_eq!(s.nanobanana.model, "gemini-nano-banana-2.1");
        assert_eq!(s.openai.fallback, SynthesisFallback::Local);
        assert_eq!(s.nanobanana.mode, NanoBananaMode::Gemini);
        assert_eq!(s.nanobanana.timeout, Duration::from_secs(120));
        assert_eq!(s.nanobanana.task.api_url, DEFAULT_TASK_API_URL);
        assert!(!s.nanobanana.allow_private_result_urls);
    }

    #[test]
    fn provider_knobs_are_read() {
        let s = settings(&[
            ("OPENAI_TIMEOUT_SECS", "5"),
            ("OPENAI_REASONING_EFFORT", "XHigh"),
            ("OPENAI_MODEL", "gpt-6.1-terra"),
            ("NANOBANANA_MODEL", "gemini-3-pro-image"),
            ("SYNTHESIS_FALLBACK", "OFF"),
            ("NANOBANANA_MODE", "task"),
            ("NANOBANANA_TIMEOUT_SECS", "60"),
            ("NANOBANANA_TASK_API_URL", "http://127.0.0.1:9/"),
            ("ALLOW_PRIVATE_RESULT_URLS", "true"),
        ])
        .expect("valid");
        assert_eq!(s.openai.timeout, Duration::from_secs(5));
        assert_eq!(s.openai.reasoning_effort, ReasoningEffort::Xhigh);
        assert_eq!(s.openai.model, "gpt-6.1-terra");
        assert_eq!(s.nanobanana.model, "gemini-3-pro-image");
        assert_eq!(s.openai.fallback, SynthesisFallback::Off);
        assert_eq!(s.nanobanana.mode, NanoBananaMode::Task);
        assert_eq!(s.nanobanana.timeout, Duration::from_secs(60));
        assert_eq!(s.nanobanana.task.api_url, "http://127.0.0.1:9");
        assert!(s.nanobanana.allow_private_result_urls);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("BIND", "localhost"),
            ("SESSION_SECRET", "short"),
            ("MAX_SESSIONS", "lots"),
            ("PROMPT_MAX_CHARS", "5"),
            ("OPENAI_BASE_URL", "api.openai.com"),
            ("TRUST_FORWARDED_PROTO", "maybe"),
            ("OPENAI_TIMEOUT_SECS", "0"),
            ("OPENAI_REASONING_EFFORT", "minimal"),
            ("OPENAI_REASONING_EFFORT", "extreme"),
            ("SYNTHESIS_FALLBACK", "raw"),
            ("NANOBANANA_MODE", "fal"),
            ("NANOBANANA_TIMEOUT_SECS", "soon"),
            ("NANOBANANA_TASK_API_URL", "api.kie.ai"),
            ("NANOBANANA_TASK_POLL_PATH", "recordInfo"),
            ("ALLOW_PRIVATE_RESULT_URLS", "perhaps"),
            ("DATABASE_URL", "mysql://localhost/refinery"),
            ("IMAGE_STORE_URL", "gs://bucket/images"),
            ("IMAGE_STORE_URL", "s3://"),
            ("AWS_ENDPOINT_URL", "minio.local:9000"),
            ("AWS_ALLOW_HTTP", "sometimes"),
            ("IMAGE_RETENTION_DAYS", "0"),
            ("SHUTDOWN_GRACE_SECS", "forever"),
            ("JOB_LEASE_SECS", "1"),
        ] {
            let err = settings(&[(name, value)]).expect_err(name);
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn unlimited_quotas_are_written_out_and_zero_is_refused() {
        let s = settings(&[
            ("QUOTA_PER_SESSION_DAY", "unlimited"),
            ("QUOTA_PER_CLIENT_DAY", "unlimited"),
            ("QUOTA_GLOBAL_DAY", "Unlimited"),
        ])
        .expect("valid");
        assert_eq!((s.quota_per_session_day, s.quota_global_day), (None, None));
        assert_eq!(s.quota_per_client_day, None);
        let s =
            settings(&[("QUOTA_PER_SESSION_DAY", "3"), ("QUOTA_GLOBAL_DAY", "40")]).expect("valid");
        assert_eq!(
            (s.quota_per_session_day, s.quota_global_day),
            (Some(3), Some(40))
        );
        let s = settings(&[]).expect("defaults");
        assert_eq!(
            (s.quota_per_session_day, s.quota_global_day),
            (Some(25), Some(200))
        );
        assert_eq!(s.quota_per_client_day, Some(50));
        for name in [
            "QUOTA_PER_SESSION_DAY",
            "QUOTA_PER_CLIENT_DAY",
            "QUOTA_GLOBAL_DAY",
        ] {
            let err = settings(&[(name, "0")]).expect_err(name).to_string();
            assert!(
                err.contains(name) && err.contains("unlimited"),
                "{name}: {err}"
            );
            for bad in ["-1", "lots", "unlimited please"] {
                let err = settings(&[(name, bad)]).expect_err(bad).to_string();
                assert!(err.contains(name), "{name}={bad}: {err}");
            }
        }
    }

    #[test]
    fn speculative_synthesis_is_on_unless_turned_off() {
        assert!(settings(&[]).expect("defaults").speculative_synthesis);
        let off = settings(&[("SPECULATIVE_SYNTHESIS", "false")]).expect("valid");
        assert!(!off.speculative_synthesis);
        let err = settings(&[("SPECULATIVE_SYNTHESIS", "maybe")]).expect_err("not a flag");
        assert!(err.to_string().contains("SPECULATIVE_SYNTHESIS"), "{err}");
    }

    #[test]
    fn an_access_password_under_twelve_characters_refuses_to_start() {
        for short in ["pw", "elevenchars", "äöüäöüäöüäö"] {
            let err = settings(&[("ACCESS_PASSWORD", short)])
                .expect_err(short)
                .to_string();
            assert!(err.contains("ACCESS_PASSWORD"), "{err}");
            assert!(
                !err.contains(short),
                "the message never repeats the password"
            );
        }
        for long_enough in [
            "twelve-chars",
            "äöüäöüäöüäöü",
            "correct horse battery staple",
        ] {
            assert!(settings(&[("ACCESS_PASSWORD", long_enough)]).is_ok());
        }
    }

    #[test]
    fn the_old_trust_forwarded_for_is_refused_with_its_replacement_named() {
        for value in ["true", "false"] {
            let err = settings(&[("TRUST_FORWARDED_FOR", value)])
                .expect_err(value)
                .to_string();
            assert!(
                err.contains("TRUST_FORWARDED_FOR") && err.contains("TRUSTED_PROXIES"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_public_bind_needs_a_session_secret() {
        let err = settings(&[("BIND", "0.0.0.0:8080")]).expect_err("no secret");
        assert!(err.to_string().contains("SESSION_SECRET"), "{err}");
        let ok = settings(&[
            ("BIND", "0.0.0.0:8080"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = settings(&[
            ("SESSION_SECRET", "a-very-secret-session-secret-0123456789"),
            ("OPENAI_API_KEY", "sk-live-abcdef"),
            ("NANOBANANA_API_KEY", "AIza-secret"),
            ("ACCESS_PASSWORD", "partner-password"),
        ])
        .expect("valid");
        let debug = format!("{s:?}");
        for secret in [
            "a-very-secret",
            "sk-live-abcdef",
            "AIza-secret",
            "partner-password",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into Debug");
        }
        assert!(s.session.secret.is_some());
    }

    #[test]
    fn env_example_documents_every_variable_read_here() {
        let example = include_str!("../../../.env.example");
        let source = include_str!("config.rs");
        let mut read = Vec::new();
        for (at, _) in source.match_indices('"') {
            let name: String = source[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let quoted = source[at + 1 + name.len()..].starts_with('"');
            let called = source[..at].ends_with("get(")
                || source[..at].ends_with("secret(")
                || source[..at].trim_end().ends_with("&get,");
            if name.len() > 2 && quoted && called && !read.contains(&name) {
                read.push(name);
            }
        }
        assert!(read.len() > 30, "found only {read:?}");
        // Read only to refuse it with a message naming its replacement.
        let retired = ["TRUST_FORWARDED_FOR"];
        for name in read.into_iter().filter(|n| !retired.contains(&n.as_str())) {
            assert!(
                example.lines().any(|l| l.starts_with(&format!("{name}="))),
                "{name} is read but not in .env.example"
            );
        }
    }

    #[test]
    fn postgres_needs_a_shared_session_secret() {
        let url = ("DATABASE_URL", "postgres://app:pw@db.internal/refinery");
        let err = settings(&[url]).expect_err("no secret");
        assert!(err.to_string().contains("SESSION_SECRET"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
        let ok = settings(&[url, ("SESSION_SECRET", "0123456789abcdef0123456789abcdef")])
            .expect("with a secret");
        assert!(ok.storage.is_postgres());
    }

    #[test]
    fn storage_defaults_follow_data_dir_and_s3_settings_are_read() {
        let s = settings(&[
            ("DATA_DIR", "/var/lib/refinery"),
            ("IMAGE_STORE_URL", "s3://images-bucket/refinery"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret-value"),
        ])
        .expect("valid");
        assert_eq!(
            s.storage.database_url(),
            "sqlite:///var/lib/refinery/refinery.db"
        );
        assert_eq!(s.storage.image_store_url(), "s3://images-bucket/refinery");
        assert!(s.storage.s3.allow_http);
        assert_eq!(s.storage.s3.region.as_deref(), Some("eu-west-1"));
        assert!(!format!("{s:?}").contains("aws-secret-value"));
    }
}
