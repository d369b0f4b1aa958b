//! A session's reference images: upload (multipart: checked, decoded and re-encoded without
//! metadata before anything is stored), read (its own session only) and delete. The session view
//! lists them.

use aide::OperationInput;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::generate::GenContext;
use aide::openapi::{
    MediaType, Operation, ReferenceOr, RequestBody, Response, SchemaObject, StatusCode as DocStatus,
};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use bytes::Bytes;
use contracts::{
    REFERENCE_MAX_BYTES, REFERENCE_NOTE_MAX_CHARS, REFERENCES_MAX, ReferenceView, codes, paths,
};
use schemars::JsonSchema;
use serde::Deserialize;
use store::ids::SessionId;
use store::references::{NewReference, NotStored, ReferenceRow};

use crate::describe::{Describe, error_response};
use crate::error::{ApiError, Result};
use crate::extract::{CurrentSession, SessionCookie};
use crate::imaging::{self, Refusal};
use crate::routes::images::{THUMBNAIL_TYPE, ThumbnailQuery, make_thumbnail};
use crate::state::AppState;

/// The body limit of an upload: the file's limit plus room for the note and the form's framing.
/// Every other route keeps the 16 KiB limit (`startup`).
const UPLOAD_BODY_LIMIT: usize = REFERENCE_MAX_BYTES + 64 * 1024;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(paths::SESSION_REFERENCES, post_with(upload, upload_docs))
        .api_route(
            paths::SESSION_REFERENCE,
            get_with(bytes, bytes_docs).delete_with(delete, delete_docs),
        )
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
}

/// The preview width a reference's view links to: sharp in a 48-pixel chip on a 3× screen,
/// whatever the ratio, at a few KB instead of the upload's megabytes.
const PREVIEW_WIDTH: u32 = 256;

/// The reference as the client sees it.
pub fn view(row: ReferenceRow) -> ReferenceView {
    ReferenceView {
        url: paths::reference(&row.id),
        thumbnail_url: paths::reference_thumbnail(&row.id, PREVIEW_WIDTH),
        reference_id: row.id,
        mime_type: row.mime_type,
        width: row.width,
        height: row.height,
        note: row.note,
    }
}

/// A `multipart/form-data` body; anything else is refused in the envelope.
pub struct Upload(Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Multipart::from_request(request, state)
            .await
            .map(Upload)
            .map_err(|_| {
                ApiError::Validation(
                    "Send the image as multipart/form-data, with a `file` field and an optional `note`."
                        .into(),
                )
            })
    }
}

impl OperationInput for Upload {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        let schema = schemars::json_schema!({
            "type": "object",
            "required": ["file"],
            "additionalProperties": false,
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "A PNG, JPEG or WebP image: at most 7 MiB and 4096 pixels a side"
                },
                "note": {
                    "type": "string",
                    "maxLength": REFERENCE_NOTE_MAX_CHARS,
                    "description": "What the image is for, e.g. \"our product\" or \"style to match\""
                }
            }
        });
        let mut body = RequestBody {
            required: true,
            ..RequestBody::default()
        };
        body.content.insert(
            "multipart/form-data".into(),
            MediaType {
                schema: Some(SchemaObject {
                    json_schema: schema,
                    example: None,
                    external_docs: None,
                }),
                ..MediaType::default()
            },
        );
        operation.request_body = Some(ReferenceOr::Item(body));
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        vec![(
            Some(DocStatus::Code(400)),
            error_response(
                ctx,
                format!(
                    "`{}`: not multipart/form-data, no `file`, an unknown field, or a note over {REFERENCE_NOTE_MAX_CHARS} characters",
                    codes::INVALID_REQUEST
                ),
            ),
        )]
    }
}

fn upload_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("uploadReference")
        .summary("Add a reference image to the session (multipart: file, optional note)")
        .description(
            "The file must be PNG, JPEG or WebP by its bytes (a Content-Type naming another type \
             is refused), at most 7 MiB and 4096 pixels a side, and must decode fully. It is \
             stored re-encoded from its pixels, so no metadata (EXIF, location, XMP, ICC, text) \
             survives: a PNG (or an image with transparency) as PNG, a JPEG or WebP as JPEG. A \
             refused upload changes nothing.",
        )
        .answers_json::<ReferenceView>(201, "stored")
        .errors(&[
            (
                415,
                codes::REFERENCE_UNSUPPORTED_TYPE,
                "not PNG, JPEG or WebP by its bytes, or its Content-Type names another type",
            ),
            (
                413,
                codes::REFERENCE_TOO_LARGE,
                "over 7 MiB, or over 4096 pixels a side",
            ),
            (
                422,
                codes::REFERENCE_UNREADABLE,
                "truncated, corrupt, or too costly to decode",
            ),
            (
                409,
                codes::TOO_MANY_REFERENCES,
                "the session already holds 3 reference images",
            ),
        ])
        .link(
            201,
            "getReference",
            &[("referenceId", "$response.body#/referenceId")],
        )
        .link(
            201,
            "deleteReference",
            &[("referenceId", "$response.body#/referenceId")],
        )
}

/// What the form carried.
struct Form {
    file: Option<(Bytes, Option<String>)>,
    note: String,
}

async fn read_form(mut form: Multipart) -> Result<Form> {
    let mut read = Form {
        file: None,
        note: String::new(),
    };
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("file") if read.file.is_none() => {
                let claimed = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(form_error)?;
                read.file = Some((bytes, claimed));
            }
            Some("note") => {
                let note = field.text().await.map_err(form_error)?;
                let note = note.trim();
                let chars = note.chars().count();
                if chars > REFERENCE_NOTE_MAX_CHARS {
                    return Err(ApiError::Validation(format!(
                        "note is {chars} characters long; the limit is {REFERENCE_NOTE_MAX_CHARS}."
                    )));
                }
                read.note = note.to_owned();
            }
            other => {
                return Err(ApiError::Validation(format!(
                    "Unexpected form field {:?}: send one `file` and optionally a `note`.",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    Ok(read)
}

fn form_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::Reference(Refusal::TooLarge(format!(
            "The upload is over the {} MiB limit.",
            REFERENCE_MAX_BYTES / (1024 * 1024)
        )));
    }
    ApiError::Validation(format!("The form could not be read: {}", error.body_text()))
}

async fn upload(
    State(state): State<AppState>,
    session: CurrentSession,
    Upload(form): Upload,
) -> Result<(StatusCode, Json<ReferenceView>)> {
    let form = read_form(form).await?;
    let (file, claimed) = form.file.ok_or_else(|| {
        ApiError::Validation("The form has no `file` field: attach the image as `file`.".into())
    })?;
    if file.len() > REFERENCE_MAX_BYTES {
        return Err(imaging::too_many_bytes(file.len()).into());
    }
    // Cheap before the decode; the store checks again, atomically.
    if state.references.list(&session.id).await?.len() >= REFERENCES_MAX {
        return Err(ApiError::TooManyReferences);
    }
    let uploaded = file.len();
    let accepted =
        tokio::task::spawn_blocking(move || imaging::accept_reference(&file, claimed.as_deref()))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??;
    let stored = state
        .references
        .insert(NewReference {
            session: session.id,
            bytes: Bytes::from(accepted.bytes),
            mime_type: accepted.mime_type.to_owned(),
            width: accepted.width,
            height: accepted.height,
            note: form.note,
        })
        .await?;
    let row = match stored {
        Ok(row) => row,
        Err(NotStored::Full) => return Err(ApiError::TooManyReferences),
        Err(NotStored::SessionGone) => return Err(ApiError::SessionNotFound),
    };
    tracing::info!(
        event = "reference_added",
        session = %session.id.log_label(),
        uploaded_bytes = uploaded,
        mime_type = %row.mime_type,
        width = row.width,
        height = row.height,
        note_chars = row.note.chars().count(),
        "reference image added"
    );
    // The references are part of the brief the prompt is written from.
    state.speculator.replan(session.id).await;
    Ok((StatusCode::CREATED, Json(view(row))))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ReferencePath {
    #[serde(rename = "referenceId")]
    reference_id: String,
}

fn bytes_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getReference")
        .summary("A reference image's bytes, or a preview with ?w= (to its own session only)")
        .description(
            "With ?w=128, 256 or 512: a JPEG at most that wide, made on first request and kept \
             beside the reference (and deleted with it), so a list of references loads small \
             files. The view's thumbnailUrl links to ?w=256.",
        )
        .answers(200, &["image/png", "image/jpeg"], "the image")
        .errors(&[
            (
                404,
                codes::REFERENCE_NOT_FOUND,
                "this session has no such reference (another session's is not found either)",
            ),
            (400, codes::INVALID_REQUEST, "w is not 128, 256 or 512"),
        ])
}

async fn bytes(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    Path(ReferencePath { reference_id }): Path<ReferencePath>,
    query: std::result::Result<Query<ThumbnailQuery>, QueryRejection>,
) -> Result<([(HeaderName, String); 3], Bytes)> {
    let (bytes, mime_type) = match ThumbnailQuery::width(query)? {
        Some(width) => preview_or_reference(&state, &id, &reference_id, width).await?,
        None => {
            let found = state
                .references
                .get(&id, &reference_id)
                .await?
                .ok_or(ApiError::ReferenceNotFound)?;
            (found.bytes, found.mime_type)
        }
    };
    // The id was found by the lookup, so it is safe inside the header.
    let file_name = contracts::format::image_file_name(&reference_id, &mime_type);
    Ok((
        [
            (header::CONTENT_TYPE, mime_type),
            // Private to this browser; deleted references should not linger in shared caches.
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"reference-{file_name}\""),
            ),
        ],
        bytes,
    ))
}

/// The session's reference's preview `width` pixels wide with its media type: the kept one (the
/// upload not read), else made from the upload and kept; the upload itself when it is no wider.
async fn preview_or_reference(
    state: &AppState,
    session: &SessionId,
    reference_id: &str,
    width: u32,
) -> Result<(Bytes, String)> {
    let references = &state.references;
    if let Some(kept) = references.thumbnail(session, reference_id, width).await? {
        return Ok((kept, THUMBNAIL_TYPE.to_owned()));
    }
    let found = references
        .get(session, reference_id)
        .await?
        .ok_or(ApiError::ReferenceNotFound)?;
    let Some(made) = make_thumbnail(&found.bytes, width).await? else {
        return Ok((found.bytes, found.mime_type));
    };
    references
        .put_thumbnail(session, reference_id, width, made.clone())
        .await?;
    Ok((made, THUMBNAIL_TYPE.to_owned()))
}

fn delete_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("deleteReference")
        .summary("Delete a reference image and its bytes")
        .answers(204, &[], "deleted")
        .errors(&[(
            404,
            codes::REFERENCE_NOT_FOUND,
            "this session has no such reference",
        )])
}

async fn delete(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    Path(ReferencePath { reference_id }): Path<ReferencePath>,
) -> Result<StatusCode> {
    if !state.references.delete(&id, &reference_id).await? {
        return Err(ApiError::ReferenceNotFound);
    }
    tracing::info!(event = "reference_deleted", session = %id.log_label(), "reference image deleted");
    state.speculator.replan(id).await;
    Ok(StatusCode::NO_CONTENT)
}
