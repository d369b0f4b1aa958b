//! What is left of today's live-image limits, next to the generate buttons.

use contracts::QuotaView;
use leptos::prelude::*;

use crate::words::quota_line;

/// Empty when the server counts nothing (offline previews are never counted).
#[component]
pub fn QuotaNote(quota: Signal<Option<QuotaView>>) -> impl IntoView {
    let line = move || quota.get().and_then(|q| quota_line(&q));
    view! {
        <p class="note" data-testid="quota-left" aria-live="polite">
            {line}
        </p>
    }
}
