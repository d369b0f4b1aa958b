//! "Go through the questions again": back to question 1, each answer prefilled.

use leptos::prelude::*;

use crate::actions::Actions;

#[component]
pub fn ChangeAnswers(actions: Actions) -> impl IntoView {
    view! {
        <button
            type="button"
            class="link-button"
            data-testid="change-answers"
            disabled=move || actions.busy()
            on:click=move |_| actions.back(1)
        >
            "Go through the questions again"
        </button>
    }
}
