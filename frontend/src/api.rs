//! The HTTP client: one function per API call, typed with `contracts`, returning
//! `Result<T, ApiClientError>`. Same origin as the page, so the session cookie rides along.

use contracts::{
    AnswerRequest, ApiErrorBody, BackRequest, CreateRecipeRequest, GalleryImage, GalleryResponse,
    GenerateRequest, JobView, MetaResponse, RecipeCreated, RecipeView, ReferenceView,
    ResumeResponse, SessionView, StartSessionRequest, TemplatesResponse, paths,
};
use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::ApiClientError;

type Result<T> = std::result::Result<T, ApiClientError>;

/// Turns a sent request into its response, or the error envelope it carried.
async fn check(sent: std::result::Result<Response, gloo_net::Error>) -> Result<Response> {
    let response = sent.map_err(|e| ApiClientError::Network(e.to_string()))?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    match response.json::<ApiErrorBody>().await {
        Ok(body) => Err(ApiClientError::Api { status, body }),
        Err(_) => Err(ApiClientError::Status(status)),
    }
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T> {
    response
        .json::<T>()
        .await
        .map_err(|e| ApiClientError::Decode(e.to_string()))
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T> {
    json(check(Request::get(path).send().await).await?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T> {
    let request = Request::post(path)
        .json(body)
        .map_err(|e| ApiClientError::Decode(e.to_string()))?;
    json(check(request.send().await).await?).await
}

/// `GET /api/meta`.
pub async fn meta() -> Result<MetaResponse> {
    get(paths::META).await
}

/// `GET /api/templates`.
pub async fn templates() -> Result<TemplatesResponse> {
    get(paths::TEMPLATES).await
}

/// `GET /api/session/resume`: `Ok(None)` when this browser has no session. Always 200 from the
/// server, so a first visit logs no failed request.
pub async fn resume() -> Result<Option<SessionView>> {
    get::<ResumeResponse>(paths::SESSION_RESUME)
        .await
        .map(|r| r.session)
}

/// `GET /api/recipes/{recipeId}` (no session needed).
pub async fn recipe(recipe_id: &str) -> Result<RecipeView> {
    get(&paths::recipe(recipe_id)).await
}

/// `POST /api/session/start`.
pub async fn start(request: &StartSessionRequest) -> Result<SessionView> {
    post(paths::SESSION_START, request).await
}

/// `POST /api/session/answer`.
pub async fn answer(request: &AnswerRequest) -> Result<SessionView> {
    post(paths::SESSION_ANSWER, request).await
}

/// `PUT /api/session/answers/{question}`.
pub async fn revise(question: u8, request: &AnswerRequest) -> Result<SessionView> {
    let request = Request::put(&paths::answer(question))
        .json(request)
        .map_err(|e| ApiClientError::Decode(e.to_string()))?;
    json(check(request.send().await).await?).await
}

/// `POST /api/session/back`.
pub async fn back(request: &BackRequest) -> Result<SessionView> {
    post(paths::SESSION_BACK, request).await
}

/// `DELETE /api/session` (start over).
pub async fn start_over() -> Result<()> {
    check(Request::delete(paths::SESSION).send().await)
        .await
        .map(|_| ())
}

/// `POST /api/generate`.
pub async fn generate(request: &GenerateRequest) -> Result<JobView> {
    post(paths::GENERATE, request).await
}

/// `GET /api/generate/{jobId}?wait=N`: answers when the job ends or after `wait_secs`.
pub async fn job(job_id: &str, wait_secs: u64) -> Result<JobView> {
    get(&format!("{}?wait={wait_secs}", paths::job(job_id))).await
}

/// `GET /api/generate/{jobId}/events` through the browser's `EventSource`: each `stage` and the
/// final `done` event's job view, as they arrive. The browser reconnects a dropped stream by
/// itself (with `Last-Event-ID`); the stream yields an error only when it cannot go on (the
/// job or session is gone, or event streams do not get through), and the caller falls back to
/// the long-poll.
pub fn job_events(
    job_id: &str,
) -> std::result::Result<impl futures::Stream<Item = Result<JobView>>, ApiClientError> {
    use futures::StreamExt;
    use gloo_net::eventsource::futures::EventSource;

    fn opened(e: impl std::fmt::Display) -> ApiClientError {
        ApiClientError::Network(e.to_string())
    }
    let mut source = EventSource::new(&paths::job_events(job_id)).map_err(opened)?;
    let stages = source.subscribe("stage").map_err(opened)?;
    let done = source.subscribe("done").map_err(opened)?;
    Ok(futures::stream::select(stages, done).map(move |event| {
        // Owned here, so the connection lives as long as the stream and closes with it.
        let _source = &source;
        let (_, message) = event.map_err(|e| ApiClientError::Network(e.to_string()))?;
        let data = message.data().as_string().unwrap_or_default();
        serde_json::from_str::<JobView>(&data).map_err(|e| ApiClientError::Decode(e.to_string()))
    }))
}

/// `GET /api/session/images`: every image of this session with its recipe, newest first.
pub async fn gallery() -> Result<Vec<GalleryImage>> {
    get::<GalleryResponse>(paths::SESSION_IMAGES)
        .await
        .map(|g| g.images)
}

/// `DELETE /api/images/{imageId}`.
pub async fn delete_image(image_id: &str) -> Result<()> {
    check(Request::delete(&paths::image(image_id)).send().await)
        .await
        .map(|_| ())
}

/// `POST /api/recipes {imageId}`: a shareable recipe of one image.
pub async fn create_recipe(image_id: &str) -> Result<RecipeCreated> {
    post(
        paths::RECIPES,
        &CreateRecipeRequest {
            image_id: Some(image_id.to_owned()),
        },
    )
    .await
}

/// `POST /api/session/references`: `file` (a `Blob`, or a `File` from the picker) and `note`,
/// as `multipart/form-data` (the browser writes the boundary).
pub async fn upload_reference(
    file: &web_sys::Blob,
    file_name: &str,
    note: &str,
) -> Result<ReferenceView> {
    let failed = |e: wasm_bindgen::JsValue| ApiClientError::Network(format!("{e:?}"));
    let form = web_sys::FormData::new().map_err(failed)?;
    form.append_with_blob_and_filename("file", file, file_name)
        .map_err(failed)?;
    if !note.is_empty() {
        form.append_with_str("note", note).map_err(failed)?;
    }
    let request = Request::post(paths::SESSION_REFERENCES)
        .body(form)
        .map_err(|e| ApiClientError::Decode(e.to_string()))?;
    json(check(request.send().await).await?).await
}

/// `DELETE /api/session/references/{referenceId}`.
pub async fn delete_reference(reference_id: &str) -> Result<()> {
    check(
        Request::delete(&paths::reference(reference_id))
            .send()
            .await,
    )
    .await
    .map(|_| ())
}

/// The bytes of one of this session's images, as a `Blob` of its type (to send it back as a
/// reference).
pub async fn image_blob(url: &str, mime_type: &str) -> Result<web_sys::Blob> {
    let bytes = check(Request::get(url).send().await)
        .await?
        .binary()
        .await
        .map_err(|e| ApiClientError::Network(e.to_string()))?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime_type);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| ApiClientError::Decode(format!("{e:?}")))
}
