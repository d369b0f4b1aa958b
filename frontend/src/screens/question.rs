//! The question pages: one of the three questions while they are asked, and the same page to
//! change one answer in place once all three are in (reached with Back from the workspace).

use contracts::{AnswerRequest, GenerateRequest, QuestionView};
use leptos::prelude::*;

use crate::actions::{Actions, Kind};
use crate::announce::select_soon;
use crate::components::icons::AlertIcon;
use crate::components::{RatioChoice, RatioPicker, RequestError};
use crate::flow::{Revision, Route};
use crate::words::{answer_problem, char_counter, reask_reason};

/// Drawn afresh for each question and each re-ask. The field starts from what was typed when the
/// question is asked again (selected, so typing replaces it), else from the answer given before
/// going back. The third question's button creates the image right away.
#[component]
pub fn QuestionScreen(
    question: QuestionView,
    /// The session's idea, shown above the question.
    idea: String,
    answer_max: Signal<usize>,
    /// The last answer sent, with its question: shown again on a re-ask.
    #[prop(optional)]
    sent: Option<RwSignal<Option<(u8, String)>>>,
    /// The shape of the first image, offered on the last question.
    #[prop(optional)]
    ratio: Option<RatioChoice>,
    actions: Actions,
) -> impl IntoView {
    let index = question.index;
    let typed = sent
        .and_then(|s| s.get_untracked())
        .filter(|(at, _)| question.reask && *at == index)
        .map(|(_, text)| text);
    let answer = RwSignal::new(
        typed
            .clone()
            .or_else(|| question.previous_answer.clone())
            .unwrap_or_default(),
    );
    if typed.as_deref().is_some_and(|t| !t.is_empty()) {
        select_soon("answer-input");
    }
    let last = question.index >= question.total;
    let create =
        move || last.then(|| ratio.map_or_else(GenerateRequest::default, |r| r.request(false)));
    let problem = move || answer.with(|a| answer_problem(a, answer_max.get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if untrack(problem).is_some() {
            select_soon("answer-input");
            return;
        }
        let text = answer.get_untracked().trim().to_owned();
        if let Some(sent) = sent {
            sent.set(Some((index, text.clone())));
        }
        actions.answer(
            AnswerRequest {
                answer: text,
                skip: false,
            },
            create(),
        );
    };
    let skip = move |_| {
        actions.answer(
            AnswerRequest {
                answer: String::new(),
                skip: true,
            },
            create(),
        );
    };
    let reask = question.reask.then(|| {
        let reason = reask_reason(typed.as_deref().unwrap_or_default());
        view! {
            <div class="reask" data-testid="reask-notice">
                <AlertIcon/>
                <p>
                    <strong>"Asked again. "</strong>
                    {reason}
                    " A few concrete words help; the hint shows the kind of answer that works. Or skip, and we use a sensible default."
                </p>
            </div>
        }
    });
    view! {
        <section class="card narrow" aria-labelledby="question-heading">
            <Progress index=question.index total=question.total idea/>
            <form on:submit=submit novalidate>
                <h2 id="question-heading" data-testid="question-text">
                    <label for="answer-input">{question.text.clone()}</label>
                </h2>
                {reask}
                <p id="answer-hint" class="hint" data-testid="question-hint">
                    {question.hint.clone()}
                </p>
                <AnswerField answer problem answer_max/>
                {(last && ratio.is_some()).then(|| ratio.map(|choice| view! { <RatioPicker choice/> }))}
                <RequestError actions/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="answer-submit"
                        disabled=move || actions.busy()
                    >
                        {if last { "Create the image" } else { "Next" }}
                    </button>
                    <button
                        type="button"
                        data-testid="skip-button"
                        disabled=move || actions.busy()
                        on:click=skip
                    >
                        {if last { "Skip and create" } else { "Skip" }}
                    </button>
                    {(index > 1)
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="link-button"
                                    data-testid="back-button"
                                    disabled=move || actions.busy()
                                    on:click=move |_| actions.back(index - 1)
                                >
                                    "Back"
                                </button>
                            }
                        })}
                </div>
            </form>
        </section>
    }
}

/// One answer of a ready session as its question page: saving it (`PUT /api/session/answers/{n}`)
/// keeps the other two and moves on to the next question, or back to the workspace after the
/// third. A refusal (too thin) shows under the field, which keeps what was typed, selected.
#[component]
pub fn ReviseScreen(
    revision: Revision,
    idea: String,
    answer_max: Signal<usize>,
    actions: Actions,
) -> impl IntoView {
    let n = revision.index;
    let answer = RwSignal::new(revision.answer.clone().unwrap_or_default());
    let problem = move || answer.with(|a| answer_problem(a, answer_max.get()));
    let next = if n < revision.total {
        Route::Question(n + 1)
    } else {
        Route::Workspace
    };
    let refused = move || actions.failure().is_some_and(|f| f.kind == Kind::Revise);
    Effect::new(move |_| {
        if refused() {
            select_soon("answer-input");
        }
    });
    let submit = {
        let next = next.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if untrack(problem).is_some() {
                select_soon("answer-input");
                return;
            }
            actions.revise(
                n,
                AnswerRequest {
                    answer: answer.get_untracked().trim().to_owned(),
                    skip: false,
                },
                Some(next.clone()),
            );
        }
    };
    let use_default = {
        let next = next.clone();
        move |_| {
            actions.revise(
                n,
                AnswerRequest {
                    answer: String::new(),
                    skip: true,
                },
                Some(next.clone()),
            );
        }
    };
    view! {
        <section class="card narrow" aria-labelledby="question-heading" data-testid="revise">
            <Progress index=n total=revision.total idea/>
            <form on:submit=submit novalidate>
                <h2 id="question-heading" data-testid="question-text">
                    <label for="answer-input">{revision.text.clone()}</label>
                </h2>
                <p class="now" data-testid="revise-current">
                    <span class="muted">"Your brief says: "</span>
                    {revision.current.clone()}
                </p>
                <p id="answer-hint" class="hint" data-testid="question-hint">
                    {revision.hint.clone()}
                </p>
                <AnswerField answer problem answer_max/>
                <RequestError actions/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="answer-submit"
                        disabled=move || actions.busy()
                    >
                        {if next == Route::Workspace { "Save and return" } else { "Save and next" }}
                    </button>
                    <button
                        type="button"
                        data-testid="skip-button"
                        disabled=move || actions.busy()
                        on:click=use_default
                    >
                        "Use the default"
                    </button>
                    <a class="button link-button" href=Route::Workspace.path() data-testid="to-workspace">
                        "Back to the workspace"
                    </a>
                </div>
            </form>
        </section>
    }
}

/// "Question n of 3", a progress bar, and the idea the questions refine.
#[component]
fn Progress(index: u8, total: u8, idea: String) -> impl IntoView {
    view! {
        <p class="idea-line">
            <span class="muted">"Your idea: "</span>
            {idea}
        </p>
        <p class="step" id="step-label" data-testid="step-counter">
            {format!("Question {index} of {total}")}
        </p>
        <progress
            class="progress"
            max=total.to_string()
            value=index.saturating_sub(1).to_string()
            aria-labelledby="step-label"
        ></progress>
    }
}

/// The one-line answer field with its counter and its own problem, if any.
#[component]
fn AnswerField(
    answer: RwSignal<String>,
    problem: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    answer_max: Signal<usize>,
) -> impl IntoView {
    view! {
        <input
            id="answer-input"
            data-testid="answer-input"
            type="text"
            autocomplete="off"
            aria-describedby="answer-hint answer-counter answer-error"
            aria-invalid=move || if problem().is_some() { "true" } else { "false" }
            prop:value=move || answer.get()
            on:input=move |ev| answer.set(event_target_value(&ev))
        />
        <div class="field-foot">
            <p id="answer-error" class="field-error">
                {move || problem().map(|p| view! { <AlertIcon/><span>{p}</span> })}
            </p>
            <p id="answer-counter" class="counter" class:over=move || problem().is_some()>
                {move || answer.with(|a| char_counter(a, answer_max.get()))}
            </p>
        </div>
    }
}
