//! What is left of today's live-image limits, by the generate buttons.

use contracts::QuotaView;
use leptos::prelude::*;

use crate::words::quota_line;

/// Empty when the server counts nothing: the view has no quota offline, so offline previews never
/// show a limit.
#[component]
pub fn QuotaNote(quota: Signal<Option<QuotaView>>) -> impl IntoView {
    let line = move || quota.get().and_then(|q| quota_line(&q));
    view! {
        <p class="quota" data-testid="quota-left" aria-live="polite" class:empty=move || line().is_none()>
            {line}
        </p>
    }
}
