//! Where the keyboard lands and what a screen reader hears when a new screen appears.
//!
//! Focus goes to the answer field on each new question (and on a re-ask), to the stage's heading
//! when the workspace appears, and to the alert on any error. The live region says only what is
//! true now: the question number, or where the stage stands; the stage itself announces its
//! changes after that (see `components::stage`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::flow::{Screen, ScreenKey, Stage};
use crate::state::Announcer;

/// Focus and announcements when `screen` replaces a screen of another kind (or question). `stage`
/// is where the workspace's stage stands, for a workspace.
pub fn on_screen_change(live: Announcer, previous: &ScreenKey, screen: &Screen, stage: &Stage) {
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
        Screen::Revise(r) => {
            live.say(format!(
                "Changing your answer to question {} of {}",
                r.index, r.total
            ));
            focus_soon("answer-input");
        }
        Screen::Workspace => match stage {
            Stage::Empty => {
                live.say("All answers are in.");
                focus_soon("ready-heading");
            }
            // The placeholder announces the stage as it appears.
            Stage::Working(_) => focus_soon("generating-heading"),
            Stage::Failed(_) => {
                live.say("");
                focus_soon("job-error");
            }
            Stage::Done => {
                live.say("Your images are here.");
                focus_soon("result-heading");
            }
        },
        Screen::Recipe(_) => focus_soon("recipe-heading"),
        Screen::NotFound => focus_soon("not-found-heading"),
    }
}

/// Focuses the element with `id` once it is drawn (a few frames at most).
pub fn focus_soon(id: &'static str) {
    when_drawn(id, |element| {
        let _ = element.focus();
    });
}

/// Focuses the text field with `id` and selects its text, so typing replaces it.
pub fn select_soon(id: &'static str) {
    when_drawn(id, |element| {
        let _ = element.focus();
        if let Some(field) = element.dyn_ref::<web_sys::HtmlInputElement>() {
            field.select();
        }
    });
}

fn when_drawn(id: &'static str, then: fn(&web_sys::HtmlElement)) {
    fn attempt(id: &'static str, then: fn(&web_sys::HtmlElement), tries_left: u8) {
        let element = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        match element {
            Some(element) => then(&element),
            None if tries_left > 0 => {
                request_animation_frame(move || attempt(id, then, tries_left - 1));
            }
            None => {}
        }
    }
    request_animation_frame(move || attempt(id, then, 10));
}
