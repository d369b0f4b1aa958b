//! Generation jobs: one background task per job writes the prompt (unless reused, or already
//! written speculatively), renders its 1 to 4 images concurrently (one provider call each, each
//! offline preview with its own seed), stores them, and records each stage (queued,
//! synthesizing, rendering n of N, storing) and each finished image in the job's row, so any
//! request on any instance can report progress. Some images failing is still a success with the
//! rest; all failing fails the job with the first failure. This instance renews the lease of each
//! job it runs; a job whose instance died is ended `generation_interrupted` by whichever instance
//! notices (its quota units come back).
//!
//! The session's reference images (in upload order) go to the image model with each image, and
//! the prompt writer is told their count and notes. An edit in words is a job of one image with no
//! prompt writer: the edited image (with the thought signature the model returned for it) and the
//! instruction go to the image model.
//!
//! A job's task starts as soon as its request is checked, and writes the job's row itself while
//! the prompt is written (see [`Queued`]): the prompt needs only the brief, and a request that
//! goes away cannot leave a row without a task.
//!
//! A task stops quietly when its job is gone (start over anywhere). A task that panics, or whose
//! last write fails, still ends its job (a drop guard), so no job is left looking alive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::{
    ApiErrorBody, AspectRatio, FailedImages, ImageRecipe, ImageSize, ImageView, JobStatus, JobView,
    MAX_EDIT_INSTRUCTION_CHARS, MAX_IMAGES_PER_JOB, codes,
};
use domain::Catalog;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use providers::{
    EditSource, ImageGenerator, ImageRequest, InputImage, PromptSynthesizer, ProviderError,
    SynthesisRequest,
};
use store::ids::now_ms;
use store::images::NewImage;
use store::jobs::{Inserted, JobRow, NewJob, Outcome};
use store::quotas::{QuotaExceeded, Spender, Taken};
use store::references::ReferenceRow;
use store::{SessionId, Store, StoreError};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, provider_failure};
use crate::observability;
use crate::session::{SessionData, SessionError, StoredSynthesis, update};
use crate::speculation::{self, Speculator};

/// Why a job could not be started or read.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no session")]
    SessionNotFound,
    #[error("no such job")]
    JobNotFound,
    #[error("refinement incomplete")]
    RefinementIncomplete,
    #[error("unknown template {0:?}")]
    TemplateNotFound(String),
    #[error("daily quota reached")]
    QuotaExceeded(QuotaExceeded),
    /// The image to edit is not one of this session's.
    #[error("no such image")]
    ImageNotFound,
    /// The request asks for something the configured model cannot make; the message says what.
    #[error("{0}")]
    Unsupported(String),
    /// The job's task stopped before its row was written (it panicked, or the server is
    /// stopping).
    #[error("the job's task stopped before the job was queued")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a `POST /api/generate` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// `None`: the template's ratio.
    pub aspect_ratio: Option<AspectRatio>,
    pub image_size: ImageSize,
    /// 1 to [`MAX_IMAGES_PER_JOB`].
    pub count: u8,
    pub reuse_prompt: bool,
    /// An edit in words instead of a generation from the brief.
    pub edit: Option<EditRequest>,
}

/// An edit in words: one of the session's images and what to change in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    pub image_id: String,
    /// Trimmed, 1 to [`MAX_EDIT_INSTRUCTION_CHARS`] characters.
    pub instruction: String,
}

impl EditRequest {
    /// Checks the instruction (trimmed: 1 to 300 characters).
    pub fn new(image_id: String, instruction: &str) -> Result<EditRequest, JobError> {
        let instruction = instruction.trim();
        let chars = instruction.chars().count();
        if chars == 0 {
            return Err(JobError::Unsupported(
                "`instruction` is empty: say what to change, e.g. \"make it night, with rain\"."
                    .into(),
            ));
        }
        if chars > MAX_EDIT_INSTRUCTION_CHARS as usize {
            return Err(JobError::Unsupported(format!(
                "`instruction` is {chars} characters; at most {MAX_EDIT_INSTRUCTION_CHARS}."
            )));
        }
        Ok(EditRequest {
            image_id,
            instruction: instruction.to_owned(),
        })
    }
}

impl Default for JobRequest {
    fn default() -> JobRequest {
        JobRequest {
            aspect_ratio: None,
            image_size: ImageSize::OneK,
            count: 1,
            reuse_prompt: false,
            edit: None,
        }
    }
}

/// What `POST /api/generate` did.
pub enum Started {
    /// A new job was queued.
    New(JobView),
    /// A job was already running; this is it.
    Existing(JobView),
}

/// A task this instance runs.
struct Task {
    /// Stops the task without a word: its row was deleted or ended elsewhere.
    quiet: CancellationToken,
    /// When its job's row was written (`None` before).
    since: Option<Instant>,
}

/// Runs this instance's generation jobs and answers for any job.
pub struct Jobs {
    store: Store,
    catalog: Arc<Catalog>,
    synthesizer: Arc<dyn PromptSynthesizer>,
    renderer: Arc<dyn ImageGenerator>,
    /// Prompts written ahead of Generate, which a job uses when its brief matches.
    speculator: Arc<Speculator>,
    /// Live generations cost money: they are counted against the daily quotas.
    counts_quota: bool,
    tasks: Mutex<HashMap<String, Task>>,
    /// Bumped whenever a task ends.
    task_ended: watch::Sender<u64>,
    /// Cancelled when shutdown starts: long-polls answer at once.
    stopping: CancellationToken,
    /// Cancelled when the shutdown grace is over: tasks end their jobs interrupted.
    interrupting: CancellationToken,
}

/// The envelope of a job that ended without a result because its server stopped or failed.
pub fn interrupted() -> ApiErrorBody {
    ApiErrorBody {
        error: "The server stopped while making this image, so it did not count against today's limit. Try again.".into(),
        code: codes::GENERATION_INTERRUPTED.into(),
    }
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> ApiError {
        match error {
            JobError::SessionNotFound => ApiError::SessionNotFound,
            JobError::JobNotFound => ApiError::JobNotFound,
            JobError::RefinementIncomplete => ApiError::RefinementIncomplete,
            JobError::TemplateNotFound(id) => ApiError::TemplateNotFound(id),
            JobError::QuotaExceeded(q) => ApiError::QuotaExceeded(q),
            JobError::ImageNotFound => ApiError::ImageNotFound,
            JobError::Unsupported(message) => ApiError::Validation(message),
            JobError::Store(e) => ApiError::Internal(e.into()),
            JobError::Stopped => ApiError::Internal(JobError::Stopped.into()),
        }
    }
}

impl Jobs {
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        synthesizer: Arc<dyn PromptSynthesizer>,
        renderer: Arc<dyn ImageGenerator>,
        speculator: Arc<Speculator>,
    ) -> Jobs {
        Jobs {
            speculator,
            counts_quota: !(synthesizer.info().offline && renderer.info().offline),
            store,
            catalog,
            synthesizer,
            renderer,
            tasks: Mutex::new(HashMap::new()),
            task_ended: watch::Sender::new(0),
            stopping: CancellationToken::new(),
            interrupting: CancellationToken::new(),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task>> {
        // Each critical section is one map operation: a poisoned lock holds no half-write.
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when generations reach a live provider, so they cost money and count against the
    /// daily quotas (the session view shows what is left only then).
    pub fn counts_quota(&self) -> bool {
        self.counts_quota
    }

    /// Job tasks this instance is running.
    pub fn in_flight(&self) -> usize {
        self.tasks().len()
    }

    /// Waits until no job task is running, up to `timeout`; true if idle.
    pub async fn wait_until_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let mut ended = self.task_ended.subscribe();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended.changed())
                .await
                .is_err()
            {
                return self.in_flight() == 0;
            }
        }
    }

    /// Refuses a count, size or ratio the configured image model cannot make, naming what it
    /// can (400 `invalid_request`). Runs before any quota is counted or provider called.
    pub fn check(&self, request: &JobRequest) -> Result<(), JobError> {
        if !(1..=MAX_IMAGES_PER_JOB).contains(&request.count) {
            return Err(JobError::Unsupported(format!(
                "count must be 1 to {MAX_IMAGES_PER_JOB} images."
            )));
        }
        if request.edit.is_some() {
            if !self.renderer.takes_input_images() {
                return Err(JobError::Unsupported(format!(
                    "The configured image service ({}) takes no images with a request, so it cannot edit one.",
                    self.renderer.info().label
                )));
            }
            // An edit keeps the edited image's ratio and size; it has no prompt to reuse.
            return Ok(());
        }
        let caps = self.renderer.capabilities();
        if !caps.sizes.contains(&request.image_size) {
            return Err(JobError::Unsupported(format!(
                "The image model cannot make {} images; it makes {}.",
                request.image_size.as_str(),
                caps.sizes_text()
            )));
        }
        if let Some(ratio) = request.aspect_ratio
            && !caps.ratios.contains(&ratio)
        {
            return Err(JobError::Unsupported(format!(
                "The image model cannot make {} images; its aspect ratios are {}.",
                ratio.as_str(),
                caps.ratios_text()
            )));
        }
        Ok(())
    }

    /// Queues a job for a ready session, or returns the one already running.
    pub async fn start(
        self: &Arc<Self>,
        session: SessionId,
        client: &str,
        request: JobRequest,
    ) -> Result<Started, JobError> {
        // Time to image is counted from here: the request read, before any store work.
        let accepted = std::time::Instant::now();
        self.check(&request)?;
        // Another session's image is not found, as an unknown one; read once, for the check
        // and for the job.
        let edited = match &request.edit {
            Some(edit) => {
                let edited = self.edited_image(&session, &edit.image_id).await?;
                self.check_edit_size(&edited)?;
                Some(edited)
            }
            None => None,
        };
        // Count a live generation (one unit per image) before starting it, and give it back if
        // no new job started (one was already running, or the session is not ready).
        let spender = Spender {
            session: &session,
            client,
        };
        let taken = if self.counts_quota {
            Some(
                self.store
                    .quotas
                    .take(spender, u32::from(request.count))
                    .await?
                    .map_err(JobError::QuotaExceeded)?,
            )
        } else {
            None
        };
        let counted = taken.map(|t| (t, client.to_owned()));
        let started = match (request.edit.clone(), edited) {
            (Some(edit), Some(edited)) => {
                self.queue_edit(session, edit, &edited, counted, accepted)
                    .await
            }
            _ => self.queue(session, request, counted, accepted).await,
        };
        if let Some(taken) = taken
            && !matches!(started, Ok(Started::New(_)))
            && let Err(e) = self.store.quotas.refund(spender, taken).await
        {
            tracing::warn!(error = %e, "could not give back a quota unit");
        }
        started
    }

    async fn queue(
        self: &Arc<Self>,
        session: SessionId,
        request: JobRequest,
        counted: Option<(Taken, String)>,
        accepted: std::time::Instant,
    ) -> Result<Started, JobError> {
        // Three reads that do not depend on each other, made side by side: a burst of Generates
        // waits for one round trip to the store instead of three. They are judged in the same
        // order as one after the other would be.
        let (read, running, references) = tokio::join!(
            self.store.sessions.get::<SessionData>(&session),
            self.running_job(&session),
            self.check_references(&session),
        );
        let read = read?.ok_or(JobError::SessionNotFound)?;
        if let Some(job) = running? {
            return Ok(Started::Existing(job.view()));
        }
        let (data, version) = (read.value, read.version);
        if !data.refinement.is_ready() {
            return Err(JobError::RefinementIncomplete);
        }
        let template = self
            .catalog
            .find(&data.template_id)
            .map_err(|domain::UnknownTemplate(id)| JobError::TemplateNotFound(id))?;
        // A template's ratio the model cannot make is refused like an asked-for one.
        let aspect_ratio = request
            .aspect_ratio
            .unwrap_or(template.default_aspect_ratio);
        self.check(&JobRequest {
            aspect_ratio: Some(aspect_ratio),
            ..request.clone()
        })?;
        let references = references?;
        let job = NewJob {
            id: store::ids::random_id(),
            session,
            aspect_ratio,
            image_size: request.image_size,
            reuse_prompt: request.reuse_prompt,
            image_count: request.count,
            quota_day: counted.as_ref().map(|(t, _)| t.day),
            count_quota: counted.as_ref().is_some_and(|(t, _)| !t.counted),
            quota_client: counted.map(|(_, client)| client),
        };
        // The brief as read here goes to the task: reading it again there would only cost
        // a round trip to the store on every job.
        let work = Work::Generate {
            data: Box::new(data),
            version,
            references,
        };
        self.insert(job, work, accepted).await
    }

    /// Refuses a generation whose reference images the image model cannot take: none at all
    /// (task services), or more bytes than its request limit allows.
    /// Returns them (without their bytes), in upload order.
    async fn check_references(&self, session: &SessionId) -> Result<Vec<ReferenceRow>, JobError> {
        let references = self.store.references.list(session).await?;
        if references.is_empty() {
            return Ok(references);
        }
        if !self.renderer.takes_input_images() {
            return Err(JobError::Unsupported(format!(
                "The configured image service ({}) takes no reference images. Delete the session's references to generate.",
                self.renderer.info().label
            )));
        }
        let total: u64 = references.iter().map(|r| r.byte_size).sum();
        if let Some((size, max)) = self.over_input_limit(total) {
            return Err(JobError::Unsupported(format!(
                "The reference images come to {size:.1} MB; the image model takes at most {max:.1} MB of images with one request. Delete one to generate."
            )));
        }
        Ok(references)
    }

    /// Queues an edit of `edited`, one of the session's images: one image, at its ratio and
    /// size, whatever stage the brief is at (the brief is not used). An image deleted after this
    /// fails the job with `image_not_found` when its task reads the bytes.
    async fn queue_edit(
        self: &Arc<Self>,
        session: SessionId,
        edit: EditRequest,
        edited: &store::images::ImageRecord,
        counted: Option<(Taken, String)>,
        accepted: std::time::Instant,
    ) -> Result<Started, JobError> {
        if let Some(job) = self.running_job(&session).await? {
            return Ok(Started::Existing(job.view()));
        }
        let job = NewJob {
            id: store::ids::random_id(),
            session,
            aspect_ratio: edited.view.aspect_ratio,
            image_size: edited.view.image_size,
            reuse_prompt: false,
            image_count: 1,
            quota_day: counted.as_ref().map(|(t, _)| t.day),
            count_quota: counted.as_ref().is_some_and(|(t, _)| !t.counted),
            quota_client: counted.map(|(_, client)| client),
        };
        self.insert(job, Work::Edit(edit), accepted).await
    }

    /// Refuses an edit of an image larger than the image model takes back in one request (a
    /// 4K PNG can be), before anything is counted or sent.
    fn check_edit_size(&self, edited: &store::images::ImageRecord) -> Result<(), JobError> {
        match self.over_input_limit(edited.byte_size) {
            Some((size, max)) => Err(JobError::Unsupported(format!(
                "This image is {size:.1} MB; the image model takes at most {max:.1} MB of images with one request, so it cannot edit it. Make it at a smaller size (imageSize 1K or 2K) to edit it."
            ))),
            None => Ok(()),
        }
    }

    /// `bytes` of input images and the image model's limit for one request, in MB, when they
    /// are more than it takes.
    fn over_input_limit(&self, bytes: u64) -> Option<(f64, f64)> {
        let max = self.renderer.max_input_image_bytes()?;
        let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
        (bytes > max).then(|| (mb(bytes), mb(max)))
    }

    /// Image `image_id` when it is one of `session`'s.
    async fn edited_image(
        &self,
        session: &SessionId,
        image_id: &str,
    ) -> Result<store::images::ImageRecord, JobError> {
        self.store
            .images
            .record(image_id)
            .await?
            .filter(|record| record.session == *session)
            .ok_or(JobError::ImageNotFound)
    }

    /// Starts the job's task, which writes the job's row and answers here what came of it.
    async fn insert(
        self: &Arc<Self>,
        job: NewJob,
        work: Work,
        accepted: std::time::Instant,
    ) -> Result<Started, JobError> {
        let (answer, answered) = oneshot::channel();
        self.spawn(job, work, accepted, answer);
        match answered.await.map_err(|_| JobError::Stopped)?? {
            Inserted::New(row) => Ok(Started::New(row.view())),
            Inserted::Existing(row) => Ok(Started::Existing(row.view())),
            Inserted::SessionGone => Err(JobError::SessionNotFound),
        }
    }

    /// The session's unfinished job, unless its instance died (then it is ended first).
    async fn running_job(&self, session: &SessionId) -> Result<Option<JobRow>, JobError> {
        match self.store.jobs.running(session).await? {
            Some(job) if job.lease_lapsed(now_ms()) => {
                self.expire_lapsed().await?;
                Ok(self.store.jobs.running(session).await?)
            }
            found => Ok(found),
        }
    }

    /// The job's view once it finishes, or as it stands when `timeout` runs out (or the server
    /// starts shutting down). A zero `timeout` answers at once.
    pub async fn wait(
        &self,
        session: &SessionId,
        job_id: &str,
        timeout: Duration,
    ) -> Result<JobView, JobError> {
        self.wait_for(session, job_id, timeout, Wake::AtEnd, |_| false)
            .await
    }

    /// The job's view once it finishes or `wanted` says so, or as it stands when `timeout` runs
    /// out (or the server starts shutting down). Wakes on a change from any instance.
    pub async fn wait_until(
        &self,
        session: &SessionId,
        job_id: &str,
        timeout: Duration,
        wanted: impl Fn(&JobView) -> bool,
    ) -> Result<JobView, JobError> {
        self.wait_for(session, job_id, timeout, Wake::AtEveryChange, wanted)
            .await
    }

    async fn wait_for(
        &self,
        session: &SessionId,
        job_id: &str,
        timeout: Duration,
        wake: Wake,
        wanted: impl Fn(&JobView) -> bool,
    ) -> Result<JobView, JobError> {
        let deadline = Instant::now() + timeout;
        // Watch before reading, so a change between the read and the wait is not missed.
        let mut watch = self.store.wakeups.watch(job_id);
        loop {
            let job = self.current(session, job_id).await?;
            let now = Instant::now();
            let view = job.view();
            if job.status.is_terminal()
                || wanted(&view)
                || now >= deadline
                || self.stopping.is_cancelled()
            {
                return Ok(view);
            }
            // Read again when the lease would run out: its instance may have died silently.
            let lease_left = u64::try_from(job.lease_until - now_ms()).unwrap_or(0);
            let recheck = deadline.min(now + Duration::from_millis(lease_left + 100));
            let changed = async {
                match wake {
                    Wake::AtEveryChange => watch.changed().await,
                    Wake::AtEnd => watch.ended().await,
                }
            };
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(recheck) => {}
                () = self.stopping.cancelled() => {}
            }
        }
    }

    /// The session's job, ended first if its instance died.
    async fn current(&self, session: &SessionId, job_id: &str) -> Result<JobRow, JobError> {
        match self.store.jobs.get(session, job_id).await? {
            Some(job) if job.lease_lapsed(now_ms()) => {
                self.expire_lapsed().await?;
                self.store
                    .jobs
                    .get(session, job_id)
                    .await?
                    .ok_or(JobError::JobNotFound)
            }
            Some(job) => Ok(job),
            None => {
                let session_exists = self
                    .store
                    .sessions
                    .get::<SessionData>(session)
                    .await?
                    .is_some();
                Err(if session_exists {
                    JobError::JobNotFound
                } else {
                    JobError::SessionNotFound
                })
            }
        }
    }

    /// Renews the leases of this instance's jobs; stops the tasks whose job is no longer ours.
    pub async fn renew_leases(&self) -> Result<(), StoreError> {
        let asked = Instant::now();
        let ours = self.store.jobs.renew().await?;
        for (id, task) in self.tasks().iter() {
            // A task registered after the renewal began may not be in its answer yet.
            // A task whose row is not written yet has no lease to renew.
            if task.since.is_some_and(|since| since < asked) && !ours.contains(id) {
                task.quiet.cancel();
            }
        }
        Ok(())
    }

    /// Ends every job whose instance stopped renewing its lease. Returns how many.
    pub async fn expire_lapsed(&self) -> Result<usize, StoreError> {
        let ended = self
            .store
            .jobs
            .expire_lapsed(&interrupted(), now_ms())
            .await?;
        for job in &ended {
            observability::funnel("generation_failed");
            tracing::warn!(
                event = "generation_interrupted",
                session = %job.session.log_label(),
                job = %job.id,
                refunded = job.refunded,
                "generation interrupted: its instance stopped renewing the lease"
            );
        }
        Ok(ended.len())
    }

    /// At a SQLite start: every job still marked running belongs to a dead process.
    pub async fn end_orphans(&self) -> Result<(), StoreError> {
        for job in self.store.jobs.interrupt_orphans(&interrupted()).await? {
            tracing::warn!(
                event = "generation_interrupted",
                session = %job.session.log_label(),
                job = %job.id,
                refunded = job.refunded,
                "generation interrupted: the server stopped while it ran"
            );
        }
        Ok(())
    }

    /// True once shutdown began: event streams end so the HTTP server can drain.
    pub fn stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Shutdown, first step: long-polls answer now, so the HTTP server can drain.
    pub fn begin_shutdown(&self) {
        self.stopping.cancel();
    }

    /// Shutdown, last step: lets running jobs finish until `deadline`, then ends the rest
    /// `generation_interrupted` (their quota units come back).
    pub async fn drain(&self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        if self.wait_until_idle(left).await {
            return;
        }
        tracing::warn!(
            jobs = self.in_flight(),
            "shutdown grace is over: ending running jobs as generation_interrupted"
        );
        self.interrupting.cancel();
        if !self.wait_until_idle(Duration::from_secs(10)).await {
            tracing::error!(
                jobs = self.in_flight(),
                "jobs did not end; their leases will"
            );
        }
    }

    /// Runs `job` in a task of its own, which writes the job's row and answers `answer` with
    /// what came of it (see [`Queued`]). Its work (the brief read at the request, or an edit's
    /// instruction) is held here, not in the job's row: a job never outlives its instance (a
    /// restart ends it interrupted). `accepted` is when its request was read.
    fn spawn(
        self: &Arc<Self>,
        job: NewJob,
        work: Work,
        accepted: std::time::Instant,
        answer: oneshot::Sender<Result<Inserted, StoreError>>,
    ) {
        let quiet = CancellationToken::new();
        self.tasks().insert(
            job.id.clone(),
            Task {
                quiet: quiet.clone(),
                since: None,
            },
        );
        let mut gone = self.store.wakeups.watch(&job.id);
        let jobs = Arc::clone(self);
        tokio::spawn(async move {
            let mut guard = TaskGuard {
                jobs: Arc::clone(&jobs),
                job_id: job.id.clone(),
                unfinished: true,
            };
            let queued: Queued<'_> = jobs.write_row(&job, answer).boxed().shared();
            // The row is written from the start, whatever the work waits for first (a
            // reference's bytes), so the request hears back as soon as it can.
            let running = async { futures::join!(jobs.run(&job, work, &queued), queued.clone()).0 };
            let ending = tokio::select! {
                () = gone.gone() => Ending::Quiet,
                () = quiet.cancelled() => Ending::Quiet,
                () = jobs.interrupting.cancelled() => Ending::Interrupted,
                result = running => Ending::Ran(result),
            };
            // However the task ended, the row's fate is known before its end is written: a row
            // written after its job's end would be left running.
            if !queued.await {
                guard.unfinished = false;
                return;
            }
            guard.unfinished = !jobs.conclude(&job, ending, accepted).await;
        });
    }

    /// Writes the job's row and answers the request with what came of it; true when the job is
    /// queued, so its task goes on.
    async fn write_row(
        &self,
        job: &NewJob,
        answer: oneshot::Sender<Result<Inserted, StoreError>>,
    ) -> bool {
        let inserted = self.store.jobs.insert(job.clone()).await;
        let queued = matches!(inserted, Ok(Inserted::New(_)));
        if queued && let Some(task) = self.tasks().get_mut(&job.id) {
            task.since = Some(Instant::now());
        }
        // Unheard when the request is gone; the job goes on, to be found by the session.
        let _ = answer.send(inserted);
        queued
    }

    /// Records how the task ended; false when the job may still look alive. `accepted` is when
    /// the job's request was read.
    async fn conclude(&self, job: &NewJob, ending: Ending, accepted: std::time::Instant) -> bool {
        let session = job.session.log_label();
        let outcome = match ending {
            Ending::Quiet | Ending::Ran(Err(Failure::Gone)) => {
                tracing::info!(session = %session, job = %job.id, "generation cancelled");
                return true;
            }
            Ending::Interrupted => {
                observability::funnel("generation_failed");
                let ended = self.store.jobs.interrupt(&job.id, &interrupted()).await;
                tracing::warn!(event = "generation_interrupted", session = %session, job = %job.id, "generation interrupted: the server is stopping");
                return ended.is_ok();
            }
            Ending::Ran(Err(Failure::Store(e))) => {
                tracing::error!(session = %session, job = %job.id, error = %e, "a job lost its store");
                return false;
            }
            Ending::Ran(Ok(made)) => {
                if let Some(failed) = &made.failed {
                    tracing::warn!(
                        event = "generation_partial",
                        session = %session,
                        job = %job.id,
                        failed = failed.count,
                        code = %failed.code,
                        "some images of a job failed"
                    );
                }
                Outcome::Succeeded {
                    images: made.images,
                    failed: made.failed,
                }
            }
            Ending::Ran(Err(Failure::Provider(e))) => Outcome::Failed(provider_failure(&e)),
            Ending::Ran(Err(Failure::Ended(error))) => Outcome::Failed(error),
        };
        let (status, code) = match &outcome {
            Outcome::Succeeded { .. } => (JobStatus::Succeeded, ""),
            Outcome::Failed(error) => (JobStatus::Failed, error.code.as_str()),
        };
        // Counted before the status is visible, so whoever sees the job finished sees it counted.
        observability::funnel(if status == JobStatus::Succeeded {
            "generation_succeeded"
        } else {
            "generation_failed"
        });
        match self.store.jobs.finish(&job.id, &outcome).await {
            Ok(true) => {}
            Ok(false) => {
                // Ended elsewhere meanwhile (its lease lapsed, or its session was dropped).
                tracing::info!(session = %session, job = %job.id, "generation cancelled");
                return true;
            }
            Err(e) => {
                tracing::error!(session = %session, job = %job.id, error = %e, "could not record a job's end");
                return false;
            }
        }
        // Request read → image stored and the job's end visible to every reader.
        if status == JobStatus::Succeeded {
            metrics::histogram!("refinery_time_to_image_seconds")
                .record(accepted.elapsed().as_secs_f64());
        }
        tracing::info!(
            event = if status == JobStatus::Succeeded { "generation_succeeded" } else { "generation_failed" },
            session = %session,
            job = %job.id,
            status = ?status,
            code,
            elapsed_ms = accepted.elapsed().as_millis() as u64,
            "generation finished"
        );
        true
    }

    /// Ends a job whose task died without recording an end; a few tries, then its lease will.
    async fn end_abandoned(&self, job_id: &str) {
        for attempt in 0..3u32 {
            match self.store.jobs.interrupt(job_id, &interrupted()).await {
                Ok(_) => {
                    tracing::warn!(event = "generation_interrupted", job = %job_id, "generation interrupted: its task failed");
                    return;
                }
                Err(e) if attempt < 2 => {
                    tracing::warn!(job = %job_id, error = %e, "could not end an abandoned job; retrying");
                    tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(job = %job_id, error = %e, "could not end an abandoned job; its lease will end it");
                }
            }
        }
    }

    /// The job's work: prompt (unless reused), then its images side by side, each stored as it
    /// comes, each sent with the session's references. Succeeds when any image came out.
    async fn run(&self, job: &NewJob, work: Work, queued: &Queued<'_>) -> Result<Made, Failure> {
        let ((data, version), rows) = match work {
            Work::Edit(edit) => {
                committed(queued).await?;
                return self.run_edit(job, &edit).await;
            }
            Work::Generate {
                data,
                version,
                references,
            } => ((*data, version), references),
        };
        let mut recipe = self.recipe(job, &data)?;
        let (rows, references) = self.references(&job.session, rows).await?;
        recipe.image_size = Some(job.image_size.as_str().to_owned());
        recipe.count = Some(job.image_count);
        recipe.reference_ids = rows.iter().map(|r| r.id.clone()).collect();
        // The same prompt only for the same images: one written before a reference was added or
        // removed does not say what the images sent now are.
        let reused = (data.synthesis.as_ref())
            .filter(|existing| job.reuse_prompt && existing.references == recipe.reference_ids);
        let (synthesis, fresh, speculative, staging) = if let Some(existing) = reused {
            committed(queued).await?;
            (existing.clone(), false, None, None)
        } else if let Some((written, attempt)) = self.speculator.written(&data, &rows) {
            // Written ahead, and already there when the request read the session: no store
            // round trip before the image call, and, as for a reused prompt, no `synthesizing`.
            // The session forgets the write when the prompt is saved as its own.
            committed(queued).await?;
            (written.clone(), true, Some(attempt.to_owned()), None)
        } else {
            let (synthesis, staging) = self.synthesize(job, &data, &rows, queued).await?;
            (synthesis, true, None, staging)
        };

        // The new prompt is saved and the stages written while the images are made (see
        // `Written`).
        let (written, wait) = watch::channel(false);
        let record = async {
            if let Some(stage) = staging {
                stage.await?;
            }
            if fresh {
                self.save_prompt(job, &data, version, &synthesis, speculative.as_deref())
                    .await?;
            }
            self.advance(job, JobStatus::Rendering).await?;
            written.send_replace(true);
            Ok(())
        };
        let seed = seed_of(&job.id);
        let renders = (0..job.image_count.max(1)).map(|n| {
            let request = ImageRequest {
                prompt: &synthesis.prompt,
                aspect_ratio: job.aspect_ratio,
                image_size: job.image_size,
                seed: seed.wrapping_add(u64::from(n)),
                references: &references,
                edit: None,
            };
            self.render_one(job, request, &synthesis, &recipe, wait.clone())
        });
        let renders = futures::future::join_all(renders).map(Ok::<_, Failure>);
        let ((), results) = futures::future::try_join(record, renders).await?;
        let mut images = Vec::new();
        let mut failures = Vec::new();
        for result in results {
            match result {
                Ok(image) => images.push(image),
                Err(Failure::Provider(e)) => failures.push(e),
                Err(other) => return Err(other),
            }
        }
        let mut failures = failures.into_iter();
        match failures.next() {
            Some(first) if images.is_empty() => Err(Failure::Provider(first)),
            Some(first) => Ok(Made {
                failed: Some(FailedImages {
                    count: u8::try_from(failures.len() + 1).unwrap_or(u8::MAX),
                    code: providers::error_code(&first).to_owned(),
                }),
                images,
            }),
            None => Ok(Made {
                images,
                failed: None,
            }),
        }
    }

    /// The job's session and the recipe it gives (template, idea, answers, ratio); `Gone` once
    /// the session or its template is.
    async fn brief(&self, job: &NewJob) -> Result<(SessionData, ImageRecipe), Failure> {
        let data = self
            .store
            .sessions
            .get::<SessionData>(&job.session)
            .await?
            .ok_or(Failure::Gone)?
            .value;
        let recipe = self.recipe(job, &data)?;
        Ok((data, recipe))
    }

    /// The recipe a session's brief gives a job (template, idea, answers, ratio); `Gone` once
    /// its template is.
    fn recipe(&self, job: &NewJob, data: &SessionData) -> Result<ImageRecipe, Failure> {
        let template = self
            .catalog
            .find(&data.template_id)
            .map_err(|_| Failure::Gone)?;
        Ok(data.recipe(&template, job.aspect_ratio))
    }

    /// The session's references `listed` (in upload order) with their bytes (one deleted
    /// meanwhile is left out of both).
    async fn references(
        &self,
        session: &SessionId,
        listed: Vec<ReferenceRow>,
    ) -> Result<(Vec<ReferenceRow>, Vec<InputImage>), Failure> {
        let mut rows = Vec::new();
        let mut images = Vec::new();
        for row in listed {
            if let Some(stored) = self.store.references.get(session, &row.id).await? {
                images.push(InputImage {
                    bytes: stored.bytes,
                    mime_type: stored.mime_type,
                    note: row.note.clone(),
                });
                rows.push(row);
            }
        }
        Ok((rows, images))
    }

    /// An edit in words: the edited image and the instruction to the image model (no prompt
    /// writer), one image kept with the edited image's recipe and the instruction.
    async fn run_edit(&self, job: &NewJob, edit: &EditRequest) -> Result<Made, Failure> {
        let gone = || {
            Failure::Ended(ApiErrorBody {
                error: "The image to edit was deleted before the edit began.".into(),
                code: codes::IMAGE_NOT_FOUND.into(),
            })
        };
        let edited = self
            .store
            .images
            .record(&edit.image_id)
            .await?
            .filter(|record| record.session == job.session)
            .ok_or_else(gone)?;
        let source = self
            .store
            .images
            .get(&edit.image_id)
            .await?
            .ok_or_else(gone)?;
        let signature = self.store.images.thought_signature(&edit.image_id).await?;
        let recipe = match edited.recipe {
            Some(recipe) => recipe,
            // An image from before recipes were kept: the session's brief stands in.
            None => self.brief(job).await?.1,
        };
        let recipe = ImageRecipe {
            image_size: Some(job.image_size.as_str().to_owned()),
            count: Some(1),
            reference_ids: Vec::new(),
            edit_instruction: Some(edit.instruction.clone()),
            edit_of: Some(edit.image_id.clone()),
            ..recipe
        };
        let alt = edited
            .view
            .alt
            .strip_prefix(OFFLINE_ALT_PREFIX)
            .unwrap_or(&edited.view.alt)
            .trim_end_matches('.');
        let lines = StoredSynthesis {
            prompt: edit.instruction.clone(),
            summary: domain::cap_at_boundary(
                &format!("Edited: {}", edit.instruction),
                domain::composer::SUMMARY_MAX_CHARS,
            ),
            alt_text: domain::cap_at_boundary(
                &format!("{alt}, edited: {}", edit.instruction),
                domain::composer::ALT_MAX_CHARS,
            ),
            references: Vec::new(),
        };
        let image = InputImage {
            bytes: source.bytes,
            mime_type: source.mime_type,
            note: String::new(),
        };
        let request = ImageRequest {
            prompt: &edit.instruction,
            aspect_ratio: job.aspect_ratio,
            image_size: job.image_size,
            seed: seed_of(&job.id),
            references: &[],
            edit: Some(EditSource {
                image: &image,
                thought_signature: signature.as_deref(),
            }),
        };
        // The stage is written while the image is made (see `Written`).
        let (written, wait) = watch::channel(false);
        let record = async {
            self.advance(job, JobStatus::Rendering).await?;
            written.send_replace(true);
            Ok(())
        };
        let ((), made) =
            futures::future::try_join(record, self.render_one(job, request, &lines, &recipe, wait))
                .await?;
        Ok(Made {
            images: vec![made],
            failed: None,
        })
    }

    /// One image of a job: one provider call, the bytes stored, the job's progress counted.
    /// Nothing of it is written before `written` says the job's stage is.
    async fn render_one(
        &self,
        job: &NewJob,
        request: ImageRequest<'_>,
        synthesis: &StoredSynthesis,
        recipe: &ImageRecipe,
        mut written: Written,
    ) -> Result<ImageView, Failure> {
        let started = std::time::Instant::now();
        let generated = self.renderer.generate(request).await;
        let outcome = outcome_code(&generated);
        observability::provider_call("image", &self.renderer.info().label, outcome, started);
        tracing::info!(
            role = "image",
            provider = %self.renderer.info().label,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome,
            "provider call"
        );
        // Dropped unsent: the record failed, and the job ends with its error.
        if written.wait_for(|done| *done).await.is_err() {
            return Err(Failure::Gone);
        }
        let stored = match generated {
            Ok(generated) => self.keep(job, synthesis, recipe, generated).await,
            Err(e) => Err(Failure::Provider(e)),
        };
        // Progress counts variations. A single image's count would show only as "1 of 1" for
        // the moment before the job's end, and costs a write (and a wake-up) on every job.
        if job.image_count > 1
            && !matches!(stored, Err(Failure::Gone | Failure::Store(_)))
            && !self.store.jobs.image_done(&job.id).await?
        {
            return Err(Failure::Gone);
        }
        stored
    }

    /// Stores one made image and describes it.
    async fn keep(
        &self,
        job: &NewJob,
        synthesis: &StoredSynthesis,
        recipe: &ImageRecipe,
        generated: providers::GeneratedImage,
    ) -> Result<ImageView, Failure> {
        let offline = self.renderer.info().offline;
        let alt = if offline {
            format!("{OFFLINE_ALT_PREFIX}{}", synthesis.alt_text)
        } else {
            synthesis.alt_text.clone()
        };
        let (width, height, mime_type) = (generated.width, generated.height, generated.mime_type);
        let thought_signature = generated.thought_signature;
        let insert = self.store.images.insert(NewImage {
            session: job.session,
            job_id: job.id.clone(),
            bytes: generated.bytes,
            mime_type: mime_type.clone(),
            width,
            height,
            alt: alt.clone(),
            summary: synthesis.summary.clone(),
            aspect_ratio: job.aspect_ratio,
            image_size: job.image_size,
            offline_preview: offline,
            recipe: Some(recipe.clone()),
            thought_signature,
        });
        // Variations are stored one by one while the others still render: the job stays
        // `rendering` and its progress counts them. A single image has a storing stage of its
        // own, written while it is stored (the job's end, written after both, shows the image).
        let image_id = if job.image_count <= 1 {
            let storing = self.advance(job, JobStatus::Storing);
            futures::future::try_join(storing, insert.map(|r| r.map_err(Failure::from)))
                .await?
                .1
        } else {
            insert.await?
        };
        Ok(ImageView {
            url: contracts::paths::image(&image_id),
            image_id,
            mime_type,
            width,
            height,
            alt,
            summary: synthesis.summary.clone(),
            aspect_ratio: job.aspect_ratio,
            image_size: job.image_size,
            offline_preview: offline,
        })
    }

    /// Writes the job's prompt while its row and then its `synthesizing` stage are written.
    /// Returns once the prompt is written and the row is (what the image call needs), with the
    /// stage's write if it is still running (the image call need not wait for it).
    async fn synthesize<'a>(
        &'a self,
        job: &'a NewJob,
        data: &'a SessionData,
        references: &'a [ReferenceRow],
        queued: &'a Queued<'_>,
    ) -> Result<(StoredSynthesis, Option<Staging<'a>>), Failure> {
        let mut stage: Staging<'a> = Box::pin(async move {
            committed(queued).await?;
            self.advance(job, JobStatus::Synthesizing).await
        });
        let mut prompt = std::pin::pin!(async {
            let written = self.write_prompt(job, data, references).await;
            committed(queued).await?;
            written
        });
        // A stage that cannot be written (no row, or the job no longer ours) stops the call.
        tokio::select! {
            biased;
            staged = &mut stage => {
                staged?;
                Ok((prompt.await?, None))
            }
            written = &mut prompt => Ok((written?, Some(stage))),
        }
    }

    /// The prompt for the job: a speculative write made for this brief, else the prompt
    /// writer's answer.
    async fn write_prompt(
        &self,
        job: &NewJob,
        data: &SessionData,
        references: &[ReferenceRow],
    ) -> Result<StoredSynthesis, Failure> {
        // A brief with no speculative write when the job was requested gets none for it later:
        // a write is planned only by a change to the brief, which this one then no longer is.
        if data.speculation.is_some()
            && let Some(written) = self.speculator.take(&job.session, data, references).await?
        {
            return Ok(written);
        }
        let template = self
            .catalog
            .find(&data.template_id)
            .map_err(|_| Failure::Gone)?;
        observability::funnel("synthesis_started");
        let notes: Vec<String> = references.iter().map(|r| r.note.clone()).collect();
        let started = std::time::Instant::now();
        let result = self
            .synthesizer
            .synthesize(SynthesisRequest {
                template: &template,
                idea: &data.idea,
                answers: data.refinement.answers(),
                reference_notes: &notes,
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
        Ok(StoredSynthesis {
            prompt: synthesis.prompt,
            summary: synthesis.summary,
            alt_text: synthesis.alt_text,
            references: references.iter().map(|r| r.id.clone()).collect(),
        })
    }

    /// Keeps a new prompt in the job's session (`version` is the session as read at the
    /// request), and clears the `speculative` write it was taken from.
    async fn save_prompt(
        &self,
        job: &NewJob,
        data: &SessionData,
        version: i64,
        stored: &StoredSynthesis,
        speculative: Option<&str>,
    ) -> Result<(), Failure> {
        let keep = |d: &mut SessionData| {
            d.synthesis = Some(stored.clone());
            if let Some(attempt) = speculative {
                speculation::forget(d, attempt);
            }
        };
        // Written over the session as read at the request when nothing changed it since (one
        // write instead of a read and a write); otherwise onto what it is now.
        let mut written = data.clone();
        keep(&mut written);
        if self
            .store
            .sessions
            .replace(&job.session, &written, version)
            .await?
            .is_err()
        {
            update(&self.store.sessions, &job.session, |d| {
                keep(d);
                Ok::<_, SessionError>(())
            })
            .await?;
        }
        Ok(())
    }

    /// Records the job's stage; `Gone` if it is no longer this instance's to move.
    async fn advance(&self, job: &NewJob, status: JobStatus) -> Result<(), Failure> {
        if self.store.jobs.advance(&job.id, status).await? {
            Ok(())
        } else {
            Err(Failure::Gone)
        }
    }
}

/// Whether what must come before a job's images in the store is written: its `synthesizing`
/// stage, its new prompt and its `rendering` stage. Those writes are made while the image calls
/// run, which need none of them (a call waiting for them would only add their wait to the job's
/// time), and each image waits for them before anything of it is stored, so the stages still
/// read in order. When they fail (the job is no longer ours, or the store failed) the calls are
/// dropped.
type Written = watch::Receiver<bool>;

/// Whether the job's row is written (true) or will never be (false: another job was running,
/// the session was gone, or the store failed). A job task starts before its row is: its prompt
/// needs only the brief read at the request, so the prompt is written meanwhile. Nothing of the
/// job is written, and no image asked for, before the row is.
type Queued<'a> = Shared<BoxFuture<'a, bool>>;

/// Waits for the job's row; `Gone` when it will never be written.
async fn committed(queued: &Queued<'_>) -> Result<(), Failure> {
    if queued.clone().await {
        Ok(())
    } else {
        Err(Failure::Gone)
    }
}

/// A stage's write still running, finished before the next stage is written.
type Staging<'a> = BoxFuture<'a, Result<(), Failure>>;

/// Which changes of a job wake a waiter to read it again.
#[derive(Debug, Clone, Copy)]
enum Wake {
    /// Every stage and image done (the event stream reports each).
    AtEveryChange,
    /// Only one that may have ended it (a long-poll answers only then): each stage would cost a
    /// read for nothing.
    AtEnd,
}

/// What the alt text of an offline preview starts with.
const OFFLINE_ALT_PREFIX: &str = "Offline preview sketch for: ";

/// The images a job made, in order, and what became of the rest.
struct Made {
    images: Vec<ImageView>,
    failed: Option<FailedImages>,
}

/// A job's first seed, from its random id: every job (a new take, a re-think) draws differently,
/// and its images take the seeds after it.
fn seed_of(job_id: &str) -> u64 {
    job_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a job task makes.
enum Work {
    /// Images from the session's brief and its references (without bytes), as read when the
    /// job was requested.
    Generate {
        // Boxed: a session's data is large beside an edit's two strings.
        data: Box<SessionData>,
        /// The session's version `data` was read at.
        version: i64,
        references: Vec<ReferenceRow>,
    },
    /// An edit in words of one of the session's images.
    Edit(EditRequest),
}

/// How a job task's select ended.
enum Ending {
    /// Its job is gone or no longer ours: nothing to write.
    Quiet,
    /// The shutdown grace ran out.
    Interrupted,
    Ran(Result<Made, Failure>),
}

/// Why a job's work stopped early.
#[derive(Debug)]
enum Failure {
    Provider(ProviderError),
    /// The job or its session was dropped (start over), expired, or ended elsewhere.
    Gone,
    /// The store failed; the job ends interrupted (through the guard, or its lease).
    Store(StoreError),
    /// The job cannot go on (the image to edit was deleted meanwhile): it fails with this.
    Ended(ApiErrorBody),
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Failure {
        Failure::Provider(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Failure {
        match e {
            SessionError::NotFound => Failure::Gone,
            SessionError::Busy => Failure::Store(StoreError::Busy),
            SessionError::Store(e) => Failure::Store(e),
        }
    }
}

/// Held by each job task. On drop — the task ended, was cancelled, or panicked — it forgets the
/// task; if the job was not recorded as ended, it ends it `generation_interrupted` in a new task.
struct TaskGuard {
    jobs: Arc<Jobs>,
    job_id: String,
    unfinished: bool,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.jobs.tasks().remove(&self.job_id);
        self.jobs.task_ended.send_modify(|n| *n += 1);
        if !self.unfinished {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let jobs = Arc::clone(&self.jobs);
            let job_id = std::mem::take(&mut self.job_id);
            runtime.spawn(async move { jobs.end_abandoned(&job_id).await });
        }
    }
}

/// `ok`, or the failure's stable code, for logs and metric labels.
fn outcome_code<T>(result: &Result<T, ProviderError>) -> &'static str {
    result.as_ref().map_or_else(providers::error_code, |_| "ok")
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use domain::AnswerInput;
    use providers::faults::FaultScript;
    use providers::local::LocalComposer;
    use providers::{GeneratedImage, ProviderInfo};
    use store::{ImageLocation, S3Options, StoreConfig};

    /// An image provider with a bug: it panics mid-job.
    struct Panicking;

    #[async_trait]
    impl ImageGenerator for Panicking {
        fn info(&self) -> ProviderInfo {
            ProviderInfo {
                label: "panicking test renderer".into(),
                offline: true,
            }
        }

        async fn generate(&self, _: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
            panic!("a renderer bug");
        }
    }

    async fn store() -> Store {
        Store::open(&StoreConfig {
            database_url: "sqlite::memory:".into(),
            images: ImageLocation::Memory,
            s3: S3Options::default(),
            max_connections: 1,
            session_idle: Duration::from_secs(3600),
            max_sessions: 100,
            image_cap_bytes: 1 << 20,
            image_retention: Duration::from_secs(3600),
            quota_per_session: None,
            quota_per_client: None,
            quota_global: None,
            job_lease: Duration::from_secs(30),
        })
        .await
        .expect("an in-memory store")
    }

    #[tokio::test]
    async fn a_task_that_panics_still_ends_its_job_and_leaves_the_session_usable() {
        let store = store().await;
        let catalog = Arc::new(Catalog::built_in().expect("templates"));
        let synthesizer = Arc::new(LocalComposer::new(
            1500,
            Duration::ZERO,
            FaultScript::parse("").expect("no faults"),
        ));
        let speculator = Arc::new(Speculator::new(
            store.clone(),
            catalog.clone(),
            synthesizer.clone(),
            None,
        ));
        let jobs = Arc::new(Jobs::new(
            store.clone(),
            catalog.clone(),
            synthesizer,
            Arc::new(Panicking),
            speculator,
        ));
        let session = SessionId::random();
        let template = catalog.iter().next().expect("a template").clone();
        let mut data = SessionData::new(template.id.clone(), "a fox".into());
        for _ in 0..3 {
            data.refinement
                .answer(&template, AnswerInput::Skip)
                .expect("a skip");
        }
        store
            .sessions
            .create(&session, &data)
            .await
            .expect("db")
            .expect("new");

        let Ok(Started::New(job)) = jobs
            .start(session, "127.0.0.1", JobRequest::default())
            .await
        else {
            panic!("a job starts");
        };
        let ended = jobs
            .wait(&session, &job.job_id, Duration::from_secs(10))
            .await
            .expect("the job is readable");
        assert_eq!(ended.status, JobStatus::Failed);
        assert_eq!(
            ended.error.map(|e| e.code).as_deref(),
            Some(codes::GENERATION_INTERRUPTED)
        );
        assert!(jobs.wait_until_idle(Duration::from_secs(5)).await);
        assert!(
            matches!(
                jobs.start(session, "127.0.0.1", JobRequest::default())
                    .await,
                Ok(Started::New(_))
            ),
            "the session can generate again"
        );
        assert!(jobs.wait_until_idle(Duration::from_secs(5)).await);
        assert_eq!(
            store.wakeups.watched(),
            0,
            "no wake-up channel is left behind"
        );
    }
}
