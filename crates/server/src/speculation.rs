//! Speculative prompt synthesis: as soon as a brief is complete (the third answer lands) and again
//! whenever it changes, the prompt is written in the background, so Generate waits only for the
//! image. The write and its result live in the session's row ([`Speculation`]), keyed by a
//! fingerprint of the brief, so a Generate on any instance uses it when the brief is still the
//! same, waits for it while it is being written, and never writes it twice. A newer brief
//! supersedes the write: its writer, on whichever instance, is woken through the store's
//! wake-ups and drops the provider call. Nothing is sent to the image provider ahead of time,
//! and the prompt never leaves the server. The session's reference images are part of the brief
//! (the prompt names them by position and note): adding or deleting one re-plans the write.

use std::sync::Arc;
use std::time::Duration;

use domain::Catalog;
use providers::{PromptSynthesizer, SynthesisRequest};
use sha2::{Digest, Sha256};
use store::ids::now_ms;
use store::references::ReferenceRow;
use store::{SessionId, Store};

use crate::observability;
use crate::session::{
    SessionData, SessionError, Speculation, SpeculationState, StoredSynthesis, update,
};

/// Speculative writes one session may start. They are not counted against the image quotas
/// (no image is made), so this bounds what a visitor revising answers over and over can spend on
/// prompts; past it, Generate writes the prompt as it did before.
pub const MAX_WRITES: u32 = 10;

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

/// The fingerprint of a brief: what the prompt is written from (template, idea, answers, the
/// reference images in order with their notes) and which writer writes it. Equal fingerprints
/// get the same prompt.
pub fn fingerprint(data: &SessionData, references: &[ReferenceRow], writer: &str) -> String {
    let references: Vec<[&str; 2]> = references
        .iter()
        .map(|r| [r.id.as_str(), r.note.as_str()])
        .collect();
    let brief = serde_json::json!([
        data.template_id,
        data.idea,
        data.refinement.answers(),
        references,
        writer
    ]);
    hex::encode(Sha256::digest(brief.to_string().as_bytes()))
}

/// Clears the speculative write `attempt` from a session's data once a job took its prompt (a
/// later re-think writes anew); a newer write (the brief changed since) is left alone.
pub fn forget(data: &mut SessionData, attempt: &str) {
    if data
        .speculation
        .as_ref()
        .is_some_and(|s| s.attempt == attempt)
    {
        data.speculation = None;
    }
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

    /// Inside a session change: records a new write when the brief (with the session's
    /// `references`, in upload order) is complete and differs from the one written for, and drops
    /// the speculation when the brief is no longer complete.
    pub fn plan(&self, data: &mut SessionData, references: &[ReferenceRow]) -> Planned {
        let brief = fingerprint(data, references, &self.synthesizer.info().label);
        let had = data.speculation.as_ref().map(|s| s.attempt.clone());
        let allowed = self.limit.is_some() && data.speculative_writes < MAX_WRITES;
        let (true, true) = (allowed, data.refinement.is_ready()) else {
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
        data.speculative_writes += 1;
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

    /// After a reference image was added or deleted: plans (and starts) the write for the brief
    /// with the references as they are now. Best effort: should it fail, a Generate finds no
    /// speculation for its brief and writes the prompt itself.
    pub async fn replan(self: &Arc<Self>, session: SessionId) {
        let planned = async {
            let references = self.store.references.list(&session).await?;
            let (planned, _) = update(&self.store.sessions, &session, |d| {
                Ok::<_, SessionError>(self.plan(d, &references))
            })
            .await?;
            Ok::<_, SessionError>(planned)
        }
        .await;
        match planned {
            Ok(planned) => self.start(session, planned).await,
            Err(e) => tracing::debug!(error = %e, "speculative prompt not re-planned"),
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
        let Ok(references) = self.store.references.list(&session).await else {
            return;
        };
        let ids: Vec<String> = references.iter().map(|r| r.id.clone()).collect();
        let notes: Vec<String> = references.into_iter().map(|r| r.note).collect();
        let started = std::time::Instant::now();
        let writing = self.synthesizer.synthesize(SynthesisRequest {
            template: &template,
            idea: &data.idea,
            answers: data.refinement.answers(),
            reference_notes: &notes,
        });
        tokio::pin!(writing);
        observability::funnel("synthesis_started");
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + LEASE / 3, LEASE / 3);
        let result = tokio::time::timeout(limit, async {
            loop {
                tokio::select! {
                    result = &mut writing => return Some(result),
                    () = watch.changed() => {
                        // Superseded, or the session is gone: drop the call.
                        self.current(&session, &attempt).await?;
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
        let outcome = result.as_ref().map_or_else(providers::error_code, |_| "ok");
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
                references: ids,
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

    /// The speculative prompt already written for `data`'s brief with `references`, as `data`
    /// was read, and its write's attempt. A job uses it at once, and clears it from the session
    /// with [`forget`] when it saves the prompt as the session's (while its images are made), so
    /// a burst of Generates waits for no store round trip here.
    pub fn written<'d>(
        &self,
        data: &'d SessionData,
        references: &[ReferenceRow],
    ) -> Option<(&'d StoredSynthesis, &'d str)> {
        let speculation = data.speculation.as_ref()?;
        let SpeculationState::Ready(synthesis) = &speculation.state else {
            return None;
        };
        let brief = fingerprint(data, references, &self.synthesizer.info().label);
        (speculation.brief == brief).then_some((synthesis, speculation.attempt.as_str()))
    }

    /// For a job about to write the prompt for `data`'s brief with `references`: the speculative
    /// prompt for that brief, waited for while it is being written, and taken (a later re-think
    /// writes anew). `None` when there is none for this brief, it failed, or its writer gave up.
    pub async fn take(
        &self,
        session: &SessionId,
        data: &SessionData,
        references: &[ReferenceRow],
    ) -> Result<Option<StoredSynthesis>, SessionError> {
        let brief = fingerprint(data, references, &self.synthesizer.info().label);
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

#[cfg(test)]
mod tests {
    use super::*;
    use domain::AnswerInput;
    use providers::faults::FaultScript;
    use providers::local::LocalComposer;
    use store::{ImageLocation, S3Options, StoreConfig};

    async fn speculator(limit: Option<Duration>) -> (Speculator, Arc<Catalog>) {
        let store = Store::open(&StoreConfig {
            database_url: "sqlite::memory:".into(),
            images: ImageLocation::Memory,
            s3: S3Options::default(),
            max_connections: 1,
            session_idle: Duration::from_secs(3600),
            max_sessions: 10,
            image_cap_bytes: 1 << 20,
            image_retention: Duration::from_secs(3600),
            quota_per_session: None,
            quota_per_client: None,
            quota_global: None,
            job_lease: Duration::from_secs(30),
        })
        .await
        .expect("an in-memory store");
        let catalog = Arc::new(Catalog::built_in().expect("templates"));
        let composer = Arc::new(LocalComposer::new(
            1500,
            Duration::ZERO,
            FaultScript::parse("").expect("no faults"),
        ));
        (
            Speculator::new(store, catalog.clone(), composer, limit),
            catalog,
        )
    }

    fn ready(catalog: &Catalog, idea: &str) -> SessionData {
        let template = catalog.iter().next().expect("a template").clone();
        let mut data = SessionData::new(template.id.clone(), idea.into());
        for _ in 0..3 {
            data.refinement
                .answer(&template, AnswerInput::Skip)
                .expect("a skip");
        }
        data
    }

    #[tokio::test]
    async fn a_write_is_planned_once_per_brief_and_at_most_max_writes_per_session() {
        let (speculator, catalog) = speculator(Some(Duration::from_secs(10))).await;
        let mut data = ready(&catalog, "a fox");
        let first = speculator.plan(&mut data, &[]);
        assert!(first.attempt.is_some() && first.superseded.is_none());
        let same = speculator.plan(&mut data, &[]);
        assert!(
            same.attempt.is_none(),
            "the same brief is not written twice"
        );

        data.idea = "a heron".into();
        let changed = speculator.plan(&mut data, &[]);
        assert!(changed.attempt.is_some());
        assert_eq!(
            changed.superseded, first.attempt,
            "the old write is told to stop"
        );

        for n in 0..20 {
            data.idea = format!("a heron, take {n}");
            let _ = speculator.plan(&mut data, &[]);
        }
        assert_eq!(data.speculative_writes, MAX_WRITES);
    }

    #[test]
    fn adding_or_removing_a_reference_changes_the_brief() {
        let catalog = Catalog::built_in().expect("templates");
        let data = ready(&catalog, "a bottle on a beach");
        let product = ReferenceRow {
            id: "a".repeat(32),
            mime_type: "image/png".into(),
            width: 10,
            height: 10,
            note: "our product".into(),
            byte_size: 100,
        };
        let style = ReferenceRow {
            id: "b".repeat(32),
            note: "style to match".into(),
            ..product.clone()
        };
        let none = fingerprint(&data, &[], "writer");
        let one = fingerprint(&data, std::slice::from_ref(&product), "writer");
        let two = fingerprint(&data, &[product.clone(), style.clone()], "writer");
        let swapped = fingerprint(&data, &[style, product.clone()], "writer");
        let renoted = fingerprint(
            &data,
            &[ReferenceRow {
                note: "a rival's product".into(),
                ..product
            }],
            "writer",
        );
        let all = [&none, &one, &two, &swapped, &renoted];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(none, fingerprint(&data, &[], "writer"));
    }

    #[tokio::test]
    async fn nothing_is_planned_when_turned_off_or_the_brief_is_incomplete() {
        let (off, catalog) = speculator(None).await;
        let mut data = ready(&catalog, "a fox");
        assert!(off.plan(&mut data, &[]).attempt.is_none());
        assert!(data.speculation.is_none());

        let (on, _) = speculator(Some(Duration::from_secs(10))).await;
        let planned = on.plan(&mut data, &[]);
        assert!(planned.attempt.is_some());
        data.refinement.back_to(2).expect("back to question 2");
        let reopened = on.plan(&mut data, &[]);
        assert!(reopened.attempt.is_none());
        assert_eq!(reopened.superseded, planned.attempt);
        assert!(data.speculation.is_none());
    }
}
