//! The brief: template, idea and the three answers, each editable where it stands, the shape for
//! the next image, the quota line, and the ways to start again. A side panel on a wide screen; on
//! a phone, a section that opens and closes under its one-line summary.

use contracts::{AnswerRequest, AnswerView, QuotaView, SessionView};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::actions::{Actions, Kind};
use crate::components::{
    ChangeAnswers, QuotaNote, RatioChoice, RatioPicker, RequestError, StartOver,
};
use crate::words::{answer_problem, char_counter};

#[component]
pub fn Brief(
    session: Signal<Option<SessionView>>,
    ratio: RatioChoice,
    quota: Signal<Option<QuotaView>>,
    /// An answer changed since the newest image's prompt was written.
    brief_changed: Signal<bool>,
    images: Signal<usize>,
    keep_idea: RwSignal<bool>,
    answer_max: Signal<usize>,
    actions: Actions,
    /// What the next image is made with besides the words (the reference images).
    children: Children,
) -> impl IntoView {
    let open = RwSignal::new(false);
    // Only the answers: a job moving along must not redraw a row someone is typing in.
    let answers = Memo::new(move |_| {
        session.with(|s| s.as_ref().map(|s| s.answers.clone()).unwrap_or_default())
    });
    let idea = Memo::new(move |_| {
        session.with(|s| s.as_ref().map(|s| s.idea.clone()).unwrap_or_default())
    });
    let template = Memo::new(move |_| {
        session.with(|s| {
            s.as_ref()
                .map(|s| s.template_name.clone())
                .unwrap_or_default()
        })
    });
    view! {
        <aside class="brief" aria-labelledby="brief-heading" class:open=move || open.get()>
            <button
                type="button"
                class="brief-toggle"
                data-testid="brief-toggle"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-controls="brief-body"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="brief-toggle-label">"Brief"</span>
                <span class="brief-toggle-idea">{move || idea.get()}</span>
                <span class="chevron" aria-hidden="true"></span>
            </button>
            <div id="brief-body" class="brief-body">
                <div class="brief-head">
                    <h2 id="brief-heading">"Brief"</h2>
                    <span class="chip" data-testid="brief-template">{move || template.get()}</span>
                </div>
                <dl class="answers" data-testid="answers">
                    <dt>"Idea"</dt>
                    <dd data-testid="answers-idea" class="idea-text">{move || idea.get()}</dd>
                    <For
                        each=move || answers.get()
                        key=|a| (a.index, a.answer.clone(), a.defaulted, a.skipped)
                        children=move |answer| view! { <AnswerRow answer answer_max actions/> }
                    />
                </dl>
                <RatioPicker choice=ratio/>
                {children()}
                <Show when=move || brief_changed.get()>
                    <p class="note" data-testid="brief-changed">
                        "Your brief changed since the last image: the next one follows it."
                    </p>
                </Show>
                <QuotaNote quota/>
                <div class="brief-foot">
                    <ChangeAnswers actions/>
                    <StartOver keep_idea images actions/>
                </div>
            </div>
        </aside>
    }
}

/// One answer: what stands now (marked when it is the template's default), and "Change", which
/// turns it into a one-line field with the question's hint. Saving sends
/// `PUT /api/session/answers/{n}`; a refusal (too thin) shows under the field, which keeps what was
/// typed, selected.
#[component]
fn AnswerRow(answer: AnswerView, answer_max: Signal<usize>, actions: Actions) -> impl IntoView {
    let n = answer.index;
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(if answer.defaulted {
        String::new()
    } else {
        answer.answer.clone()
    });
    let input_id = format!("answer-edit-{n}");
    let focus_field = {
        let input_id = input_id.clone();
        move || {
            let id = input_id.clone();
            request_animation_frame(move || {
                if let Some(field) = document()
                    .get_element_by_id(&id)
                    .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    let _ = field.focus();
                    field.select();
                }
            });
        }
    };
    // The tracked read first: `failed_revision` reads untracked, so on its own it would never rerun.
    let failed_here = move || {
        actions.failure().is_some_and(|f| f.kind == Kind::Revise)
            && actions.failed_revision() == Some(n)
    };
    // A refused revision keeps what was typed, selected, so the next keystroke replaces it.
    Effect::new({
        let focus_field = focus_field.clone();
        move |_| {
            if failed_here() && editing.get_untracked() {
                focus_field();
            }
        }
    });
    let problem = move || draft.with(|d| answer_problem(d, answer_max.get()));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if untrack(problem).is_some() {
            return;
        }
        actions.revise(
            n,
            AnswerRequest {
                answer: draft.get_untracked().trim().to_owned(),
                skip: false,
            },
            None,
        );
    };
    let use_default = move |_| {
        actions.revise(
            n,
            AnswerRequest {
                answer: String::new(),
                skip: true,
            },
            None,
        );
    };
    let tag = if answer.skipped {
        Some("Skipped: default used")
    } else if answer.defaulted {
        Some("Default used")
    } else {
        None
    };
    let question = answer.question.clone();
    let shown = answer.answer.clone();
    let hint = answer.hint.clone();
    let start_editing = {
        let focus_field = focus_field.clone();
        move |_| {
            actions.clear();
            editing.set(true);
            focus_field();
        }
    };
    view! {
        <dt id=format!("answer-q-{n}")>{question.clone()}</dt>
        <dd data-testid=format!("answer-{n}")>
            <Show
                when=move || editing.get()
                fallback={
                    let shown = shown.clone();
                    let question = question.clone();
                    move || {
                        view! {
                            <span class="answer-text">{shown.clone()}</span>
                            {tag.map(|t| view! { <span class="tag">{t}</span> })}
                            <button
                                type="button"
                                class="link-button edit"
                                data-testid=format!("edit-answer-{n}")
                                aria-label=format!("Change the answer to: {question}")
                                disabled=move || actions.busy()
                                on:click=start_editing.clone()
                            >
                                "Change"
                            </button>
                        }
                    }
                }
            >
                <form class="answer-edit" on:submit=save novalidate>
                    <input
                        id=input_id.clone()
                        data-testid=input_id.clone()
                        type="text"
                        autocomplete="off"
                        aria-labelledby=format!("answer-q-{n}")
                        aria-describedby=format!("answer-edit-hint-{n} answer-edit-counter-{n}")
                        aria-invalid=move || if problem().is_some() || failed_here() { "true" } else { "false" }
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Escape" {
                                editing.set(false);
                            }
                        }
                    />
                    <p class="hint small" id=format!("answer-edit-hint-{n}")>{hint.clone()}</p>
                    <p class="counter" id=format!("answer-edit-counter-{n}") class:over=move || problem().is_some()>
                        {move || draft.with(|d| char_counter(d, answer_max.get()))}
                    </p>
                    <Show when=failed_here>
                        <RequestError actions only=&[Kind::Revise]/>
                    </Show>
                    <div class="row-actions">
                        <button
                            type="submit"
                            class="primary small"
                            data-testid=format!("save-answer-{n}")
                            disabled=move || actions.busy()
                        >
                            "Save"
                        </button>
                        <button
                            type="button"
                            class="small"
                            data-testid=format!("default-answer-{n}")
                            disabled=move || actions.busy()
                            on:click=use_default
                        >
                            "Use the default"
                        </button>
                        <button
                            type="button"
                            class="link-button"
                            on:click=move |_| {
                                actions.clear();
                                editing.set(false);
                            }
                        >
                            "Cancel"
                        </button>
                    </div>
                </form>
            </Show>
        </dd>
    }
}
