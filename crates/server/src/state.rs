//! Shared application state: it only assembles. Settings, the template catalog, the store's
//! handles, the job runner, the providers and their start-up model check, each a narrow handle that middleware, extractors
//! and handlers take on their own (`FromRef`).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::FromRef;
use domain::Catalog;
use providers::fallback::WithFallback;
use providers::faults::FaultScript;
use providers::gemini::{GeminiConfig, GeminiImages};
use providers::local::{LocalComposer, LocalPreview};
use providers::openai::{OpenAiConfig, OpenAiSynthesizer};
use providers::retry::RetryPolicy;
use providers::task::{TaskConfig, TaskImages};
use providers::{ImageGenerator, PromptSynthesizer};
use secrecy::SecretString;
use store::images::ImageStore;
use store::quotas::QuotaStore;
use store::recipes::RecipeStore;
use store::references::ReferenceStore;
use store::sessions::SessionStore;
use store::{Backend, ImageLocation, Store, StoreConfig};

use crate::access::AccessGate;
use crate::config::{NanoBananaMode, Settings, SynthesisFallback};
use crate::examples::{SharedExamples, TemplateExamples};
use crate::jobs::Jobs;
use crate::model_check::ModelCheck;
use crate::rate_limit::RateLimits;
use crate::session::cookie::{CookieSigner, SessionCookies};
use crate::speculation::Speculator;
use crate::views::SessionViews;

/// Everything the routes share, behind one `Arc`: axum clones the state for every request it
/// routes (the handler's copy and each layer's), so a clone is one counter bump rather than one
/// per store handle, provider and cache below.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub settings: Arc<Settings>,
    pub catalog: Arc<Catalog>,
    /// The templates' example pictures, drawn on first request.
    pub examples: SharedExamples,
    pub cookies: SessionCookies,
    pub sessions: SessionStore,
    pub images: ImageStore,
    pub references: ReferenceStore,
    pub recipes: RecipeStore,
    pub quotas: QuotaStore,
    pub jobs: Arc<Jobs>,
    /// Writes prompts ahead of Generate (`SPECULATIVE_SYNTHESIS`).
    pub speculator: Arc<Speculator>,
    pub synthesizer: Arc<dyn PromptSynthesizer>,
    pub renderer: Arc<dyn ImageGenerator>,
    /// The access password's gate; `None` when `ACCESS_PASSWORD` is unset.
    pub access: Option<Arc<AccessGate>>,
    pub rate_limits: Arc<RateLimits>,
    /// Session views kept in memory (the embedded store only).
    pub views: Arc<SessionViews>,
    /// The start-up lookup of the configured models (running in the background).
    pub model_check: ModelCheck,
    /// The whole store, for the background upkeep and shutdown.
    pub store: Store,
}

/// The narrow handles middleware, extractors and handlers take on their own
/// (`State<SessionStore>`, ...), each cloned out of the shared state.
macro_rules! narrow_handles {
    ($($field:ident: $handle:ty),* $(,)?) => {$(
        impl FromRef<AppState> for $handle {
            fn from_ref(state: &AppState) -> $handle {
                state.0.$field.clone()
            }
        }
    )*};
}

narrow_handles!(
    settings: Arc<Settings>,
    catalog: Arc<Catalog>,
    examples: SharedExamples,
    cookies: SessionCookies,
    sessions: SessionStore,
    images: ImageStore,
    references: ReferenceStore,
    recipes: RecipeStore,
    quotas: QuotaStore,
    jobs: Arc<Jobs>,
    speculator: Arc<Speculator>,
    synthesizer: Arc<dyn PromptSynthesizer>,
    renderer: Arc<dyn ImageGenerator>,
    access: Option<Arc<AccessGate>>,
    rate_limits: Arc<RateLimits>,
    views: Arc<SessionViews>,
);

impl AppState {
    /// Loads templates, opens the store (running its migrations), and picks the providers the
    /// settings call for.
    pub async fn build(settings: Settings) -> anyhow::Result<AppState> {
        // Before anything records a metric.
        crate::observability::prometheus();
        let catalog = Arc::new(match &settings.templates_dir {
            Some(dir) => Catalog::load_dir(dir).context("TEMPLATES_DIR")?,
            None => Catalog::built_in().context("built-in templates")?,
        });
        let (synthesizer, renderer) = providers_for(&settings)?;
        // In the background: a slow or unreachable provider never holds the start up.
        let model_check = ModelCheck::start(&settings);
        let secret = session_secret(&settings)?;
        let store = Store::open(&store_config(&settings)?).await?;
        // A speculative write may take as long as the synthesizer's whole deadline (its retries
        // included), and a little more.
        let speculation_limit = settings
            .speculative_synthesis
            .then(|| settings.openai.timeout * 5 / 2 + Duration::from_secs(5));
        let speculator = Arc::new(Speculator::new(
            store.clone(),
            catalog.clone(),
            synthesizer.clone(),
            speculation_limit,
        ));
        let jobs = Arc::new(Jobs::new(
            store.clone(),
            catalog.clone(),
            synthesizer.clone(),
            renderer.clone(),
            speculator.clone(),
        ));
        if store.backend() == Backend::Sqlite {
            // One database file serves one instance: any job still marked running was cut off.
            jobs.end_orphans()
                .await
                .context("ending jobs of the last run")?;
        }
        let access = settings
            .access_password
            .as_ref()
            .map(|password| Arc::new(AccessGate::new(password, &secret)));
        let rate_limits = Arc::new(RateLimits::new(
            settings.rate_limit_ip_per_minute,
            settings.rate_limit_session_per_minute,
            settings.session.trusted_proxies.clone(),
        ));
        Ok(AppState(Arc::new(Shared {
            access,
            rate_limits,
            views: Arc::new(SessionViews::new(store.changes.clone())),
            model_check,
            cookies: SessionCookies::new(
                CookieSigner::new(secret),
                settings.session.trust_forwarded_proto,
            ),
            settings: Arc::new(settings),
            examples: Arc::new(TemplateExamples::new(&catalog)),
            catalog,
            sessions: store.sessions.clone(),
            images: store.images.clone(),
            references: store.references.clone(),
            recipes: store.recipes.clone(),
            quotas: store.quotas.clone(),
            store,
            jobs,
            speculator,
            synthesizer,
            renderer,
        })))
    }
}

/// `SESSION_SECRET`, or the one the embedded default keeps in `DATA_DIR` (made on first start).
fn session_secret(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.session.secret {
        return Ok(secret.clone());
    }
    let data_dir = &settings.storage.data_dir;
    let (secret, origin) = store::secret::load_or_create(data_dir).with_context(|| {
        format!(
            "SESSION_SECRET is unset and DATA_DIR={} cannot keep one",
            data_dir.display()
        )
    })?;
    match origin {
        store::secret::Origin::Created(path) => tracing::info!(
            path = %path.display(),
            "SESSION_SECRET is not set: made one and keep it in {} (owner-only); sessions survive restarts",
            path.display()
        ),
        store::secret::Origin::Kept(path) => tracing::info!(
            path = %path.display(),
            "SESSION_SECRET is not set: using the one kept in {}",
            path.display()
        ),
    }
    Ok(secret)
}

fn store_config(settings: &Settings) -> anyhow::Result<StoreConfig> {
    let storage = &settings.storage;
    Ok(StoreConfig {
        database_url: storage.database_url(),
        images: ImageLocation::parse(&storage.image_store_url())
            .map_err(|e| anyhow::anyhow!("IMAGE_STORE_URL: {e}"))?,
        s3: storage.s3.clone(),
        max_connections: storage.max_connections,
        session_idle: settings.session.idle_timeout,
        max_sessions: settings.session.max_sessions as u64,
        image_cap_bytes: settings.image_store_bytes as u64,
        image_retention: storage.image_retention,
        quota_per_session: settings.quota_per_session_day,
        quota_per_client: settings.quota_per_client_day,
        quota_global: settings.quota_global_day,
        job_lease: storage.job_lease,
    })
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
            config.reasoning_effort = openai.reasoning_effort;
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
            if !providers::models::is_known(&nb.model) {
                tracing::warn!(
                    model = %nb.model,
                    "NANOBANANA_MODEL is not in the capability table: offering 1K and the ten classic ratios only (docs/providers.md)"
                );
            }
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
