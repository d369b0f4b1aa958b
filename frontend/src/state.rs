//! The page's state: one `Copy` struct of signals, provided once as context by [`crate::app::App`].
//!
//! It holds what outlives a single screen: the flow the server last described, the address (client
//! route) and where the requests want it to go next, what `/api/meta` and `/api/templates` said,
//! the drafts a person is typing (idea, template, ratio, "keep my idea", the last answer sent), the
//! image picked in the workspace, the live region's words, and which job the long-poll follows.
//! `Home` hands each screen the slices it needs as props; only the requests in [`crate::actions`]
//! write the flow.

use contracts::{
    ANSWER_MAX_CHARS, AspectRatio, GenerateRequest, IDEA_MAX_CHARS, ImageSize, MetaResponse,
    ProviderMode, SessionView, TemplateSummary,
};
use leptos::prelude::*;

use crate::api;
use crate::errors::{UserError, describe};
use crate::flow::{Flow, Resolved, Route, Screen};

/// The context type. Signals are `Copy`, so the whole state is too.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The server's latest word on the session.
    pub flow: RwSignal<Flow>,
    /// The address bar's route; `Home` keeps it in step with the router.
    pub route: RwSignal<Route>,
    /// What [`Flow::resolve`] says the route shows now, and what must follow.
    pub resolved: Memo<Resolved>,
    /// What to draw now.
    pub screen: Memo<Screen>,
    /// Where a finished request wants the address to go; `Home` navigates and clears it.
    pub nav: RwSignal<Option<Nav>>,
    /// The session, compared on change so that lists drawn from it redraw only when it changed.
    pub session: Memo<Option<SessionView>>,
    /// `GET /api/meta`; `None` until it answers, and when it fails (the page works without it).
    pub meta: LocalResource<Option<MetaResponse>>,
    /// `GET /api/templates`, for the Start screen's picker.
    pub templates: LocalResource<Result<Vec<TemplateSummary>, UserError>>,
    pub draft: Draft,
    pub live: Announcer,
    /// The job the long-poll loop follows; clearing it stops the loop.
    pub following: RwSignal<Option<String>>,
    /// The last generate request, so a retry after a failed job asks for the same thing.
    pub last_generate: RwSignal<Option<GenerateRequest>>,
    /// The image picked in the workspace's gallery (its URL); `None` follows the newest.
    pub selected: RwSignal<Option<String>>,
    /// A short, polite note about the session changing under the page (another tab), if any.
    pub notice: RwSignal<Option<String>>,
}

/// A navigation a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nav {
    pub route: Route,
    /// Replace the current history entry instead of adding one.
    pub replace: bool,
}

/// What the person is choosing or typing that outlives a screen.
#[derive(Clone, Copy)]
pub struct Draft {
    pub template_id: RwSignal<String>,
    pub idea: RwSignal<String>,
    /// The ratio picked for the next image; `None` follows the session's default.
    pub ratio: RwSignal<Option<AspectRatio>>,
    /// How many images (variations) the next generate asks for, 1 to 4.
    pub count: RwSignal<u8>,
    /// The size picked for the next image; `None` is the server's default (1K).
    pub size: RwSignal<Option<ImageSize>>,
    /// "Keep my idea" under "Start over".
    pub keep_idea: RwSignal<bool>,
    /// The last answer typed and sent, with its question: a re-asked question shows it again,
    /// selected, instead of an empty field.
    pub sent_answer: RwSignal<Option<(u8, String)>>,
}

/// The words of the page's `aria-live` region.
#[derive(Clone, Copy)]
pub struct Announcer(RwSignal<String>);

impl Announcer {
    pub fn new() -> Announcer {
        Announcer(RwSignal::new(String::new()))
    }

    /// Replaces what the region says; screen readers read it out once.
    pub fn say(&self, words: impl Into<String>) {
        self.0.set(words.into());
    }

    /// What the region says now.
    pub fn words(&self) -> String {
        self.0.get()
    }
}

impl Default for Announcer {
    fn default() -> Announcer {
        Announcer::new()
    }
}

impl AppState {
    /// Creates the state and provides it as context. Starts loading `/api/meta` and
    /// `/api/templates`; the session itself is loaded by `Home` (an action, so it can be retried).
    pub fn provide() -> AppState {
        let flow = RwSignal::new(Flow::default());
        let draft = Draft {
            template_id: RwSignal::new(String::new()),
            idea: RwSignal::new(String::new()),
            ratio: RwSignal::new(None),
            count: RwSignal::new(1),
            size: RwSignal::new(None),
            keep_idea: RwSignal::new(true),
            sent_answer: RwSignal::new(None),
        };
        let templates = LocalResource::new(|| async {
            api::templates()
                .await
                .map(|list| list.templates)
                .map_err(|e| describe(&e))
        });
        // The first template is picked until a session or the person says otherwise.
        Effect::new(move |_| {
            templates.with(|loaded| {
                if let Some(Ok(list)) = loaded
                    && draft.template_id.with_untracked(String::is_empty)
                    && let Some(first) = list.first()
                {
                    draft.template_id.set(first.id.clone());
                }
            });
        });
        let route = RwSignal::new(Route::Start);
        let resolved = Memo::new(move |_| route.with(|r| flow.with(|f| f.resolve(r))));
        let state = AppState {
            flow,
            route,
            resolved,
            screen: Memo::new(move |_| resolved.with(|r| r.screen.clone())),
            nav: RwSignal::new(None),
            session: Memo::new(move |_| flow.with(|f| f.session.clone())),
            meta: LocalResource::new(|| async { api::meta().await.ok() }),
            templates,
            draft,
            live: Announcer::new(),
            following: RwSignal::new(None),
            last_generate: RwSignal::new(None),
            selected: RwSignal::new(None),
            notice: RwSignal::new(None),
        };
        provide_context(state);
        state
    }

    /// Asks `Home` to move the address to `route`: a later step adds a history entry, an earlier
    /// one replaces the current entry (see [`Route::step`]). Nothing happens if it is already there.
    pub fn go(&self, route: Route) {
        let here = self.route.get_untracked();
        if here != route {
            let replace = route.step() < here.step();
            self.nav.set(Some(Nav { route, replace }));
        }
    }

    /// Like [`AppState::go`], always replacing the current history entry.
    pub fn go_instead(&self, route: Route) {
        if self.route.get_untracked() != route {
            self.nav.set(Some(Nav {
                route,
                replace: true,
            }));
        }
    }

    /// The state `App` provided.
    pub fn expect() -> AppState {
        expect_context::<AppState>()
    }

    /// True once `/api/meta` has said whether the server runs offline.
    pub fn meta_loaded(&self) -> bool {
        self.meta.with(|m| matches!(m, Some(Some(_))))
    }

    /// True when the server runs the offline stand-ins (the header says so).
    pub fn offline(&self) -> bool {
        self.meta
            .with(|m| matches!(m, Some(Some(meta)) if meta.mode == ProviderMode::Offline))
    }

    /// The idea limit, from `/api/meta` once it answered.
    pub fn idea_max(&self) -> usize {
        self.meta_or(IDEA_MAX_CHARS, |m| m.idea_max_chars)
    }

    /// The answer limit, from `/api/meta` once it answered.
    pub fn answer_max(&self) -> usize {
        self.meta_or(ANSWER_MAX_CHARS, |m| m.answer_max_chars)
    }

    /// The ratios the server accepts, in the order the picker shows them.
    pub fn ratios(&self) -> Vec<AspectRatio> {
        self.meta_or(AspectRatio::ALL.to_vec(), |m| m.aspect_ratios.clone())
    }

    /// The sizes the server's image model makes, smallest first.
    pub fn sizes(&self) -> Vec<ImageSize> {
        self.meta_or(vec![ImageSize::OneK], |m| m.image_sizes.clone())
    }

    /// Whether the image service takes images with a request (references, edits in words);
    /// assumed until `/api/meta` says otherwise, since the server refuses them clearly anyway.
    pub fn takes_images(&self) -> bool {
        self.meta_or(true, |m| m.takes_images)
    }

    fn meta_or<T>(&self, default: T, read: impl FnOnce(&MetaResponse) -> T) -> T {
        self.meta.with(|m| match m {
            Some(Some(meta)) => read(meta),
            _ => default,
        })
    }
}
