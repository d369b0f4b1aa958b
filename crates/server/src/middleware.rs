//! Cross-cutting HTTP protections: the security headers every response gets (set by tower-http's
//! `SetResponseHeaderLayer` in `startup`), the same-origin rule for state-changing requests (CSRF)
//! and the request time limit.

use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use contracts::ApiErrorBody;

/// The CSP allows the WASM app from our own origin and nothing else: no inline scripts, no
/// third-party hosts, no framing. `wasm-unsafe-eval` is what compiling WebAssembly needs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers set on every response unless a handler set its own.
pub fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// Refuses state-changing requests that a browser marks as coming from another site.
///
/// Browsers send `Sec-Fetch-Site` (and `Origin`) on every such request; a script such as curl
/// sends neither, and it cannot carry a victim's cookie anyway, so it is allowed.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || is_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::info!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
    (
        StatusCode::FORBIDDEN,
        Json(ApiErrorBody {
            error: "This request came from another site, so it was refused. Use Prompt Refinery from its own address.".into(),
            code: contracts::codes::CROSS_SITE_REQUEST.into(),
        }),
    )
        .into_response()
}

/// The request time limit (`REQUEST_TIMEOUT_SECS`): a request, its body included, is answered
/// within it or gets 408 `request_timeout`, and the handler's work is dropped. The job long-poll
/// (`GET /api/generate/{jobId}?wait=`, bounded by its own 60 s) and a job's event stream are
/// exempt: waiting is what they are for.
pub async fn request_deadline(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let waits = route.is_some_and(|r| r == contracts::paths::JOB || r.ends_with("/events"));
    if waits {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::error::ApiError::RequestTimeout(limit).into_response(),
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The decision: `Sec-Fetch-Site` when present (same-origin or a typed URL), else `Origin` must
/// name the host the request was sent to, else (no browser headers) allowed.
fn is_same_origin(headers: &HeaderMap) -> bool {
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        return matches!(site, "same-origin" | "none");
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn browsers_from_our_origin_and_plain_scripts_are_allowed() {
        for allowed in [
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[("sec-fetch-site", "none")]),
            headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080"),
            ]),
            headers(&[
                ("origin", "https://Abc.trycloudflare.com"),
                ("host", "abc.trycloudflare.com"),
            ]),
            headers(&[("host", "127.0.0.1:8080")]),
        ] {
            assert!(is_same_origin(&allowed), "{allowed:?}");
        }
    }

    #[test]
    fn other_sites_are_refused() {
        for refused in [
            headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080"),
            ]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:8080"),
            ]),
            headers(&[("origin", "null"), ("host", "127.0.0.1:8080")]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(!is_same_origin(&refused), "{refused:?}");
        }
    }

    #[test]
    fn reads_are_never_blocked() {
        assert!(is_safe(&Method::GET) && is_safe(&Method::HEAD));
        assert!(!is_safe(&Method::POST) && !is_safe(&Method::DELETE));
    }
}
