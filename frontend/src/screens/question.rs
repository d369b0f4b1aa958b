//! The Question screen: one of the three questions, with its hint, Skip and Back.

use contracts::{AnswerRequest, QuestionView};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::announce::focus_soon;
use crate::components::RequestError;
use crate::words::{answer_problem, char_counter};

/// Drawn afresh for each question and each re-ask, so the field starts from the answer given
/// before going back (if any).
#[component]
pub fn QuestionScreen(
    question: QuestionView,
    /// The session's idea, shown above the question.
    idea: String,
    answer_max: Signal<usize>,
    actions: Actions,
) -> impl IntoView {
    let answer = RwSignal::new(question.previous_answer.clone().unwrap_or_default());
    let problem = move || answer.with(|a| answer_problem(a, answer_max.get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if untrack(problem).is_some() {
            focus_soon("answer-input");
            return;
        }
        actions.answer(AnswerRequest {
            answer: answer.get_untracked().trim().to_owned(),
            skip: false,
        });
    };
    let skip = move |_| {
        actions.answer(AnswerRequest {
            answer: String::new(),
            skip: true,
        });
    };
    let index = question.index;
    let last = question.index >= question.total;
    view! {
        <section class="card" aria-labelledby="question-heading">
            <p class="idea-line">
                <span class="muted">"Your idea: "</span>
                {idea}
            </p>
            <p class="step" id="step-label" data-testid="step-counter">
                {format!("Question {} of {}", question.index, question.total)}
            </p>
            <progress
                class="progress"
                max=question.total.to_string()
                value=(question.index - 1).to_string()
                aria-labelledby="step-label"
            ></progress>
            <form on:submit=submit novalidate>
                <h2 id="question-heading" data-testid="question-text">
                    <label for="answer-input">{question.text.clone()}</label>
                </h2>
                {question
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
                    {question.hint.clone()}
                </p>
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
                <p id="answer-counter" class="counter" class:over=move || problem().is_some()>
                    {move || answer.with(|a| char_counter(a, answer_max.get()))}
                </p>
                <p id="answer-error" class="field-error">
                    {problem}
                </p>
                <RequestError actions/>
                <div class="actions">
                    <button
                        type="submit"
                        class="primary"
                        data-testid="answer-submit"
                        disabled=move || actions.busy()
                    >
                        {if last { "Finish" } else { "Next" }}
                    </button>
                    <button
                        type="button"
                        data-testid="skip-button"
                        disabled=move || actions.busy()
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
