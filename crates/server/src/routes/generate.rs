//! `POST /api/generate` queues a job; `GET /api/generate/{jobId}` reports it, optionally waiting.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::{GenerateRequest, JobView, paths};
use serde::Deserialize;

use crate::error::{AppJson, Result};
use crate::extract::{CurrentSession, SessionCookie};
use crate::jobs::Started;
use crate::state::AppState;

/// Longest a `?wait=` request may hold the connection.
const MAX_WAIT_SECS: u64 = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::GENERATE, post(generate))
        .route("/api/generate/{job_id}", get(job))
}

async fn generate(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<GenerateRequest>,
) -> Result<(StatusCode, Json<JobView>)> {
    let started = state
        .jobs
        .start(id, request.aspect_ratio, request.reuse_prompt)
        .await?;
    let view = match started {
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
    let wait = Duration::from_secs(query.wait.min(MAX_WAIT_SECS));
    Ok(Json(state.jobs.wait(&session.id, &job_id, wait).await?))
}
