//! The requests the page makes, as Leptos actions, and how their outcomes become UI state.
//!
//! Each kind of request is one [`Action::new_local`]: `pending()` disables the buttons while it
//! runs, and `value()` keeps its outcome. A success updates the [`Flow`], moves the address to the
//! step the session is at (or where the request asked), follows a running job, and tells the
//! page's other tabs ([`crate::sync`]); a failure is kept with the input that failed, so "Try again"
//! repeats exactly that request. One request runs at a time, and starting one clears the last
//! failure.
//!
//! A refusal that only means "the session is not where this page thought" (another tab moved it)
//! is not shown as an error: the page redraws from the server's session view instead.

use contracts::{
    AnswerRequest, BackRequest, GenerateRequest, JobStatus, SessionStatus, SessionView,
    StartSessionRequest, codes,
};
use leptos::prelude::*;

use crate::announce::focus_soon;
use crate::api;
use crate::errors::{ApiClientError, Recovery, UserError, describe};
use crate::flow::{Flow, Route, poll_wait_secs};
use crate::state::AppState;
use crate::sync;

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

/// Which kind of request failed, so that the alert's button can repeat it and each alert shows
/// next to what caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Load,
    Start,
    Answer,
    Revise,
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

/// An answer to send, and whether to create the image right after it makes the session ready
/// (the third question's button says "Create the image").
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerThen {
    pub request: AnswerRequest,
    pub create: Option<GenerateRequest>,
}

/// A revision of answer `question`, and where to go once it is saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Revise {
    pub question: u8,
    pub request: AnswerRequest,
    pub then: Option<Route>,
}

/// Every request the page makes. `Copy`, so screens take it as a prop and call its methods.
#[derive(Clone, Copy)]
pub struct Actions {
    load: Act<()>,
    refresh: Action<(), ()>,
    start: Act<StartSessionRequest>,
    answer: Act<AnswerThen>,
    revise: Act<Revise>,
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
        let refresh = Action::new_local(move |_: &()| refresh(app, follow));
        let generate = act(app, Kind::Generate, move |request: GenerateRequest| {
            app.last_generate.set(Some(request.clone()));
            async move {
                create(app, follow, &request).await?;
                sync::announce_change();
                Ok(())
            }
        });
        Actions {
            load: act(app, Kind::Load, move |()| async move {
                match api::resume().await? {
                    Some(view) => {
                        set_session(app, follow, view);
                        // Opening the app's address resumes where this browser left off.
                        if app.route.get_untracked() == Route::Start {
                            app.go_instead(app.flow.with_untracked(Flow::home));
                        }
                    }
                    None => app.flow.update(Flow::on_no_session),
                }
                Ok(())
            }),
            refresh,
            start: act(app, Kind::Start, move |request| async move {
                app.selected.set(None);
                set_session(app, follow, api::start(&request).await?);
                go_home(app);
                sync::announce_change();
                Ok(())
            }),
            answer: act(app, Kind::Answer, move |then: AnswerThen| async move {
                let view = api::answer(&then.request).await?;
                let ready = view.status == SessionStatus::Ready;
                set_session(app, follow, view);
                sync::announce_change();
                go_home(app);
                // Its own request, so a refusal shows (and retries) as a failed generate.
                if let Some(request) = then.create.filter(|_| ready) {
                    generate.action.dispatch_local(request);
                }
                Ok(())
            }),
            revise: act(app, Kind::Revise, move |revise: Revise| async move {
                let view = api::revise(revise.question, &revise.request).await?;
                set_session(app, follow, view);
                sync::announce_change();
                if let Some(route) = revise.then {
                    app.go(route);
                }
                Ok(())
            }),
            back: act(app, Kind::Back, move |question| async move {
                set_session(app, follow, api::back(&BackRequest { question }).await?);
                go_home(app);
                sync::announce_change();
                Ok(())
            }),
            generate,
            follow,
            start_over: act(app, Kind::StartOver, move |keep_idea| {
                app.following.set(None);
                start_over(app, keep_idea)
            }),
        }
    }

    /// `GET /api/session/resume`: resume where this browser left off, or show the start.
    pub fn load(self) {
        self.submit(self.load, ());
    }

    /// Re-reads the session quietly and redraws if it changed (another tab moved it). Not a
    /// request the person made: it never disables buttons or shows an alert.
    pub fn refresh(self) {
        // A request of this page's own in flight will redraw anyway, and would look "remote".
        if !untrack(|| self.busy()) && !self.refresh.pending().get_untracked() {
            self.refresh.dispatch_local(());
        }
    }

    /// `POST /api/session/start`.
    pub fn start(self, request: StartSessionRequest) {
        self.submit(self.start, request);
    }

    /// `POST /api/session/answer` (an answer, or a skip), then the image if `create` says so.
    pub fn answer(self, request: AnswerRequest, create: Option<GenerateRequest>) {
        self.submit(self.answer, AnswerThen { request, create });
    }

    /// `PUT /api/session/answers/{question}`, then to `then` if given.
    pub fn revise(self, question: u8, request: AnswerRequest, then: Option<Route>) {
        self.submit(
            self.revise,
            Revise {
                question,
                request,
                then,
            },
        );
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
            || self.revise.pending.get()
            || self.back.pending.get()
            || self.generate.pending.get()
            || self.start_over.pending.get()
    }

    /// True while a revision is being saved.
    pub fn revising(self) -> bool {
        self.revise.pending.get()
    }

    /// The last request's failure, if it failed.
    pub fn failure(self) -> Option<Failure> {
        [
            (self.load.error(), Kind::Load),
            (self.start.error(), Kind::Start),
            (self.answer.error(), Kind::Answer),
            (self.revise.error(), Kind::Revise),
            (self.back.error(), Kind::Back),
            (self.generate.error(), Kind::Generate),
            (self.follow.error(), Kind::Follow),
            (self.start_over.error(), Kind::StartOver),
        ]
        .into_iter()
        .find_map(|(error, kind)| error.map(|error| Failure { error, kind }))
    }

    /// The question whose revision failed last, if the last request was a failed revision.
    pub fn failed_revision(self) -> Option<u8> {
        self.revise.failed_input().map(|r| r.question)
    }

    /// Repeats the failed request of `kind` with the same input ("Try again").
    pub fn retry(self, kind: Kind) {
        match kind {
            Kind::Load => self.load(),
            Kind::Start => self.repeat(self.start),
            Kind::Answer => self.repeat(self.answer),
            Kind::Revise => self.repeat(self.revise),
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

    /// Forgets the last failure (the person dismissed it or moved on).
    pub fn clear(self) {
        self.load.action.clear();
        self.start.action.clear();
        self.answer.action.clear();
        self.revise.action.clear();
        self.back.action.clear();
        self.generate.action.clear();
        self.follow.action.clear();
        self.start_over.action.clear();
    }

    fn repeat<I: Clone + 'static>(self, action: Act<I>) {
        if let Some(input) = action.failed_input() {
            self.submit(action, input);
        }
    }

    /// Runs `action` unless another request is running (a double Enter sends one request).
    fn submit<I: 'static>(self, action: Act<I>, input: I) {
        if untrack(|| self.busy()) {
            return;
        }
        self.clear();
        action.action.dispatch_local(input);
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
            match running.await {
                Ok(()) => Ok(()),
                // Another tab moved the session on: redraw from the server, no contradicting alert.
                Err(error) if is_out_of_step(&error) => {
                    app.notice.set(Some(
                        "This session changed in another tab; here is where it stands now."
                            .to_owned(),
                    ));
                    reload(app).await;
                    Ok(())
                }
                Err(error) => Err(Failed {
                    error: failed(app, kind, &error),
                    input,
                }),
            }
        }
    });
    Act {
        action,
        pending: action.pending(),
        outcome: action.value(),
    }
}

/// Codes that mean the page's picture of the session is stale, not that the request was wrong.
fn is_out_of_step(error: &ApiClientError) -> bool {
    matches!(
        error.code(),
        Some(codes::REFINEMENT_COMPLETE | codes::REFINEMENT_INCOMPLETE | codes::INVALID_STEP)
    )
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
        app.go(Route::Start);
        UserError {
            message: "Your session has ended, so the answers are gone. Your idea is still in the field: start again.".to_owned(),
            recovery: Recovery::Restart,
        }
    } else {
        describe(error)
    };
    if kind != Kind::Revise {
        focus_soon("request-error");
    }
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

/// Moves the address to the step the session is at now.
fn go_home(app: AppState) {
    app.go(app.flow.with_untracked(Flow::home));
}

/// `POST /api/generate`, then follows the job; the stage shows it instead of a picked image.
async fn create(
    app: AppState,
    follow: Act<String>,
    request: &GenerateRequest,
) -> Result<(), ApiClientError> {
    let job = api::generate(request).await?;
    app.selected.set(None);
    app.flow.update(|f| f.on_job(job));
    keep_following(app, follow);
    Ok(())
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
                if job.image.is_some() {
                    app.selected.set(None);
                }
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

/// Re-reads the session and redraws from it, moving the address if the step changed.
async fn reload(app: AppState) {
    if let Ok(found) = api::resume().await {
        apply_remote(app, found);
    }
}

/// [`Actions::refresh`]: like [`reload`], and says so when another tab changed something.
async fn refresh(app: AppState, follow: Act<String>) {
    let Ok(found) = api::resume().await else {
        return;
    };
    if !app.flow.with_untracked(|f| f.differs_from(found.as_ref())) {
        return;
    }
    app.notice.set(Some(match &found {
        Some(_) => "Updated from another tab.".to_owned(),
        None => "This session was ended in another tab.".to_owned(),
    }));
    apply_remote(app, found);
    keep_following(app, follow);
}

/// Redraws from a session view read from the server (or its absence).
fn apply_remote(app: AppState, found: Option<SessionView>) {
    match found {
        Some(view) => app.flow.update(|f| f.on_session(view)),
        None => {
            app.following.set(None);
            app.flow.update(Flow::on_no_session);
        }
    }
    app.selected.set(None);
    // The address follows only if it now names a step this session cannot show; `Home` redirects.
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
    app.selected.set(None);
    app.notice.set(None);
    // What was said about the old session is no longer true.
    app.live.say("");
    app.flow.update(Flow::on_no_session);
    app.go(Route::Start);
    sync::announce_change();
    Ok(())
}
