//! Generation jobs: one background task per job writes the prompt (unless reused), renders the
//! image, stores it, and records each stage in the session so any request can report progress.
//! Starting over cancels the task through its token; its provider futures are dropped mid-flight.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use contracts::{AspectRatio, ImageView, JobStatus, JobView};
use domain::Catalog;
use futures::FutureExt;
use providers::{ImageGenerator, ImageRequest, PromptSynthesizer, ProviderError, SynthesisRequest};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, provider_failure};
use crate::images::{ImageStore, StoredImage};
use crate::observability;
use crate::session::cookie::SessionId;
use crate::session::store::SessionStore;
use crate::session::{JobRecord, SessionData, StoredSynthesis, update};

/// Runs and tracks generation jobs.
pub struct Jobs {
    synthesizer: Arc<dyn PromptSynthesizer>,
    renderer: Arc<dyn ImageGenerator>,
    images: Arc<ImageStore>,
    sessions: Arc<dyn SessionStore>,
    catalog: Arc<Catalog>,
    /// The running job task of each session, with the token that cancels it. The task removes
    /// its own entry when it ends, so this counts live tasks.
    running: Mutex<HashMap<SessionId, (String, CancellationToken)>>,
    /// Bumped on every job state change, to wake long-polling readers.
    changes: watch::Sender<u64>,
}

/// What `POST /api/generate` did.
pub enum Started {
    /// A new job was queued.
    New(JobView),
    /// A job was already running; this is it.
    Existing(JobView),
}

impl Jobs {
    pub fn new(
        synthesizer: Arc<dyn PromptSynthesizer>,
        renderer: Arc<dyn ImageGenerator>,
        images: Arc<ImageStore>,
        sessions: Arc<dyn SessionStore>,
        catalog: Arc<Catalog>,
    ) -> Jobs {
        Jobs {
            synthesizer,
            renderer,
            images,
            sessions,
            catalog,
            running: Mutex::new(HashMap::new()),
            changes: watch::Sender::new(0),
        }
    }

    fn running(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SessionId, (String, CancellationToken)>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs whose task is still working.
    pub fn in_flight(&self) -> usize {
        self.running().len()
    }

    /// Queues a job for a ready session, or returns the one already running. `on_panic` runs if
    /// the job's task panics (the caller gives back what it counted for the job).
    pub async fn start(
        self: &Arc<Self>,
        session: SessionId,
        aspect_ratio: Option<AspectRatio>,
        reuse_prompt: bool,
        on_panic: impl FnOnce() + Send + 'static,
    ) -> Result<Started, ApiError> {
        let catalog = self.catalog.clone();
        let (started, _) = update(self.sessions.as_ref(), &session, |data| {
            if let Some(job) = data.active_job() {
                return Ok(Started::Existing(job.view()));
            }
            if !data.refinement.is_ready() {
                return Err(ApiError::RefinementIncomplete);
            }
            let template = catalog.find(&data.template_id)?;
            let job = JobRecord {
                id: crate::ids::random_id(),
                status: JobStatus::Queued,
                aspect_ratio: aspect_ratio.unwrap_or(template.default_aspect_ratio),
                reuse_prompt,
                image: None,
                error: None,
            };
            let view = job.view();
            data.push_job(job);
            Ok(Started::New(view))
        })
        .await?;
        if let Started::New(view) = &started {
            let token = CancellationToken::new();
            self.running()
                .insert(session, (view.job_id.clone(), token.clone()));
            let jobs = Arc::clone(self);
            let job_id = view.job_id.clone();
            tokio::spawn(async move {
                // The guard: a panic anywhere in the job (a provider answer no one foresaw) is
                // caught here, so the job still ends `failed`, its quota unit is given back, and
                // the session is free for the next generate instead of holding a stuck job.
                let run = AssertUnwindSafe(jobs.run(session, &job_id)).catch_unwind();
                tokio::select! {
                    () = token.cancelled() => {
                        tracing::info!(session = %session.log_label(), job = %job_id, "generation cancelled");
                    }
                    finished = run => if finished.is_err() {
                        tracing::error!(session = %session.log_label(), job = %job_id, "generation task panicked");
                        observability::funnel("generation_failed");
                        on_panic();
                        let _ = jobs.set(session, &job_id, |job| {
                            job.status = JobStatus::Failed;
                            job.error = Some(contracts::ApiErrorBody {
                                code: contracts::codes::INTERNAL.to_owned(),
                                error: "Something went wrong on our side while making this image. Try again; your answers are kept.".to_owned(),
                            });
                        })
                        .await;
                    }
                }
                jobs.running().retain(|_, (id, _)| *id != job_id);
                jobs.changes.send_modify(|n| *n += 1);
            });
        }
        Ok(started)
    }

    /// Cancels the session's running job, if any. Its task ends at its next await point.
    pub fn cancel(&self, session: &SessionId) {
        if let Some((_, token)) = self.running().get(session) {
            token.cancel();
        }
    }

    /// Waits until no job task is running, up to `timeout`; true if idle.
    pub async fn wait_until_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.changes.subscribe();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return self.in_flight() == 0;
            }
        }
    }

    /// The job's view once it finishes, or as it stands when `timeout` runs out.
    pub async fn wait(
        &self,
        session: &SessionId,
        job_id: &str,
        timeout: Duration,
    ) -> Result<JobView, ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Subscribe before reading, so a change between the read and the wait is not missed.
            let mut changes = self.changes.subscribe();
            let data = self
                .sessions
                .get(session)
                .await
                .ok_or(ApiError::SessionNotFound)?
                .value;
            let job = data.job(job_id).ok_or(ApiError::JobNotFound)?.view();
            if job.status.is_terminal()
                || tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_err()
            {
                return Ok(job);
            }
        }
    }

    /// The job's whole life. Returns early, quietly, if the session disappears.
    async fn run(&self, session: SessionId, job_id: &str) {
        let started = Instant::now();
        let outcome = self.produce(session, job_id).await;
        let (status, image, error) = match outcome {
            Ok(image) => (JobStatus::Succeeded, Some(image), None),
            Err(Failure::Provider(e)) => (JobStatus::Failed, None, Some(provider_failure(&e))),
            Err(Failure::SessionGone) => return,
        };
        let code = error.as_ref().map(|e| e.code.clone());
        // Counted before the status is visible, so whoever sees the job finished sees it counted.
        if status == JobStatus::Succeeded {
            observability::funnel("generation_succeeded");
            metrics::histogram!("refinery_time_to_image_seconds")
                .record(started.elapsed().as_secs_f64());
        } else {
            observability::funnel("generation_failed");
        }
        let _ = self
            .set(session, job_id, |job| {
                job.status = status;
                job.image = image.clone();
                job.error = error.clone();
            })
            .await;
        tracing::info!(
            event = if status == JobStatus::Succeeded { "generation_succeeded" } else { "generation_failed" },
            session = %session.log_label(),
            job = %job_id,
            status = ?status,
            code = code.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "generation finished"
        );
    }

    async fn produce(&self, session: SessionId, job_id: &str) -> Result<ImageView, Failure> {
        let data = self
            .sessions
            .get(&session)
            .await
            .ok_or(Failure::SessionGone)?
            .value;
        let job = data.job(job_id).ok_or(Failure::SessionGone)?.clone();
        let synthesis = match (&data.synthesis, job.reuse_prompt) {
            (Some(existing), true) => existing.clone(),
            _ => self.synthesize(session, job_id, &data).await?,
        };

        self.set(session, job_id, |j| j.status = JobStatus::Rendering)
            .await?;
        let started = Instant::now();
        let generated = self
            .renderer
            .generate(ImageRequest {
                prompt: &synthesis.prompt,
                aspect_ratio: job.aspect_ratio,
            })
            .await;
        let outcome = outcome_code(&generated);
        observability::provider_call("image", &self.renderer.info().label, outcome, started);
        tracing::info!(
            role = "image",
            provider = %self.renderer.info().label,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome,
            "provider call"
        );
        let generated = generated?;
        let offline = self.renderer.info().offline;
        let (width, height, mime_type) = (generated.width, generated.height, generated.mime_type);
        let image_id = self.images.insert(StoredImage {
            bytes: generated.bytes,
            mime_type: mime_type.clone(),
        });
        Ok(ImageView {
            url: contracts::paths::image(&image_id),
            mime_type,
            width,
            height,
            alt: if offline {
                format!("Offline preview sketch for: {}", synthesis.alt_text)
            } else {
                synthesis.alt_text.clone()
            },
            summary: synthesis.summary.clone(),
            aspect_ratio: job.aspect_ratio,
            offline_preview: offline,
        })
    }

    async fn synthesize(
        &self,
        session: SessionId,
        job_id: &str,
        data: &SessionData,
    ) -> Result<StoredSynthesis, Failure> {
        self.set(session, job_id, |j| j.status = JobStatus::Synthesizing)
            .await?;
        let template = self
            .catalog
            .find(&data.template_id)
            .map_err(|_| Failure::SessionGone)?;
        observability::funnel("synthesis_started");
        let started = Instant::now();
        let result = self
            .synthesizer
            .synthesize(SynthesisRequest {
                template: &template,
                idea: &data.idea,
                answers: data.refinement.answers(),
            })
            .await;
        let outcome = outcome_code(&result);
        observability::provider_call(
            "synthesis",
            &self.synthesizer.info().label,
            outcome,
            started,
        );
        observability::funnel(if result.is_ok() {
            "synthesis_succeeded"
        } else {
            "synthesis_failed"
        });
        tracing::info!(
            role = "synthesis",
            provider = %self.synthesizer.info().label,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome,
            prompt_chars = result.as_ref().map_or(0, |s| s.prompt.chars().count()),
            "provider call"
        );
        let synthesis = result?;
        let stored = StoredSynthesis {
            prompt: synthesis.prompt,
            summary: synthesis.summary,
            alt_text: synthesis.alt_text,
        };
        update(self.sessions.as_ref(), &session, |d| {
            d.synthesis = Some(stored.clone());
            Ok(())
        })
        .await
        .map_err(|_| Failure::SessionGone)?;
        Ok(stored)
    }

    /// Changes the job's record and wakes waiters.
    async fn set(
        &self,
        session: SessionId,
        job_id: &str,
        change: impl Fn(&mut JobRecord),
    ) -> Result<(), Failure> {
        update(self.sessions.as_ref(), &session, |data| {
            data.job_mut(job_id)
                .map(&change)
                .ok_or(ApiError::JobNotFound)
        })
        .await
        .map_err(|_| Failure::SessionGone)?;
        self.changes.send_modify(|n| *n += 1);
        Ok(())
    }
}

enum Failure {
    Provider(ProviderError),
    /// The session was dropped (start over) or expired while the job ran.
    SessionGone,
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Failure {
        Failure::Provider(e)
    }
}

/// `ok`, or the failure's stable code, for logs and metric labels.
fn outcome_code<T>(result: &Result<T, ProviderError>) -> &'static str {
    result.as_ref().map_or_else(providers::error_code, |_| "ok")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use domain::AnswerInput;
    use providers::local::LocalComposer;
    use providers::{GeneratedImage, ProviderInfo};

    use super::*;
    use crate::session::store::MemoryStore;

    /// An image provider whose adapter panics, as one did on an absurd `retryDelay`.
    struct Panics;

    #[async_trait]
    impl ImageGenerator for Panics {
        fn info(&self) -> ProviderInfo {
            ProviderInfo {
                label: "panics".to_owned(),
                offline: false,
            }
        }

        async fn generate(&self, _: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
            panic!("an answer no one foresaw")
        }
    }

    #[tokio::test]
    async fn a_panicking_job_task_ends_the_job_failed_and_gives_its_quota_back() {
        let catalog = Arc::new(Catalog::built_in().expect("templates"));
        let template = catalog.get("general-cinematic").expect("template");
        let sessions: Arc<dyn SessionStore> =
            Arc::new(MemoryStore::new(10, Duration::from_secs(600)));
        let jobs = Arc::new(Jobs::new(
            Arc::new(LocalComposer::new(1500, Duration::ZERO, Default::default())),
            Arc::new(Panics),
            Arc::new(ImageStore::new(1024 * 1024)),
            sessions.clone(),
            catalog.clone(),
        ));
        let session = SessionId::random();
        let mut data = SessionData::new(template.id.clone(), "a heron at dawn".into());
        for _ in 0..3 {
            data.refinement
                .answer(&template, AnswerInput::Skip)
                .expect("an answer");
        }
        sessions.put(&session, data, None).await.expect("stored");

        let refunds = Arc::new(AtomicUsize::new(0));
        let generate = || {
            let refunds = refunds.clone();
            let jobs = jobs.clone();
            async move {
                let started = jobs
                    .start(session, None, false, move || {
                        refunds.fetch_add(1, Ordering::SeqCst);
                    })
                    .await
                    .expect("started");
                match started {
                    Started::New(view) => view,
                    Started::Existing(view) => panic!("the stuck job {view:?} came back"),
                }
            }
        };
        for round in 1..=2 {
            let job = generate().await;
            let done = jobs
                .wait(&session, &job.job_id, Duration::from_secs(20))
                .await
                .expect("the job");
            assert_eq!(done.status, JobStatus::Failed, "{done:?}");
            assert_eq!(
                done.error.expect("an envelope").code,
                contracts::codes::INTERNAL
            );
            assert_eq!(
                refunds.load(Ordering::SeqCst),
                round,
                "the quota unit is given back"
            );
            assert!(
                jobs.wait_until_idle(Duration::from_secs(20)).await,
                "no task left running"
            );
        }
    }
}
