//! `GET /api/images/{imageId}`: the bytes, with their type and a download file name.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::error::{ApiError, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/images/{image_id}", get(image))
}

async fn image(
    State(state): State<AppState>,
    Path(image_id): Path<String>,
) -> Result<impl IntoResponse> {
    let image = state
        .images
        .get(&image_id)
        .await?
        .ok_or(ApiError::ImageNotFound)?;
    let extension = match image.mime_type.as_str() {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
    // Ids are validated by the lookup, so they are safe inside the header.
    let short_id: String = image_id.chars().take(8).collect();
    Ok((
        [
            (header::CONTENT_TYPE, image.mime_type.clone()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"prompt-refinery-{short_id}.{extension}\""),
            ),
        ],
        image.bytes,
    ))
}
