//! `Home`, the one page: the header, the address → screen resolution, and the screen the flow
//! shows, each handed its data as props. Each screen lives in its own file below.
//!
//! A screen is drawn afresh only when the [`ScreenKey`] changes (another kind of screen, another
//! question); then focus moves and the live region speaks ([`crate::announce`]). Inside a screen,
//! signals update the parts that change.
//!
//! The address follows the flow: a request that moves the session asks `AppState::go` for the
//! step it is at now, and `Home` navigates (a later step adds a history entry, an earlier one
//! replaces it). Browser Back and Forward change the address; `Flow::resolve` then says what it
//! shows, redirecting (by replacing) when it names a step the session cannot show, and asking the
//! server to go back when it names an earlier question still being asked.

mod question;
mod recipe;
mod start;
mod workspace;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

pub use question::{QuestionScreen, ReviseScreen};
pub use recipe::{NotFoundScreen, RecipeScreen};
pub use start::StartScreen;
pub use workspace::WorkspaceScreen;

use crate::actions::Actions;
use crate::announce::on_screen_change;
use crate::components::{OfflineBadge, RatioChoice, RequestError};
use crate::flow::{Flow, Route, Screen, ScreenKey, Then};
use crate::state::AppState;

#[component]
pub fn Home() -> impl IntoView {
    let app = AppState::expect();
    let actions = Actions::new(app);
    crate::sync::listen(actions);

    // The address → the route, and requests' wishes → the address.
    let location = use_location();
    Effect::new(move |_| app.route.set(Route::parse(&location.pathname.get())));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(nav) = app.nav.get() {
            app.nav.set(None);
            navigate(
                &nav.route.path(),
                NavigateOptions {
                    replace: nav.replace,
                    scroll: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });
    actions.load();

    // What the address needs beyond drawing: a redirect, or the server going back a question.
    // Going back is asked of the server only when the address moved (Back, a link): a request that
    // moved the session on is followed by its own navigation, and the old address seen meanwhile
    // must not pull the session back.
    Effect::new(move |previous: Option<Route>| {
        let route = app.route.get();
        match app.resolved.with(|r| r.then.clone()) {
            Some(Then::Redirect(to)) => app.go_instead(to),
            Some(Then::GoBack(question)) if previous.as_ref() != Some(&route) => {
                actions.back(question)
            }
            _ => {}
        }
        route
    });

    let key = Memo::new(move |_| app.screen.with(Screen::key));
    Effect::new(move |previous: Option<ScreenKey>| {
        let key = key.get();
        if let Some(previous) = previous
            && previous != key
        {
            let stage = app.flow.with_untracked(Flow::stage);
            app.screen
                .with_untracked(|screen| on_screen_change(app.live, &previous, screen, &stage));
        }
        key
    });
    let wide = Memo::new(move |_| key.get() == ScreenKey::Workspace);

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="header-row" class:wide=wide>
                <h1 class="brand">
                    <a href="/" class="brand-link">
                        <span class="brand-mark" aria-hidden="true"></span>
                        "Prompt Refinery"
                    </a>
                </h1>
                <Show when=move || app.offline()>
                    <OfflineBadge/>
                </Show>
            </div>
        </header>
        <main id="main" tabindex="-1" class:wide=wide>
            {move || {
                app.notice
                    .get()
                    .map(|notice| {
                        view! {
                            <div class="notice" data-testid="notice">
                                <p>{notice}</p>
                                <button
                                    type="button"
                                    class="link-button"
                                    on:click=move |_| app.notice.set(None)
                                >
                                    "Dismiss"
                                </button>
                            </div>
                        }
                    })
            }}
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
    let ratio = RatioChoice {
        options: Signal::derive(move || app.ratios()),
        picked: app.draft.ratio,
        default: Signal::derive(move || app.flow.with(Flow::default_ratio)),
        count: app.draft.count,
        sizes: Signal::derive(move || app.sizes()),
        size: app.draft.size,
    };
    let idea = move || {
        app.flow
            .with_untracked(|f| f.idea().unwrap_or_default().to_owned())
    };
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
                session=Signal::derive(move || app.session.get())
                actions
            />
        }
        .into_any(),
        Screen::Question(question) => view! {
            <QuestionScreen
                question
                idea=idea()
                answer_max=Signal::derive(move || app.answer_max())
                sent=app.draft.sent_answer
                ratio
                actions
            />
        }
        .into_any(),
        Screen::Revise(revision) => view! {
            <ReviseScreen
                revision
                idea=idea()
                answer_max=Signal::derive(move || app.answer_max())
                actions
            />
        }
        .into_any(),
        Screen::Workspace => view! { <WorkspaceScreen app ratio actions/> }.into_any(),
        Screen::Recipe(id) => view! { <RecipeScreen id actions/> }.into_any(),
        Screen::NotFound => view! { <NotFoundScreen/> }.into_any(),
    }
}
