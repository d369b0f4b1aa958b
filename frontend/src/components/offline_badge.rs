//! The header's short "Offline previews" badge, with its explanation one click away.

use leptos::prelude::*;

use crate::components::icons::InfoIcon;

/// A disclosure button: the badge says "Offline previews"; pressing it shows what that means.
#[component]
pub fn OfflineBadge() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="badge-wrap">
            <button
                type="button"
                class="badge"
                data-testid="offline-badge"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-controls="offline-explained"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="badge-dot" aria-hidden="true"></span>
                "Offline previews"
                <InfoIcon/>
            </button>
            <div
                id="offline-explained"
                class="popover"
                data-testid="offline-explained"
                hidden=move || !open.get()
            >
                <p>
                    "No image API key is configured, so each image is a local preview sketch that follows your brief's light, mood and framing. The questions and the workspace work as they will with real images."
                </p>
                <p class="muted">"Nothing is counted against a daily limit offline."</p>
            </div>
        </div>
    }
}
