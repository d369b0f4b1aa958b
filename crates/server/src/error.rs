//! One error type for every handler. Its `IntoResponse` always writes the `{"error", "code"}`
//! envelope; 5xx bodies are opaque and the cause is logged once, 4xx stay at debug.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contracts::{ApiErrorBody, codes};
use domain::StepError;
use providers::{ModelRole, ProviderError};
use store::quotas::{QuotaExceeded, Scope};

use crate::session::SessionError;

/// Handler result.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_request`: the message names the field.
    #[error("{0}")]
    Validation(String),
    /// 413 `payload_too_large`.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("expected a JSON body")]
    UnsupportedMediaType,
    /// 404 `not_found`: no such API route.
    #[error("no such route")]
    RouteNotFound,
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 404 `template_not_found`.
    #[error("unknown template {0:?}")]
    TemplateNotFound(String),
    /// 404 `session_not_found`: no cookie, or a validly signed id that expired or was dropped.
    #[error("no session")]
    SessionNotFound,
    /// 401 `invalid_session`: a cookie whose signature does not verify.
    #[error("invalid session cookie")]
    InvalidSession,
    /// 409: an event that does not fit the refinement state.
    #[error(transparent)]
    Step(#[from] StepError),
    /// 422 `answer_too_thin`: a revised answer too sparse to build on; the message carries the
    /// question's hint.
    #[error("revised answer too thin")]
    AnswerTooThin { question: u8, hint: String },
    /// 409 `refinement_incomplete`: generate before the third answer.
    #[error("refinement incomplete")]
    RefinementIncomplete,
    /// 409 `session_busy`: concurrent updates kept colliding.
    #[error("session busy")]
    SessionBusy,
    /// 404 `job_not_found`.
    #[error("no such job")]
    JobNotFound,
    /// 404 `image_not_found`.
    #[error("no such image")]
    ImageNotFound,
    /// An upload refused: 415 `reference_unsupported_type`, 413 `reference_too_large` or 422
    /// `reference_unreadable`.
    #[error("reference refused: {0}")]
    Reference(#[from] crate::imaging::Refusal),
    /// 409 `too_many_references`.
    #[error("too many references")]
    TooManyReferences,
    /// 404 `reference_not_found`.
    #[error("no such reference")]
    ReferenceNotFound,
    /// 404 `recipe_not_found`.
    #[error("no such recipe")]
    RecipeNotFound,
    /// 429 `rate_limited`, with `Retry-After`: too many `what` (e.g. "sign-in attempts").
    #[error("rate limited")]
    RateLimited {
        what: &'static str,
        retry_after: std::time::Duration,
    },
    /// 408 `request_timeout`: the request, its body included, took longer than the limit.
    #[error("request timed out")]
    RequestTimeout(std::time::Duration),
    /// 429 `quota_exceeded`, with `Retry-After` until midnight UTC.
    #[error("daily quota reached")]
    QuotaExceeded(QuotaExceeded),
    /// 500 `internal_error`: logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// HTTP status, code and the person-facing message.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Validation(message) => (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, message.clone()),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::PAYLOAD_TOO_LARGE,
                "The request body is larger than 16 KiB.".into(),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "Send a JSON body with Content-Type: application/json.".into(),
            ),
            RouteNotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "There is no such API route; docs/api.md lists them.".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                codes::METHOD_NOT_ALLOWED,
                "This route does not accept that method; docs/api.md lists them.".into(),
            ),
            TemplateNotFound(id) => (
                StatusCode::NOT_FOUND,
                codes::TEMPLATE_NOT_FOUND,
                format!("There is no template {id:?}; GET /api/templates lists them."),
            ),
            SessionNotFound => (
                StatusCode::NOT_FOUND,
                codes::SESSION_NOT_FOUND,
                "No session is active (it may have expired). Start one with POST /api/session/start.".into(),
            ),
            InvalidSession => (
                StatusCode::UNAUTHORIZED,
                codes::INVALID_SESSION,
                "The session cookie is not valid. Start a new session.".into(),
            ),
            Step(StepError::AlreadyComplete) => (
                StatusCode::CONFLICT,
                codes::REFINEMENT_COMPLETE,
                "All three questions are already answered. Generate an image, or go back to change an answer.".into(),
            ),
            Step(e @ (StepError::NoSuchQuestion(_) | StepError::NotReached(_))) => {
                (StatusCode::CONFLICT, codes::INVALID_STEP, format!("Cannot go there: {e}."))
            }
            Step(StepError::Incomplete) => (
                StatusCode::CONFLICT,
                codes::REFINEMENT_INCOMPLETE,
                "Answer (or skip) all three questions before changing one in place; POST /api/session/answer answers the current question.".into(),
            ),
            Step(StepError::TooThin(question)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::ANSWER_TOO_THIN,
                format!("That answer to question {question} is too thin to build an image on, so the earlier one is kept. A few concrete words help, or skip to use the default."),
            ),
            AnswerTooThin { question, hint } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::ANSWER_TOO_THIN,
                format!("That answer to question {question} is too thin to build an image on, so the earlier one is kept. {hint} Or skip to use the default."),
            ),
            RefinementIncomplete => (
                StatusCode::CONFLICT,
                codes::REFINEMENT_INCOMPLETE,
                "Answer (or skip) all three questions before generating.".into(),
            ),
            SessionBusy => (
                StatusCode::CONFLICT,
                codes::SESSION_BUSY,
                "The session was changed by another request at the same time. Try again.".into(),
            ),
            JobNotFound => (
                StatusCode::NOT_FOUND,
                codes::JOB_NOT_FOUND,
                "This session has no such generation job.".into(),
            ),
            ImageNotFound => (
                StatusCode::NOT_FOUND,
                codes::IMAGE_NOT_FOUND,
                "No such image; images are kept for a limited time. Generate it again.".into(),
            ),
            Reference(refusal) => {
                use crate::imaging::Refusal;
                let (status, code) = match refusal {
                    Refusal::UnsupportedType(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        codes::REFERENCE_UNSUPPORTED_TYPE,
                    ),
                    Refusal::TooLarge(_) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, codes::REFERENCE_TOO_LARGE)
                    }
                    Refusal::Unreadable(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, codes::REFERENCE_UNREADABLE)
                    }
                };
                (status, code, refusal.to_string())
            }
            TooManyReferences => (
                StatusCode::CONFLICT,
                codes::TOO_MANY_REFERENCES,
                format!(
                    "A session holds at most {} reference images. Delete one to add another.",
                    contracts::REFERENCES_MAX
                ),
            ),
            ReferenceNotFound => (
                StatusCode::NOT_FOUND,
                codes::REFERENCE_NOT_FOUND,
                "This session has no such reference image.".into(),
            ),
            RecipeNotFound => (
                StatusCode::NOT_FOUND,
                codes::RECIPE_NOT_FOUND,
                "No such recipe; recipe links are kept as long as images are.".into(),
            ),
            RateLimited { what, retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                format!(
                    "Too many {what}. Try again in {} seconds.",
                    retry_seconds(*retry_after)
                ),
            ),
            RequestTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                codes::REQUEST_TIMEOUT,
                format!(
                    "This request took longer than {} seconds to arrive and be answered, so it was stopped. Try again.",
                    limit.as_secs()
                ),
            ),
            QuotaExceeded(q) => {
                let when = format!(
                    "It resets at midnight UTC, in {}.",
                    contracts::format::hours_minutes(q.resets_in.as_secs())
                );
                let message = match q.scope {
                    Scope::Session => format!(
                        "You have made today's {} images for this session. {when}",
                        q.limit
                    ),
                    Scope::Client => format!(
                        "You have made today's {} images from this address. {when}",
                        q.limit
                    ),
                    Scope::Global => format!(
                        "This Prompt Refinery has made its {} images for today. {when}",
                        q.limit
                    ),
                };
                (StatusCode::TOO_MANY_REQUESTS, codes::QUOTA_EXCEEDED, message)
            }
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                "Something went wrong on our side. Try again; your answers are kept.".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, error) = self.parts();
        if status.is_server_error() {
            tracing::error!(code, error = ?self, "request failed");
        } else {
            tracing::debug!(code, status = status.as_u16(), "request refused");
        }
        let mut response = (
            status,
            Json(ApiErrorBody {
                error,
                code: code.to_owned(),
            }),
        )
            .into_response();
        let retry_after = match &self {
            ApiError::RateLimited { retry_after, .. } => Some(retry_seconds(*retry_after)),
            ApiError::QuotaExceeded(q) => Some(retry_seconds(q.resets_in)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            // serde's message names the field and what was expected; it carries no server internals.
            JsonRejection::JsonDataError(e) => ApiError::Validation(format!(
                "The request body does not fit this endpoint: {}",
                serde_detail(&e.body_text())
            )),
            JsonRejection::JsonSyntaxError(e) => ApiError::Validation(format!(
                "The request body is not valid JSON (or not UTF-8): {}",
                serde_detail(&e.body_text())
            )),
            other => ApiError::Validation(format!(
                "The request body could not be read: {}",
                other.body_text()
            )),
        }
    }
}

impl From<domain::UnknownTemplate> for ApiError {
    fn from(domain::UnknownTemplate(id): domain::UnknownTemplate) -> ApiError {
        ApiError::TemplateNotFound(id)
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> ApiError {
        match error {
            SessionError::NotFound => ApiError::SessionNotFound,
            SessionError::Busy => ApiError::SessionBusy,
            SessionError::Store(e) => ApiError::Internal(e.into()),
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> ApiError {
        ApiError::Internal(error.into())
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        ApiError::RouteNotFound
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::Validation(format!(
            "The query string is not valid: {}",
            serde_detail(&rejection.body_text())
        ))
    }
}

/// Whole seconds to wait, at least 1 (a `Retry-After: 0` would invite an immediate retry).
fn retry_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs().max(1)
}

/// Drops axum's generic prefix, keeping serde's description of the problem.
fn serde_detail(text: &str) -> String {
    text.split_once(": ")
        .map_or(text, |(_, rest)| rest)
        .to_owned()
}

/// `axum::Json`, with rejections in our envelope, and only a JSON object as a body: serde reads a
/// struct from an array too (`[]` is every field defaulted), which no endpoint documents.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::Validation(
                "The request body must be a JSON object.".into(),
            ));
        }
        // With the field's path in the message, as axum's own JSON rejection gives it.
        serde_path_to_error::deserialize(value)
            .map(AppJson)
            .map_err(|e| {
                ApiError::Validation(format!("The request body does not fit this endpoint: {e}"))
            })
    }
}

/// An optional JSON body: none at all (no Content-Type, no bytes) is `None`.
impl<S, T> axum::extract::OptionalFromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, ApiError> {
        let headers = request.headers();
        let empty = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .is_none_or(|length| length == "0");
        if !headers.contains_key(axum::http::header::CONTENT_TYPE) && empty {
            return Ok(None);
        }
        <AppJson<T> as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// The envelope a failed job reports: the provider crate's stable code with a message a person can act on.
pub fn provider_failure(error: &ProviderError) -> ApiErrorBody {
    use ProviderError::*;
    let message = match error {
        Refused => "The prompt writer declined this brief. Rephrase the idea or an answer that could read as unsafe, then try again.".to_owned(),
        Incomplete => "The prompt writer stopped before finishing. Try again; shorter answers help.".to_owned(),
        Failed(_) => "The prompt writer failed on its side. Try again in a moment; your answers are kept.".to_owned(),
        ContentBlocked { .. } => "The image service blocked this picture on safety grounds. Rephrase the idea or the answer most likely to trip a filter (real people, violence, brands), then try again.".to_owned(),
        NoImage { .. } => "The image service returned no image this time. Try again, perhaps with a more concrete idea.".to_owned(),
        RateLimited { retry_after } => match retry_after {
            Some(d) if d.as_secs() <= 300 => format!("The provider is busy. Try again in {} seconds.", d.as_secs().max(1)),
            Some(d) => format!("The provider is busy. Try again in {}.", contracts::format::hours_minutes(d.as_secs())),
            None => "The provider is busy. Try again in a minute.".to_owned(),
        },
        QuotaExhausted => "The provider account has run out of credit. Ask the operator to check its billing.".to_owned(),
        Auth => "The provider rejected this server's API key. This is an operator problem: check the key configuration.".to_owned(),
        ModelUnavailable { role, model } => {
            let (what, setting) = match role {
                ModelRole::PromptWriter => ("prompt-writing", "OPENAI_MODEL"),
                ModelRole::Images => ("image", "NANOBANANA_MODEL"),
            };
            format!(
                "The {what} model this server is set to use ({model}) is not available from the provider. This is an operator problem: set {setting} to a current model (docs/providers.md lists them)."
            )
        }
        Unavailable => "The provider is unavailable right now. Try again in a minute; your answers are kept.".to_owned(),
        Timeout => "The provider took too long to answer. Try again; your answers are kept.".to_owned(),
        BadResponse(_) => "The provider sent something we could not use. Try again.".to_owned(),
    };
    ApiErrorBody {
        error: message,
        code: providers::error_code(error).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_job_messages_say_the_answers_are_kept_exactly_for_the_listed_codes() {
        // The browser app adds "Your answers are kept." for every other code (contracts::codes).
        let every = [
            ProviderError::Refused,
            ProviderError::Incomplete,
            ProviderError::Failed("x".into()),
            ProviderError::ContentBlocked { reason: "x".into() },
            ProviderError::NoImage { reason: "x".into() },
            ProviderError::RateLimited { retry_after: None },
            ProviderError::QuotaExhausted,
            ProviderError::Auth,
            ProviderError::ModelUnavailable {
                role: ModelRole::Images,
                model: "x".into(),
            },
            ProviderError::Unavailable,
            ProviderError::Timeout,
            ProviderError::BadResponse("x".into()),
        ];
        for error in every {
            let body = provider_failure(&error);
            assert_eq!(
                body.error.to_lowercase().contains("answers are kept"),
                codes::SAYS_ANSWERS_ARE_KEPT.contains(&body.code.as_str()),
                "{}: {}",
                body.code,
                body.error
            );
        }
    }

    #[test]
    fn a_missing_model_names_the_setting_that_picks_it() {
        for (role, setting) in [
            (ModelRole::PromptWriter, "OPENAI_MODEL"),
            (ModelRole::Images, "NANOBANANA_MODEL"),
        ] {
            let body = provider_failure(&ProviderError::ModelUnavailable {
                role,
                model: "gemini-gone".into(),
            });
            assert_eq!(body.code, codes::PROVIDER_MODEL_UNAVAILABLE);
            assert!(
                body.error.contains(setting) && body.error.contains("gemini-gone"),
                "{}",
                body.error
            );
        }
    }
}
