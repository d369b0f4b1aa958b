//! The Ready screen: every answer is in; pick a ratio and create the image.

use contracts::{GenerateRequest, QuotaView, SessionView};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::components::{
    AnswersList, ChangeAnswers, QuotaNote, RatioChoice, RatioSelect, RequestError,
};

#[component]
pub fn ReadyScreen(
    session: Signal<Option<SessionView>>,
    quota: Signal<Option<QuotaView>>,
    ratio: RatioChoice,
    actions: Actions,
) -> impl IntoView {
    let generate = move |_| {
        actions.generate(GenerateRequest {
            aspect_ratio: ratio.for_request(),
            reuse_prompt: false,
        });
    };
    view! {
        <section class="card" aria-labelledby="ready-heading">
            <h2 id="ready-heading" tabindex="-1">
                "Ready to create your image"
            </h2>
            <AnswersList session/>
            <RatioSelect choice=ratio/>
            <RequestError actions/>
            <div class="actions">
                <button
                    type="button"
                    class="primary"
                    data-testid="generate-button"
                    disabled=move || actions.busy()
                    on:click=generate
                >
                    "Create the image"
                </button>
                <ChangeAnswers actions/>
            </div>
            <QuotaNote quota/>
        </section>
    }
}
