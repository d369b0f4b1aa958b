//! "Start over", which asks first: a dialog that says what is cleared and what stays, with the
//! choice to keep the idea in the field.

use leptos::html::Dialog;
use leptos::prelude::*;

use crate::actions::Actions;
use crate::announce::focus_soon;
use crate::words::start_over_consequences;

/// The button and its confirmation dialog (a native modal `<dialog>`: focus stays inside it,
/// Escape cancels, and focus returns to the button).
#[component]
pub fn StartOver(
    keep_idea: RwSignal<bool>,
    /// How many images the session made, to say what leaves.
    images: Signal<usize>,
    actions: Actions,
) -> impl IntoView {
    let dialog = NodeRef::<Dialog>::new();
    let open = move |_| {
        if let Some(dialog) = dialog.get() {
            let _ = dialog.show_modal();
            focus_soon("start-over-cancel");
        }
    };
    let close = move || {
        if let Some(dialog) = dialog.get() {
            dialog.close();
        }
    };
    let confirm = move |_| {
        close();
        actions.start_over(keep_idea.get_untracked());
    };
    view! {
        <button
            type="button"
            class="quiet small"
            data-testid="start-over"
            disabled=move || actions.busy()
            on:click=open
        >
            "Start over"
        </button>
        <dialog
            node_ref=dialog
            class="dialog"
            aria-labelledby="start-over-title"
            aria-describedby="start-over-text"
            data-testid="start-over-dialog"
        >
            <h2 id="start-over-title">"Start over?"</h2>
            <p id="start-over-text">{move || start_over_consequences(images.get())}</p>
            <div class="check">
                <input
                    type="checkbox"
                    id="keep-idea"
                    data-testid="keep-idea"
                    prop:checked=move || keep_idea.get()
                    on:change=move |ev| keep_idea.set(event_target_checked(&ev))
                />
                <label for="keep-idea">"Keep my idea in the field"</label>
            </div>
            <div class="actions">
                <button
                    type="button"
                    class="danger"
                    data-testid="start-over-confirm"
                    on:click=confirm
                >
                    "Start over"
                </button>
                <button
                    type="button"
                    id="start-over-cancel"
                    data-testid="start-over-cancel"
                    on:click=move |_| close()
                >
                    "Keep working"
                </button>
            </div>
        </dialog>
    }
}
