//! The recorded answers, so the person sees what the image will be made from.

use contracts::SessionView;
use leptos::prelude::*;

/// The idea and each answer, marking defaults and skips. Draws nothing without a session.
#[component]
pub fn AnswersList(session: Signal<Option<SessionView>>) -> impl IntoView {
    move || {
        session.with(|s| {
            s.as_ref().map(|s| {
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
