//! Images: `GET /api/images/{imageId}` (the bytes, or a `?w=` thumbnail; the id is an
//! unguessable capability, so no session is needed), `DELETE /api/images/{imageId}` (by its own
//! session) and the session's gallery, `GET /api/session/images`.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use contracts::{GalleryImage, GalleryResponse, codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;
use store::images::THUMBNAIL_WIDTHS;

use crate::describe::Describe;
use crate::error::{ApiError, Result};
use crate::extract::{CurrentSession, SessionCookie};
use crate::imaging;
use crate::state::AppState;

/// The thumbnail width the gallery links to.
pub const GALLERY_THUMBNAIL_WIDTH: u32 = 256;

/// The type of every thumbnail (`make_thumbnail` writes JPEG).
pub const THUMBNAIL_TYPE: &str = "image/jpeg";

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            paths::IMAGE,
            get_with(image, image_docs).delete_with(delete, delete_docs),
        )
        .api_route(paths::SESSION_IMAGES, get_with(gallery, gallery_docs))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ImagePath {
    #[serde(rename = "imageId")]
    image_id: String,
}

/// `?w=`: a thumbnail this many pixels wide (of an image, or of a reference image).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailQuery {
    /// 128, 256 or 512: a JPEG thumbnail that wide (the ratio kept; an image no wider is sent
    /// as it is).
    #[serde(default)]
    #[schemars(extend("enum" = [128, 256, 512]))]
    w: Option<u32>,
}

impl ThumbnailQuery {
    /// The width asked for; 400 `invalid_request` unless it is one of [`THUMBNAIL_WIDTHS`].
    pub fn width(
        query: std::result::Result<Query<ThumbnailQuery>, QueryRejection>,
    ) -> Result<Option<u32>> {
        let Query(ThumbnailQuery { w }) = query?;
        match w {
            Some(w) if !THUMBNAIL_WIDTHS.contains(&w) => Err(ApiError::Validation(format!(
                "w must be one of {THUMBNAIL_WIDTHS:?}; {w} is not."
            ))),
            w => Ok(w),
        }
    }
}

/// A JPEG thumbnail of `original`, `width` pixels wide, made off the runtime's threads; `None`
/// when the image is no wider.
pub async fn make_thumbnail(original: &Bytes, width: u32) -> Result<Option<Bytes>> {
    let original = original.clone();
    let made = imaging::off_thread(move || imaging::thumbnail(&original, width))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored image does not decode: {e}")))?;
    Ok(made.map(Bytes::from))
}

fn image_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getImage")
        .summary("Image bytes, or a thumbnail with ?w= (the id is an unguessable capability)")
        .description(
            "With ?w=128, 256 or 512: a JPEG at most that wide, made on first request and kept \
             beside the image (and deleted with it), so a grid loads small files.",
        )
        .answers(200, &["image/png", "image/jpeg", "image/webp"], "the image")
        .errors(&[
            (
                404,
                codes::IMAGE_NOT_FOUND,
                "no such image, or it was evicted or deleted",
            ),
            (400, codes::INVALID_REQUEST, "w is not 128, 256 or 512"),
        ])
}

async fn image(
    State(state): State<AppState>,
    Path(ImagePath { image_id }): Path<ImagePath>,
    query: std::result::Result<Query<ThumbnailQuery>, QueryRejection>,
) -> Result<Response> {
    let (body, mime_type, size) = match ThumbnailQuery::width(query)? {
        Some(width) => {
            let (bytes, mime_type) = thumbnail_or_image(&state, &image_id, width).await?;
            let size = bytes.len() as u64;
            (Body::from(bytes), mime_type, size)
        }
        // Sent as it is read: a download holds a chunk, not the whole image (a 4K PNG is
        // tens of MB, and a slow reader keeps what it was given until its last byte).
        None => {
            let image = state
                .images
                .open(&image_id)
                .await?
                .ok_or(ApiError::ImageNotFound)?;
            (Body::from_stream(image.chunks), image.mime_type, image.size)
        }
    };
    // Ids are validated by the lookup, so they are safe inside the header.
    let file_name = contracts::format::image_file_name(&image_id, &mime_type);
    Ok((
        [
            (header::CONTENT_TYPE, mime_type),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The image's thumbnail `width` pixels wide with its media type: the kept one (the original
/// not read), else made from the original and kept; the original itself when it is no wider.
async fn thumbnail_or_image(
    state: &AppState,
    image_id: &str,
    width: u32,
) -> Result<(Bytes, String)> {
    if let Some(kept) = state.images.thumbnail(image_id, width).await? {
        return Ok((kept, THUMBNAIL_TYPE.to_owned()));
    }
    let image = state
        .images
        .get(image_id)
        .await?
        .ok_or(ApiError::ImageNotFound)?;
    let Some(made) = make_thumbnail(&image.bytes, width).await? else {
        return Ok((image.bytes, image.mime_type));
    };
    state
        .images
        .put_thumbnail(image_id, width, made.clone())
        .await?;
    Ok((made, THUMBNAIL_TYPE.to_owned()))
}

fn delete_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("deleteImage")
        .summary("Delete one of this session's images, its bytes and thumbnails")
        .answers(204, &[], "deleted")
        .errors(&[(
            404,
            codes::IMAGE_NOT_FOUND,
            "this session has no such image (another session's is not found either)",
        )])
}

async fn delete(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    Path(ImagePath { image_id }): Path<ImagePath>,
) -> Result<StatusCode> {
    if !state.images.delete(&id, &image_id).await? {
        return Err(ApiError::ImageNotFound);
    }
    tracing::info!(event = "image_deleted", session = %id.log_label(), "image deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn gallery_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getGallery").summary(
        "Every image of this session, newest first, each with its recipe (never the prompt)",
    )
}

async fn gallery(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Json<GalleryResponse>> {
    let images = state
        .images
        .gallery(&session.id)
        .await?
        .into_iter()
        .filter_map(|record| {
            Some(GalleryImage {
                thumbnail_url: paths::thumbnail(&record.id, GALLERY_THUMBNAIL_WIDTH),
                image: record.view,
                recipe: record.recipe?,
            })
        })
        .collect();
    Ok(Json(GalleryResponse { images }))
}
