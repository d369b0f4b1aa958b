//! The workspace, once all answers are in: the brief (with its reference images) beside (on a
//! phone, above) the stage and its gallery.

use leptos::prelude::*;

use crate::actions::Actions;
use crate::components::{Brief, RatioChoice, References, Stage};
use crate::flow::Flow;
use crate::state::AppState;

#[component]
pub fn WorkspaceScreen(app: AppState, ratio: RatioChoice, actions: Actions) -> impl IntoView {
    let session = Signal::from(app.session);
    let quota = Signal::derive(move || app.session.with(|s| s.as_ref().and_then(|s| s.quota)));
    let images = Signal::derive(move || app.flow.with(|f| f.images().len()));
    let brief_changed = Signal::derive(move || app.flow.with(Flow::brief_changed));
    view! {
        <div class="workspace" data-testid="workspace">
            <Brief
                session
                ratio
                quota
                brief_changed
                images
                keep_idea=app.draft.keep_idea
                answer_max=Signal::derive(move || app.answer_max())
                actions
            >
                <Show when=move || app.takes_images()>
                    <References app/>
                </Show>
            </Brief>
            <Stage app ratio actions/>
        </div>
    }
}
