//! The alert for a failed request, placed next to what caused it, with a way forward.

use leptos::prelude::*;

use crate::actions::{Actions, Failure, Kind};
use crate::components::icons::AlertIcon;
use crate::errors::Recovery;

/// Shows the last request's failure, if any: the message as the server wrote it, and "Try again"
/// (the same request) or "Reload" (the session) when that can help. `only` limits it to failures
/// of those kinds, so a screen with two places for alerts shows each failure once, where it
/// belongs.
#[component]
pub fn RequestError(
    actions: Actions,
    #[prop(optional)] only: Option<&'static [Kind]>,
) -> impl IntoView {
    move || {
        actions
            .failure()
            .filter(|failure| only.is_none_or(|kinds| kinds.contains(&failure.kind)))
            .map(|Failure { error, kind }| {
                let next = match error.recovery {
                    Recovery::Retry => Some(("Try again", kind)),
                    Recovery::Reload => Some(("Reload", Kind::Load)),
                    Recovery::Edit | Recovery::Restart => None,
                };
                view! {
                    <div
                        class="alert"
                        role="alert"
                        id="request-error"
                        tabindex="-1"
                        data-testid="request-error"
                    >
                        <AlertIcon/>
                        <div class="alert-body">
                            <p>{error.message}</p>
                            {next
                                .map(|(label, kind)| {
                                    view! {
                                        <button
                                            type="button"
                                            class="small"
                                            data-testid="request-retry"
                                            on:click=move |_| actions.retry(kind)
                                        >
                                            {label}
                                        </button>
                                    }
                                })}
                        </div>
                    </div>
                }
            })
    }
}
