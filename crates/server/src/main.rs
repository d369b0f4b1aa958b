//! `refinery`: loads the configuration, starts the server, stops on Ctrl-C or SIGTERM.

/// mimalloc rather than the system allocator: a request allocates a few dozen small blocks (headers,
/// extensions, the span, futures), and glibc's malloc and free were a fifth of the server's own
/// instructions per request (docs/operations.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    server::memory::no_huge_pages();
    server::startup::run_main()
}
