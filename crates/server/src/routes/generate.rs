//! `POST /api/generate` queues a job; `GET /api/generate/{jobId}` reports it, optionally waiting.

use std::time::Duration;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use contracts::{GenerateRequest, JobView, codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::describe::Describe;
use crate::error::{AppJson, Result};
use crate::extract::{CurrentSession, SessionCookie};
use crate::jobs::{JobRequest, Started};
use crate::state::AppState;

/// Longest a `?wait=` request may hold the connection.
const MAX_WAIT_SECS: u64 = 60;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(paths::GENERATE, post_with(generate, generate_docs))
        .api_route(paths::JOB, get_with(job, job_docs))
}

fn generate_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("generateImage")
        .summary("Queue 1 to 4 images from one prompt (or return the running job)")
        .answers_json::<JobView>(202, "the queued job, or the one already running")
        .errors(&[
            (
                400,
                codes::INVALID_REQUEST,
                "`count` is not 1 to 4, or the image model cannot make that size or ratio (the message names what it can)",
            ),
            (
                409,
                codes::REFINEMENT_INCOMPLETE,
                "a question is still open",
            ),
            (
                409,
                codes::SESSION_BUSY,
                "concurrent changes kept colliding",
            ),
            (
                429,
                codes::QUOTA_EXCEEDED,
                "the job's images would pass today's image limit; none is made (Retry-After: until midnight UTC)",
            ),
            (
                404,
                codes::TEMPLATE_NOT_FOUND,
                "the session's template is no longer installed",
            ),
        ])
        .link(202, "getJob", &[("jobId", "$response.body#/jobId")])
}

async fn generate(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<GenerateRequest>,
) -> Result<(StatusCode, Json<JobView>)> {
    let request = JobRequest {
        aspect_ratio: request.aspect_ratio,
        image_size: request.image_size.unwrap_or_default(),
        count: request.count.unwrap_or(1),
        reuse_prompt: request.reuse_prompt,
    };
    let started = state.jobs.start(id, request).await?;
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
                images = request.count,
                size = request.image_size.as_str(),
                "generation requested"
            );
            view
        }
        Started::Existing(view) => view,
    };
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct JobPath {
    #[serde(rename = "jobId")]
    job_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    /// Seconds to wait for the job to finish before answering; longer waits are cut to 60.
    #[serde(default)]
    #[schemars(range(max = u64::MAX))]
    wait: u64,
}

fn job_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getJob")
        .summary("A job's progress; `wait` holds the request until it finishes")
        .errors(&[
            (404, codes::JOB_NOT_FOUND, "this session has no such job"),
            (
                400,
                codes::INVALID_REQUEST,
                "`wait` is not a whole number, or an unknown parameter",
            ),
        ])
}

async fn job(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(JobPath { job_id }): Path<JobPath>,
    query: std::result::Result<Query<JobQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobView>> {
    let Query(query) = query?;
    let wait = Duration::from_secs(query.wait.min(MAX_WAIT_SECS));
    Ok(Json(state.jobs.wait(&session.id, &job_id, wait).await?))
}
