//! What an operator sees of each request and of the product: the request id and the one log
//! line per request (at INFO only when it deserves a look, see [`log_response`]), Prometheus
//! metrics (the `metrics` crate, rendered at `GET /metrics`) and the funnel: counters an operator
//! reads to see how many people started, finished, and how long they waited. docs/operations.md
//! lists every series and log line. Labels carry routes, codes and provider names only.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

/// The `x-request-id` of a request that came without one: a random (version 4) UUID, as
/// tower-http's `MakeRequestUuid` makes, but drawn from the thread's cryptographic generator
/// (`rand`, seeded from the OS) rather than one `getrandom` call to the kernel per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// A request id as a log field: bare when it is a plain token (ours always are, a UUID), quoted
/// and escaped otherwise. A client may send its own `x-request-id`, and a bare one with spaces or
/// `=` could pose as more fields in the line. Bare is also cheaper: escaping a quoted id costs
/// more than the rest of the request's span (measured with callgrind, docs/operations.md).
pub struct RequestIdField<'a>(pub &'a str);

impl std::fmt::Display for RequestIdField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain = !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// A successful request slower than this is logged at INFO.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// The target of the per-request line, so `RUST_LOG=info,refinery::http=debug` shows every one.
pub const HTTP_LOG_TARGET: &str = "refinery::http";

/// How loud the per-request line is: INFO for a refusal or failure (4xx, 5xx) and for a slow
/// request, the ones an operator looks for; DEBUG for the quick successes that are nearly all
/// of them (a formatted line and a write to stdout each, for lines nobody reads; ADR 0007).
pub fn response_level(status: StatusCode, latency: Duration) -> tracing::Level {
    if status.is_client_error() || status.is_server_error() || latency >= SLOW_REQUEST {
        tracing::Level::INFO
    } else {
        tracing::Level::DEBUG
    }
}

/// tower-http's `on_response`: the request's line, in its span (method, route, path, request id),
/// with the status and the latency in milliseconds.
pub fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    if response_level(response.status(), latency) == tracing::Level::INFO {
        tracing::info!(target: HTTP_LOG_TARGET, parent: span, status, latency_ms, "finished processing request");
    } else {
        tracing::debug!(target: HTTP_LOG_TARGET, parent: span, status, latency_ms, "finished processing request");
    }
}

/// Histogram buckets in seconds: from a fast API call to a slow image.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0,
];

/// The process-wide recorder. Installed on first use; later calls (more servers in one test
/// process) share it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(with_buckets) => with_buckets,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

/// Counts one funnel step (`session_started`, `question_answered`, ...).
pub fn funnel(event: &'static str) {
    metrics::counter!("refinery_funnel_events_total", "event" => event).increment(1);
}

/// Records one provider call: which role and provider, its outcome code, and how long it took.
pub fn provider_call(role: &'static str, provider: &str, outcome: &str, started: Instant) {
    let labels = [
        ("role", role.to_owned()),
        ("provider", provider.to_owned()),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("refinery_provider_calls_total", &labels).increment(1);
    metrics::histogram!("refinery_provider_call_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// Request count and latency by method, matched route and status, as a layer on each route (the
/// route is known only after routing). Every label value comes from a short closed set (a client
/// can send any method token and any path, and each new label value would be a new series held
/// in memory for ever). Also names the route in the request's span.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackHttpLayer;

impl<S> Layer<S> for TrackHttpLayer {
    type Service = TrackHttp<S>;

    fn layer(&self, inner: S) -> TrackHttp<S> {
        TrackHttp { inner }
    }
}

/// The service [`TrackHttpLayer`] makes.
#[derive(Debug, Clone)]
pub struct TrackHttp<S> {
    inner: S,
}

impl<S> Service<Request> for TrackHttp<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = request.extensions().get::<MatchedPath>().cloned();
        // The request's span opened before routing; from here on its lines carry the route too.
        // Displayed, not quoted: a route is one of ours, and escaping it is not free.
        Span::current().record(
            "route",
            tracing::field::display(route_label(route.as_ref())),
        );
        Tracked {
            inner: self.inner.call(request),
            started,
            method,
            route,
        }
    }
}

fn route_label(route: Option<&MatchedPath>) -> &str {
    route.map_or("unmatched", MatchedPath::as_str)
}

pin_project! {
    /// A route's answer, counted when it is ready.
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: &'static str,
        route: Option<MatchedPath>,
    }
}

impl<F, E> Future for Tracked<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        if let Ok(response) = &answer {
            let series = HttpSeries::of(
                this.method,
                route_label(this.route.as_ref()),
                response.status().as_u16(),
            );
            series.requests.increment(1);
            series.seconds.record(this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(answer)
    }
}

/// One (method, route, status)'s handles into the recorder. Looked up once and kept: asking the
/// recorder by labels costs three owned label strings and a registry search per request.
#[derive(Clone)]
struct HttpSeries {
    requests: Counter,
    seconds: Histogram,
}

/// The handles by route, then by method and status. Bounded like the labels themselves.
type SeriesByRoute = HashMap<String, HashMap<(&'static str, u16), HttpSeries>>;

impl HttpSeries {
    fn of(method: &'static str, route: &str, status: u16) -> HttpSeries {
        static KNOWN: OnceLock<RwLock<SeriesByRoute>> = OnceLock::new();
        let known = KNOWN.get_or_init(RwLock::default);
        let found = known.read().ok().and_then(|by_route| {
            by_route
                .get(route)
                .and_then(|by_status| by_status.get(&(method, status)).cloned())
        });
        if let Some(series) = found {
            return series;
        }
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        let series = HttpSeries {
            requests: metrics::counter!("refinery_http_requests_total", &labels),
            seconds: metrics::histogram!("refinery_http_request_seconds", &labels),
        };
        if let Ok(mut by_route) = known.write() {
            by_route
                .entry(route.to_owned())
                .or_default()
                .insert((method, status), series.clone());
        }
        series
    }
}

/// The method as a metric label: one of the methods HTTP defines for our routes, else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Gauges read fresh for each scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Live sessions in the store (all instances).
    pub sessions: u64,
    /// Job tasks this instance runs.
    pub jobs_in_flight: usize,
    /// Live generations counted today (all instances).
    pub quota_used_today: u32,
    pub images: u64,
    pub image_bytes: u64,
}

/// The text exposition, with `gauges` set first.
pub fn render(gauges: &Gauges) -> String {
    metrics::gauge!("refinery_sessions_live").set(gauges.sessions as f64);
    metrics::gauge!("refinery_jobs_in_flight").set(gauges.jobs_in_flight as f64);
    metrics::gauge!("refinery_quota_used_today").set(f64::from(gauges.quota_used_today));
    metrics::gauge!("refinery_images_stored").set(gauges.images as f64);
    metrics::gauge!("refinery_images_stored_bytes").set(gauges.image_bytes as f64);
    let handle = prometheus();
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_failures_and_slow_requests_are_info_quick_successes_debug() {
        use tracing::Level;
        let quick = Duration::from_millis(3);
        for status in [
            StatusCode::OK,
            StatusCode::NO_CONTENT,
            StatusCode::NOT_MODIFIED,
        ] {
            assert_eq!(response_level(status, quick), Level::DEBUG, "{status}");
            assert_eq!(
                response_level(status, SLOW_REQUEST),
                Level::INFO,
                "{status}"
            );
        }
        for status in [
            StatusCode::BAD_REQUEST,
            StatusCode::NOT_FOUND,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(response_level(status, quick), Level::INFO, "{status}");
        }
    }

    #[test]
    fn request_ids_are_fresh_version_4_uuids() {
        let request = axum::http::Request::new(());
        let mut make = RandomRequestId;
        let mut id = || {
            let id = make.make_request_id(&request).expect("an id");
            let text = id.header_value().to_str().expect("ascii").to_owned();
            uuid::Uuid::parse_str(&text).expect("a UUID")
        };
        let (a, b) = (id(), id());
        assert_ne!(a, b);
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
    }

    #[test]
    fn a_request_id_is_bare_only_when_it_cannot_pose_as_more_fields() {
        let shown = |id: &str| RequestIdField(id).to_string();
        assert_eq!(
            shown("0b5ce8a4-51b2-4a8c-9d1e-6f0a2b3c4d5e"),
            "0b5ce8a4-51b2-4a8c-9d1e-6f0a2b3c4d5e"
        );
        assert_eq!(shown("cf:ray_1.a"), "cf:ray_1.a");
        assert_eq!(shown("x status=200"), r#""x status=200""#);
        assert_eq!(shown(r#"a"b"#), r#""a\"b""#);
        assert_eq!(shown(""), r#""""#);
    }

    #[test]
    fn only_known_methods_become_labels() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for odd in ["CONNECT", "TRACE", "XYZZY", "get"] {
            let method = Method::from_bytes(odd.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{odd}");
        }
    }
}
