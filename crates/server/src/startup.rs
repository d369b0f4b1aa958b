//! Builds the router (API routes, layers, the SPA's files) and runs the server: the background
//! upkeep while it serves, and a graceful shutdown (running jobs get `SHUTDOWN_GRACE_SECS`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::any;
use tokio::net::{TcpListener, TcpSocket};
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_cookies::CookieManagerLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use tower_http::validate_request::ValidateRequestHeaderLayer;

use crate::config::Settings;
use crate::error::ApiError;
use crate::routes;
use crate::stalled_reader::StalledReaderLimit;
use crate::state::AppState;
use crate::{access, middleware, observability, openapi, telemetry, upkeep};

/// Largest request body accepted by any route.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// The whole HTTP surface, as the service each connection calls. Not wrapped in an outer
/// `Router`: that would route every request twice and clone the whole layer stack into a fresh
/// box for each one.
#[expect(
    clippy::result_large_err,
    reason = "a tower-http request validator answers a refusal as `Err(Response)`"
)]
pub fn build_router(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    let api = Router::from(routes::api(openapi::shared()))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed);

    let spa_dir = &state.settings.static_dir;
    let app = if spa_dir.join("index.html").is_file() {
        api.fallback_service(spa_router(spa_dir))
    } else {
        api.fallback(spa_not_built)
    };

    // Two layers need the matched route (`/api/generate/{job_id}`), so they run per route,
    // after routing: the metrics' route label and the request deadline (which exempts the
    // long-poll and the event stream). One `Router::layer` for both: axum boxes each route once
    // per `Router::layer` and clones the boxes on every request.
    let app = app
        .layer(
            ServiceBuilder::new()
                .layer(observability::TrackHttpLayer)
                .layer(middleware::DeadlineLayer::new(
                    state.settings.request_timeout,
                )),
        )
        .with_state(state.clone());
    // The rest wrap the whole router once, outermost first: a request id, tracing, the security
    // headers (unless a handler set its own, e.g. a stricter policy), panics, cookies, the origin
    // rule, rate limits, the access gate (only with ACCESS_PASSWORD), the body limit. None boxes
    // anything per request (docs/operations.md has what boxing middleware cost).
    let (rate_limits, cookies) = (state.rate_limits.clone(), state.cookies.clone());
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(
            observability::RandomRequestId,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(observability::log_response),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .map_response(middleware::with_security_headers)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(CookieManagerLayer::new())
        .layer(ValidateRequestHeaderLayer::custom(
            middleware::same_origin_only,
        ))
        .layer(ValidateRequestHeaderLayer::custom(
            move |request: &mut Request| rate_limits.admit(&cookies, request),
        ))
        .option_layer(state.access.clone().map(|gate| {
            ValidateRequestHeaderLayer::custom(move |request: &mut Request| {
                access::require_access(&gate, request)
            })
        }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    layers
        .service(app)
        .map_response(IntoResponse::into_response)
}

/// The span every request's log lines carry: method, matched route, path and request id (never
/// headers, which hold cookies, nor bodies, which hold ideas and answers). The span opens before
/// routing, so `observability::track_http` records the route once it is known.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = tracing::field::Empty,
        path = %request.uri().path(),
        request_id = %observability::RequestIdField(request_id),
    )
}

async fn api_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `Cache-Control` of trunk's content-hashed files (`name-<16 hex>.ext`): their name changes with
/// their content, so browsers may keep them for a year without asking again.
const HASHED_ASSET_CACHE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else the SPA serves (index.html above all): revalidate every time,
/// so a new build's asset names are picked up at once (`Last-Modified` keeps that a 304).
const REVALIDATE_CACHE: &str = "no-cache";

/// The built SPA (trunk's `dist/`): its files, with gzip or brotli as the browser accepts, long
/// caching for hashed names, and index.html for client routes (200, so deep links and reloads
/// work). Paths that look like files (`/x.js`) and do not exist get a plain 404 instead of the
/// page, so a stale asset reference fails loudly rather than parsing HTML as JavaScript.
fn spa_router(dir: &Path) -> Router {
    let index = ServeFile::new(dir.join("index.html"));
    let client_route = tower::service_fn(move |request: Request| {
        let index = index.clone();
        async move {
            if looks_like_file(request.uri().path()) {
                return Ok::<_, Infallible>((StatusCode::NOT_FOUND, "Not found\n").into_response());
            }
            let response = index.oneshot(request).await?;
            Ok(response.into_response())
        }
    });
    Router::new()
        .fallback_service(ServeDir::new(dir).fallback(client_route))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(from_fn(spa_cache_headers))
}

async fn spa_cache_headers(request: Request, next: Next) -> Response {
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let value = if hashed {
            HASHED_ASSET_CACHE
        } else {
            REVALIDATE_CACHE
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// True for a last path segment with an extension, e.g. `/app-1a2b.js` (not `/refine`).
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|name| {
        name.rsplit_once('.')
            .is_some_and(|(stem, _)| !stem.is_empty())
    })
}

/// True for trunk's hashed names: `frontend-<16 hex>.js`, `frontend-<16 hex>_bg.wasm`,
/// `style-<16 hex>.css`.
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.rsplit('/').next() else {
        return false;
    };
    let Some((stem, _extension)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(base, hash)| {
        !base.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

async fn spa_not_built() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><meta charset=utf-8><title>Prompt Refinery</title>\
             <p>The browser app is not built. Start with <code>scripts/start</code>, which builds it, \
             or use the JSON API described in docs/api.md.</p>",
        ),
    )
        .into_response()
}

/// Connections the kernel holds for us until they are accepted (it caps this at
/// `net.core.somaxconn`, 4096 on current kernels). `TcpListener::bind` asks for 128, as the
/// standard library does: when a thousand people pressed Generate at once, the kernel turned the
/// rest away and their browsers tried again a second later (docs/operations.md).
const LISTEN_BACKLOG: u32 = 4096;

/// `TcpListener::bind` with a longer queue of connections waiting to be accepted.
fn listen(bind: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if bind.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: the port can be bound again straight after a restart.
    socket.set_reuseaddr(true)?;
    socket.bind(bind)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener and builds the state. Binding first means the port is known (and
    /// accepting) before anything runs, so tests need no sleeps.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let bind = settings.bind;
        let listener = listen(bind).with_context(|| format!("cannot listen on BIND={bind}"))?;
        let state = AppState::build(settings).await?;
        Ok(Application { listener, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves. Then it takes no new work: the listener closes,
    /// long-polls answer, in-flight requests finish; running jobs get until
    /// `SHUTDOWN_GRACE_SECS` after the signal, and the rest end `generation_interrupted`.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.address();
        log_start(&self.state, address);
        let state = self.state;
        let stop_upkeep = tokio_util::sync::CancellationToken::new();
        let upkeep = tokio::spawn(upkeep::run(
            state.jobs.clone(),
            state.store.clone(),
            stop_upkeep.clone(),
        ));
        let grace = state.settings.shutdown_grace;
        let (deadline_tx, deadline_rx) = tokio::sync::oneshot::channel();
        let jobs = state.jobs.clone();
        let signalled = async move {
            shutdown.await;
            let _ = deadline_tx.send(tokio::time::Instant::now() + grace);
            jobs.begin_shutdown();
        };
        let limits = ConnectionLimits {
            headers: state.settings.header_read_timeout,
            stalled_reader: state.settings.request_timeout,
        };
        let router = build_router(state.clone());
        serve(self.listener, router, limits, signalled).await;
        let deadline = deadline_rx
            .await
            .unwrap_or_else(|_| tokio::time::Instant::now() + grace);
        state.jobs.drain(deadline).await;
        stop_upkeep.cancel();
        let _ = upkeep.await;
        state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The `refinery` binary: loads `.env` and the settings, serves until Ctrl-C or SIGTERM.
pub fn run_main() -> std::process::ExitCode {
    // A missing .env is normal; a malformed one is reported by the settings below.
    let _ = dotenvy::dotenv();
    telemetry::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("refinery: cannot start: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("refinery: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let app = Application::build(settings).await?;
        app.run_until_stopped(shutdown_signal()).await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("refinery stopped: {e:#}");
            eprintln!("refinery: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Accepts connections until `shutdown` resolves, then waits for in-flight requests.
///
/// Hyper's HTTP/1 server directly rather than `axum::serve`, which sets no header read timeout:
/// here a connection must deliver each request's headers (the first, and the next on a
/// keep-alive connection) within `header_timeout` (`HEADER_TIMEOUT_SECS`), so a client that
/// trickles bytes or idles cannot hold a connection open. Each request carries its peer address
/// (`ConnectInfo`) for the per-client limits.
/// How long a connection may keep the server waiting on it.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// For a request's headers, and for the next request on an idle keep-alive connection.
    headers: std::time::Duration,
    /// For a reader to take any of its answer ([`StalledReaderLimit`]).
    stalled_reader: std::time::Duration,
}

async fn serve<S>(
    listener: TcpListener,
    router: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.headers);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                // Out of file descriptors and the like: the next accept may well succeed.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let mut request = request.map(axum::body::Body::new);
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let stream = StalledReaderLimit::new(stream, limits.stalled_reader);
        let connection =
            graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away mid-request is routine, not an error worth a line.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn log_start(state: &AppState, address: SocketAddr) {
    let (synthesizer, renderer) = (state.synthesizer.info(), state.renderer.info());
    let mode = if synthesizer.offline || renderer.offline {
        "offline"
    } else {
        "live"
    };
    let spa = Path::new(&state.settings.static_dir).join("index.html");
    let storage = &state.settings.storage;
    tracing::info!(
        backend = ?state.store.backend(),
        data_dir = %storage.data_dir.display(),
        database = %store::redact_url(&storage.database_url()),
        images = %storage.image_store_url(),
        instance = %state.store.jobs.instance(),
        "storage ready"
    );
    tracing::info!(
        mode,
        synthesizer = %synthesizer.label,
        images = %renderer.label,
        spa = spa.is_file(),
        "Prompt Refinery is running at http://{address}"
    );
    if !address.ip().is_loopback() && state.access.is_none() {
        tracing::warn!(
            "BIND={address} is reachable from other machines and ACCESS_PASSWORD is not set: anyone who can reach it can spend your image quota"
        );
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        for path in [
            "/frontend-4204f9c746c2e881.js",
            "/frontend-4204f9c746c2e881_bg.wasm",
            "/style-55d7a7782c6f0fd0.css",
            "/loader-0123456789abcdef.js",
        ] {
            assert!(is_hashed_asset(path), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/style.css",
            "/refine",
            "/x-123.js",
            "/-0123456789abcdef.js",
        ] {
            assert!(!is_hashed_asset(path), "{path}");
        }
    }

    #[test]
    fn client_routes_are_told_apart_from_files() {
        assert!(looks_like_file("/frontend-1.js"));
        assert!(looks_like_file("/a/b/favicon.ico"));
        assert!(!looks_like_file("/"));
        assert!(!looks_like_file("/refine/step"));
        assert!(!looks_like_file("/.hidden"));
    }
}
