//! `GET /api/templates`: the picker's list. Synthesis instructions are not part of a summary.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Json;
use axum::extract::State;
use contracts::{TemplatesResponse, paths};

use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        paths::TEMPLATES,
        get_with(list, |op| {
            op.id("listTemplates")
                .summary("The templates a session can start from (general-cinematic first)")
        }),
    )
}

async fn list(State(state): State<AppState>) -> Json<TemplatesResponse> {
    Json(TemplatesResponse {
        templates: state.catalog.iter().map(|t| t.summary()).collect(),
    })
}
