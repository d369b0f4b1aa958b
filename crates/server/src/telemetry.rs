//! Logging setup. `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes JSON lines.
//! Nothing logs keys, cookies, prompts, ideas or answers: lengths and ids only.

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "info,tower_http=info,hyper=warn,reqwest=warn";

/// Installs the global subscriber (once; later calls are no-ops).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
