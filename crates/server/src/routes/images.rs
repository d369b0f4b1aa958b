//! `GET /api/images/{imageId}`: the bytes, with their type and a download file name.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::{Path, State};
use axum::http::{HeaderName, header};
use bytes::Bytes;
use contracts::{codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::describe::Describe;
use crate::error::{ApiError, Result};
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(paths::IMAGE, get_with(image, image_docs))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ImagePath {
    #[serde(rename = "imageId")]
    image_id: String,
}

fn image_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getImage")
        .summary("Image bytes (the id is an unguessable capability)")
        .answers(200, &["image/png", "image/jpeg", "image/webp"], "the image")
        .errors(&[(
            404,
            codes::IMAGE_NOT_FOUND,
            "no such image, or it was evicted",
        )])
}

async fn image(
    State(state): State<AppState>,
    Path(ImagePath { image_id }): Path<ImagePath>,
) -> Result<([(HeaderName, String); 3], Bytes)> {
    let image = state
        .images
        .get(&image_id)
        .await?
        .ok_or(ApiError::ImageNotFound)?;
    // Ids are validated by the lookup, so they are safe inside the header.
    let file_name = contracts::format::image_file_name(&image_id, &image.mime_type);
    Ok((
        [
            (header::CONTENT_TYPE, image.mime_type.clone()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file_name}\""),
            ),
        ],
        image.bytes,
    ))
}
