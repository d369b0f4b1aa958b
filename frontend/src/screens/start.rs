//! The Start screen: pick a template, type the idea, start refining.

use contracts::{StartSessionRequest, TemplateSummary};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::announce::focus_soon;
use crate::components::RequestError;
use crate::errors::UserError;
use crate::words::{char_counter, idea_problem};

/// `templates` is `None` while they load. `template_id` and `idea` outlive the screen, so an idea
/// survives "Start over" and an ended session.
#[component]
pub fn StartScreen(
    templates: Signal<Option<Result<Vec<TemplateSummary>, UserError>>>,
    template_id: RwSignal<String>,
    idea: RwSignal<String>,
    idea_max: Signal<usize>,
    actions: Actions,
) -> impl IntoView {
    // The idea's problem shows once the person tried to start, or as soon as it is too long.
    let touched = RwSignal::new(false);
    let problem = move || idea.with(|idea| idea_problem(idea, idea_max.get()));
    let over_limit = move || idea.with(|idea| idea.trim().chars().count() > idea_max.get());
    let show_problem = move || (touched.get() || over_limit()) && problem().is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if untrack(problem).is_some() {
            focus_soon("idea-input");
            return;
        }
        actions.start(StartSessionRequest {
            template_id: template_id.get_untracked(),
            initial_input: idea.get_untracked().trim().to_owned(),
        });
    };
    view! {
        <section class="card" aria-labelledby="start-heading">
            <h2 id="start-heading" tabindex="-1">
                "Start with an idea"
            </h2>
            <form on:submit=submit novalidate>
                <fieldset class="choices">
                    <legend>"Style"</legend>
                    <TemplateChoices templates template_id/>
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
                        prop:value=move || idea.get()
                        on:input=move |ev| idea.set(event_target_value(&ev))
                    ></textarea>
                    <p
                        id="idea-counter"
                        class="counter"
                        class:over=over_limit
                        data-testid="idea-counter"
                    >
                        {move || idea.with(|idea| char_counter(idea, idea_max.get()))}
                    </p>
                    <p id="idea-error" class="field-error" data-testid="idea-error">
                        {move || if show_problem() { problem() } else { None }}
                    </p>
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

/// One radio per template; the picked one is `template_id`.
#[component]
fn TemplateChoices(
    templates: Signal<Option<Result<Vec<TemplateSummary>, UserError>>>,
    template_id: RwSignal<String>,
) -> impl IntoView {
    move || match templates.get() {
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
                    move || template_id.with(|current| *current == id)
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
                            on:change=move |_| template_id.set(id.clone())
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
    }
}
