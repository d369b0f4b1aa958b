//! The start-up model check, seen as an operator sees it: a WARN line naming a model that is
//! missing or shuts down within 30 days (and the setting to change), one INFO line when the
//! provider cannot be reached, and a start that never waits for any of it.

use std::time::Duration;

use contracts::paths;
use reqwest::StatusCode;
use server::model_check::{Finding, Verdict};
use simulator::Config;

use crate::helpers::{captured_logs, spawn_app_with};

const OPENAI_KEY: &str = "sk-model-check-key-must-not-leak";
const GEMINI_KEY: &str = "AIza-model-check-key-must-not-leak";

/// The log lines that mention `model`.
fn lines_about(logs: &str, model: &str) -> Vec<String> {
    logs.lines()
        .filter(|line| line.contains(model))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_model_shutting_down_soon_and_a_missing_one_are_each_a_warning() {
    let logs = captured_logs();
    let soon = time::OffsetDateTime::now_utc().date() + time::Duration::days(12);
    let (addr, sim) = simulator::spawn(Config {
        shutdown_dates: vec![("gpt-6-luna-sunset-check".into(), soon.to_string())],
        missing_models: vec!["gemini-banana-never-was".into()],
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        s.openai.api_key = Some(OPENAI_KEY.to_owned().into());
        s.openai.base_url = format!("http://{addr}/v1");
        s.openai.model = "gpt-6-luna-sunset-check".into();
        s.nanobanana.api_key = Some(GEMINI_KEY.to_owned().into());
        s.nanobanana.api_url = format!("http://{addr}");
        s.nanobanana.model = "gemini-banana-never-was".into();
    })
    .await;

    let findings = app.state.model_check.finished().await;
    assert_eq!(
        *findings,
        [
            Finding {
                setting: "OPENAI_MODEL",
                model: "gpt-6-luna-sunset-check".into(),
                verdict: Verdict::ShutsDown(soon),
            },
            Finding {
                setting: "NANOBANANA_MODEL",
                model: "gemini-banana-never-was".into(),
                verdict: Verdict::Missing,
            },
        ]
    );
    let received = sim.received();
    let lookup = |path: &str| {
        received
            .iter()
            .find(|r| r.method == "GET" && r.path == path)
            .unwrap_or_else(|| panic!("{path} was looked up"))
    };
    let openai = lookup("/v1/models/gpt-6-luna-sunset-check");
    assert_eq!(
        openai.headers["authorization"],
        format!("Bearer {OPENAI_KEY}").as_str()
    );
    let gemini = lookup("/v1beta/models/gemini-banana-never-was");
    assert_eq!(gemini.headers["x-goog-api-key"], GEMINI_KEY);

    let logs = logs.text();
    let sunset = lines_about(&logs, "gpt-6-luna-sunset-check");
    assert!(
        sunset.iter().any(|l| l.contains("WARN")
            && l.contains(&soon.to_string())
            && l.contains("in 12 days")
            && l.contains("Set OPENAI_MODEL")),
        "a WARN names the model, its date and the setting: {sunset:#?}"
    );
    let missing = lines_about(&logs, "gemini-banana-never-was");
    assert!(
        missing
            .iter()
            .any(|l| l.contains("WARN") && l.contains("Set NANOBANANA_MODEL")),
        "a WARN names the missing model and the setting: {missing:#?}"
    );
    for key in [OPENAI_KEY, GEMINI_KEY] {
        assert!(!logs.contains(key), "a key reached the logs");
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_one_info_line_and_no_warning() {
    let logs = captured_logs();
    // A port nobody listens on: bound by the OS, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let app = spawn_app_with(|s| {
        s.openai.api_key = Some(OPENAI_KEY.to_owned().into());
        s.openai.base_url = format!("http://{closed}/v1");
        s.openai.model = "gpt-6-luna-unreachable-check".into();
    })
    .await;

    let findings = app.state.model_check.finished().await;
    assert_eq!(findings.len(), 1, "only the live provider is looked up");
    assert!(
        matches!(findings[0].verdict, Verdict::Unchecked(_)),
        "{findings:?}"
    );
    let lines = lines_about(&logs.text(), "gpt-6-luna-unreachable-check");
    assert_eq!(lines.len(), 1, "one line: {lines:#?}");
    assert!(
        lines[0].contains("INFO") && lines[0].contains("not checked"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn the_server_answers_while_the_lookup_is_still_waiting() {
    // Every simulator answer takes a minute; the lookups give up after 10 s.
    let (addr, _sim) = simulator::spawn(Config {
        latency: Duration::from_secs(60),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        s.nanobanana.api_key = Some(GEMINI_KEY.to_owned().into());
        s.nanobanana.api_url = format!("http://{addr}");
    })
    .await;
    let health = app.get(paths::HEALTHZ).await;
    assert_eq!(health.status(), StatusCode::OK);
    let templates = app.get(paths::TEMPLATES).await;
    assert_eq!(templates.status(), StatusCode::OK);
    assert!(
        !app.state.model_check.is_finished(),
        "the server started and answered before the lookup did"
    );
}
