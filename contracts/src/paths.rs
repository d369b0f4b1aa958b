//! Paths of every route, shared so the client cannot call a route the server does not have and
//! the server registers each route under one spelling.

pub const HEALTHZ: &str = "/healthz";
pub const META: &str = "/api/meta";
/// The OpenAPI document.
pub const OPENAPI: &str = "/api/openapi.json";
pub const TEMPLATES: &str = "/api/templates";
/// The route of a template's example picture; [`template_example`] builds its URL.
pub const TEMPLATE_EXAMPLE: &str = "/api/templates/{templateId}/example";
pub const SESSION: &str = "/api/session";
pub const SESSION_START: &str = "/api/session/start";
pub const SESSION_ANSWER: &str = "/api/session/answer";
pub const SESSION_BACK: &str = "/api/session/back";
/// `GET`: the session if there is one, 200 either way (what the browser app loads first).
pub const SESSION_RESUME: &str = "/api/session/resume";
/// Prefix of `PUT /api/session/answers/{n}`.
pub const SESSION_ANSWERS: &str = "/api/session/answers";
/// The route of one answer to revise; [`answer`] builds its URL.
pub const SESSION_ANSWER_N: &str = "/api/session/answers/{n}";
pub const GENERATE: &str = "/api/generate";
/// The route of one job; [`job`] builds its URL.
pub const JOB: &str = "/api/generate/{jobId}";
/// `GET /api/generate/{jobId}/events`: the job's stages as a `text/event-stream`.
pub const JOB_EVENTS: &str = "/api/generate/{jobId}/events";
/// Prefix of `GET /api/images/{imageId}`.
pub const IMAGES: &str = "/api/images";
/// The route of one image; [`image`] builds its URL.
pub const IMAGE: &str = "/api/images/{imageId}";
/// `GET`: the session's gallery.
pub const SESSION_IMAGES: &str = "/api/session/images";
/// `POST`: upload a reference image (multipart).
pub const SESSION_REFERENCES: &str = "/api/session/references";
/// `GET` (bytes, own session only) and `DELETE`; [`reference`] builds its URL.
pub const SESSION_REFERENCE: &str = "/api/session/references/{referenceId}";
/// `POST`: make a recipe link.
pub const RECIPES: &str = "/api/recipes";
/// `GET`: a recipe, without a session; [`recipe`] builds its URL.
pub const RECIPE: &str = "/api/recipes/{recipeId}";
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

/// The event stream of one job.
pub fn job_events(job_id: &str) -> String {
    format!("{GENERATE}/{job_id}/events")
}

/// `PUT /api/session/answers/{n}`: revise answer `n` (1..=3) in place.
pub fn answer(question: u8) -> String {
    format!("{SESSION_ANSWERS}/{question}")
}

/// `GET /api/templates/{templateId}/example`.
pub fn template_example(template_id: &str) -> String {
    format!("{TEMPLATES}/{template_id}/example")
}

/// `GET /api/images/{imageId}`.
pub fn image(image_id: &str) -> String {
    format!("{IMAGES}/{image_id}")
}

/// `GET`/`DELETE /api/session/references/{referenceId}`.
pub fn reference(reference_id: &str) -> String {
    format!("{SESSION_REFERENCES}/{reference_id}")
}

/// `GET /api/session/references/{referenceId}?w={width}`: a reference's preview.
pub fn reference_thumbnail(reference_id: &str, width: u32) -> String {
    format!("{SESSION_REFERENCES}/{reference_id}?w={width}")
}

/// `GET /api/images/{imageId}?w={width}`: a thumbnail.
pub fn thumbnail(image_id: &str, width: u32) -> String {
    format!("{IMAGES}/{image_id}?w={width}")
}

/// `GET /api/recipes/{recipeId}`.
pub fn recipe(recipe_id: &str) -> String {
    format!("{RECIPES}/{recipe_id}")
}

/// The browser app's page of a recipe, `/r/{recipeId}`.
pub fn recipe_page(recipe_id: &str) -> String {
    format!("/r/{recipe_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_fill_the_route_patterns() {
        assert_eq!(job("abc"), JOB.replace("{jobId}", "abc"));
        assert_eq!(job_events("abc"), JOB_EVENTS.replace("{jobId}", "abc"));
        assert_eq!(image("abc"), IMAGE.replace("{imageId}", "abc"));
        assert_eq!(
            template_example("food"),
            TEMPLATE_EXAMPLE.replace("{templateId}", "food")
        );
        assert_eq!(
            reference("abc"),
            SESSION_REFERENCE.replace("{referenceId}", "abc")
        );
        assert_eq!(recipe("abc"), RECIPE.replace("{recipeId}", "abc"));
    }
}
