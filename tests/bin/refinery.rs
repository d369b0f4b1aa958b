//! The `refinery` binary, built inside the test package so process tests can start, kill and
//! restart it (the same code as `crates/server/src/main.rs`).

fn main() -> std::process::ExitCode {
    server::startup::run_main()
}
