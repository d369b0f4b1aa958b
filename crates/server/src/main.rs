//! `refinery`: loads the configuration, starts the server, stops on Ctrl-C or SIGTERM.

fn main() -> std::process::ExitCode {
    server::startup::run_main()
}
