//! The requests the page makes, as Leptos actions, and how their outcomes become UI state.
//!
//! Each kind of request is one [`Action::new_local`]: `pending()` disables the buttons while it
//! runs, and `value()` keeps its outcome. A success updates the [`Flow`] (and follows a running
//! job); a failure is kept with the input that failed, so "Try again" repeats exactly that
//! request. The page shows the failure in one alert next to the form ([`Actions::failure`]). One
//! request runs at a time, and starting one clears the last failure.

use contracts::{
    AnswerRequest, BackRequest, GenerateRequest, JobStatus, SessionView, StartSessionRequest,
};
use leptos::prelude::*;

use crate::announce::focus_soon;
use crate::api;
use crate::errors::{ApiClientError, Recovery, UserError, describe};
use crate::flow::{Flow, poll_wait_secs};
use crate::state::AppState;

/// A failed request, with its input so that it can be repeated.
#[derive(Debug, Clone)]
pub struct Failed<I> {
    pub error: UserError,
    pub input: I,
}

/// One kind of request: its action, with its pending flag and outcome read once (each call to
/// `Action::pending` or `Action::value` makes a new signal).
struct Act<I: 'static> {
    action: Action<I, Result<(), Failed<I>>>,
    pending: Memo<bool>,
    outcome: MappedSignal<Option<Result<(), Failed<I>>>>,
}

impl<I> Clone for Act<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Act<I> {}

impl<I: Clone + 'static> Act<I> {
    /// The failure of the last run, if it failed.
    fn error(self) -> Option<UserError> {
        self.outcome.with(|outcome| match outcome {
            Some(Err(failed)) => Some(failed.error.clone()),
            _ => None,
        })
    }

    /// The input of the last run, if it failed.
    fn failed_input(self) -> Option<I> {
        self.outcome.with_untracked(|outcome| match outcome {
            Some(Err(failed)) => Some(failed.input.clone()),
            _ => None,
        })
    }
}

/// Which kind of request failed, so that the alert's button can repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Load,
    Start,
    Answer,
    Back,
    Generate,
    Follow,
    StartOver,
}

/// The failure the alert shows: what to tell the person, and which request to repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: UserError,
    pub kind: Kind,
}

/// Every request the page makes. `Copy`, so screens take it as a prop and call its methods.
#[derive(Clone, Copy)]
pub struct Actions {
    load: Act<()>,
    start: Act<StartSessionRequest>,
    answer: Act<AnswerRequest>,
    back: Act<u8>,
    generate: Act<GenerateRequest>,
    follow: Act<String>,
    start_over: Act<bool>,
}

impl Actions {
    /// Creates the actions; none runs until a screen calls one.
    pub fn new(app: AppState) -> Actions {
        let follow = act(app, Kind::Follow, move |job_id: String| {
            // Claimed now, not when the loop first runs, so nothing starts a second loop meanwhile.
            app.following.set(Some(job_id.clone()));
            follow_job(app, job_id)
        });
        Actions {
            load: act(app, Kind::Load, move |()| async move {
                match api::session().await? {
                    Some(view) => set_session(app, follow, view),
                    None => app.flow.update(Flow::on_no_session),
                }
                Ok(())
            }),
            start: act(app, Kind::Start, move |request| async move {
                set_session(app, follow, api::start(&request).await?);
                Ok(())
            }),
            answer: act(app, Kind::Answer, move |request| async move {
                set_session(app, follow, api::answer(&request).await?);
                Ok(())
            }),
            back: act(app, Kind::Back, move |question| async move {
                set_session(app, follow, api::back(&BackRequest { question }).await?);
                Ok(())
            }),
            generate: act(app, Kind::Generate, move |request: GenerateRequest| {
                app.last_generate.set(Some(request.clone()));
                async move {
                    let job = api::generate(&request).await?;
                    app.flow.update(|f| f.on_job(job));
                    keep_following(app, follow);
                    Ok(())
                }
            }),
            follow,
            start_over: act(app, Kind::StartOver, move |keep_idea| {
                app.following.set(None);
                start_over(app, keep_idea)
            }),
        }
    }

    /// `GET /api/session`: resume where this browser left off, or show the start.
    pub fn load(self) {
        self.submit(self.load, ());
    }

    /// `POST /api/session/start`.
    pub fn start(self, request: StartSessionRequest) {
        self.submit(self.start, request);
    }

    /// `POST /api/session/answer` (an answer, or a skip).
    pub fn answer(self, request: AnswerRequest) {
        self.submit(self.answer, request);
    }

    /// `POST /api/session/back`: to question `question` with the answers prefilled.
    pub fn back(self, question: u8) {
        self.submit(self.back, question);
    }

    /// `POST /api/generate`, then follows the job.
    pub fn generate(self, request: GenerateRequest) {
        self.submit(self.generate, request);
    }

    /// `DELETE /api/session`, keeping the idea in the field when asked to.
    pub fn start_over(self, keep_idea: bool) {
        self.submit(self.start_over, keep_idea);
    }

    /// True while a request the person made is running: the buttons are disabled meanwhile.
    /// Following a job does not count, so "Start over" stays usable while an image is made.
    pub fn busy(self) -> bool {
        self.load.pending.get()
            || self.start.pending.get()
            || self.answer.pending.get()
            || self.back.pending.get()
            || self.generate.pending.get()
            || self.start_over.pending.get()
    }

    /// The last request's failure, if it failed.
    pub fn failure(self) -> Option<Failure> {
        [
            (self.load.error(), Kind::Load),
            (self.start.error(), Kind::Start),
            (self.answer.error(), Kind::Answer),
            (self.back.error(), Kind::Back),
            (self.generate.error(), Kind::Generate),
            (self.follow.error(), Kind::Follow),
            (self.start_over.error(), Kind::StartOver),
        ]
        .into_iter()
        .find_map(|(error, kind)| error.map(|error| Failure { error, kind }))
    }

    /// Repeats the failed request of `kind` with the same input ("Try again").
    pub fn retry(self, kind: Kind) {
        match kind {
            Kind::Load => self.load(),
            Kind::Start => self.repeat(self.start),
            Kind::Answer => self.repeat(self.answer),
            Kind::Back => self.repeat(self.back),
            Kind::Generate => self.repeat(self.generate),
            Kind::Follow => {
                if let Some(job_id) = self.follow.failed_input() {
                    self.clear();
                    self.follow.action.dispatch_local(job_id);
                }
            }
            Kind::StartOver => self.repeat(self.start_over),
        }
    }

    fn repeat<I: Clone + 'static>(self, action: Act<I>) {
        if let Some(input) = action.failed_input() {
            self.submit(action, input);
        }
    }

    /// Runs `action` unless another request is running (a double Enter sends one request).
    fn submit<I: 'static>(self, action: Act<I>, input: I) {
        if self.busy_untracked() {
            return;
        }
        self.clear();
        action.action.dispatch_local(input);
    }

    fn busy_untracked(self) -> bool {
        untrack(|| self.busy())
    }

    fn clear(self) {
        self.load.action.clear();
        self.start.action.clear();
        self.answer.action.clear();
        self.back.action.clear();
        self.generate.action.clear();
        self.follow.action.clear();
        self.start_over.action.clear();
    }
}

/// An action of `kind` running `run`; a failure becomes UI state through [`failed`].
fn act<I, Fut>(app: AppState, kind: Kind, run: impl Fn(I) -> Fut + 'static) -> Act<I>
where
    I: Clone + 'static,
    Fut: Future<Output = Result<(), ApiClientError>> + 'static,
{
    let action = Action::new_local(move |input: &I| {
        let input = input.clone();
        let running = run(input.clone());
        async move {
            running.await.map_err(|error| Failed {
                error: failed(app, kind, &error),
                input,
            })
        }
    });
    Act {
        action,
        pending: action.pending(),
        outcome: action.value(),
    }
}

/// What a failed request means for the page. A session that is gone sends the person back to
/// the start with the idea still in the field; anything else is shown as the server put it.
fn failed(app: AppState, kind: Kind, error: &ApiClientError) -> UserError {
    let shown = if error.is_session_gone() && kind != Kind::StartOver {
        if let Some(idea) = app.flow.with_untracked(|f| f.idea().map(str::to_owned)) {
            app.draft.idea.set(idea);
        }
        app.following.set(None);
        app.flow.update(Flow::on_no_session);
        UserError {
            message: "Your session has ended, so the answers are gone. Your idea is still in the field: start again.".to_owned(),
            recovery: Recovery::Restart,
        }
    } else {
        describe(error)
    };
    focus_soon("request-error");
    shown
}

/// Records a session the server returned; keeps the drafts in step with it.
fn set_session(app: AppState, follow: Act<String>, view: SessionView) {
    if app.draft.idea.with_untracked(String::is_empty) {
        app.draft.idea.set(view.idea.clone());
    }
    if app
        .draft
        .template_id
        .with_untracked(|id| *id != view.template_id)
    {
        app.draft.template_id.set(view.template_id.clone());
    }
    app.flow.update(|f| f.on_session(view));
    keep_following(app, follow);
}

/// Starts the poll loop for the session's running job, unless it is already followed.
fn keep_following(app: AppState, follow: Act<String>) {
    let running = app
        .flow
        .with_untracked(|f| f.running_job().map(|j| j.job_id.clone()));
    if let Some(job_id) = running
        && app
            .following
            .with_untracked(|f| f.as_deref() != Some(job_id.as_str()))
    {
        follow.action.dispatch_local(job_id);
    }
}

/// Long-polls `GET /api/generate/{jobId}?wait=` until the job ends, or another loop (or "Start
/// over") takes it over.
async fn follow_job(app: AppState, job_id: String) -> Result<(), ApiClientError> {
    let still_ours = || {
        app.following
            .with_untracked(|f| f.as_deref() == Some(job_id.as_str()))
    };
    loop {
        let status = app
            .flow
            .with_untracked(|f| f.running_job().map_or(JobStatus::Queued, |job| job.status));
        let polled = api::job(&job_id, poll_wait_secs(status)).await;
        if !still_ours() {
            return Ok(());
        }
        match polled {
            Ok(job) => {
                let done = job.status.is_terminal();
                app.flow.update(|f| f.on_job(job));
                if done {
                    app.following.set(None);
                    return Ok(());
                }
            }
            Err(error) => {
                app.following.set(None);
                return Err(error);
            }
        }
    }
}

async fn start_over(app: AppState, keep_idea: bool) -> Result<(), ApiClientError> {
    api::start_over().await?;
    let idea = app.flow.with_untracked(|f| f.idea().map(str::to_owned));
    app.draft.idea.set(if keep_idea {
        idea.unwrap_or_default()
    } else {
        String::new()
    });
    app.draft.ratio.set(None);
    app.last_generate.set(None);
    app.flow.update(Flow::on_no_session);
    Ok(())
}
