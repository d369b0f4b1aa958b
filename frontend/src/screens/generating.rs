//! The Generating screen: the job's stage, the seconds so far, and the stages to come.
//!
//! It owns its clock: the seconds count from when the screen appeared, and the live region hears
//! each stage as it starts and every ten seconds while it lasts.

use contracts::JobStatus;
use leptos::prelude::*;

use crate::actions::Actions;
use crate::components::RequestError;
use crate::state::Announcer;
use crate::words::{stage_announcement, stage_label};

/// `status` follows the job in place; the screen is not drawn afresh per stage.
#[component]
pub fn GeneratingScreen(
    status: Signal<JobStatus>,
    live: Announcer,
    actions: Actions,
) -> impl IntoView {
    let elapsed = elapsed_seconds(status, live);
    Effect::new(move |previous: Option<JobStatus>| {
        let now = status.get();
        if previous != Some(now) {
            live.say(stage_announcement(now, elapsed.get_untracked()));
        }
        now
    });
    let stage_class = move |stage: JobStatus| {
        let (now, this) = (stage_order(status.get()), stage_order(stage));
        if now > this {
            "stage done"
        } else if now == this {
            "stage current"
        } else {
            "stage"
        }
    };
    view! {
        <section class="card" aria-labelledby="generating-heading" aria-busy="true">
            <h2 id="generating-heading" tabindex="-1">
                "Creating your image"
            </h2>
            <div class="working">
                <span class="spinner" aria-hidden="true"></span>
                <p class="stage-now" data-testid="stage">
                    {move || stage_label(status.get())}
                    <span class="muted" data-testid="elapsed">
                        {move || format!(" · {} s", elapsed.get())}
                    </span>
                </p>
            </div>
            <ol class="stages" aria-label="Stages">
                <li class=move || stage_class(JobStatus::Synthesizing)>
                    {stage_label(JobStatus::Synthesizing)}
                </li>
                <li class=move || stage_class(JobStatus::Rendering)>
                    {stage_label(JobStatus::Rendering)}
                </li>
            </ol>
            <p class="hint">"You can leave this page open or reload it: the image keeps coming."</p>
            <RequestError actions/>
        </section>
    }
}

fn stage_order(status: JobStatus) -> u8 {
    match status {
        JobStatus::Queued => 0,
        JobStatus::Synthesizing => 1,
        JobStatus::Rendering => 2,
        JobStatus::Succeeded | JobStatus::Failed => 3,
    }
}

/// Whole seconds since the screen appeared, ticking once a second until it goes away; every ten
/// seconds the live region says the stage again.
fn elapsed_seconds(status: Signal<JobStatus>, live: Announcer) -> ReadSignal<u64> {
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
