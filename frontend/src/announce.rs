//! Where the keyboard lands and what a screen reader hears when a new screen appears.
//!
//! Focus goes to the answer field on each new question (and on a re-ask), to the heading of the
//! Ready, Generating and Result screens, and to the alert on any error. The Generating screen
//! announces its own stages (see `screens::generating`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::flow::{Screen, ScreenKey};
use crate::state::Announcer;

/// Focus and announcements when `screen` replaces a screen of another kind (or question).
pub fn on_screen_change(live: Announcer, previous: &ScreenKey, screen: &Screen) {
    match screen {
        Screen::Loading => {}
        Screen::Start => {
            // The first paint keeps the browser's own focus (top of the page).
            if *previous != ScreenKey::Loading {
                focus_soon("start-heading");
            }
        }
        Screen::Question(q) => {
            let again = if q.reask { ", asked again" } else { "" };
            live.say(format!("Question {} of {}{again}", q.index, q.total));
            focus_soon("answer-input");
        }
        Screen::Ready => {
            live.say("All answers are in.");
            focus_soon("ready-heading");
        }
        Screen::Generating(_) => focus_soon("generating-heading"),
        Screen::Failed(_) => focus_soon("job-error"),
        Screen::Result(_) => {
            live.say("Your image is ready.");
            focus_soon("result-heading");
        }
    }
}

/// Focuses the element with `id` once it is drawn (a few frames at most).
pub fn focus_soon(id: &'static str) {
    fn attempt(id: &'static str, tries_left: u8) {
        let element = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        match element {
            Some(element) => {
                let _ = element.focus();
            }
            None if tries_left > 0 => request_animation_frame(move || attempt(id, tries_left - 1)),
            None => {}
        }
    }
    request_animation_frame(move || attempt(id, 10));
}
