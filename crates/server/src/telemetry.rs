//! Logging setup. `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes JSON lines.
//! Nothing logs keys, cookies, prompts, ideas or answers: lengths and ids only.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const DEFAULT_FILTER: &str = "info,hyper=warn,reqwest=warn";

/// Installs the global subscriber (once; later calls are no-ops), writing to stdout.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// [`init`] with the lines going to `writer`: benchmarks pay for formatting every line the
/// binary would write without printing them.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
