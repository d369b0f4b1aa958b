//! `POST /api/generate` queues a job; `GET /api/generate/{jobId}` reports it, optionally waiting.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::{GenerateRequest, JobView, paths};
use serde::Deserialize;

use crate::error::{ApiError, AppJson, Result};
use crate::jobs::Started;
use crate::session::{CurrentSession, SessionCookie};
use crate::state::AppState;

/// Longest a `?wait=` request may hold the connection.
const MAX_WAIT_SECS: u64 = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::GENERATE, post(generate))
        .route("/api/generate/{job_id}", get(job))
}

/// True when a generation reaches a live provider, so it costs money and counts against the
/// daily quotas (the session view shows what is left only then).
pub(crate) fn counts_generations(state: &AppState) -> bool {
    !(state.synthesizer.info().offline && state.renderer.info().offline)
}

async fn generate(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<GenerateRequest>,
) -> Result<(StatusCode, Json<JobView>)> {
    // Live generations cost money: count one before starting, and give it back if no new job
    // started (one was already running, or the session is not ready).
    let counted = counts_generations(&state);
    if counted {
        state.quotas.take(&id).map_err(ApiError::QuotaExceeded)?;
    }
    let started = state
        .jobs
        .start(id, request.aspect_ratio, request.reuse_prompt)
        .await;
    if counted && !matches!(started, Ok(Started::New(_))) {
        state.quotas.refund(&id);
    }
    let view = match started? {
        Started::New(view) => {
            let mode = if request.reuse_prompt {
                "new_take"
            } else {
                "rethink"
            };
            crate::observability::funnel("generation_requested");
            crate::observability::funnel(mode);
            tracing::info!(
                event = "generation_requested",
                session = %id.log_label(),
                job = %view.job_id,
                mode,
                "generation requested"
            );
            view
        }
        Started::Existing(view) => view,
    };
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    /// Seconds to wait for the job to finish before answering (0..=60).
    #[serde(default)]
    wait: u64,
}

async fn job(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(job_id): Path<String>,
    query: std::result::Result<Query<JobQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobView>> {
    let Query(query) = query?;
    let job = session
        .data
        .job(&job_id)
        .ok_or(ApiError::JobNotFound)?
        .view();
    if query.wait == 0 || job.status.is_terminal() {
        return Ok(Json(job));
    }
    let wait = Duration::from_secs(query.wait.min(MAX_WAIT_SECS));
    state.jobs.wait(&session.id, &job_id, wait).await.map(Json)
}
