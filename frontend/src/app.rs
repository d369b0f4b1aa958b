//! The Leptos UI: the page shell, the screens of the stepper, focus and announcements.
//!
//! What to draw comes from [`Flow::screen`]; this module only renders it and turns clicks into
//! API calls. Every control is a native form element (buttons, radios, inputs, a select, a link),
//! so Tab/Enter/Space work without key handlers.

use contracts::{
    AnswerRequest, AspectRatio, BackRequest, GenerateRequest, IDEA_MAX_CHARS, ImageView, JobStatus,
    MetaResponse, ProviderMode, SessionView, StartSessionRequest, TemplateSummary,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use wasm_bindgen::JsCast;

use crate::api;
use crate::errors::{ApiClientError, Recovery, UserError, describe, describe_job_failure};
use crate::flow::{
    Flow, Screen, ScreenKey, answer_problem, char_counter, idea_problem, poll_wait_secs,
    ratio_label, stage_announcement, stage_label,
};

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main id="main" class="wrap">
            <h1>"Page not found"</h1>
            <p>
                <a href="/">"Go to Prompt Refinery"</a>
            </p>
        </main>
    }
}

/// A request the page can make, kept so that "Try again" repeats exactly what failed.
#[derive(Debug, Clone)]
enum Op {
    Load,
    Start(StartSessionRequest),
    Answer(AnswerRequest),
    Back(u8),
    Generate(GenerateRequest),
    Poll(String),
    StartOver { keep_idea: bool },
}

/// The page's state. Signals are `Copy`, so the whole context is too.
#[derive(Clone, Copy)]
struct Ctx {
    flow: RwSignal<Flow>,
    screen: Memo<Screen>,
    meta: RwSignal<Option<MetaResponse>>,
    templates: RwSignal<Option<Result<Vec<TemplateSummary>, UserError>>>,
    template_id: RwSignal<String>,
    idea: RwSignal<String>,
    idea_touched: RwSignal<bool>,
    answer: RwSignal<String>,
    ratio: RwSignal<Option<AspectRatio>>,
    keep_idea: RwSignal<bool>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<(UserError, Op)>>,
    announce: RwSignal<String>,
    /// The job the poll loop follows; clearing it stops the loop.
    polling: RwSignal<Option<String>>,
    /// The last generate request, so a retry after a failure asks for the same thing.
    last_generate: RwSignal<Option<GenerateRequest>>,
    generating_since: RwSignal<f64>,
    elapsed_secs: RwSignal<u64>,
}

fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

#[component]
fn Home() -> impl IntoView {
    let flow = RwSignal::new(Flow::default());
    let ctx = Ctx {
        flow,
        screen: Memo::new(move |_| flow.with(Flow::screen)),
        meta: RwSignal::new(None),
        templates: RwSignal::new(None),
        template_id: RwSignal::new(String::new()),
        idea: RwSignal::new(String::new()),
        idea_touched: RwSignal::new(false),
        answer: RwSignal::new(String::new()),
        ratio: RwSignal::new(None),
        keep_idea: RwSignal::new(true),
        busy: RwSignal::new(false),
        error: RwSignal::new(None),
        announce: RwSignal::new(String::new()),
        polling: RwSignal::new(None),
        last_generate: RwSignal::new(None),
        generating_since: RwSignal::new(0.0),
        elapsed_secs: RwSignal::new(0),
    };
    provide_context(ctx);

    spawn_local(async move {
        if let Ok(meta) = api::meta().await {
            ctx.meta.set(Some(meta));
        }
    });
    spawn_local(async move {
        let loaded = api::templates().await.map_err(|e| describe(&e));
        if let Ok(list) = &loaded
            && ctx.template_id.get_untracked().is_empty()
            && let Some(first) = list.templates.first()
        {
            ctx.template_id.set(first.id.clone());
        }
        ctx.templates.set(Some(loaded.map(|l| l.templates)));
    });
    run(ctx, Op::Load);

    let key = Memo::new(move |_| ctx.screen.with(Screen::key));
    Effect::new(move |previous: Option<ScreenKey>| {
        let key = key.get();
        if let Some(previous) = previous
            && previous != key
        {
            on_screen_change(ctx, &previous, &key);
        }
        key
    });
    // Announce each stage as the job reports it.
    Effect::new(move |previous: Option<Option<JobStatus>>| {
        let stage = match ctx.screen.get() {
            Screen::Generating(status) => Some(status),
            _ => None,
        };
        if let Some(status) = stage
            && previous.flatten() != Some(status)
        {
            ctx.announce
                .set(stage_announcement(status, ctx.elapsed_secs.get_untracked()));
        }
        stage
    });
    // The elapsed-seconds clock: visible every second, announced every ten.
    let _ = set_interval_with_handle(
        move || {
            if let Screen::Generating(status) = ctx.screen.get_untracked() {
                let secs = ((js_sys::Date::now() - ctx.generating_since.get_untracked()) / 1000.0)
                    .max(0.0) as u64;
                if secs != ctx.elapsed_secs.get_untracked() {
                    ctx.elapsed_secs.set(secs);
                    if secs > 0 && secs.is_multiple_of(10) {
                        ctx.announce.set(stage_announcement(status, secs));
                    }
                }
            }
        },
        std::time::Duration::from_secs(1),
    );

    let offline = move || {
        ctx.meta
            .with(|m| m.as_ref().is_some_and(|m| m.mode == ProviderMode::Offline))
    };

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="wrap header-row">
                <p class="brand">"Prompt Refinery"</p>
                <Show when=offline>
                    <p class="badge" data-testid="offline-badge">
                        <span class="badge-dot" aria-hidden="true"></span>
                        "Offline mode: images are local previews until API keys are configured."
                    </p>
                </Show>
            </div>
        </header>
        <main id="main" class="wrap" tabindex="-1">
            <h1>"Turn an idea into an image"</h1>
            {move || match key.get() {
                ScreenKey::Loading => {
                    view! {
                        <p class="loading" data-testid="loading">
                            "Loading…"
                        </p>
                        <RequestError/>
                    }
                        .into_any()
                }
                ScreenKey::Start => view! { <StartScreen/> }.into_any(),
                ScreenKey::Question { .. } => view! { <QuestionScreen/> }.into_any(),
                ScreenKey::Ready => view! { <ReadyScreen/> }.into_any(),
                ScreenKey::Generating => view! { <GeneratingScreen/> }.into_any(),
                ScreenKey::Failed => view! { <FailedScreen/> }.into_any(),
                ScreenKey::Result { .. } => view! { <ResultScreen/> }.into_any(),
            }}
        </main>
        <div class="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
            {move || ctx.announce.get()}
        </div>
    }
}

/// Focus and announcements when a new screen appears.
fn on_screen_change(ctx: Ctx, previous: &ScreenKey, key: &ScreenKey) {
    match key {
        ScreenKey::Loading => {}
        ScreenKey::Start => {
            if *previous != ScreenKey::Loading {
                focus_soon("start-heading");
            }
        }
        ScreenKey::Question { .. } => {
            if let Screen::Question(q) = ctx.screen.get_untracked() {
                ctx.answer
                    .set(q.previous_answer.clone().unwrap_or_default());
                let again = if q.reask { ", asked again" } else { "" };
                ctx.announce
                    .set(format!("Question {} of {}{again}", q.index, q.total));
            }
            focus_soon("answer-input");
        }
        ScreenKey::Ready => {
            ctx.announce.set("All answers are in.".to_owned());
            focus_soon("ready-heading");
        }
        ScreenKey::Generating => {
            ctx.generating_since.set(js_sys::Date::now());
            ctx.elapsed_secs.set(0);
            focus_soon("generating-heading");
        }
        ScreenKey::Failed => focus_soon("job-error"),
        ScreenKey::Result { .. } => {
            ctx.announce.set("Your image is ready.".to_owned());
            focus_soon("result-heading");
        }
    }
}

/// Focuses the element with `id` once it is drawn (a few frames at most).
fn focus_soon(id: &'static str) {
    fn attempt(id: &'static str, tries_left: u8) {
        let element = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        match element {
            Some(element) => {
                let _ = element.focus();
            }
            None if tries_left > 0 => request_animation_frame(move || attempt(id, tries_left - 1)),
            None => {}
        }
    }
    request_animation_frame(move || attempt(id, 10));
}

/// Runs `op`, showing an error next to the form if it fails.
fn run(ctx: Ctx, op: Op) {
    if let Op::Poll(job_id) = op {
        ctx.error.set(None);
        follow_job(ctx, job_id);
        return;
    }
    if ctx.busy.get_untracked() {
        return;
    }
    ctx.error.set(None);
    ctx.busy.set(true);
    spawn_local(async move {
        let result = perform(ctx, op.clone()).await;
        ctx.busy.set(false);
        if let Err(error) = result {
            fail(ctx, &error, op);
        }
    });
}

async fn perform(ctx: Ctx, op: Op) -> Result<(), ApiClientError> {
    match op {
        Op::Load => match api::session().await? {
            Some(view) => set_session(ctx, view),
            None => ctx.flow.update(Flow::on_no_session),
        },
        Op::Start(request) => set_session(ctx, api::start(&request).await?),
        Op::Answer(request) => set_session(ctx, api::answer(&request).await?),
        Op::Back(question) => set_session(ctx, api::back(&BackRequest { question }).await?),
        Op::Generate(request) => {
            ctx.last_generate.set(Some(request.clone()));
            let job = api::generate(&request).await?;
            ctx.flow.update(|f| f.on_job(job));
            keep_following(ctx);
        }
        Op::Poll(job_id) => follow_job(ctx, job_id),
        Op::StartOver { keep_idea } => {
            ctx.polling.set(None);
            api::start_over().await?;
            let idea = ctx.flow.with_untracked(|f| f.idea().map(str::to_owned));
            ctx.idea.set(if keep_idea {
                idea.unwrap_or_default()
            } else {
                String::new()
            });
            ctx.idea_touched.set(false);
            ctx.ratio.set(None);
            ctx.last_generate.set(None);
            ctx.flow.update(Flow::on_no_session);
        }
    }
    Ok(())
}

fn set_session(ctx: Ctx, view: SessionView) {
    if ctx.idea.get_untracked().is_empty() {
        ctx.idea.set(view.idea.clone());
    }
    if ctx.template_id.get_untracked() != view.template_id {
        ctx.template_id.set(view.template_id.clone());
    }
    ctx.flow.update(|f| f.on_session(view));
    keep_following(ctx);
}

fn fail(ctx: Ctx, error: &ApiClientError, op: Op) {
    if error.is_session_gone() && !matches!(op, Op::StartOver { .. }) {
        // The session is gone: back to the start, with the idea still in the field.
        if let Some(idea) = ctx.flow.with_untracked(|f| f.idea().map(str::to_owned)) {
            ctx.idea.set(idea);
        }
        ctx.polling.set(None);
        ctx.flow.update(Flow::on_no_session);
        ctx.error.set(Some((
            UserError {
                message: "Your session has ended, so the answers are gone. Your idea is still in the field: start again.".to_owned(),
                recovery: Recovery::Restart,
            },
            Op::Load,
        )));
    } else {
        ctx.error.set(Some((describe(error), op)));
    }
    focus_soon("request-error");
}

/// Starts the poll loop for the session's running job, unless it is already followed.
fn keep_following(ctx: Ctx) {
    let running = ctx
        .flow
        .with_untracked(|f| f.running_job().map(|j| j.job_id.clone()));
    if let Some(job_id) = running
        && ctx.polling.get_untracked().as_deref() != Some(job_id.as_str())
    {
        follow_job(ctx, job_id);
    }
}

/// Long-polls `GET /api/generate/{jobId}?wait=` until the job ends (or another loop takes over).
fn follow_job(ctx: Ctx, job_id: String) {
    ctx.polling.set(Some(job_id.clone()));
    spawn_local(async move {
        let still_ours = || ctx.polling.get_untracked().as_deref() == Some(job_id.as_str());
        loop {
            let status = ctx
                .flow
                .with_untracked(|f| f.running_job().map_or(JobStatus::Queued, |job| job.status));
            let polled = api::job(&job_id, poll_wait_secs(status)).await;
            if !still_ours() {
                return;
            }
            match polled {
                Ok(job) => {
                    let done = job.status.is_terminal();
                    ctx.flow.update(|f| f.on_job(job));
                    if done {
                        ctx.polling.set(None);
                        return;
                    }
                }
                Err(error) => {
                    ctx.polling.set(None);
                    fail(ctx, &error, Op::Poll(job_id));
                    return;
                }
            }
        }
    });
}

/// The alert for a failed request, placed next to what caused it, with a way forward.
#[component]
fn RequestError() -> impl IntoView {
    let ctx = ctx();
    move || {
        ctx.error.get().map(|(error, op)| {
            let action = match error.recovery {
                Recovery::Retry => Some(("Try again", op)),
                Recovery::Reload => Some(("Reload", Op::Load)),
                Recovery::Edit | Recovery::Restart => None,
            };
            view! {
                <div
                    class="alert"
                    role="alert"
                    id="request-error"
                    tabindex="-1"
                    data-testid="request-error"
                >
                    <p>{error.message}</p>
                    {action
                        .map(|(label, op)| {
                            view! {
                                <button
                                    type="button"
                                    data-testid="request-retry"
                                    on:click=move |_| run(ctx, op.clone())
                                >
                                    {label}
                                </button>
                            }
                        })}
                </div>
            }
        })
    }
}

#[component]
fn StartScreen() -> impl IntoView {
    let ctx = ctx();
    let max = move || {
        ctx.meta
            .with(|m| m.as_ref().map_or(IDEA_MAX_CHARS, |m| m.idea_max_chars))
    };
    let problem = move || ctx.idea.with(|idea| idea_problem(idea, max()));
    let over_limit = move || ctx.idea.with(|idea| idea.trim().chars().count() > max());
    let show_problem = move || (ctx.idea_touched.get() || over_limit()) && problem().is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ctx.idea_touched.set(true);
        if problem().is_some() {
            focus_soon("idea-input");
            return;
        }
        run(
            ctx,
            Op::Start(StartSessionRequest {
                template_id: ctx.template_id.get_untracked(),
                initial_input: ctx.idea.get_untracked().trim().to_owned(),
            }),
        );
    };
    let templates = move || match ctx.templates.get() {
        None => view! { <p class="loading">"Loading templates…"</p> }.into_any(),
        Some(Err(error)) => view! {
            <p class="alert" role="alert">
                {error.message}
            </p>
        }
        .into_any(),
        Some(Ok(list)) => list
            .into_iter()
            .map(|t| {
                let id = t.id.clone();
                let input_id = format!("template-{}", t.id);
                let checked = {
                    let id = id.clone();
                    move || ctx.template_id.with(|current| *current == id)
                };
                view! {
                    <div class="choice">
                        <input
                            type="radio"
                            name="template"
                            id=input_id.clone()
                            value=id.clone()
                            data-testid=format!("template-{}", t.id)
                            prop:checked=checked
                            on:change=move |_| ctx.template_id.set(id.clone())
                        />
                        <label for=input_id>
                            <span class="choice-name">{t.name}</span>
                            <span class="choice-desc">{t.description}</span>
                        </label>
                    </div>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <section class="card" aria-labelledby="start-heading">
            <h2 id="start-heading" tabindex="-1">
                "Start with an idea"
            </h2>
            <form on:submit=submit novalidate>
                <fieldset class="choices">
                    <legend>"Style"</legend>
                    {templates}
                </fieldset>
                <div class="field">
                    <label for="idea-input">"Your idea"</label>
                    <p id="idea-help" class="hint">
                        "A few words or a sentence: who or what, doing what. Three short questions follow."
                    </p>
                    <textarea
                        id="idea-input"
                        data-testid="idea-input"
                        rows="3"
                        aria-describedby="idea-help idea-counter idea-error"
                        aria-invalid=move || if show_problem() { "true" } else { "false" }
                        prop:value=move || ctx.idea.get()
                        on:input=move |ev| ctx.idea.set(event_target_value(&ev))
                    ></textarea>
                    <p
                        id="idea-counter"
                        class="counter"
                        class:over=over_limit
                        data-testid="idea-counter"
                    >
                        {move || ctx.idea.with(|idea| char_counter(idea, max()))}
                    </p>
                    <p id="idea-error" class="field-error" data-testid="idea-error">
                        {move || if show_problem() { problem() } else { None }}
                    </p>
                </div>
                <RequestError/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="start-button"
                        disabled=move || ctx.busy.get()
                    >
                        "Start refining"
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn QuestionScreen() -> impl IntoView {
    let ctx = ctx();
    let Screen::Question(q) = ctx.screen.get_untracked() else {
        return ().into_any();
    };
    let max = move || {
        ctx.meta.with(|m| {
            m.as_ref()
                .map_or(contracts::ANSWER_MAX_CHARS, |m| m.answer_max_chars)
        })
    };
    let problem = move || ctx.answer.with(|a| answer_problem(a, max()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if problem().is_some() {
            focus_soon("answer-input");
            return;
        }
        run(
            ctx,
            Op::Answer(AnswerRequest {
                answer: ctx.answer.get_untracked().trim().to_owned(),
                skip: false,
            }),
        );
    };
    let skip = move |_| {
        run(
            ctx,
            Op::Answer(AnswerRequest {
                answer: String::new(),
                skip: true,
            }),
        );
    };
    let index = q.index;
    let last = q.index >= q.total;
    let idea = ctx
        .flow
        .with_untracked(|f| f.idea().unwrap_or_default().to_owned());
    view! {
        <section class="card" aria-labelledby="question-heading">
            <p class="idea-line">
                <span class="muted">"Your idea: "</span>
                {idea}
            </p>
            <p class="step" id="step-label" data-testid="step-counter">
                {format!("Question {} of {}", q.index, q.total)}
            </p>
            <progress
                class="progress"
                max=q.total.to_string()
                value=(q.index - 1).to_string()
                aria-labelledby="step-label"
            ></progress>
            <form on:submit=submit novalidate>
                <h2 id="question-heading" data-testid="question-text">
                    <label for="answer-input">{q.text.clone()}</label>
                </h2>
                {q
                    .reask
                    .then(|| {
                        view! {
                            <p class="reask" data-testid="reask-notice">
                                <strong>"Asked again: "</strong>
                                "that answer was too thin to build an image on. A few concrete words help; the hint below shows the kind of answer that works. Or skip, and we use a sensible default."
                            </p>
                        }
                    })}
                <p id="answer-hint" class="hint" data-testid="question-hint">
                    {q.hint.clone()}
                </p>
                <input
                    id="answer-input"
                    data-testid="answer-input"
                    type="text"
                    autocomplete="off"
                    aria-describedby="answer-hint answer-counter answer-error"
                    aria-invalid=move || if problem().is_some() { "true" } else { "false" }
                    prop:value=move || ctx.answer.get()
                    on:input=move |ev| ctx.answer.set(event_target_value(&ev))
                />
                <p id="answer-counter" class="counter" class:over=move || problem().is_some()>
                    {move || ctx.answer.with(|a| char_counter(a, max()))}
                </p>
                <p id="answer-error" class="field-error">
                    {problem}
                </p>
                <RequestError/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="answer-submit"
                        disabled=move || ctx.busy.get()
                    >
                        {if last { "Finish" } else { "Next" }}
                    </button>
                    <button
                        type="button"
                        data-testid="skip-button"
                        disabled=move || ctx.busy.get()
                        on:click=skip
                    >
                        "Skip"
                    </button>
                    {(index > 1)
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    data-testid="back-button"
                                    disabled=move || ctx.busy.get()
                                    on:click=move |_| run(ctx, Op::Back(index - 1))
                                >
                                    "Back"
                                </button>
                            }
                        })}
                </div>
            </form>
        </section>
        <StartOver/>
    }
    .into_any()
}

/// The recorded answers, so the person sees what the image will be made from.
#[component]
fn Answers() -> impl IntoView {
    let ctx = ctx();
    move || {
        ctx.flow.with(|f| {
            f.session.as_ref().map(|s| {
                let rows = s
                    .answers
                    .iter()
                    .map(|a| {
                        let note = if a.skipped {
                            " (skipped: default used)"
                        } else if a.defaulted {
                            " (default used)"
                        } else {
                            ""
                        };
                        view! {
                            <dt>{a.question.clone()}</dt>
                            <dd>{a.answer.clone()} <span class="muted">{note}</span></dd>
                        }
                    })
                    .collect_view();
                view! {
                    <section class="answers" aria-labelledby="answers-heading">
                        <h3 id="answers-heading">"Your answers"</h3>
                        <dl data-testid="answers">
                            <dt>"Idea"</dt>
                            <dd data-testid="answers-idea">{s.idea.clone()}</dd>
                            {rows}
                        </dl>
                    </section>
                }
            })
        })
    }
}

/// The aspect-ratio picker for the next image.
#[component]
fn RatioSelect() -> impl IntoView {
    let ctx = ctx();
    let current = move || {
        ctx.ratio
            .get()
            .or_else(|| ctx.flow.with(Flow::default_ratio))
    };
    let ratios = move || {
        ctx.meta.with(|m| {
            m.as_ref()
                .map_or_else(|| AspectRatio::ALL.to_vec(), |m| m.aspect_ratios.clone())
        })
    };
    view! {
        <div class="field ratio">
            <label for="ratio-select">"Aspect ratio for the next image"</label>
            <select
                id="ratio-select"
                data-testid="ratio-select"
                on:change=move |ev| ctx.ratio.set(AspectRatio::parse(&event_target_value(&ev)))
            >
                {move || {
                    ratios()
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.as_str() selected=move || current() == Some(r)>
                                    {ratio_label(r)}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    }
}

fn generate(ctx: Ctx, reuse_prompt: bool) {
    let aspect_ratio = ctx
        .ratio
        .get_untracked()
        .or_else(|| ctx.flow.with_untracked(Flow::default_ratio));
    run(
        ctx,
        Op::Generate(GenerateRequest {
            aspect_ratio,
            reuse_prompt,
        }),
    );
}

#[component]
fn ChangeAnswers() -> impl IntoView {
    let ctx = ctx();
    view! {
        <button
            type="button"
            data-testid="change-answers"
            disabled=move || ctx.busy.get()
            on:click=move |_| run(ctx, Op::Back(1))
        >
            "Change answers"
        </button>
    }
}

/// "Start over", with the choice to keep the idea in the field.
#[component]
fn StartOver() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section class="start-over" aria-labelledby="start-over-heading">
            <h3 id="start-over-heading" class="visually-hidden">
                "Start over"
            </h3>
            <div class="check">
                <input
                    type="checkbox"
                    id="keep-idea"
                    data-testid="keep-idea"
                    prop:checked=move || ctx.keep_idea.get()
                    on:change=move |ev| ctx.keep_idea.set(event_target_checked(&ev))
                />
                <label for="keep-idea">"Keep my idea"</label>
            </div>
            <button
                type="button"
                class="quiet"
                data-testid="start-over"
                disabled=move || ctx.busy.get()
                on:click=move |_| {
                    run(
                        ctx,
                        Op::StartOver {
                            keep_idea: ctx.keep_idea.get_untracked(),
                        },
                    )
                }
            >
                "Start over"
            </button>
        </section>
    }
}

/// What is left of today's live-image limits, next to the generate buttons.
#[component]
fn QuotaNote() -> impl IntoView {
    let ctx = ctx();
    let line = move || {
        ctx.flow.with(|f| {
            f.session
                .as_ref()
                .and_then(|s| s.quota)
                .and_then(|q| crate::flow::quota_line(&q))
        })
    };
    view! {
        <p class="note" data-testid="quota-left" aria-live="polite">
            {line}
        </p>
    }
}

#[component]
fn ReadyScreen() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section class="card" aria-labelledby="ready-heading">
            <h2 id="ready-heading" tabindex="-1">
                "Ready to create your image"
            </h2>
            <Answers/>
            <RatioSelect/>
            <RequestError/>
            <div class="actions">
                <button
                    type="button"
                    class="primary"
                    data-testid="generate-button"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| generate(ctx, false)
                >
                    "Create the image"
                </button>
                <ChangeAnswers/>
            </div>
            <QuotaNote/>
        </section>
        <StartOver/>
    }
}

#[component]
fn GeneratingScreen() -> impl IntoView {
    let ctx = ctx();
    let status = move || match ctx.screen.get() {
        Screen::Generating(status) => status,
        _ => JobStatus::Queued,
    };
    let stage_class = move |stage: JobStatus| {
        let order = |s: JobStatus| match s {
            JobStatus::Queued => 0,
            JobStatus::Synthesizing => 1,
            JobStatus::Rendering => 2,
            JobStatus::Succeeded | JobStatus::Failed => 3,
        };
        let (now, this) = (order(status()), order(stage));
        if now > this {
            "stage done"
        } else if now == this {
            "stage current"
        } else {
            "stage"
        }
    };
    view! {
        <section class="card" aria-labelledby="generating-heading" aria-busy="true">
            <h2 id="generating-heading" tabindex="-1">
                "Creating your image"
            </h2>
            <div class="working">
                <span class="spinner" aria-hidden="true"></span>
                <p class="stage-now" data-testid="stage">
                    {move || stage_label(status())}
                    <span class="muted" data-testid="elapsed">
                        {move || format!(" · {} s", ctx.elapsed_secs.get())}
                    </span>
                </p>
            </div>
            <ol class="stages" aria-label="Stages">
                <li class=move || stage_class(JobStatus::Synthesizing)>
                    {stage_label(JobStatus::Synthesizing)}
                </li>
                <li class=move || stage_class(JobStatus::Rendering)>
                    {stage_label(JobStatus::Rendering)}
                </li>
            </ol>
            <p class="hint">"You can leave this page open or reload it: the image keeps coming."</p>
            <RequestError/>
        </section>
        <StartOver/>
    }
}

#[component]
fn FailedScreen() -> impl IntoView {
    let ctx = ctx();
    let Screen::Failed(error) = ctx.screen.get_untracked() else {
        return ().into_any();
    };
    let shown = describe_job_failure(&error);
    let already_said = shown.message.to_lowercase().contains("answers are kept");
    let retry = move |_| {
        let request = ctx
            .last_generate
            .get_untracked()
            .unwrap_or_else(|| GenerateRequest {
                aspect_ratio: ctx.ratio.get_untracked(),
                reuse_prompt: false,
            });
        run(ctx, Op::Generate(request));
    };
    view! {
        <section class="card" aria-labelledby="failed-heading">
            <h2 id="failed-heading">"The image could not be made"</h2>
            <div class="alert" role="alert" id="job-error" tabindex="-1" data-testid="job-error">
                <p>{shown.message}</p>
                {(!already_said).then(|| view! { <p>"Your answers are kept."</p> })}
            </div>
            <Answers/>
            <RatioSelect/>
            <RequestError/>
            <div class="actions">
                {(shown.recovery == Recovery::Retry)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="primary"
                                data-testid="retry-button"
                                disabled=move || ctx.busy.get()
                                on:click=retry
                            >
                                "Try again"
                            </button>
                        }
                    })}
                <ChangeAnswers/>
            </div>
        </section>
        <StartOver/>
    }
    .into_any()
}

fn download_name(image: &ImageView) -> String {
    let extension = match image.mime_type.as_str() {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
    let id = image.url.rsplit('/').next().unwrap_or("image");
    let short: String = id.chars().take(8).collect();
    format!("prompt-refinery-{short}.{extension}")
}

#[component]
fn ResultScreen() -> impl IntoView {
    let ctx = ctx();
    let Screen::Result(image) = ctx.screen.get_untracked() else {
        return ().into_any();
    };
    let can_reuse = move || {
        ctx.flow
            .with(|f| f.session.as_ref().is_some_and(|s| s.can_reuse_prompt))
    };
    let offline_note = image.offline_preview.then(|| {
        view! {
            <p class="note" data-testid="offline-preview-note">
                "A local preview: the real image is drawn once an image API key is configured."
            </p>
        }
    });
    view! {
        <section class="card result" aria-labelledby="result-heading">
            <h2 id="result-heading" tabindex="-1">
                "Your image"
            </h2>
            <figure>
                <img
                    data-testid="result-image"
                    src=image.url.clone()
                    alt=image.alt.clone()
                    width=image.width.to_string()
                    height=image.height.to_string()
                />
                <figcaption data-testid="summary">
                    <strong>"What we understood: "</strong>
                    {image.summary.clone()}
                </figcaption>
            </figure>
            {offline_note}
            <RatioSelect/>
            <RequestError/>
            <div class="actions">
                <a
                    class="button primary"
                    data-testid="download-link"
                    href=image.url.clone()
                    download=download_name(&image)
                >
                    "Download"
                </a>
                <button
                    type="button"
                    data-testid="new-take"
                    disabled=move || ctx.busy.get() || !can_reuse()
                    on:click=move |_| generate(ctx, true)
                >
                    "New take (same prompt)"
                </button>
                <button
                    type="button"
                    data-testid="rethink"
                    disabled=move || ctx.busy.get()
                    on:click=move |_| generate(ctx, false)
                >
                    "Re-think the prompt"
                </button>
                <ChangeAnswers/>
            </div>
            <QuotaNote/>
            <Answers/>
        </section>
        <StartOver/>
    }
    .into_any()
}
