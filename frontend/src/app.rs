//! The shell: mounting and the router.
//!
//! The state is provided here, above the router, so every route shares it. Every address renders
//! `Home`, which reads the client route (`flow::Route`: `/`, `/questions/{n}`, `/workspace`,
//! `/r/{recipeId}`) and resolves it against the session, so Back and Forward move inside the app
//! without remounting it. Every control is a native form element (buttons, radios, inputs, links),
//! so Tab, Enter, Space and the arrow keys work without key handlers.

use leptos::prelude::*;
use leptos_router::components::Router;

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
            <Home/>
        </Router>
    }
}
