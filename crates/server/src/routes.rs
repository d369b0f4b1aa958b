//! HTTP handlers, one module per resource. Each exposes `router()` with its routes and what they
//! say about themselves in the OpenAPI document; [`api`] puts them together for `startup` (which
//! serves them) and `openapi` (which documents them).

use aide::axum::ApiRouter;

use crate::state::AppState;

pub mod generate;
pub mod images;
pub mod job_events;
pub mod login;
pub mod meta;
pub mod recipes;
pub mod references;
pub mod session;
pub mod templates;

/// Every documented route. `openapi` is the document `GET /api/openapi.json` serves: built from
/// these same routes, so it is handed in (a placeholder while the document itself is built).
pub fn api(openapi: &'static serde_json::Value) -> ApiRouter<AppState> {
    ApiRouter::new()
        .merge(meta::router(openapi))
        .merge(templates::router())
        .merge(session::router())
        .merge(generate::router())
        .merge(job_events::router())
        .merge(images::router())
        .merge(references::router())
        .merge(recipes::router())
        .merge(login::router())
}
