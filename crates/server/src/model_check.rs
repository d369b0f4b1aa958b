//! The start-up model check. In live mode each configured model is looked up at its provider in
//! a background task; a model that is missing, or shuts down within [`WARN_WITHIN_DAYS`], is one
//! WARN line naming the model, the date and the setting to change. A lookup that gets no answer
//! is one INFO line: the check never blocks or slows the start, and never stops it.

use std::sync::Arc;
use std::time::Duration;

use providers::lookup::{self, LookupFailed, ModelState};
use secrecy::SecretString;
use time::Date;
use tokio::sync::watch;

use crate::config::{NanoBananaMode, Settings};

/// A shutdown this close is worth an operator's attention now.
pub const WARN_WITHIN_DAYS: i64 = 30;
/// Each lookup's limit; nobody waits on it.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the check found about one configured model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The variable that picks the model, e.g. `OPENAI_MODEL`.
    pub setting: &'static str,
    pub model: String,
    pub verdict: Verdict,
}

/// The check's conclusion about one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Listed, with no shutdown within [`WARN_WITHIN_DAYS`].
    Current,
    /// Listed, but shutting down (or shut down) on this date: WARN.
    ShutsDown(Date),
    /// The provider does not have it: WARN.
    Missing,
    /// No answer (the network, the key, a body we could not read): INFO.
    Unchecked(String),
}

/// The running (or finished) check; clones share it.
#[derive(Debug, Clone)]
pub struct ModelCheck {
    findings: watch::Receiver<Option<Arc<Vec<Finding>>>>,
}

impl ModelCheck {
    /// Starts the lookups for every live provider in `settings` in a background task and returns
    /// at once. With no live provider there is nothing to check.
    pub fn start(settings: &Settings) -> ModelCheck {
        let lookups = lookups(settings);
        let (done, findings) = watch::channel(None);
        if lookups.is_empty() {
            let _ = done.send(Some(Arc::new(Vec::new())));
            return ModelCheck { findings };
        }
        let today = time::OffsetDateTime::now_utc().date();
        tokio::spawn(async move {
            let findings = run(lookups, today).await;
            let _ = done.send(Some(Arc::new(findings)));
        });
        ModelCheck { findings }
    }

    /// True once every lookup has answered or given up.
    pub fn is_finished(&self) -> bool {
        self.findings.borrow().is_some()
    }

    /// Waits for the check (tests, and anything that wants the verdicts).
    pub async fn finished(&self) -> Arc<Vec<Finding>> {
        let mut findings = self.findings.clone();
        match findings.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or_default(),
            // The task ended without a word (a panic): nothing was found.
            Err(_) => Arc::default(),
        }
    }
}

/// One model to look up.
struct Lookup {
    provider: Provider,
    setting: &'static str,
    url: String,
    key: SecretString,
    model: String,
}

#[derive(Debug, Clone, Copy)]
enum Provider {
    OpenAi,
    Gemini,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "OpenAI",
            Provider::Gemini => "Gemini",
        }
    }
}

/// The live providers' models. Task mode is a reseller with its own model names and no lookup.
fn lookups(settings: &Settings) -> Vec<Lookup> {
    let mut lookups = Vec::new();
    if let Some(key) = &settings.openai.api_key {
        lookups.push(Lookup {
            provider: Provider::OpenAi,
            setting: "OPENAI_MODEL",
            url: settings.openai.base_url.clone(),
            key: key.clone(),
            model: settings.openai.model.clone(),
        });
    }
    let nb = &settings.nanobanana;
    if let (Some(key), NanoBananaMode::Gemini) = (&nb.api_key, nb.mode) {
        lookups.push(Lookup {
            provider: Provider::Gemini,
            setting: "NANOBANANA_MODEL",
            url: nb.api_url.clone(),
            key: key.clone(),
            model: nb.model.clone(),
        });
    }
    lookups
}

async fn run(lookups: Vec<Lookup>, today: Date) -> Vec<Finding> {
    let http = match lookup::client(LOOKUP_TIMEOUT) {
        Ok(http) => http,
        Err(e) => {
            tracing::info!(error = %e, "models not checked at start");
            return Vec::new();
        }
    };
    let checks = lookups.iter().map(|lookup| {
        let http = &http;
        async move {
            let (url, key, model) = (&lookup.url, &lookup.key, &lookup.model);
            let state = match lookup.provider {
                Provider::OpenAi => lookup::openai(http, url, key, model).await,
                Provider::Gemini => lookup::gemini(http, url, key, model).await,
            };
            let finding = Finding {
                setting: lookup.setting,
                model: model.clone(),
                verdict: verdict(state, today),
            };
            log(lookup.provider, &finding, today);
            finding
        }
    });
    futures::future::join_all(checks).await
}

fn verdict(state: Result<ModelState, LookupFailed>, today: Date) -> Verdict {
    match state {
        Ok(ModelState::Missing) => Verdict::Missing,
        Ok(ModelState::Listed {
            shutdown: Some(date),
        }) if (date - today).whole_days() <= WARN_WITHIN_DAYS => Verdict::ShutsDown(date),
        Ok(ModelState::Listed { .. }) => Verdict::Current,
        Err(LookupFailed(reason)) => Verdict::Unchecked(reason),
    }
}

fn log(provider: Provider, finding: &Finding, today: Date) {
    let (provider, model, setting) = (provider.name(), &finding.model, finding.setting);
    match &finding.verdict {
        Verdict::Current => tracing::debug!(provider, model, "model is current"),
        Verdict::Missing => tracing::warn!(
            provider,
            model,
            setting,
            "{provider} model {model} is not available (the provider answered 404): every call to it will fail with provider_model_unavailable. Set {setting} to a current model (docs/providers.md lists them)"
        ),
        Verdict::ShutsDown(date) => {
            let days = (*date - today).whole_days();
            let when = if days < 0 {
                format!("shut down on {date}")
            } else {
                format!("shuts down on {date}, in {days} days")
            };
            tracing::warn!(
                provider,
                model,
                setting,
                shutdown_date = %date,
                "{provider} model {model} {when}. Set {setting} to a current model (docs/providers.md lists them)"
            );
        }
        Verdict::Unchecked(reason) => tracing::info!(
            provider,
            model,
            reason = %reason,
            "could not look up the {provider} model {model} at start ({reason}); not checked"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        lookup::parse_date(text).expect("a date")
    }

    #[test]
    fn only_a_shutdown_within_thirty_days_is_a_warning() {
        let today = day("2026-11-25");
        let listed = |date: &str| {
            Ok(ModelState::Listed {
                shutdown: Some(day(date)),
            })
        };
        assert_eq!(
            verdict(listed("2026-12-11"), today),
            Verdict::ShutsDown(day("2026-12-11"))
        );
        assert_eq!(
            verdict(listed("2026-12-25"), today),
            Verdict::ShutsDown(day("2026-12-25")),
            "the thirtieth day still warns"
        );
        assert_eq!(verdict(listed("2026-12-26"), today), Verdict::Current);
        assert_eq!(
            verdict(listed("2026-10-29"), today),
            Verdict::ShutsDown(day("2026-10-29")),
            "already past"
        );
        assert_eq!(
            verdict(Ok(ModelState::Listed { shutdown: None }), today),
            Verdict::Current
        );
        assert_eq!(verdict(Ok(ModelState::Missing), today), Verdict::Missing);
    }

    #[test]
    fn offline_and_task_mode_have_nothing_to_look_up() {
        let mut settings = Settings::for_tests();
        assert!(lookups(&settings).is_empty());
        settings.nanobanana.api_key = Some("k".to_owned().into());
        settings.nanobanana.mode = NanoBananaMode::Task;
        assert!(lookups(&settings).is_empty());
        settings.nanobanana.mode = NanoBananaMode::Gemini;
        settings.openai.api_key = Some("k".to_owned().into());
        let settings: Vec<_> = lookups(&settings).iter().map(|l| l.setting).collect();
        assert_eq!(settings, ["OPENAI_MODEL", "NANOBANANA_MODEL"]);
    }
}
