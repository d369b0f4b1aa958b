//! The aspect ratio for the next image, as shape buttons (a radio group).

use contracts::AspectRatio;
use leptos::prelude::*;

use crate::words::{ratio_label, shape_name};

/// The ratio for the next image: the ratios the server offers, the person's pick, and what
/// applies until they pick (the last image's ratio, else the template's).
#[derive(Clone, Copy)]
pub struct RatioChoice {
    pub options: Signal<Vec<AspectRatio>>,
    pub picked: RwSignal<Option<AspectRatio>>,
    pub default: Signal<Option<AspectRatio>>,
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
    }
}
