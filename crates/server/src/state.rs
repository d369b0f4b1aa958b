//! Shared application state: immutable settings and the narrow handles each part needs.

use std::sync::Arc;

use anyhow::Context;
use domain::Catalog;
use providers::fallback::WithFallback;
use providers::faults::FaultScript;
use providers::gemini::{GeminiConfig, GeminiImages};
use providers::local::{LocalComposer, LocalPreview};
use providers::openai::{OpenAiConfig, OpenAiSynthesizer};
use providers::retry::RetryPolicy;
use providers::task::{TaskConfig, TaskImages};
use providers::{ImageGenerator, PromptSynthesizer};

use crate::access::AccessGate;
use crate::config::{NanoBananaMode, Settings, SynthesisFallback};
use crate::images::ImageStore;
use crate::jobs::Jobs;
use crate::quota::Quotas;
use crate::rate_limit::RateLimits;
use crate::session::cookie::CookieSigner;
use crate::session::store::{MemoryStore, SessionStore};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub catalog: Arc<Catalog>,
    pub signer: CookieSigner,
    pub sessions: Arc<dyn SessionStore>,
    pub images: Arc<ImageStore>,
    pub jobs: Arc<Jobs>,
    pub synthesizer: Arc<dyn PromptSynthesizer>,
    pub renderer: Arc<dyn ImageGenerator>,
    /// The access password's gate; `None` when `ACCESS_PASSWORD` is unset.
    pub access: Option<Arc<AccessGate>>,
    pub quotas: Arc<Quotas>,
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    /// Loads templates and picks the providers the settings call for.
    pub fn build(settings: Settings) -> anyhow::Result<AppState> {
        // Before anything records a metric.
        crate::observability::prometheus();
        let catalog = Arc::new(match &settings.templates_dir {
            Some(dir) => Catalog::load_dir(dir).context("TEMPLATES_DIR")?,
            None => Catalog::built_in().context("built-in templates")?,
        });
        let (synthesizer, renderer) = providers_for(&settings)?;
        let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(
            settings.session.max_sessions,
            settings.session.idle_timeout,
        ));
        let images = Arc::new(ImageStore::new(settings.image_store_bytes));
        let jobs = Arc::new(Jobs::new(
            synthesizer.clone(),
            renderer.clone(),
            images.clone(),
            sessions.clone(),
            catalog.clone(),
        ));
        let access = settings
            .access_password
            .as_ref()
            .map(|password| Arc::new(AccessGate::new(password, &settings.session.secret)));
        let quotas = Arc::new(Quotas::new(
            settings.quota_per_session_day,
            settings.quota_global_day,
        ));
        let rate_limits = Arc::new(RateLimits::new(
            settings.rate_limit_ip_per_minute,
            settings.rate_limit_session_per_minute,
        ));
        Ok(AppState {
            access,
            quotas,
            rate_limits,
            signer: CookieSigner::new(settings.session.secret.clone()),
            settings: Arc::new(settings),
            catalog,
            sessions,
            images,
            jobs,
            synthesizer,
            renderer,
        })
    }
}

/// Per role: a key selects the live adapter, no key the offline stand-in. The start-up log names
/// each choice (never the key).
fn providers_for(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn PromptSynthesizer>, Arc<dyn ImageGenerator>)> {
    let offline = &settings.offline;
    let synthesis_faults = FaultScript::parse(&offline.synthesis_faults)
        .map_err(|e| anyhow::anyhow!("OFFLINE_SYNTHESIS_FAULTS: {e}"))?;
    let image_faults = FaultScript::parse(&offline.image_faults)
        .map_err(|e| anyhow::anyhow!("OFFLINE_IMAGE_FAULTS: {e}"))?;
    let local: Arc<dyn PromptSynthesizer> = Arc::new(LocalComposer::new(
        settings.prompt_max_chars,
        offline.latency,
        synthesis_faults,
    ));

    let openai = &settings.openai;
    let synthesizer: Arc<dyn PromptSynthesizer> = match &openai.api_key {
        None => local,
        Some(key) => {
            let mut config = OpenAiConfig::new(
                key.clone(),
                &openai.base_url,
                &openai.model,
                settings.prompt_max_chars,
            );
            config.attempt_timeout = openai.timeout;
            // Two retries after 30 s attempts would be 90 s; keep the whole call near that.
            config.retry = RetryPolicy::standard(openai.timeout * 5 / 2);
            let live: Arc<dyn PromptSynthesizer> =
                Arc::new(OpenAiSynthesizer::new(config).context("OpenAI client")?);
            match openai.fallback {
                SynthesisFallback::Local => Arc::new(WithFallback::new(live, local)),
                SynthesisFallback::Off => live,
            }
        }
    };

    let nb = &settings.nanobanana;
    let renderer: Arc<dyn ImageGenerator> = match (&nb.api_key, nb.mode) {
        (None, _) => Arc::new(LocalPreview::new(offline.latency, image_faults)),
        (Some(key), NanoBananaMode::Gemini) => {
            let mut config = GeminiConfig::new(key.clone(), &nb.api_url, &nb.model);
            config.retry = RetryPolicy::standard(nb.timeout);
            Arc::new(GeminiImages::new(config).context("Gemini client")?)
        }
        (Some(key), NanoBananaMode::Task) => {
            let mut config = TaskConfig::new(key.clone(), &nb.task.api_url, &nb.task.model);
            config.submit_path = nb.task.submit_path.clone();
            config.poll_path = nb.task.poll_path.clone();
            config.poll_initial = nb.task.poll_initial;
            config.deadline = nb.timeout;
            config.allow_private_urls = nb.allow_private_result_urls;
            Arc::new(TaskImages::new(config).context("task service client")?)
        }
    };
    Ok((synthesizer, renderer))
}
