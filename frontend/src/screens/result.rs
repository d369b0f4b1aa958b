//! The Result screen: the newest image, its download, and the ways to iterate.

use contracts::{GenerateRequest, ImageView, QuotaView, SessionView};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::components::{
    AnswersList, ChangeAnswers, QuotaNote, RatioChoice, RatioSelect, RequestError,
};

/// `can_reuse_prompt` enables "New take" (a prompt has been written for this session).
#[component]
pub fn ResultScreen(
    image: ImageView,
    can_reuse_prompt: Signal<bool>,
    session: Signal<Option<SessionView>>,
    quota: Signal<Option<QuotaView>>,
    ratio: RatioChoice,
    actions: Actions,
) -> impl IntoView {
    let generate = move |reuse_prompt: bool| {
        actions.generate(GenerateRequest {
            aspect_ratio: ratio.for_request(),
            reuse_prompt,
        });
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
            <RatioSelect choice=ratio/>
            <RequestError actions/>
            <div class="actions">
                <a
                    class="button primary"
                    data-testid="download-link"
                    href=image.url.clone()
                    download=image.file_name()
                >
                    "Download"
                </a>
                <button
                    type="button"
                    data-testid="new-take"
                    disabled=move || actions.busy() || !can_reuse_prompt.get()
                    on:click=move |_| generate(true)
                >
                    "New take (same prompt)"
                </button>
                <button
                    type="button"
                    data-testid="rethink"
                    disabled=move || actions.busy()
                    on:click=move |_| generate(false)
                >
                    "Re-think the prompt"
                </button>
                <ChangeAnswers actions/>
            </div>
            <QuotaNote quota/>
            <AnswersList session/>
        </section>
    }
}
