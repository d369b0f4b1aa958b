//! `GET /api/templates`: the picker's list (synthesis instructions are not part of a summary), and
//! `GET /api/templates/{templateId}/example`: each template's example picture.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::{TemplatesResponse, codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::describe::Describe;
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// The example's URL carries its version, so a browser may keep it a week without asking; after
/// that, `If-None-Match` makes the question cheap (304).
const EXAMPLE_CACHE: &str = "private, max-age=604800";

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            paths::TEMPLATES,
            get_with(list, |op| {
                op.id("listTemplates").summary(
                    "The templates a session can start from (general-cinematic first), each with its example picture's URL",
                )
            }),
        )
        .api_route(paths::TEMPLATE_EXAMPLE, get_with(example, example_docs))
}

async fn list(State(state): State<AppState>) -> Json<TemplatesResponse> {
    Json(TemplatesResponse {
        templates: state
            .catalog
            .iter()
            .map(|t| {
                let mut summary = t.summary();
                if let Some(version) = state.examples.version_of(&t.id) {
                    summary.example_url = format!("{}?v={version}", summary.example_url);
                }
                summary
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
struct TemplatePath {
    #[serde(rename = "templateId")]
    template_id: String,
}

fn example_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getTemplateExample")
        .summary("A template's example picture: a small JPEG the offline renderer draws from the template's defaults, once, then served from memory")
        .answers(200, &["image/jpeg"], "the picture (with an ETag; 304 when If-None-Match matches)")
        .errors(&[(404, codes::TEMPLATE_NOT_FOUND, "no such template")])
}

async fn example(
    State(state): State<AppState>,
    Path(TemplatePath { template_id }): Path<TemplatePath>,
    headers: HeaderMap,
) -> Result<Response> {
    let template = state.catalog.find(&template_id)?;
    let example = state
        .examples
        .get(&template)
        .await
        .ok_or_else(|| ApiError::TemplateNotFound(template_id.clone()))?
        .map_err(|e| anyhow::anyhow!("drawing the example of {template_id}: {e}"))?;
    let etag = HeaderValue::from_str(&example.etag).map_err(anyhow::Error::from)?;
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(EXAMPLE_CACHE),
        ),
        (header::ETAG, etag),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == example.etag));
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&example.mime_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        )],
        example.bytes,
    )
        .into_response())
}
