//! Speculative prompt synthesis: as soon as a brief is complete (the third answer lands) and again
//! whenever it changes, the prompt is written in the background, so Generate waits only for the
//! image. The write and its result live in the session's row ([`Speculation`]), keyed by a
//! fingerprint of the brief, so a Generate on any instance uses it when the brief is still the
//! same, waits for it while it is being written, and never writes it twice. A newer brief
//! supersedes the write: its writer, on whichever instance, is woken through the store's
//! wake-ups and drops the provider call. Nothing is sent to the image provider ahead of time,
//! and the prompt never leaves the server.

use std::sync::Arc;
use std::time::Duration;

use domain::Catalog;
use providers::{PromptSynthesizer, SynthesisRequest};
use sha2::{Digest, Sha256};
use store::ids::now_ms;
use store::{SessionId, Store};

use crate::observability;
use crate::session::{
    SessionData, SessionError, Speculation, SpeculationState, StoredSynthesis, update,
};

/// How long a write is vouched for without its writer renewing it: a Generate waiting on the
/// write of an instance that died gives up after at most this and writes the prompt itself.
const LEASE: Duration = Duration::from_secs(6);

/// Writes prompts ahead of Generate, and hands them to the job that needs them.
pub struct Speculator {
    store: Store,
    catalog: Arc<Catalog>,
    synthesizer: Arc<dyn PromptSynthesizer>,
    /// How long one write may take (the synthesizer's own deadline and a margin); `None` when
    /// `SPECULATIVE_SYNTHESIS=false`.
    limit: Option<Duration>,
}

/// A write [`Speculator::plan`] recorded, to start once the session is saved.
#[derive(Debug)]
#[must_use = "start the write once the session is saved"]
pub struct Planned {
    attempt: Option<String>,
    /// An earlier write this one supersedes: its writer is told to stop.
    superseded: Option<String>,
}

/// The fingerprint of a brief: what the prompt is written from (template, idea, answers) and
/// which writer writes it. Equal fingerprints get the same prompt.
pub fn fingerprint(data: &SessionData, writer: &str) -> String {
    let brief = serde_json::json!([
        data.template_id,
        data.idea,
        data.refinement.answers(),
        writer
    ]);
    hex::encode(Sha256::digest(brief.to_string().as_bytes()))
}

fn lease_end() -> i64 {
    now_ms().saturating_add(i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX))
}

/// The wake-up key of one speculative write: its writer watches it to learn it was superseded,
/// and jobs waiting for it to learn it is written.
fn key(attempt: &str) -> String {
    format!("speculation:{attempt}")
}

impl Speculator {
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        synthesizer: Arc<dyn PromptSynthesizer>,
        limit: Option<Duration>,
    ) -> Speculator {
        Speculator {
            store,
            catalog,
            synthesizer,
            limit,
        }
    }

    /// Inside a session change: records a new write when the brief is complete and differs from
    /// the one written for, and drops the speculation when the brief is no longer complete.
    pub fn plan(&self, data: &mut SessionData) -> Planned {
        let brief = fingerprint(data, &self.synthesizer.info().label);
        let had = data.speculation.as_ref().map(|s| s.attempt.clone());
        let (Some(_), true) = (self.limit, data.refinement.is_ready()) else {
            data.speculation = None;
            return Planned {
                attempt: None,
                superseded: had,
            };
        };
        if data.speculation.as_ref().is_some_and(|s| s.brief == brief) {
            return Planned {
                attempt: None,
                superseded: None,
            };
        }
        let attempt = store::ids::random_id();
        data.speculation = Some(Speculation {
            brief,
            attempt: attempt.clone(),
            state: SpeculationState::Writing {
                until_ms: lease_end(),
            },
        });
        Planned {
            attempt: Some(attempt),
            superseded: had,
        }
    }

    /// After the change is saved: tells a superseded writer to stop, and starts the new write.
    pub async fn start(self: &Arc<Self>, session: SessionId, planned: Planned) {
        if let Some(old) = planned.superseded {
            self.store.wakeups.publish_changed(&key(&old)).await;
        }
        let (Some(attempt), Some(limit)) = (planned.attempt, self.limit) else {
            return;
        };
        let speculator = Arc::clone(self);
        tokio::spawn(async move {
            speculator.write(session, attempt, limit).await;
        });
    }

    /// One background write: stops early when superseded or the session is gone, and records
    /// the prompt (or the failure) only if it is still the current write.
    async fn write(&self, session: SessionId, attempt: String, limit: Duration) {
        let mut watch = self.store.wakeups.watch(&key(&attempt));
        let Some(data) = self.current(&session, &attempt).await else {
            return;
        };
        let Ok(template) = self.catalog.find(&data.template_id) else {
            return;
        };
        let started = std::time::Instant::now();
        let writing = self.synthesizer.synthesize(SynthesisRequest {
            template: &template,
            idea: &data.idea,
            answers: data.refinement.answers(),
        });
        tokio::pin!(writing);
        observability::funnel("synthesis_started");
        let mut renew = tokio::time::interval_at(
            tokio::time::Instant::now() + LEASE / 3,
            LEASE / 3,
        );
        let result = tokio::time::timeout(limit, async {
            loop {
                tokio::select! {
                    result = &mut writing => return Some(result),
                    () = watch.changed() => {
                        if self.current(&session, &attempt).await.is_none() {
                            return None;
                        }
                    }
                    _ = renew.tick() => {
                        if !self.renew(&session, &attempt).await {
                            return None;
                        }
                    }
                }
            }
        })
        .await;
        let label = self.synthesizer.info().label;
        let result = match result {
            Ok(Some(result)) => result,
            Ok(None) => {
                tracing::info!(session = %session.log_label(), "speculative prompt superseded");
                return;
            }
            Err(_) => Err(providers::ProviderError::Timeout),
        };
        let outcome = result
            .as_ref()
            .map_or_else(providers::error_code, |_| "ok");
        observability::provider_call("synthesis", &label, outcome, started);
        observability::funnel(if result.is_ok() {
            "synthesis_succeeded"
        } else {
            "synthesis_failed"
        });
        tracing::info!(
            role = "synthesis",
            provider = %label,
            speculative = true,
            session = %session.log_label(),
            latency_ms = started.elapsed().as_millis() as u64,
            outcome,
            "provider call"
        );
        let state = match result {
            Ok(s) => SpeculationState::Ready(StoredSynthesis {
                prompt: s.prompt,
                summary: s.summary,
                alt_text: s.alt_text,
            }),
            Err(_) => SpeculationState::Failed,
        };
        let recorded = update(&self.store.sessions, &session, |d| {
            match d.speculation.as_mut() {
                Some(s) if s.attempt == attempt => s.state = state.clone(),
                _ => {}
            }
            Ok::<_, SessionError>(())
        })
        .await;
        if let Err(e) = recorded {
            tracing::debug!(error = %e, "speculative prompt not recorded");
        }
        self.store.wakeups.publish_changed(&key(&attempt)).await;
    }

    /// Extends the write's lease; false once it is no longer the current write.
    async fn renew(&self, session: &SessionId, attempt: &str) -> bool {
        let renewed = update(&self.store.sessions, session, |d| {
            Ok::<_, SessionError>(match d.speculation.as_mut() {
                Some(Speculation {
                    attempt: current,
                    state: SpeculationState::Writing { until_ms },
                    ..
                }) if current == attempt => {
                    *until_ms = lease_end();
                    true
                }
                _ => false,
            })
        })
        .await;
        match renewed {
            Ok((current, _)) => current,
            Err(SessionError::NotFound) => false,
            // A store hiccup is no reason to drop the write: the lease covers the next try.
            Err(_) => true,
        }
    }

    /// The session, while `attempt` is still its current write.
    async fn current(&self, session: &SessionId, attempt: &str) -> Option<SessionData> {
        let data = self
            .store
            .sessions
            .get::<SessionData>(session)
            .await
            .ok()??
            .value;
        let current = data
            .speculation
            .as_ref()
            .is_some_and(|s| s.attempt == attempt);
        current.then_some(data)
    }

    /// For a job about to write the prompt for `data`'s brief: the speculative prompt for that
    /// brief, waited for while it is being written, and taken (a later re-think writes anew).
    /// `None` when there is none for this brief, it failed, or its writer gave up.
    pub async fn take(
        &self,
        session: &SessionId,
        data: &SessionData,
    ) -> Result<Option<StoredSynthesis>, SessionError> {
        let brief = fingerprint(data, &self.synthesizer.info().label);
        // Set once the write is known: watched before the next read, so a write that lands in
        // between is not missed.
        let mut watch: Option<(String, store::wakeups::JobWatch)> = None;
        loop {
            let current = self
                .store
                .sessions
                .get::<SessionData>(session)
                .await?
                .ok_or(SessionError::NotFound)?
                .value;
            let Some(speculation) = current.speculation.filter(|s| s.brief == brief) else {
                return Ok(None);
            };
            match speculation.state {
                SpeculationState::Ready(synthesis) => {
                    let (taken, _) = update(&self.store.sessions, session, |d| {
                        let ours = d
                            .speculation
                            .as_ref()
                            .is_some_and(|s| s.attempt == speculation.attempt);
                        if ours {
                            d.speculation = None;
                            d.synthesis = Some(synthesis.clone());
                        }
                        Ok::<_, SessionError>(ours)
                    })
                    .await?;
                    if taken {
                        return Ok(Some(synthesis));
                    }
                }
                SpeculationState::Writing { until_ms } if now_ms() < until_ms => {
                    let Some((_, watch)) = watch
                        .as_mut()
                        .filter(|(attempt, _)| *attempt == speculation.attempt)
                    else {
                        let attempt = speculation.attempt;
                        watch = Some((attempt.clone(), self.store.wakeups.watch(&key(&attempt))));
                        continue;
                    };
                    let left = u64::try_from(until_ms - now_ms()).unwrap_or(0);
                    tokio::select! {
                        () = watch.changed() => {}
                        () = tokio::time::sleep(Duration::from_millis(left)) => {}
                    }
                }
                SpeculationState::Writing { .. } | SpeculationState::Failed => return Ok(None),
            }
        }
    }
}
