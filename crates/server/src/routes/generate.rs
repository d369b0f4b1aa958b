//! `POST /api/generate` queues a job (a generation from the brief, or an edit in words of one of
//! the session's images); `GET /api/generate/{jobId}` reports it, optionally waiting.

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
use crate::error::{ApiError, AppJson, Result};
use crate::extract::{Client, CurrentSession, SessionCookie};
use crate::jobs::{EditRequest, JobRequest, Started};
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
        .summary("Queue 1 to 4 images from one prompt, or an edit in words of one image (or return the running job)")
        .description(
            "From the brief: the prompt is written (or reused), and the session's reference images go to the image model before it, in upload order. \
             An edit (`editOf` + `instruction`): the image and the instruction go to the image model, with the thought signature the model returned for the image when it returned one; \
             no prompt is written, one image is made at the edited image's ratio and size, one unit of quota. An edit takes no `count` other than 1, no `reusePrompt`, `aspectRatio` or `imageSize`.",
        )
        .answers_json::<JobView>(202, "the queued job, or the one already running")
        .errors(&[
            (
                400,
                codes::INVALID_REQUEST,
                "`count` is not 1 to 4, or the image model cannot make that size or ratio (the message names what it can); or `editOf` without `instruction` (or the reverse), an instruction empty or over 300 characters, an edit with `count` > 1, `reusePrompt`, `aspectRatio` or `imageSize`; or the configured image service takes no images (task mode) and the session has references or this is an edit; or the references, or the image to edit, are more bytes than the image model takes in one request",
            ),
            (
                404,
                codes::IMAGE_NOT_FOUND,
                "`editOf` names no image of this session (another session's is not found either)",
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
    client: Client,
    AppJson(request): AppJson<GenerateRequest>,
) -> Result<(StatusCode, Json<JobView>)> {
    let request = job_request(request)?;
    let started = state.jobs.start(id, &client.key(), request.clone()).await?;
    let view = match started {
        Started::New(view) => {
            let mode = if request.edit.is_some() {
                "edit"
            } else if request.reuse_prompt {
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

/// The job a request asks for, with the edit rules: `editOf` and `instruction` come together,
/// and an edit is one image at the edited image's ratio and size, from no prompt.
fn job_request(request: GenerateRequest) -> Result<JobRequest> {
    let GenerateRequest {
        aspect_ratio,
        reuse_prompt,
        count,
        image_size,
        edit_of,
        instruction,
    } = request;
    let edit = match (edit_of, instruction) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::Validation(
                "`editOf` needs an `instruction`: say what to change.".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::Validation(
                "`instruction` needs `editOf`: the id of the image to change.".into(),
            ));
        }
        (Some(image_id), Some(instruction)) => {
            let refused = |field: &str| {
                ApiError::Validation(format!(
                    "An edit makes one image at the edited image's ratio and size from no prompt: leave out `{field}`."
                ))
            };
            if count.is_some_and(|n| n != 1) {
                return Err(refused("count"));
            }
            if reuse_prompt {
                return Err(refused("reusePrompt"));
            }
            if aspect_ratio.is_some() {
                return Err(refused("aspectRatio"));
            }
            if image_size.is_some() {
                return Err(refused("imageSize"));
            }
            Some(EditRequest::new(image_id, &instruction)?)
        }
    };
    Ok(JobRequest {
        aspect_ratio,
        image_size: image_size.unwrap_or_default(),
        count: count.unwrap_or(1),
        reuse_prompt,
        edit,
    })
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
