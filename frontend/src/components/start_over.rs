//! "Start over", with the choice to keep the idea in the field.

use leptos::prelude::*;

use crate::actions::Actions;

#[component]
pub fn StartOver(keep_idea: RwSignal<bool>, actions: Actions) -> impl IntoView {
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
                    prop:checked=move || keep_idea.get()
                    on:change=move |ev| keep_idea.set(event_target_checked(&ev))
                />
                <label for="keep-idea">"Keep my idea"</label>
            </div>
            <button
                type="button"
                class="quiet"
                data-testid="start-over"
                disabled=move || actions.busy()
                on:click=move |_| actions.start_over(keep_idea.get_untracked())
            >
                "Start over"
            </button>
        </section>
    }
}
