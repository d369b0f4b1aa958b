//! `Home`, the one page: it loads the session, picks the screen the flow says, and hands that
//! screen its data as props. Each screen lives in its own file below.
//!
//! A screen is drawn afresh only when the [`ScreenKey`] changes (another kind of screen, another
//! question, another image); then focus moves and the live region speaks
//! ([`crate::announce`]). Inside a screen, signals update the parts that change.

mod failed;
mod generating;
mod question;
mod ready;
mod result;
mod start;

use contracts::JobStatus;
use leptos::prelude::*;

pub use failed::FailedScreen;
pub use generating::GeneratingScreen;
pub use question::QuestionScreen;
pub use ready::ReadyScreen;
pub use result::ResultScreen;
pub use start::StartScreen;

use crate::actions::Actions;
use crate::announce::on_screen_change;
use crate::components::{RatioChoice, RequestError, StartOver};
use crate::flow::{Flow, Screen, ScreenKey};
use crate::state::AppState;

#[component]
pub fn Home() -> impl IntoView {
    let app = AppState::expect();
    let actions = Actions::new(app);
    actions.load();

    let key = Memo::new(move |_| app.screen.with(Screen::key));
    Effect::new(move |previous: Option<ScreenKey>| {
        let key = key.get();
        if let Some(previous) = previous
            && previous != key
        {
            app.screen
                .with_untracked(|screen| on_screen_change(app.live, &previous, screen));
        }
        key
    });

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="wrap header-row">
                <p class="brand">"Prompt Refinery"</p>
                <Show when=move || app.offline()>
                    <p class="badge" data-testid="offline-badge">
                        <span class="badge-dot" aria-hidden="true"></span>
                        "Offline mode: images are local previews until API keys are configured."
                    </p>
                </Show>
            </div>
        </header>
        <main id="main" class="wrap" tabindex="-1">
            <h1>"Turn an idea into an image"</h1>
            {move || {
                key.track();
                draw(app, actions)
            }}
        </main>
        <div class="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
            {move || app.live.words()}
        </div>
    }
}

/// The screen the flow says now, with its data.
fn draw(app: AppState, actions: Actions) -> AnyView {
    let session = Signal::from(app.session);
    let quota = Signal::derive(move || app.session.with(|s| s.as_ref().and_then(|s| s.quota)));
    let ratio = RatioChoice {
        options: Signal::derive(move || app.ratios()),
        picked: app.draft.ratio,
        default: Signal::derive(move || app.flow.with(Flow::default_ratio)),
    };
    let start_over = move || view! { <StartOver keep_idea=app.draft.keep_idea actions/> };
    match app.screen.get_untracked() {
        Screen::Loading => view! {
            <p class="loading" data-testid="loading">
                "Loading…"
            </p>
            <RequestError actions/>
        }
        .into_any(),
        Screen::Start => view! {
            <StartScreen
                templates=Signal::derive(move || app.templates.get())
                template_id=app.draft.template_id
                idea=app.draft.idea
                idea_max=Signal::derive(move || app.idea_max())
                actions
            />
        }
        .into_any(),
        Screen::Question(question) => {
            let idea = app
                .flow
                .with_untracked(|f| f.idea().unwrap_or_default().to_owned());
            view! {
                <QuestionScreen
                    question
                    idea
                    answer_max=Signal::derive(move || app.answer_max())
                    actions
                />
                {start_over()}
            }
            .into_any()
        }
        Screen::Ready => view! {
            <ReadyScreen session quota ratio actions/>
            {start_over()}
        }
        .into_any(),
        Screen::Generating(_) => {
            // Keeps the last stage once the screen is on its way out, so nothing is announced then.
            let status = Memo::new(move |last: Option<&JobStatus>| match app.screen.get() {
                Screen::Generating(status) => status,
                _ => last.copied().unwrap_or(JobStatus::Queued),
            });
            view! {
                <GeneratingScreen status=status.into() live=app.live actions/>
                {start_over()}
            }
            .into_any()
        }
        Screen::Failed(error) => view! {
            <FailedScreen
                error
                last_request=app.last_generate.get_untracked()
                session
                ratio
                actions
            />
            {start_over()}
        }
        .into_any(),
        Screen::Result(image) => {
            let can_reuse_prompt = Signal::derive(move || {
                app.session
                    .with(|s| s.as_ref().is_some_and(|s| s.can_reuse_prompt))
            });
            view! {
                <ResultScreen image can_reuse_prompt session quota ratio actions/>
                {start_over()}
            }
            .into_any()
        }
    }
}
