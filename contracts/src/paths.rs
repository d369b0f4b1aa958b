//! Paths of every route, shared so the client cannot call a route the server does not have and
//! the server registers each route under one spelling.

pub const HEALTHZ: &str = "/healthz";
pub const META: &str = "/api/meta";
/// The OpenAPI document.
pub const OPENAPI: &str = "/api/openapi.json";
pub const TEMPLATES: &str = "/api/templates";
pub const SESSION: &str = "/api/session";
pub const SESSION_START: &str = "/api/session/start";
pub const SESSION_ANSWER: &str = "/api/session/answer";
pub const SESSION_BACK: &str = "/api/session/back";
pub const GENERATE: &str = "/api/generate";
/// The route of one job; [`job`] builds its URL.
pub const JOB: &str = "/api/generate/{jobId}";
/// Prefix of `GET /api/images/{imageId}`.
pub const IMAGES: &str = "/api/images";
/// The route of one image; [`image`] builds its URL.
pub const IMAGE: &str = "/api/images/{imageId}";
/// Prometheus metrics (docs/operations.md).
pub const METRICS: &str = "/metrics";
/// The access password's sign-in page (and form target).
pub const LOGIN: &str = "/login";
pub const LOGIN_CSS: &str = "/login.css";
pub const LOGOUT: &str = "/logout";

/// `GET /api/generate/{jobId}`.
pub fn job(job_id: &str) -> String {
    format!("{GENERATE}/{job_id}")
}

/// `GET /api/images/{imageId}`.
pub fn image(image_id: &str) -> String {
    format!("{IMAGES}/{image_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_fill_the_route_patterns() {
        assert_eq!(job("abc"), JOB.replace("{jobId}", "abc"));
        assert_eq!(image("abc"), IMAGE.replace("{imageId}", "abc"));
    }
}
