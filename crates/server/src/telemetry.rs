//! Logging setup. `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes JSON lines.
//! Nothing logs keys, cookies, prompts, ideas or answers: lengths and ids only.

use std::io::IsTerminal;

use std::fmt;

use tracing::field::Field;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{self, Writer};
use tracing_subscriber::fmt::{FormatFields, MakeWriter};

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
    } else if ansi {
        builder.try_init()
    } else {
        builder.fmt_fields(plain_fields()).try_init()
    };
}

/// Fields as tracing-subscriber's default writes them without colour (`name=value`, the message
/// bare, space-separated), without its styling pass: the default formats each field's name
/// through its colour code writer even when colour is off, which cost more than the value itself,
/// and every request's span formats its fields when it opens (docs/operations.md).
fn plain_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(
        |writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| match field.name() {
            "message" => write!(writer, "{value:?}"),
            name => write!(
                writer,
                "{}={value:?}",
                name.strip_prefix("r#").unwrap_or(name)
            ),
        },
    )
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A request's span, a field recorded later, and lines inside it, as a subscriber writes them.
    fn written(
        subscriber: impl tracing::Subscriber + Send + Sync + 'static,
        lines: &Lines,
    ) -> String {
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                method = %"GET",
                route = tracing::field::Empty,
                path = %"/api/session",
                request_id = "4b1d",
            );
            let _entered = span.enter();
            span.record("route", "/api/session");
            tracing::info!(
                status = 404u16,
                latency_ms = 3u64,
                r#type = "x",
                "finished processing request"
            );
            tracing::warn!(error = %"the store said no", "a job failed");
        });
        let bytes = lines.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn plain_fields_read_exactly_as_the_default_ones_without_colour() {
        let (default, plain) = (Lines::default(), Lines::default());
        let with_default = {
            let lines = default.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .without_time()
                .with_writer(move || lines.clone())
                .finish()
        };
        let with_plain = {
            let lines = plain.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .without_time()
                .with_writer(move || lines.clone())
                .fmt_fields(plain_fields())
                .finish()
        };
        let (expected, got) = (written(with_default, &default), written(with_plain, &plain));
        assert!(
            expected.contains(
                r#"request{method=GET path=/api/session request_id="4b1d" route="/api/session"}"#
            ),
            "{expected}"
        );
        assert!(
            expected.contains("finished processing request status=404 latency_ms=3 type=\"x\""),
            "{expected}"
        );
        assert_eq!(got, expected);
    }
}
