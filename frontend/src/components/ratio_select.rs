//! The aspect-ratio picker for the next image.

use contracts::AspectRatio;
use leptos::prelude::*;

use crate::words::ratio_label;

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

#[component]
pub fn RatioSelect(choice: RatioChoice) -> impl IntoView {
    view! {
        <div class="field ratio">
            <label for="ratio-select">"Aspect ratio for the next image"</label>
            <select
                id="ratio-select"
                data-testid="ratio-select"
                on:change=move |ev| choice.picked.set(AspectRatio::parse(&event_target_value(&ev)))
            >
                {move || {
                    choice
                        .options
                        .get()
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.as_str() selected=move || choice.current() == Some(r)>
                                    {ratio_label(r)}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    }
}
