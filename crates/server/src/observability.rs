//! Prometheus metrics (the `metrics` crate, rendered at `GET /metrics`) and the funnel: counters
//! an operator reads to see how many people started, finished, and how long they waited.
//! docs/operations.md lists every series. Labels carry routes, codes and provider names only.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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

/// Middleware: request count and latency by method, matched route and status. Every label value
/// comes from a short closed set (a client can send any method token and any path, and each new
/// label value would be a new series held in memory for ever).
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("refinery_http_requests_total", &labels).increment(1);
    metrics::histogram!("refinery_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
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
    fn only_known_methods_become_labels() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for odd in ["CONNECT", "TRACE", "XYZZY", "get"] {
            let method = Method::from_bytes(odd.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{odd}");
        }
    }
}
