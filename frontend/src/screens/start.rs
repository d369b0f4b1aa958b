//! The Start screen: pick a style from the template cards, type the idea, start refining.

use contracts::{SessionView, StartSessionRequest, TemplateSummary};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::announce::focus_soon;
use crate::components::RequestError;
use crate::errors::UserError;
use crate::flow::Flow;
use crate::words::{char_counter, idea_problem};

/// `templates` is `None` while they load. `template_id` and `idea` outlive the screen, so an idea
/// survives "Start over" and an ended session. `session` is the session in progress, if any
/// (reached with Back from question 1): the screen offers to continue it.
#[component]
pub fn StartScreen(
    templates: Signal<Option<Result<Vec<TemplateSummary>, UserError>>>,
    template_id: RwSignal<String>,
    idea: RwSignal<String>,
    idea_max: Signal<usize>,
    #[prop(optional, into)] session: Signal<Option<SessionView>>,
    actions: Actions,
) -> impl IntoView {
    // The idea's problem shows once the person tried to start, or as soon as it is too long.
    let touched = RwSignal::new(false);
    let problem = move || idea.with(|idea| idea_problem(idea, idea_max.get()));
    let over_limit = move || idea.with(|idea| idea.trim().chars().count() > idea_max.get());
    let show_problem = move || (touched.get() || over_limit()) && problem().is_some();
    let send = move || {
        touched.set(true);
        if untrack(problem).is_some() {
            focus_soon("idea-input");
            return;
        }
        actions.start(StartSessionRequest {
            template_id: template_id.get_untracked(),
            initial_input: idea.get_untracked().trim().to_owned(),
            recipe_id: None,
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };
    // Ctrl+Enter (Cmd+Enter on a Mac) sends the idea; a plain Enter is a new line.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            send();
        }
    };
    let in_progress = move || {
        session.with(|s| {
            s.as_ref().map(|s| {
                let flow = Flow {
                    loaded: true,
                    session: Some(s.clone()),
                };
                (s.idea.clone(), s.images.len(), flow.home().path())
            })
        })
    };
    view! {
        <section class="start" aria-labelledby="start-heading">
            {move || {
                in_progress()
                    .map(|(idea, images, path)| {
                        let made = match images {
                            0 => String::new(),
                            1 => " and its image".to_owned(),
                            n => format!(" and its {n} images"),
                        };
                        view! {
                            <div class="note continue" data-testid="continue-session">
                                <p>
                                    {format!("Your brief “{idea}”{made} is still here. Starting with a new idea replaces it.")}
                                </p>
                                <a class="button small" href=path>"Continue that brief"</a>
                            </div>
                        }
                    })
            }}
            <h2 id="start-heading" tabindex="-1">"Start with an idea"</h2>
            <p class="lede">"Pick a style, describe your idea, and answer three short questions. Then the image."</p>
            <form on:submit=submit novalidate>
                <fieldset class="templates">
                    <legend>"Style"</legend>
                    <TemplateCards templates template_id/>
                </fieldset>
                <div class="field">
                    <label for="idea-input">"Your idea"</label>
                    <p id="idea-help" class="hint">
                        "A few words or a sentence: who or what, doing what. Ctrl+Enter sends it."
                    </p>
                    <textarea
                        id="idea-input"
                        data-testid="idea-input"
                        rows="3"
                        aria-describedby="idea-help idea-counter idea-error"
                        aria-invalid=move || if show_problem() { "true" } else { "false" }
                        prop:value=move || idea.get()
                        on:input=move |ev| idea.set(event_target_value(&ev))
                        on:keydown=on_key
                    ></textarea>
                    <div class="field-foot">
                        <p id="idea-error" class="field-error" data-testid="idea-error">
                            {move || {
                                (show_problem())
                                    .then(problem)
                                    .flatten()
                                    .map(|p| {
                                        view! {
                                            <crate::components::icons::AlertIcon/>
                                            <span>{p}</span>
                                        }
                                    })
                            }}
                        </p>
                        <p
                            id="idea-counter"
                            class="counter"
                            class:over=over_limit
                            data-testid="idea-counter"
                        >
                            {move || idea.with(|idea| char_counter(idea, idea_max.get()))}
                        </p>
                    </div>
                </div>
                <RequestError actions/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="start-button"
                        disabled=move || actions.busy()
                    >
                        "Start refining"
                    </button>
                </div>
            </form>
        </section>
    }
}

/// One card per template: its example picture (drawn by the server's offline renderer, loaded
/// lazily into a box of fixed shape so nothing moves when it arrives), the name and the
/// description. Each card is a native radio's label, so arrow keys move between them.
#[component]
fn TemplateCards(
    templates: Signal<Option<Result<Vec<TemplateSummary>, UserError>>>,
    template_id: RwSignal<String>,
) -> impl IntoView {
    move || match templates.get() {
        None => view! { <p class="loading">"Loading styles…"</p> }.into_any(),
        Some(Err(error)) => view! {
            <p class="alert" role="alert">
                {error.message}
            </p>
        }
        .into_any(),
        Some(Ok(list)) => view! {
            <div class="template-grid">
                {list
                    .into_iter()
                    .map(|t| {
                        let id = t.id.clone();
                        let input_id = format!("template-{}", t.id);
                        let checked = {
                            let id = id.clone();
                            move || template_id.with(|current| *current == id)
                        };
                        let ratio = t.default_aspect_ratio.as_str();
                        let alt = format!("Example sketch, {ratio}");
                        view! {
                            <div class="template-card">
                                <input
                                    type="radio"
                                    name="template"
                                    class="sr-radio"
                                    id=input_id.clone()
                                    value=id.clone()
                                    data-testid=format!("template-{}", t.id)
                                    prop:checked=checked
                                    on:change=move |_| template_id.set(id.clone())
                                />
                                <label for=input_id>
                                    <span class="card-art">
                                        <img
                                            src=t.example_url
                                            alt=alt
                                            loading="lazy"
                                            decoding="async"
                                            data-testid=format!("template-example-{}", t.id)
                                        />
                                        <span class="card-ratio" aria-hidden="true">{ratio}</span>
                                    </span>
                                    <span class="card-name">{t.name}</span>
                                    <span class="card-desc">{t.description}</span>
                                </label>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        }
        .into_any(),
    }
}
