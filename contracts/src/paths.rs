//! API paths, shared so the client cannot call a route the server does not have.

pub const HEALTHZ: &str = "/healthz";
pub const META: &str = "/api/meta";
pub const TEMPLATES: &str = "/api/templates";
pub const SESSION: &str = "/api/session";
pub const SESSION_START: &str = "/api/session/start";
pub const SESSION_ANSWER: &str = "/api/session/answer";
pub const SESSION_BACK: &str = "/api/session/back";
/// `GET`: the session if there is one, 200 either way (what the browser app loads first).
pub const SESSION_RESUME: &str = "/api/session/resume";
/// Prefix of `PUT /api/session/answers/{n}`.
pub const SESSION_ANSWERS: &str = "/api/session/answers";
pub const GENERATE: &str = "/api/generate";
/// Prefix of `GET /api/images/{imageId}`.
pub const IMAGES: &str = "/api/images";

/// `GET /api/generate/{jobId}`.
pub fn job(job_id: &str) -> String {
    format!("{GENERATE}/{job_id}")
}

/// `PUT /api/session/answers/{n}`: revise answer `n` (1..=3) in place.
pub fn answer(question: u8) -> String {
    format!("{SESSION_ANSWERS}/{question}")
}

/// `GET /api/images/{imageId}`.
pub fn image(image_id: &str) -> String {
    format!("{IMAGES}/{image_id}")
}
