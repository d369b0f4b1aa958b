//! What the next generate asks for: the aspect ratio as shape buttons, and beside it how many
//! variations and (where the image model makes more than one) the size; each a radio group.

use contracts::{AspectRatio, GenerateRequest, ImageSize, MAX_IMAGES_PER_JOB};
use leptos::prelude::*;

use crate::words::{ratio_label, shape_name};

/// The ratio for the next image: the ratios the server offers, the person's pick, and what
/// applies until they pick (the last image's ratio, else the template's); and the count and size
/// picked beside it.
#[derive(Clone, Copy)]
pub struct RatioChoice {
    pub options: Signal<Vec<AspectRatio>>,
    pub picked: RwSignal<Option<AspectRatio>>,
    pub default: Signal<Option<AspectRatio>>,
    /// Variations, 1 to [`MAX_IMAGES_PER_JOB`].
    pub count: RwSignal<u8>,
    /// The sizes the server's image model makes.
    pub sizes: Signal<Vec<ImageSize>>,
    pub size: RwSignal<Option<ImageSize>>,
}

impl RatioChoice {
    /// The ratio the picker shows as selected.
    pub fn current(&self) -> Option<AspectRatio> {
        self.picked.get().or_else(|| self.default.get())
    }

    /// The ratio a generate request sent now asks for (read outside any view).
    pub fn for_request(&self) -> Option<AspectRatio> {
        untrack(|| self.current())
    }

    /// The generate request the pickers describe now (read outside any view). A size the model
    /// no longer offers is left out (the server's default applies).
    pub fn request(&self, reuse_prompt: bool) -> GenerateRequest {
        untrack(|| GenerateRequest {
            aspect_ratio: self.current(),
            reuse_prompt,
            count: Some(self.count.get().clamp(1, MAX_IMAGES_PER_JOB)),
            image_size: self
                .size
                .get()
                .filter(|s| *s != ImageSize::OneK && self.sizes.with(|all| all.contains(s))),
            ..GenerateRequest::default()
        })
    }
}

/// One native radio per ratio, drawn as a small rectangle of that shape with its `w:h`; arrow
/// keys move between them as in any radio group.
#[component]
pub fn RatioPicker(choice: RatioChoice) -> impl IntoView {
    view! {
        <fieldset class="shapes" data-testid="ratio-picker">
            <legend>"Shape"</legend>
            <div class="shape-row">
                {move || {
                    choice
                        .options
                        .get()
                        .into_iter()
                        .map(|r| {
                            let id = format!("ratio-{}", r.as_str().replace(':', "x"));
                            let (w, h) = r.parts();
                            let (w, h) = (f64::from(w), f64::from(h));
                            let (iw, ih) = if w >= h { (22.0, 22.0 * h / w) } else { (22.0 * w / h, 22.0) };
                            view! {
                                <div class="shape">
                                    <input
                                        type="radio"
                                        name="ratio"
                                        class="sr-radio"
                                        id=id.clone()
                                        value=r.as_str()
                                        data-testid=id.clone()
                                        prop:checked=move || choice.current() == Some(r)
                                        on:change=move |_| choice.picked.set(Some(r))
                                    />
                                    <label for=id title=ratio_label(r)>
                                        <span
                                            class="shape-icon"
                                            style:width=format!("{iw:.1}px")
                                            style:height=format!("{ih:.1}px")
                                            aria-hidden="true"
                                        ></span>
                                        <span class="shape-text">{r.as_str()}</span>
                                        <span class="visually-hidden">{format!(" {}", shape_name(r))}</span>
                                    </label>
                                </div>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </fieldset>
        <div class="make-row">
            <fieldset class="choices" data-testid="count-picker">
                <legend>"Variations"</legend>
                <div class="choice-row">
                    {(1..=MAX_IMAGES_PER_JOB)
                        .map(|n| {
                            let id = format!("count-{n}");
                            view! {
                                <div class="choice">
                                    <input
                                        type="radio"
                                        name="count"
                                        class="sr-radio"
                                        id=id.clone()
                                        value=n.to_string()
                                        data-testid=id.clone()
                                        prop:checked=move || choice.count.get() == n
                                        on:change=move |_| choice.count.set(n)
                                    />
                                    <label for=id>
                                        {n.to_string()}
                                        <span class="visually-hidden">
                                            {if n == 1 { " image" } else { " images" }}
                                        </span>
                                    </label>
                                </div>
                            }
                        })
                        .collect_view()}
                </div>
            </fieldset>
            <Show when=move || choice.sizes.with(|s| s.len() > 1)>
                <fieldset class="choices" data-testid="size-picker">
                    <legend>"Size"</legend>
                    <div class="choice-row">
                        {move || {
                            choice
                                .sizes
                                .get()
                                .into_iter()
                                .map(|size| {
                                    let id = format!("size-{}", size.as_str());
                                    view! {
                                        <div class="choice">
                                            <input
                                                type="radio"
                                                name="size"
                                                class="sr-radio"
                                                id=id.clone()
                                                value=size.as_str()
                                                data-testid=id.clone()
                                                prop:checked=move || {
                                                    choice.size.get().unwrap_or_default() == size
                                                }
                                                on:change=move |_| choice.size.set(Some(size))
                                            />
                                            <label for=id>{size.as_str()}</label>
                                        </div>
                                    }
                                })
                                .collect_view()
                        }}
                    </div>
                </fieldset>
            </Show>
        </div>
    }
}
