//! API paths, shared so the client cannot call a route the server does not have.

pub const HEALTHZ: &str = "/healthz";
pub const META: &str = "/api/meta";
pub const TEMPLATES: &str = "/api/templates";
pub const SESSION: &str = "/api/session";
pub const SESSION_START: &str = "/api/session/start";
pub const SESSION_ANSWER: &str = "/api/session/answer";
pub const SESSION_BACK: &str = "/api/session/back";
pub const GENERATE: &str = "/api/generate";
/// Prefix of `GET /api/images/{imageId}`.
pub const IMAGES: &str = "/api/images";

/// `GET /api/generate/{jobId}`.
pub fn job(job_id: &str) -> String {
    format!("{GENERATE}/{job_id}")
}

/// `GET /api/images/{imageId}`.
pub fn image(image_id: &str) -> String {
    format!("{IMAGES}/{image_id}")
}
