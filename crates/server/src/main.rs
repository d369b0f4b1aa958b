//! `refinery`: loads the configuration, starts the server, stops on Ctrl-C or SIGTERM.

use server::{config::Settings, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a malformed one is reported by the settings below.
    let _ = dotenvy::dotenv();
    telemetry::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("refinery: cannot start: {e:#}");
            std::process::exit(2);
        }
    };
    let app = Application::build(settings).await?;
    app.run_until_stopped(server::startup::shutdown_signal())
        .await
}
