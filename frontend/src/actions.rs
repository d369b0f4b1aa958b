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
    AnswerRequest, BackRequest, GenerateRequest, SessionStatus, SessionView, StartSessionRequest,
};
use leptos::prelude::*;

mod act;
mod follow;

use crate::api;
use crate::errors::{ApiClientError, UserError};
use crate::flow::{Flow, Route};
use crate::state::AppState;
use crate::sync;
pub use act::Failed;
use act::{Act, act};
use follow::{create, follow_job, keep_following, refresh};

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
