//! Keeping two tabs on one session in agreement.
//!
//! The cookie is shared by every tab of the browser, so one tab can answer, revise, generate or
//! start over under another's feet. Each successful change is announced on a `BroadcastChannel`;
//! the other tabs, and any tab that comes back into view or gets focus, re-read the server's
//! session view and redraw from it. (A request refused as out of step is the last line of
//! defence: `actions` redraws instead of showing a contradicting error.)

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::actions::Actions;

const CHANNEL: &str = "prompt-refinery-session";

thread_local! {
    static SENDER: Option<web_sys::BroadcastChannel> = web_sys::BroadcastChannel::new(CHANNEL).ok();
}

/// Tells the other tabs that this one changed the session.
pub fn announce_change() {
    SENDER.with(|channel| {
        if let Some(channel) = channel {
            let _ = channel.post_message(&"changed".into());
        }
    });
}

/// Re-reads the session when another tab announces a change, and when this tab becomes visible
/// or gets focus. The listeners live as long as the page.
pub fn listen(actions: Actions) {
    let refresh = move || actions.refresh();
    // The channel this tab sends on: a channel never hears its own messages, while a second one in
    // the same page would, and would take this tab's own changes for another tab's.
    SENDER.with(|channel| {
        if let Some(channel) = channel {
            let on_message = Closure::<dyn Fn()>::new(refresh);
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
        }
    });
    let on_visible = Closure::<dyn Fn()>::new(move || {
        if document().visibility_state() == web_sys::VisibilityState::Visible {
            refresh();
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", on_visible.as_ref().unchecked_ref());
    on_visible.forget();
    let on_focus = Closure::<dyn Fn()>::new(refresh);
    let _ = window().add_event_listener_with_callback("focus", on_focus.as_ref().unchecked_ref());
    on_focus.forget();
}
