//! `GET /healthz`, `GET /api/meta` and `GET /api/openapi.json`.

use std::sync::OnceLock;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use contracts::{ANSWER_MAX_CHARS, AspectRatio, IDEA_MAX_CHARS, MetaResponse, ProviderMode, paths};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HEALTHZ, get(healthz))
        .route(paths::META, get(meta))
        .route(crate::openapi::OPENAPI_PATH, get(openapi))
        .route("/metrics", get(prometheus))
}

/// Prometheus text exposition (behind the access password when one is set).
async fn prometheus(
    State(state): State<AppState>,
) -> crate::error::Result<impl axum::response::IntoResponse> {
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
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observability::render(&gauges),
    ))
}

/// Built once: the document depends only on the code.
async fn openapi() -> Json<&'static serde_json::Value> {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(crate::openapi::document))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn meta(State(state): State<AppState>) -> Json<MetaResponse> {
    let (synthesizer, renderer) = (state.synthesizer.info(), state.renderer.info());
    Json(MetaResponse {
        mode: if synthesizer.offline || renderer.offline {
            ProviderMode::Offline
        } else {
            ProviderMode::Live
        },
        synthesizer: synthesizer.label,
        image_provider: renderer.label,
        aspect_ratios: AspectRatio::ALL.to_vec(),
        idea_max_chars: IDEA_MAX_CHARS,
        answer_max_chars: ANSWER_MAX_CHARS,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
