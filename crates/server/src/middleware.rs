//! Cross-cutting HTTP protections: the security headers every response gets, the same-origin
//! rule for state-changing requests (CSRF) and the request time limit.
//!
//! None of them is an `axum::middleware::from_fn`: that boxes the service under it and its
//! future on every request, and with a handful of them the boxing cost more than their work
//! (measured, docs/operations.md). The checks are tower-http validators, the headers a plain
//! response map, the deadline a small tower layer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::ApiErrorBody;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{Layer, Service};

/// The CSP allows the WASM app from our own origin and nothing else: no inline scripts, no
/// third-party hosts, no framing. `wasm-unsafe-eval` is what compiling WebAssembly needs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers a response does not carry yet (a handler may set a stricter one).
pub fn with_security_headers<B>(mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    let headers = response.headers_mut();
    // Room for these and the request id added next, so the map grows once.
    headers.reserve(6);
    for (name, value) in security_headers() {
        headers.entry(name).or_insert(value);
    }
    response
}

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
/// sends neither, and it cannot carry a victim's cookie anyway, so it is allowed. A tower-http
/// request validator: `Err` is the answer.
#[expect(
    clippy::result_large_err,
    reason = "a tower-http request validator answers a refusal as `Err(Response)`"
)]
pub fn same_origin_only(request: &mut Request) -> Result<(), Response> {
    if is_safe(request.method()) || is_same_origin(request.headers()) {
        return Ok(());
    }
    tracing::info!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
    Err((
        StatusCode::FORBIDDEN,
        Json(ApiErrorBody {
            error: "This request came from another site, so it was refused. Use Prompt Refinery from its own address.".into(),
            code: contracts::codes::CROSS_SITE_REQUEST.into(),
        }),
    )
        .into_response())
}

/// The request time limit (`REQUEST_TIMEOUT_SECS`): a request, its body included, is answered
/// within it or gets 408 `request_timeout`, and the handler's work is dropped. The job long-poll
/// (`GET /api/generate/{jobId}?wait=`, bounded by its own 60 s) and a job's event stream are
/// exempt: waiting is what they are for. Applied to each route, as it needs the matched route.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    limit: Duration,
}

impl DeadlineLayer {
    pub fn new(limit: Duration) -> DeadlineLayer {
        DeadlineLayer { limit }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limit: self.limit,
        }
    }
}

/// The service [`DeadlineLayer`] makes.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Request> for Deadline<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let waits = request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|route| waits_by_design(route.as_str()));
        DeadlineFuture {
            inner: self.inner.call(request),
            sleep: (!waits).then(|| tokio::time::sleep(self.limit)),
            limit: self.limit,
        }
    }
}

/// The routes whose answer is a wait: the long-poll and the event stream.
fn waits_by_design(route: &str) -> bool {
    route == contracts::paths::JOB || route == contracts::paths::JOB_EVENTS
}

pin_project! {
    /// A route's answer, or 408 once the limit has passed first.
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
        limit: Duration,
    }
}

impl<F, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        let expired = this
            .sleep
            .as_pin_mut()
            .is_some_and(|sleep| sleep.poll(cx).is_ready());
        if expired {
            return Poll::Ready(Ok(
                crate::error::ApiError::RequestTimeout(*this.limit).into_response()
            ));
        }
        Poll::Pending
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
