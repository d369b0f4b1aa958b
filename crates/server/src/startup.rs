//! Builds the router (API routes, layers, the SPA's files) and runs the server.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;
use tower_cookies::CookieManagerLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Settings;
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// Largest request body accepted by any route.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// The whole HTTP surface.
pub fn build_router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::meta::router())
        .merge(routes::templates::router())
        .merge(routes::session::router())
        .merge(routes::generate::router())
        .merge(routes::images::router())
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed);

    let spa_dir = &state.settings.static_dir;
    let index = spa_dir.join("index.html");
    let app = if index.is_file() {
        api.fallback_service(ServeDir::new(spa_dir).fallback(ServeFile::new(index)))
    } else {
        api.fallback(spa_not_built)
    };

    app.layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CookieManagerLayer::new())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
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
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on BIND={bind}"))?;
        let state = AppState::build(settings)?;
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

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.address();
        log_start(&self.state, address);
        let router = build_router(self.state);
        axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server stopped with an error")
    }
}

fn log_start(state: &AppState, address: SocketAddr) {
    let (synthesizer, renderer) = (state.synthesizer.info(), state.renderer.info());
    let mode = if synthesizer.offline || renderer.offline {
        "offline"
    } else {
        "live"
    };
    let spa = Path::new(&state.settings.static_dir).join("index.html");
    tracing::info!(
        mode,
        synthesizer = %synthesizer.label,
        images = %renderer.label,
        spa = spa.is_file(),
        "Prompt Refinery is running at http://{address}"
    );
    if state.settings.session.ephemeral_secret {
        tracing::warn!(
            "SESSION_SECRET is not set: using a random one, so sessions end when the server stops"
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
