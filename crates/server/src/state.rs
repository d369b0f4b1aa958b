//! Shared application state: immutable settings and the narrow handles each part needs.

use std::sync::Arc;

use anyhow::Context;
use domain::Catalog;
use providers::faults::FaultScript;
use providers::local::{LocalComposer, LocalPreview};
use providers::{ImageGenerator, PromptSynthesizer};

use crate::config::Settings;
use crate::images::ImageStore;
use crate::jobs::Jobs;
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
}

impl AppState {
    /// Loads templates and picks the providers the settings call for.
    pub fn build(settings: Settings) -> anyhow::Result<AppState> {
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
        Ok(AppState {
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

/// No key: the offline stand-in for that role.
fn providers_for(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn PromptSynthesizer>, Arc<dyn ImageGenerator>)> {
    let offline = &settings.offline;
    let synthesis_faults = FaultScript::parse(&offline.synthesis_faults)
        .map_err(|e| anyhow::anyhow!("OFFLINE_SYNTHESIS_FAULTS: {e}"))?;
    let image_faults = FaultScript::parse(&offline.image_faults)
        .map_err(|e| anyhow::anyhow!("OFFLINE_IMAGE_FAULTS: {e}"))?;
    if settings.openai.api_key.is_some() || settings.nanobanana.api_key.is_some() {
        tracing::warn!(
            "API keys are set, but this build has no live provider adapters yet: running offline"
        );
    }
    let synthesizer: Arc<dyn PromptSynthesizer> = Arc::new(LocalComposer::new(
        settings.prompt_max_chars,
        offline.latency,
        synthesis_faults,
    ));
    let renderer: Arc<dyn ImageGenerator> =
        Arc::new(LocalPreview::new(offline.latency, image_faults));
    Ok((synthesizer, renderer))
}
