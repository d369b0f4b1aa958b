//! The Failed screen: the newest job failed; the answers are still there and a retry is offered.

use contracts::{ApiErrorBody, GenerateRequest, SessionView};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::components::{AnswersList, ChangeAnswers, RatioChoice, RatioSelect, RequestError};
use crate::errors::{Recovery, answers_kept_note, describe_job_failure};

/// `error` is the failed job's envelope; `last_request` the generate request that made the job,
/// when this page sent it (after a reload it did not: the retry then asks afresh).
#[component]
pub fn FailedScreen(
    error: ApiErrorBody,
    last_request: Option<GenerateRequest>,
    session: Signal<Option<SessionView>>,
    ratio: RatioChoice,
    actions: Actions,
) -> impl IntoView {
    let shown = describe_job_failure(&error);
    let note = answers_kept_note(&error);
    let retry = move |_| {
        let request = last_request.clone().unwrap_or_else(|| GenerateRequest {
            aspect_ratio: ratio.picked.get_untracked(),
            reuse_prompt: false,
        });
        actions.generate(request);
    };
    view! {
        <section class="card" aria-labelledby="failed-heading">
            <h2 id="failed-heading">"The image could not be made"</h2>
            <div class="alert" role="alert" id="job-error" tabindex="-1" data-testid="job-error">
                <p>{shown.message}</p>
                {note.map(|note| view! { <p>{note}</p> })}
            </div>
            <AnswersList session/>
            <RatioSelect choice=ratio/>
            <RequestError actions/>
            <div class="actions">
                {(shown.recovery == Recovery::Retry)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="primary"
                                data-testid="retry-button"
                                disabled=move || actions.busy()
                                on:click=retry
                            >
                                "Try again"
                            </button>
                        }
                    })}
                <ChangeAnswers actions/>
            </div>
        </section>
    }
}
