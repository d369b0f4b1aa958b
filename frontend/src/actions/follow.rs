//! Following a job to its end, and redrawing from the server's session view when another tab
//! (or a refused request) says the page is stale.

use contracts::{GenerateRequest, JobStatus, JobView, SessionView};
use futures::StreamExt;
use leptos::prelude::*;

use super::act::Act;
use crate::api;
use crate::errors::ApiClientError;
use crate::flow::{Flow, poll_wait_secs};
use crate::state::AppState;

/// `POST /api/generate`, then follows the job; the stage shows it instead of a picked image.
pub(super) async fn create(
    app: AppState,
    follow: Act<String>,
    request: &GenerateRequest,
) -> Result<(), ApiClientError> {
    let job = api::generate(request).await?;
    app.selected.set(None);
    app.flow.update(|f| f.on_job(job));
    keep_following(app, follow);
    Ok(())
}

/// Starts the poll loop for the session's running job, unless it is already followed.
pub(super) fn keep_following(app: AppState, follow: Act<String>) {
    let running = app
        .flow
        .with_untracked(|f| f.running_job().map(|j| j.job_id.clone()));
    if let Some(job_id) = running
        && app
            .following
            .with_untracked(|f| f.as_deref() != Some(job_id.as_str()))
    {
        follow.action.dispatch_local(job_id);
    }
}

/// Follows the job until it ends, or another loop (or "Start over") takes it over: through its
/// event stream, each stage shown as it happens; if the stream fails, by long-polling
/// `GET /api/generate/{jobId}?wait=` (which scripts use too).
pub(super) async fn follow_job(app: AppState, job_id: String) -> Result<(), ApiClientError> {
    let still_ours = || {
        app.following
            .with_untracked(|f| f.as_deref() == Some(job_id.as_str()))
    };
    if stream_job(app, &job_id, &still_ours).await {
        return Ok(());
    }
    loop {
        let status = app
            .flow
            .with_untracked(|f| f.running_job().map_or(JobStatus::Queued, |job| job.status));
        let polled = api::job(&job_id, poll_wait_secs(status)).await;
        if !still_ours() {
            return Ok(());
        }
        match polled {
            Ok(job) => {
                if show(app, job) {
                    return Ok(());
                }
            }
            Err(error) => {
                app.following.set(None);
                return Err(error);
            }
        }
    }
}

/// Shows one job view; true when the job is over (and no longer followed).
fn show(app: AppState, job: JobView) -> bool {
    let done = job.status.is_terminal();
    if job.image.is_some() {
        app.selected.set(None);
    }
    app.flow.update(|f| f.on_job(job));
    if done {
        app.following.set(None);
    }
    done
}

/// Follows the job through `GET /api/generate/{jobId}/events`. True when it is settled (the job
/// ended, or someone else follows it now); false when the stream failed before the end, for the
/// long-poll to take over.
async fn stream_job(app: AppState, job_id: &str, still_ours: &impl Fn() -> bool) -> bool {
    let Ok(events) = api::job_events(job_id) else {
        return false;
    };
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        if !still_ours() {
            return true;
        }
        match event {
            Ok(job) => {
                if show(app, job) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// Re-reads the session and redraws from it, moving the address if the step changed.
pub(super) async fn reload(app: AppState) {
    if let Ok(found) = api::resume().await {
        apply_remote(app, found);
    }
}

/// [`Actions::refresh`]: like [`reload`], and says so when another tab changed something.
pub(super) async fn refresh(app: AppState, follow: Act<String>) {
    let Ok(found) = api::resume().await else {
        return;
    };
    if !app.flow.with_untracked(|f| f.differs_from(found.as_ref())) {
        return;
    }
    app.notice.set(Some(match &found {
        Some(_) => "Updated from another tab.".to_owned(),
        None => "This session was ended in another tab.".to_owned(),
    }));
    apply_remote(app, found);
    keep_following(app, follow);
}

/// Redraws from a session view read from the server (or its absence).
pub(super) fn apply_remote(app: AppState, found: Option<SessionView>) {
    match found {
        Some(view) => app.flow.update(|f| f.on_session(view)),
        None => {
            app.following.set(None);
            app.flow.update(Flow::on_no_session);
        }
    }
    app.selected.set(None);
    // The address follows only if it now names a step this session cannot show; `Home` redirects.
}
