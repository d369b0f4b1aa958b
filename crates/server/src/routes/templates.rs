//! `GET /api/templates`: the picker's list. Synthesis instructions are not part of a summary.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use contracts::{TemplatesResponse, paths};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::TEMPLATES, get(list))
}

async fn list(State(state): State<AppState>) -> Json<TemplatesResponse> {
    Json(TemplatesResponse {
        templates: state.catalog.iter().map(|t| t.summary()).collect(),
    })
}
