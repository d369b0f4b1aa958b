//! Small inline icons (decorative: the text beside each says the same).

use leptos::prelude::*;

/// A warning sign, paired with every error message so colour is never the only signal.
#[component]
pub fn AlertIcon() -> impl IntoView {
    view! {
        <svg class="icon alert-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <path d="M10 2.5 1.5 17.5h17L10 2.5Z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"></path>
            <path d="M10 8v4.5" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"></path>
            <circle cx="10" cy="14.8" r="1.1" fill="currentColor"></circle>
        </svg>
    }
}

/// An "i" in a circle, for "more about this".
#[component]
pub fn InfoIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <circle cx="10" cy="10" r="8" fill="none" stroke="currentColor" stroke-width="1.6"></circle>
            <path d="M10 9v5" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"></path>
            <circle cx="10" cy="6.2" r="1.1" fill="currentColor"></circle>
        </svg>
    }
}

/// A downward arrow into a tray.
#[component]
pub fn DownloadIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <path d="M10 3v9m0 0-3.5-3.5M10 12l3.5-3.5M4 14.5V16h12v-1.5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"></path>
        </svg>
    }
}
