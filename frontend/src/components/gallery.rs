//! The session's gallery under the stage: every image as a small thumbnail (the server's
//! `?w=` thumbnail, never the full image scaled down), newest first, a pending tile while a job
//! runs; pressing one shows it on the stage. Beside them, what can be done with the image on the
//! stage: enlarge (a dialog with the full image and its recipe), edit it in words, use it as a
//! reference, copy a recipe link, delete it (after asking).

use contracts::{GalleryImage, GenerateRequest, ImageRecipe, ImageView, paths};
use leptos::html::Dialog;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::actions::Actions;
use crate::announce::{focus_soon, select_soon};
use crate::api;
use crate::components::icons::AlertIcon;
use crate::components::references::add_reference;
use crate::errors::describe;
use crate::state::AppState;
use crate::sync;
use crate::words::{char_counter, edit_problem, image_position};

/// Width of the thumbnails the grid asks for; the server makes 128, 256 and 512.
const THUMB_WIDTH: u32 = 256;

/// What opens under the tools: one thing at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Panel {
    Closed,
    Edit,
    ConfirmDelete,
    /// A recipe link made, and whether it reached the clipboard.
    Link {
        url: String,
        copied: bool,
    },
}

#[component]
pub(crate) fn Gallery(
    app: AppState,
    images: Memo<Vec<ImageView>>,
    working: Memo<bool>,
    shown: Signal<Option<usize>>,
    actions: Actions,
) -> impl IntoView {
    let following = move || app.selected.get().is_none();
    // The recipes and thumbnail URLs, read again whenever the session's images change.
    let ids = Memo::new(move |_| {
        images.with(|list| list.iter().map(|i| i.url.clone()).collect::<Vec<_>>())
    });
    let gallery = LocalResource::new(move || {
        ids.track();
        async move { api::gallery().await.unwrap_or_default() }
    });
    let entry = move |id: &str| -> Option<GalleryImage> {
        gallery.with(|g| {
            g.as_ref()
                .and_then(|list| list.iter().find(|e| e.image.id() == id).cloned())
        })
    };
    let thumbnail = move |image: &ImageView| {
        entry(image.id())
            .map(|e| e.thumbnail_url)
            .unwrap_or_else(|| paths::thumbnail(image.id(), THUMB_WIDTH))
    };
    // The image the tools act on: the one on the stage.
    let current = Memo::new(move |_| {
        let at = shown.get()?;
        images.with(|list| list.get(at).cloned().map(|image| (at, image, list.len())))
    });
    let panel = RwSignal::new(Panel::Closed);
    let error = RwSignal::new(None::<String>);
    let fail = move |message: String| {
        error.set(Some(message));
        focus_soon("gallery-error");
    };
    // A different image on the stage closes what was open for the last one.
    Effect::new(move |previous: Option<Option<String>>| {
        let now = current.with(|c| c.as_ref().map(|(_, i, _)| i.url.clone()));
        if previous.is_some_and(|p| p != now) {
            panel.set(Panel::Closed);
            error.set(None);
        }
        now
    });

    let delete = Action::new_local(move |(at, image): &(usize, ImageView)| {
        let (at, image) = (*at, image.clone());
        async move {
            api::delete_image(image.id())
                .await
                .map_err(|e| describe(&e).message)?;
            app.flow.update(|f| f.on_image_deleted(&image.url));
            let left = app.flow.with_untracked(|f| f.images().to_vec());
            // The image that took its place is shown and focused, else the one before it.
            let next = left.get(at).or_else(|| left.last()).map(|i| i.url.clone());
            let next_at = left.iter().position(|i| Some(&i.url) == next.as_ref());
            app.selected.set(next);
            panel.set(Panel::Closed);
            app.live.say(match left.len() {
                0 => "Image deleted. No images are left in this session.".to_owned(),
                1 => "Image deleted. 1 image is left.".to_owned(),
                n => format!("Image deleted. {n} images are left."),
            });
            match next_at {
                Some(at) => focus_thumb(at),
                None => focus_soon("ready-heading"),
            }
            sync::announce_change();
            Ok::<_, String>(())
        }
    });
    let share = Action::new_local(move |image: &ImageView| {
        let image = image.clone();
        async move {
            let made = api::create_recipe(image.id())
                .await
                .map_err(|e| describe(&e).message)?;
            let url = format!(
                "{}{}",
                window().location().origin().unwrap_or_default(),
                made.url
            );
            let copied = copy_text(&url).await;
            app.live.say(if copied {
                "Recipe link copied."
            } else {
                "Recipe link made: it is in the field below, selected, to copy."
            });
            panel.set(Panel::Link { url, copied });
            select_soon("recipe-link");
            Ok::<_, String>(())
        }
    });
    let reuse = Action::new_local(move |image: &ImageView| {
        let image = image.clone();
        async move {
            let blob = api::image_blob(&image.url, &image.mime_type)
                .await
                .map_err(|e| describe(&e).message)?;
            add_reference(app, &blob, &image.file_name(), "an image from this session").await?;
            Ok::<_, String>(())
        }
    });
    for outcome in [delete.value(), share.value(), reuse.value()] {
        Effect::new(move |_| match outcome.get() {
            Some(Err(message)) => fail(message),
            Some(Ok(())) => error.set(None),
            None => {}
        });
    }
    let busy = move || {
        delete.pending().get() || share.pending().get() || reuse.pending().get() || actions.busy()
    };
    let full = move || app.flow.with(|f| f.references().len()) >= contracts::REFERENCES_MAX;

    let dialog = NodeRef::<Dialog>::new();
    let enlarge = move |_| {
        if let Some(dialog) = dialog.get() {
            let _ = dialog.show_modal();
            focus_soon("enlarge-close");
        }
    };
    let close_dialog = move || {
        if let Some(dialog) = dialog.get() {
            dialog.close();
        }
    };

    let instruction = RwSignal::new(String::new());
    let edit_error = RwSignal::new(None::<String>);
    let open_edit = move |_| {
        error.set(None);
        edit_error.set(None);
        panel.set(Panel::Edit);
        focus_soon("edit-instruction");
    };
    let submit_edit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some((_, image, _)) = current.get_untracked() else {
            return;
        };
        let text = instruction.get_untracked();
        if let Some(problem) = edit_problem(&text) {
            edit_error.set(Some(problem));
            return;
        }
        edit_error.set(None);
        panel.set(Panel::Closed);
        instruction.set(String::new());
        actions.generate(GenerateRequest {
            edit_of: Some(image.id().to_owned()),
            instruction: Some(text.trim().to_owned()),
            ..GenerateRequest::default()
        });
    };

    let tools = move || {
        current.get().map(|(at, image, count)| {
            let label = image_position(at, count);
            let for_delete = image.clone();
            let for_share = image.clone();
            let for_reuse = image.clone();
            let takes_images = app.takes_images();
            view! {
                <div class="gallery-tools" role="group" aria-label=format!("{label}: actions") data-testid="gallery-tools">
                    <button type="button" class="small" id="enlarge" data-testid="enlarge" aria-haspopup="dialog" on:click=enlarge>
                        "Enlarge"
                    </button>
                    // A service that takes no images (task mode) can neither edit nor use one.
                    {takes_images.then(|| view! {
                        <button
                            type="button"
                            class="small"
                            id="edit-open"
                            data-testid="edit-open"
                            aria-expanded=move || if panel.get() == Panel::Edit { "true" } else { "false" }
                            aria-controls="gallery-panel"
                            disabled=move || busy() || working.get()
                            on:click=open_edit
                        >
                            "Edit in words"
                        </button>
                        <button
                            type="button"
                            class="small"
                            data-testid="use-as-reference"
                            title=move || if full() { "A session holds at most 3 references" } else { "Send this image with the next one" }
                            disabled=move || busy() || full()
                            on:click=move |_| {
                                error.set(None);
                                reuse.dispatch_local(for_reuse.clone());
                            }
                        >
                            {move || if reuse.pending().get() { "Adding…" } else { "Use as reference" }}
                        </button>
                    })}
                    <button
                        type="button"
                        class="small"
                        data-testid="copy-recipe-link"
                        disabled=busy
                        on:click=move |_| {
                            error.set(None);
                            share.dispatch_local(for_share.clone());
                        }
                    >
                        "Copy recipe link"
                    </button>
                    <button
                        type="button"
                        class="small danger-quiet"
                        id="delete-image"
                        data-testid="delete-image"
                        disabled=busy
                        on:click=move |_| {
                            error.set(None);
                            panel.set(Panel::ConfirmDelete);
                            focus_soon("delete-cancel");
                        }
                    >
                        "Delete"
                    </button>
                </div>
                <div id="gallery-panel" class="gallery-panel">
                    {move || match panel.get() {
                        Panel::Closed => ().into_any(),
                        Panel::Edit => view! {
                            <form class="edit-form" data-testid="edit-form" on:submit=submit_edit>
                                <label for="edit-instruction">{format!("What should change in {}?", label.to_lowercase())}</label>
                                <div class="inline-field">
                                    <input
                                        type="text"
                                        id="edit-instruction"
                                        data-testid="edit-instruction"
                                        placeholder="make it night, with rain"
                                        aria-describedby="edit-count"
                                        aria-invalid=move || if edit_error.with(Option::is_some) { "true" } else { "false" }
                                        prop:value=move || instruction.get()
                                        on:input=move |ev| instruction.set(event_target_value(&ev))
                                    />
                                    <button type="submit" class="small primary" data-testid="edit-submit" disabled=busy>
                                        "Make the edit"
                                    </button>
                                    <button
                                        type="button"
                                        class="small"
                                        data-testid="edit-cancel"
                                        on:click=move |_| {
                                            panel.set(Panel::Closed);
                                            focus_soon("edit-open");
                                        }
                                    >
                                        "Cancel"
                                    </button>
                                </div>
                                <p class="counter" id="edit-count">
                                    {move || char_counter(&instruction.get(), contracts::MAX_EDIT_INSTRUCTION_CHARS as usize)}
                                </p>
                                {move || edit_error.get().map(|problem| view! {
                                    <p class="field-error" role="alert" data-testid="edit-error"><AlertIcon/>{problem}</p>
                                })}
                            </form>
                        }
                        .into_any(),
                        Panel::ConfirmDelete => {
                            let target = for_delete.clone();
                            view! {
                                <div class="confirm" role="group" aria-labelledby="delete-question" data-testid="delete-confirm">
                                    <p id="delete-question">
                                        {format!("Delete {} for good? Its file and thumbnail go too; this cannot be undone.", label.to_lowercase())}
                                    </p>
                                    <button
                                        type="button"
                                        class="small danger"
                                        data-testid="delete-confirm-button"
                                        disabled=busy
                                        on:click=move |_| {
                                            delete.dispatch_local((at, target.clone()));
                                        }
                                    >
                                        "Delete it"
                                    </button>
                                    <button
                                        type="button"
                                        class="small"
                                        id="delete-cancel"
                                        data-testid="delete-cancel"
                                        on:click=move |_| {
                                            panel.set(Panel::Closed);
                                            focus_soon("delete-image");
                                        }
                                    >
                                        "Keep it"
                                    </button>
                                </div>
                            }
                            .into_any()
                        }
                        Panel::Link { url, copied } => view! {
                            <div class="link-row" data-testid="recipe-link-panel">
                                <label for="recipe-link">
                                    {if copied { "Recipe link (copied)" } else { "Recipe link: copy it from here" }}
                                </label>
                                <input type="text" id="recipe-link" data-testid="recipe-link" readonly value=url/>
                            </div>
                        }
                        .into_any(),
                    }}
                </div>
            }
        })
    };

    let dialog_body = move || {
        current.get().map(|(at, image, count)| {
            let recipe = entry(image.id()).map(|e| e.recipe);
            view! {
                <h2 id="enlarge-title">{image_position(at, count)}</h2>
                <div class="enlarge-body">
                    <img class="enlarged" src=image.url.clone() alt=image.alt.clone() width=image.width.to_string() height=image.height.to_string()/>
                    {match recipe {
                        Some(recipe) => view! { <Recipe recipe/> }.into_any(),
                        None => view! { <p class="muted">"Loading how it was made…"</p> }.into_any(),
                    }}
                </div>
                <div class="actions">
                    <a class="button" href=image.url.clone() download=image.file_name() data-testid="enlarge-download">"Download"</a>
                    <button type="button" id="enlarge-close" data-testid="enlarge-close" on:click=move |_| close_dialog()>
                        "Close"
                    </button>
                </div>
            }
        })
    };

    view! {
        <section
            class="strip"
            aria-labelledby="strip-heading"
            data-testid="gallery"
            class:empty=move || images.with(Vec::is_empty) && !working.get()
        >
            <h3 id="strip-heading" class="visually-hidden">"This session's images"</h3>
            <ul class="strip-list" data-testid="strip">
                <Show when=move || working.get()>
                    <li>
                        <button
                            type="button"
                            class="thumb pending"
                            data-testid="thumb-pending"
                            aria-label="Show the image being made"
                            aria-pressed=move || if following() { "true" } else { "false" }
                            on:click=move |_| app.selected.set(None)
                        >
                            <span class="thumb-dots" aria-hidden="true"></span>
                        </button>
                    </li>
                </Show>
                <For
                    each={move || images.get().into_iter().enumerate().collect::<Vec<_>>()}
                    key=|(at, image)| (*at, image.url.clone())
                    children=move |(at, image)| {
                        let url = image.url.clone();
                        let count = move || images.with(Vec::len);
                        let pressed = move || shown.get() == Some(at) && !(working.get() && following());
                        let src = {
                            let image = image.clone();
                            move || thumbnail(&image)
                        };
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="thumb"
                                    id=format!("thumb-{at}")
                                    data-testid=format!("thumb-{at}")
                                    aria-label=move || format!("Show {}", image_position(at, count()).to_lowercase())
                                    aria-pressed=move || if pressed() { "true" } else { "false" }
                                    on:click=move |_| app.selected.set(Some(url.clone()))
                                >
                                    <img src=src alt="" loading="lazy" width="64" height="64"/>
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
            {tools}
            {move || error.get().map(|message| view! {
                <div class="alert" role="alert" id="gallery-error" tabindex="-1" data-testid="gallery-error">
                    <AlertIcon/>
                    <div class="alert-body"><p>{message}</p></div>
                </div>
            })}
            <dialog
                node_ref=dialog
                class="dialog wide-dialog"
                aria-labelledby="enlarge-title"
                data-testid="enlarge-dialog"
                on:close=move |_| focus_soon("enlarge")
            >
                {dialog_body}
            </dialog>
        </section>
    }
}

/// How an image was made, as a person chose it: never the written prompt (the server does not
/// send it).
#[component]
fn Recipe(recipe: ImageRecipe) -> impl IntoView {
    let answers = recipe
        .answers
        .into_iter()
        .map(|a| {
            let note = a.defaulted.then_some(" (the template's default)");
            view! {
                <dt>{a.question}</dt>
                <dd>{a.answer}{note}</dd>
            }
        })
        .collect_view();
    let edit = recipe.edit_instruction.map(|instruction| {
        view! {
            <dt>"Edited in words"</dt>
            <dd data-testid="recipe-edit">{instruction}</dd>
        }
    });
    let references = (!recipe.reference_ids.is_empty()).then(|| {
        let n = recipe.reference_ids.len();
        view! {
            <dt>"Reference images"</dt>
            <dd>{if n == 1 { "1 sent with it".to_owned() } else { format!("{n} sent with it") }}</dd>
        }
    });
    view! {
        <dl class="recipe" data-testid="enlarge-recipe">
            <dt>"Style"</dt>
            <dd>{recipe.template_name}</dd>
            <dt>"Idea"</dt>
            <dd>{recipe.idea}</dd>
            {answers}
            {edit}
            {references}
            <dt>"Shape and size"</dt>
            <dd>
                {format!(
                    "{}{}",
                    recipe.aspect_ratio.as_str(),
                    recipe.image_size.map(|s| format!(", {s}")).unwrap_or_default()
                )}
            </dd>
        </dl>
    }
}

/// Focuses the thumbnail at `at` once it is drawn.
fn focus_thumb(at: usize) {
    let id = format!("thumb-{at}");
    request_animation_frame(move || {
        if let Some(element) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}

/// Puts `text` on the clipboard; false where the browser refuses (no permission, not a secure
/// context), and the page shows the link to copy by hand instead.
async fn copy_text(text: &str) -> bool {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}
