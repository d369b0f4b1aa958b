//! Logging setup. `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes JSON lines.
//! Nothing logs keys, cookies, prompts, ideas or answers: lengths and ids only.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const DEFAULT_FILTER: &str = "info,hyper=warn,reqwest=warn";

/// Installs the global subscriber (once; later calls are no-ops), writing to stdout.
pub fn init() {
    install(std::io::stdout, std::io::stdout().is_terminal());
}

/// [`init`] with the lines going to `writer`: benchmarks pay for formatting every line the
/// binary would write without printing them.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    install(writer, false);
}

/// Colours only for a person at a terminal: in a file, a pipe or a journal the escape codes are
/// noise, and writing them costs a formatting pass over every field of every request's span.
fn install<W>(writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
