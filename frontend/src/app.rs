//! The shell: mounting, the router and the not-found page.
//!
//! The state is provided here, above the router, so every route shares it. Every control in the
//! app is a native form element (buttons, radios, inputs, a select, a link), so Tab, Enter and
//! Space work without key handlers.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::screens::Home;
use crate::state::AppState;

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
pub fn App() -> impl IntoView {
    AppState::provide();
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main id="main" class="wrap">
            <h1>"Page not found"</h1>
            <p>
                <a href="/">"Go to Prompt Refinery"</a>
            </p>
        </main>
    }
}
