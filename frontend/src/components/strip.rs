//! The strip under the stage: every image of the session as a thumbnail, newest first.

use contracts::ImageView;
use leptos::prelude::*;

use crate::state::AppState;
use crate::words::image_position;

/// Every image of the session as thumbnails, newest first (a pending tile first while a job
/// runs); pressing one shows it on the stage. Later: the gallery's own actions per image.
#[component]
pub(crate) fn Strip(
    app: AppState,
    images: Memo<Vec<ImageView>>,
    working: Memo<bool>,
    shown: Signal<Option<usize>>,
) -> impl IntoView {
    let following = move || app.selected.get().is_none();
    view! {
        <section class="strip" aria-labelledby="strip-heading" class:empty=move || images.with(Vec::is_empty) && !working.get()>
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
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="thumb"
                                    data-testid=format!("thumb-{at}")
                                    aria-label=move || format!("Show {}", image_position(at, count()).to_lowercase())
                                    aria-pressed=move || if pressed() { "true" } else { "false" }
                                    on:click=move |_| app.selected.set(Some(url.clone()))
                                >
                                    <img src=image.url.clone() alt="" loading="lazy"/>
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
        </section>
    }
}
