//! The session's reference images, in the brief: the list (a small picture, its note, Remove)
//! and the upload form (a labelled file input, which a file can also be dropped on, and an
//! optional note). Each refusal shows beside the form, as the server worded it.

use contracts::{REFERENCES_MAX, ReferenceView};
use leptos::html::Input;
use leptos::prelude::*;

use crate::announce::focus_soon;
use crate::api;
use crate::components::icons::AlertIcon;
use crate::errors::{ApiClientError, describe};
use crate::state::AppState;
use crate::sync;
use crate::words::{char_counter, note_problem, reference_added, references_status};

/// Stores `file` as a reference of the session and records it in the flow; what `Use as a
/// reference` in the gallery does too.
pub(crate) async fn add_reference(
    app: AppState,
    file: &web_sys::Blob,
    file_name: &str,
    note: &str,
) -> Result<ReferenceView, String> {
    let stored = api::upload_reference(file, file_name, note.trim())
        .await
        .map_err(|e| upload_refusal(&e))?;
    app.flow.update(|f| f.on_reference_added(stored.clone()));
    let count = app.flow.with_untracked(|f| f.references().len());
    app.live.say(reference_added(&stored.note, count));
    sync::announce_change();
    Ok(stored)
}

/// What a refused upload means to a person: the server's own words when it sent an envelope
/// (each refusal has its code and says what to do); our words when something in between (a
/// proxy's body limit) answered without one.
fn upload_refusal(error: &ApiClientError) -> String {
    match error {
        ApiClientError::Status(413) => format!(
            "That file is too large to send: a reference can be at most {} MB.",
            contracts::REFERENCE_MAX_BYTES / (1024 * 1024)
        ),
        other => describe(other).message,
    }
}

#[component]
pub fn References(app: AppState) -> impl IntoView {
    let references = Memo::new(move |_| app.flow.with(|f| f.references().to_vec()));
    let full = Memo::new(move |_| references.with(Vec::len) >= REFERENCES_MAX);
    let note = RwSignal::new(String::new());
    let chosen = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(false);
    let file_input = NodeRef::<Input>::new();

    let upload = Action::new_local(
        move |(file, name, note): &(web_sys::File, String, String)| {
            let (file, name, note) = (file.clone(), name.clone(), note.clone());
            async move { add_reference(app, &file, &name, &note).await }
        },
    );
    Effect::new(move |_| match upload.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            note.set(String::new());
            chosen.set(None);
            if let Some(input) = file_input.get_untracked() {
                input.set_value("");
            }
        }
        Some(Err(message)) => {
            error.set(Some(message));
            focus_soon("reference-error");
        }
        None => {}
    });
    let remove = Action::new_local(move |reference: &ReferenceView| {
        let reference = reference.clone();
        async move {
            api::delete_reference(&reference.reference_id)
                .await
                .map_err(|e| describe(&e).message)?;
            app.flow
                .update(|f| f.on_reference_removed(&reference.reference_id));
            app.live.say("Reference image removed.");
            sync::announce_change();
            Ok::<_, String>(())
        }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            error.set(None);
            // The row and its button are gone: the file input is where the next step starts.
            focus_soon("reference-file");
        }
        Some(Err(message)) => {
            error.set(Some(message));
            focus_soon("reference-error");
        }
        None => {}
    });

    let picked_file = move || {
        file_input
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = picked_file() else {
            error.set(Some(
                "Choose an image file first (PNG, JPEG or WebP).".to_owned(),
            ));
            focus_soon("reference-error");
            return;
        };
        if let Some(problem) = note.with_untracked(|n| note_problem(n)) {
            error.set(Some(problem));
            focus_soon("reference-error");
            return;
        }
        error.set(None);
        upload.dispatch_local((file.clone(), file.name(), note.get_untracked()));
    };
    let on_change = move |_| {
        let name = picked_file().map(|f| f.name());
        if let Some(name) = &name {
            app.live.say(format!("{name} chosen."));
        }
        chosen.set(name);
        error.set(None);
    };
    // A file dropped on the form goes into the file input, as if it had been chosen there.
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if full.get_untracked() {
            return;
        }
        let files = ev.data_transfer().and_then(|d| d.files());
        if let (Some(files), Some(input)) = (files, file_input.get_untracked())
            && files.length() > 0
        {
            input.set_files(Some(&files));
            let name = files.get(0).map(|f| f.name());
            if let Some(name) = &name {
                app.live.say(format!("{name} chosen."));
            }
            chosen.set(name);
            error.set(None);
        }
    };
    let on_drag_over = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(true);
    };

    view! {
        <section class="references" aria-labelledby="references-heading" data-testid="references">
            <h3 id="references-heading">"Reference images"</h3>
            <p class="muted small-text" id="references-hint">
                "A product, a character or a style for the next image to use. PNG, JPEG or WebP, up to 7 MB."
            </p>
            <p class="muted small-text" data-testid="references-status">
                {move || references_status(references.with(Vec::len))}
            </p>
            <ul class="reference-list" data-testid="reference-list">
                <For
                    each={move || references.get().into_iter().enumerate().collect::<Vec<_>>()}
                    key=|(_, r)| r.reference_id.clone()
                    children=move |(at, reference)| {
                        let n = at + 1;
                        let note = reference.note.clone();
                        let alt = if note.is_empty() {
                            format!("Reference {n}")
                        } else {
                            format!("Reference {n}: {note}")
                        };
                        let label = format!("Remove reference {n}");
                        let shown_note = if note.is_empty() { "No note".to_owned() } else { note };
                        view! {
                            <li class="reference" data-testid=format!("reference-{at}")>
                                <img
                                    src=reference.thumbnail_url.clone()
                                    alt=alt
                                    width="48"
                                    height="48"
                                    loading="lazy"
                                />
                                <span class="reference-note">{shown_note}</span>
                                <button
                                    type="button"
                                    class="small quiet"
                                    data-testid=format!("reference-remove-{at}")
                                    aria-label=label
                                    disabled=move || remove.pending().get()
                                    on:click=move |_| {
                                        remove.dispatch_local(reference.clone());
                                    }
                                >
                                    "Remove"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            <form
                class="reference-form"
                class:dragging=move || dragging.get()
                data-testid="reference-form"
                on:submit=submit
                on:dragover=on_drag_over
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <label for="reference-file">"Image file"</label>
                <input
                    type="file"
                    id="reference-file"
                    data-testid="reference-file"
                    accept="image/png,image/jpeg,image/webp"
                    aria-describedby="references-hint"
                    node_ref=file_input
                    disabled=move || full.get()
                    on:change=on_change
                />
                <p class="muted small-text drop-hint">
                    {move || match chosen.get() {
                        Some(name) => format!("Chosen: {name}"),
                        None => "Or drop an image file here.".to_owned(),
                    }}
                </p>
                <label for="reference-note">"What it is for (optional)"</label>
                <input
                    type="text"
                    id="reference-note"
                    data-testid="reference-note"
                    placeholder="our product, style to match…"
                    aria-describedby="reference-note-count"
                    prop:value=move || note.get()
                    disabled=move || full.get()
                    on:input=move |ev| note.set(event_target_value(&ev))
                />
                <p class="counter" id="reference-note-count">
                    {move || char_counter(&note.get(), contracts::REFERENCE_NOTE_MAX_CHARS)}
                </p>
                <button
                    type="submit"
                    class="small"
                    data-testid="reference-add"
                    disabled=move || full.get() || upload.pending().get()
                >
                    {move || if upload.pending().get() { "Adding…" } else { "Add reference" }}
                </button>
                {move || {
                    error
                        .get()
                        .map(|message| {
                            view! {
                                <div
                                    class="alert"
                                    role="alert"
                                    id="reference-error"
                                    tabindex="-1"
                                    data-testid="reference-error"
                                >
                                    <AlertIcon/>
                                    <div class="alert-body">
                                        <p>{message}</p>
                                    </div>
                                </div>
                            }
                        })
                }}
            </form>
        </section>
    }
}
