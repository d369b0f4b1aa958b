//! `GET /healthz`, `GET /api/meta` and `GET /api/openapi.json`.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, header};
use contracts::{
    ANSWER_MAX_CHARS, IDEA_MAX_CHARS, MAX_IMAGES_PER_JOB, MetaResponse, ProviderMode, paths,
};

use crate::describe::Describe;
use crate::state::AppState;

pub fn router(openapi: &'static serde_json::Value) -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            paths::HEALTHZ,
            get_with(healthz, |op| {
                op.id("healthz").summary("Liveness check (text `ok`)")
            }),
        )
        .api_route(
            paths::META,
            get_with(meta, |op| {
                op.id("getMeta")
                    .summary("Which providers run (offline or live), the sizes and ratios the image model makes, and the input limits")
            }),
        )
        .api_route(
            paths::OPENAPI,
            get_with(
                move || async move { Json(openapi) },
                |op| op.id("getOpenApi").summary("This document"),
            ),
        )
        .api_route(
            paths::METRICS,
            get_with(prometheus, |op| {
                op.id("getMetrics")
                    .summary("Prometheus metrics (docs/operations.md)")
                    .answers(200, &["text/plain"], "the text exposition")
            }),
        )
}

/// Prometheus text exposition (behind the access password when one is set).
async fn prometheus(
    State(state): State<AppState>,
) -> crate::error::Result<([(HeaderName, &'static str); 1], String)> {
    let (images, image_bytes) = state.images.usage().await?;
    let gauges = crate::observability::Gauges {
        sessions: state.sessions.count().await?,
        jobs_in_flight: state.jobs.in_flight(),
        quota_used_today: state.quotas.used_globally().await?,
        images,
        image_bytes,
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observability::render(&gauges),
    ))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn meta(State(state): State<AppState>) -> Json<MetaResponse> {
    let (synthesizer, renderer) = (state.synthesizer.info(), state.renderer.info());
    let caps = state.renderer.capabilities();
    Json(MetaResponse {
        mode: if synthesizer.offline || renderer.offline {
            ProviderMode::Offline
        } else {
            ProviderMode::Live
        },
        synthesizer: synthesizer.label,
        image_provider: renderer.label,
        aspect_ratios: caps.ratios.to_vec(),
        image_sizes: caps.sizes.to_vec(),
        max_images_per_job: MAX_IMAGES_PER_JOB,
        takes_images: state.renderer.takes_input_images(),
        idea_max_chars: IDEA_MAX_CHARS,
        answer_max_chars: ANSWER_MAX_CHARS,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
