//! Stable error codes carried in [`crate::ApiErrorBody::code`]. docs/errors.md lists each with its
//! HTTP status and message; scripts and the browser app branch on these, never on the message.

// Request problems (4xx).
pub const INVALID_REQUEST: &str = "invalid_request";
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
pub const NOT_FOUND: &str = "not_found";
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
pub const TEMPLATE_NOT_FOUND: &str = "template_not_found";
pub const SESSION_NOT_FOUND: &str = "session_not_found";
pub const INVALID_SESSION: &str = "invalid_session";
pub const REFINEMENT_COMPLETE: &str = "refinement_complete";
pub const REFINEMENT_INCOMPLETE: &str = "refinement_incomplete";
pub const INVALID_STEP: &str = "invalid_step";
/// A revised answer (`PUT /api/session/answers/{n}`) too thin to build on; the message has the hint.
pub const ANSWER_TOO_THIN: &str = "answer_too_thin";
pub const SESSION_BUSY: &str = "session_busy";
pub const JOB_NOT_FOUND: &str = "job_not_found";
pub const IMAGE_NOT_FOUND: &str = "image_not_found";
/// 415: an upload that is not PNG, JPEG or WebP by its bytes, or whose Content-Type disagrees.
pub const REFERENCE_UNSUPPORTED_TYPE: &str = "reference_unsupported_type";
/// 413: an upload over 7 MiB or over 4,096 pixels a side.
pub const REFERENCE_TOO_LARGE: &str = "reference_too_large";
/// 409: the session already holds the most reference images it may.
pub const TOO_MANY_REFERENCES: &str = "too_many_references";
/// 422: an upload that does not decode (truncated, corrupt, or too costly to decode).
pub const REFERENCE_UNREADABLE: &str = "reference_unreadable";
pub const REFERENCE_NOT_FOUND: &str = "reference_not_found";
pub const RECIPE_NOT_FOUND: &str = "recipe_not_found";
pub const CROSS_SITE_REQUEST: &str = "cross_site_request";
pub const ACCESS_REQUIRED: &str = "access_required";
pub const ACCESS_DENIED: &str = "access_denied";
pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
/// 408: the request (its body included) was not answered within `REQUEST_TIMEOUT_SECS`.
pub const REQUEST_TIMEOUT: &str = "request_timeout";

// Generation outcomes, reported in a failed job's `error`.
pub const SYNTHESIS_REFUSED: &str = "synthesis_refused";
pub const SYNTHESIS_INCOMPLETE: &str = "synthesis_incomplete";
pub const SYNTHESIS_FAILED: &str = "synthesis_failed";
pub const CONTENT_BLOCKED: &str = "content_blocked";
pub const NO_IMAGE: &str = "no_image";
pub const RATE_LIMITED: &str = "rate_limited";
pub const PROVIDER_QUOTA: &str = "provider_quota";
pub const PROVIDER_AUTH: &str = "provider_auth";
/// The provider says the configured model does not exist (or this key cannot see it): an
/// operator changes `OPENAI_MODEL` or `NANOBANANA_MODEL`. Never retried.
pub const PROVIDER_MODEL_UNAVAILABLE: &str = "provider_model_unavailable";
pub const PROVIDER_UNAVAILABLE: &str = "provider_unavailable";
pub const PROVIDER_TIMEOUT: &str = "provider_timeout";
pub const PROVIDER_BAD_RESPONSE: &str = "provider_bad_response";
pub const GENERATION_CANCELLED: &str = "generation_cancelled";
/// The server running the job stopped (shutdown, a crash, a lost lease); the quota unit came back.
pub const GENERATION_INTERRUPTED: &str = "generation_interrupted";

// Server faults (5xx).
pub const INTERNAL: &str = "internal_error";

/// Failed-job codes whose message already ends by telling the person that their answers are kept
/// (the server writes these messages; a test there holds it to this list). After any other failed
/// job the browser app adds that reassurance itself, so it is said exactly once.
pub const SAYS_ANSWERS_ARE_KEPT: [&str; 3] =
    [SYNTHESIS_FAILED, PROVIDER_UNAVAILABLE, PROVIDER_TIMEOUT];
