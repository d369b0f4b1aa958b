//! "Change answers": back to question 1, each answer prefilled.

use leptos::prelude::*;

use crate::actions::Actions;

#[component]
pub fn ChangeAnswers(actions: Actions) -> impl IntoView {
    view! {
        <button
            type="button"
            data-testid="change-answers"
            disabled=move || actions.busy()
            on:click=move |_| actions.back(1)
        >
            "Change answers"
        </button>
    }
}
