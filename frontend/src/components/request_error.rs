//! The alert for a failed request, placed next to what caused it, with a way forward.

use leptos::prelude::*;

use crate::actions::{Actions, Failure, Kind};
use crate::errors::Recovery;

/// Shows the last request's failure, if any: the message as the server wrote it, and "Try again"
/// (the same request) or "Reload" (the session) when that can help.
#[component]
pub fn RequestError(actions: Actions) -> impl IntoView {
    move || {
        actions.failure().map(|Failure { error, kind }| {
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
                    <p>{error.message}</p>
                    {next
                        .map(|(label, kind)| {
                            view! {
                                <button
                                    type="button"
                                    data-testid="request-retry"
                                    on:click=move |_| actions.retry(kind)
                                >
                                    {label}
                                </button>
                            }
                        })}
                </div>
            }
        })
    }
}
