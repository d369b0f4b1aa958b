//! The stage: the current job on a dark surface. While it runs, a placeholder in the chosen ratio
//! with the stage and the seconds; when done, the selected image as large as the window allows
//! (never past its own pixels), its actions right under it, the newest job's variations as a grid
//! when it made more than one, and every image of the session in the gallery below. A failure
//! shows as an alert above the images, which stay.

use contracts::{GenerateRequest, ImageView, JobStatus};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::actions::{Actions, Kind};
use crate::announce::focus_soon;
use crate::components::gallery::Gallery;
use crate::components::icons::{AlertIcon, DownloadIcon};
use crate::components::{RatioChoice, RequestError};
use crate::errors::{Recovery, answers_kept_note, describe_job_failure};
use crate::flow::{Flow, Stage as StageNow};
use crate::state::AppState;
use crate::words::{image_position, stage_announcement, stage_label};

/// The kind of stage, plus what makes a change worth announcing (another job's images or failure).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Empty,
    Working,
    Failed(String),
    Done(String),
}

#[component]
pub fn Stage(app: AppState, ratio: RatioChoice, actions: Actions) -> impl IntoView {
    let stage = Memo::new(move |_| app.flow.with(Flow::stage));
    let images = Memo::new(move |_| app.flow.with(|f| f.images().to_vec()));
    let job_id = Memo::new(move |_| {
        app.flow.with(|f| {
            f.session
                .as_ref()
                .and_then(|s| s.job.as_ref())
                .map(|j| j.job_id.clone())
        })
    });
    let key = Memo::new(move |_| match stage.get() {
        StageNow::Empty => Key::Empty,
        StageNow::Working(_) => Key::Working,
        StageNow::Failed(_) => Key::Failed(job_id.get().unwrap_or_default()),
        // Which job made the images, not which image is first: deleting the newest image from
        // the gallery is no new image to announce (and must not take the focus from the gallery).
        StageNow::Done => Key::Done(job_id.get().unwrap_or_default()),
    });
    // Focus and the live region follow the stage (entering the workspace is `announce`'s job).
    Effect::new(move |previous: Option<Key>| {
        let now = key.get();
        if let Some(previous) = previous
            && previous != now
        {
            match &now {
                Key::Empty => {}
                Key::Working => focus_soon("generating-heading"),
                Key::Failed(_) => {
                    // The alert speaks for itself, once; what the region said is no longer true.
                    app.live.say("");
                    focus_soon("job-error");
                }
                Key::Done(_) => {
                    app.live.say("Your image is ready.");
                    focus_soon("result-heading");
                }
            }
        }
        now
    });
    // The image the stage shows: the one picked in the gallery, else the newest.
    let shown = Memo::new(move |_| {
        let picked = app.selected.get();
        images.with(|list| {
            let at = picked
                .and_then(|url| list.iter().position(|i| i.url == url))
                .or((!list.is_empty()).then_some(0))?;
            Some((at, list[at].clone(), list.len()))
        })
    });
    let working = Memo::new(move |_| matches!(stage.get(), StageNow::Working(_)));
    let status = Memo::new(move |last: Option<&JobStatus>| match stage.get() {
        StageNow::Working(status) => status,
        _ => last.copied().unwrap_or(JobStatus::Queued),
    });
    let placeholder_ratio = Signal::derive(move || {
        let last = app.last_generate.get();
        // An edit keeps the shape of the image it edits.
        let edited = last
            .as_ref()
            .and_then(|r| r.edit_of.as_deref())
            .and_then(|id| {
                images.with(|list| list.iter().find(|i| i.id() == id).map(|i| i.aspect_ratio))
            });
        last.and_then(|r| r.aspect_ratio)
            .or(edited)
            .or_else(|| ratio.current())
            .unwrap_or(contracts::AspectRatio::Square)
    });
    let generate = move |reuse_prompt: bool| {
        actions.generate(ratio.request(reuse_prompt));
    };

    let heading = move || match key.get() {
        Key::Empty => view! {
            <h2 id="ready-heading" tabindex="-1">"Ready to create your image"</h2>
        }
        .into_any(),
        Key::Working => view! {
            <h2 id="generating-heading" tabindex="-1">"Creating your image"</h2>
        }
        .into_any(),
        Key::Failed(_) if shown.with(Option::is_none) => view! {
            <h2 id="failed-heading" tabindex="-1">"The image could not be made"</h2>
        }
        .into_any(),
        Key::Failed(_) | Key::Done(_) => view! {
            <h2 id="result-heading" tabindex="-1">"Your image"</h2>
        }
        .into_any(),
    };
    let position = move || {
        shown.get().map(|(at, image, count)| {
            format!(
                "{} · {}",
                image_position(at, count),
                image.aspect_ratio.as_str()
            )
        })
    };

    view! {
        <section class="stage" aria-labelledby="stage-title">
            <div class="stage-head" id="stage-title">
                {heading}
                <span class="stage-meta" data-testid="image-position">{position}</span>
            </div>
            {move || match stage.get() {
                StageNow::Failed(error) => Some(view! { <JobFailure error last=app.last_generate ratio actions/> }),
                _ => None,
            }}
            <div class="stage-main" data-testid="stage-main">
                {move || {
                    if working.get() && app.selected.get().is_none() {
                        view! { <Placeholder status=status.into() ratio=placeholder_ratio app/> }.into_any()
                    } else if let Some((_, image, _)) = shown.get() {
                        view! { <Shot image/> }.into_any()
                    } else if matches!(stage.get(), StageNow::Empty) {
                        view! {
                            <div class="ready-panel">
                                <p>"All answers are in. Pick a shape in the brief, then create the image."</p>
                                <button
                                    type="button"
                                    class="primary"
                                    data-testid="generate-button"
                                    disabled=move || actions.busy()
                                    on:click=move |_| generate(false)
                                >
                                    "Create the image"
                                </button>
                            </div>
                        }
                        .into_any()
                    } else {
                        ().into_any()
                    }
                }}
            </div>
            <Variations app shown=Signal::derive(move || shown.with(|s| s.as_ref().map(|(_, i, _)| i.url.clone())))/>
            <div class="action-bar" data-testid="action-bar" role="group" aria-label="Image actions">
                {move || {
                    shown
                        .get()
                        .map(|(_, image, _)| {
                            view! {
                                <a
                                    class="button"
                                    data-testid="download-link"
                                    href=image.url.clone()
                                    download=image.file_name()
                                >
                                    <DownloadIcon/>
                                    "Download"
                                </a>
                            }
                        })
                }}
                <button
                    type="button"
                    data-testid="new-take"
                    title="A new image from the same prompt"
                    disabled=move || actions.busy() || working.get() || images.with(Vec::is_empty)
                    on:click=move |_| generate(true)
                >
                    "New take"
                </button>
                <button
                    type="button"
                    class="primary"
                    data-testid="rethink"
                    title="Write the prompt again from the brief, then a new image"
                    disabled=move || actions.busy() || working.get()
                    on:click=move |_| generate(false)
                >
                    {move || if working.get() { "Creating…" } else { "Re-think" }}
                </button>
            </div>
            <RequestError actions only=&[Kind::Generate, Kind::Follow, Kind::Load]/>
            <Gallery app images working shown=Signal::derive(move || shown.get().map(|(at, _, _)| at)) actions/>
        </section>
    }
}

/// The newest job's images as a grid when it made several: one option per image, the one on the
/// stage selected. A single tab stop (roving tabindex); the arrow keys, Home and End move the
/// selection, which the stage and its Download follow at once.
#[component]
fn Variations(app: AppState, shown: Signal<Option<String>>) -> impl IntoView {
    let job = Memo::new(move |_| {
        app.flow.with(|f| {
            f.session
                .as_ref()
                .and_then(|s| s.job.as_ref())
                .filter(|j| j.status == JobStatus::Succeeded)
                .map(|j| (j.images.clone(), j.failed_images.clone()))
                .unwrap_or_default()
        })
    });
    let batch = Memo::new(move |_| job.with(|(images, _)| images.clone()));
    let selected = Memo::new(move |_| {
        let url = shown.get();
        batch.with(|b| url.and_then(|u| b.iter().position(|i| i.url == u)))
    });
    let pick = move |at: usize, focus: bool| {
        let Some(url) = batch.with_untracked(|b| b.get(at).map(|i| i.url.clone())) else {
            return;
        };
        app.selected.set(Some(url));
        if focus
            && let Some(element) = document()
                .get_element_by_id(&format!("variation-{at}"))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = batch.with_untracked(Vec::len);
        if count == 0 {
            return;
        }
        let now = selected.get_untracked().unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (now + 1) % count,
            "ArrowLeft" | "ArrowUp" => (now + count - 1) % count,
            "Home" => 0,
            "End" => count - 1,
            _ => return,
        };
        ev.prevent_default();
        pick(next, true);
    };
    let failed_note = move || {
        job.with(|(images, failed)| {
            failed.as_ref().map(|f| {
                let total = images.len() + usize::from(f.count);
                let word = if f.count == 1 { "image" } else { "images" };
                format!(
                    "{} of {total} {word} could not be made ({}); the others are here.",
                    f.count, f.code
                )
            })
        })
    };
    view! {
        <div class="variations-area">
        {move || failed_note().map(|note| view! { <p class="note on-stage" data-testid="failed-images">{note}</p> })}
        <Show when=move || batch.with(|b| b.len() > 1)>
            <div
                class="variations"
                role="listbox"
                aria-label="Variations from this prompt"
                aria-orientation="horizontal"
                data-testid="variations"
                on:keydown=on_key
            >
                {move || {
                    let count = batch.with(Vec::len);
                    batch
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(at, image)| {
                            let is_selected = move || selected.get() == Some(at);
                            let tab_stop = move || {
                                if is_selected() || (selected.get().is_none() && at == 0) { "0" } else { "-1" }
                            };
                            view! {
                                <div
                                    class="variation"
                                    role="option"
                                    id=format!("variation-{at}")
                                    data-testid=format!("variation-{at}")
                                    tabindex=tab_stop
                                    aria-selected=move || if is_selected() { "true" } else { "false" }
                                    aria-label=format!("Variation {} of {count}", at + 1)
                                    on:click=move |_| pick(at, true)
                                >
                                    <img src=image.url.clone() alt="" width=image.width.to_string() height=image.height.to_string()/>
                                </div>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </Show>
        </div>
    }
}

/// A failed job: the server's message with an icon, the "answers are kept" note once, and "Try
/// again" (the same request) unless the content itself was refused.
#[component]
fn JobFailure(
    error: contracts::ApiErrorBody,
    last: RwSignal<Option<GenerateRequest>>,
    ratio: RatioChoice,
    actions: Actions,
) -> impl IntoView {
    let shown = describe_job_failure(&error);
    let note = answers_kept_note(&error);
    let retry = move |_| {
        let request = last.get_untracked().unwrap_or_else(|| ratio.request(false));
        actions.generate(request);
    };
    view! {
        <div class="alert" role="alert" id="job-error" tabindex="-1" data-testid="job-error">
            <AlertIcon/>
            <div class="alert-body">
                <p>{shown.message}</p>
                {note.map(|note| view! { <p>{note}</p> })}
                {(shown.recovery == Recovery::Retry)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="small"
                                data-testid="retry-button"
                                disabled=move || actions.busy()
                                on:click=retry
                            >
                                "Try again"
                            </button>
                        }
                    })}
            </div>
        </div>
    }
}

/// The selected image, sized by CSS from its own pixel size (`--w`, `--h`) and the room the stage
/// has, with its "what we understood" line.
#[component]
fn Shot(image: ImageView) -> impl IntoView {
    let offline = image.offline_preview.then(|| {
        view! {
            <span class="chip on-image" data-testid="offline-preview-note">
                "Offline preview"
            </span>
        }
    });
    view! {
        <figure class="shot">
            <div class="frame">
                <img
                    data-testid="result-image"
                    src=image.url.clone()
                    alt=image.alt.clone()
                    width=image.width.to_string()
                    height=image.height.to_string()
                />
                {offline}
            </div>
            <figcaption data-testid="summary">
                <strong>"What we understood: "</strong>
                {image.summary.clone()}
            </figcaption>
        </figure>
    }
}

/// The running job: a shimmering box in the chosen ratio, the stage and the seconds so far. It
/// owns its clock; the live region hears each stage as it starts and every ten seconds.
#[component]
fn Placeholder(
    status: Signal<JobStatus>,
    ratio: Signal<contracts::AspectRatio>,
    app: AppState,
) -> impl IntoView {
    let live = app.live;
    let elapsed = elapsed_seconds(status, live);
    Effect::new(move |previous: Option<JobStatus>| {
        let now = status.get();
        if previous != Some(now) {
            live.say(stage_announcement(now, elapsed.get_untracked()));
        }
        now
    });
    // Set through the CSSOM (style: directives), which the page's CSP allows; a style attribute
    // would be refused. At most as tall as the room the stage leaves, in the chosen shape.
    let shape = move || {
        let (w, h) = ratio.get().parts();
        format!("{w} / {h}")
    };
    let width = move || {
        let (w, h) = ratio.get().parts();
        format!("min(100%, calc((100dvh - 326px) * {w} / {h}))")
    };
    view! {
        <div class="frame placeholder" style:aspect-ratio=shape style:width=width aria-busy="true" data-testid="placeholder">
            <div class="placeholder-text">
                <p class="stage-now" data-testid="stage">
                    {move || stage_label(status.get())}
                    <span class="elapsed" data-testid="elapsed">
                        {move || format!(" · {} s", elapsed.get())}
                    </span>
                </p>
                <p class="stage-sub">
                    {move || match status.get() {
                        JobStatus::Queued | JobStatus::Synthesizing => "Then the image is rendered.",
                        _ => "Your earlier images stay in the gallery below.",
                    }}
                </p>
            </div>
        </div>
    }
}

/// Whole seconds since the placeholder appeared, ticking once a second until it goes away; every
/// ten seconds the live region says the stage again.
fn elapsed_seconds(status: Signal<JobStatus>, live: crate::state::Announcer) -> ReadSignal<u64> {
    let since = js_sys::Date::now();
    let (elapsed, set_elapsed) = signal(0_u64);
    let ticking = set_interval_with_handle(
        move || {
            let secs = ((js_sys::Date::now() - since) / 1000.0).max(0.0) as u64;
            if secs != elapsed.get_untracked() {
                set_elapsed.set(secs);
                if secs > 0 && secs.is_multiple_of(10) {
                    live.say(stage_announcement(status.get_untracked(), secs));
                }
            }
        },
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(handle) = ticking {
            handle.clear();
        }
    });
    elapsed
}
