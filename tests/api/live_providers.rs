//! The live adapters through the real server, pointed at the in-process provider simulator: the
//! whole REST flow works, each provider failure reaches the client as its documented code and
//! message, the session survives, a retry succeeds, and neither the prompt nor a key leaks.

use std::time::Duration;

use contracts::{JobStatus, JobView, SessionStatus, paths};
use providers::ProviderError;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::{NanoBananaMode, Settings, SynthesisFallback};
use server::error::provider_failure;
use simulator::Config;

use crate::helpers::{TestApp, spawn_app_with};

const OPENAI_KEY: &str = "sk-sim-openai-key-must-not-leak";
const NANOBANANA_KEY: &str = "AIza-sim-gemini-key-must-not-leak";
/// Words only the simulator's synthesized prompt contains.
const PROMPT_MARKER: &str = "richly detailed, cinematic image";

struct Live {
    app: TestApp,
    sim: simulator::Handle,
}

async fn live(openai: &str, gemini: &str, configure: impl FnOnce(&mut Settings)) -> Live {
    let (addr, sim) = simulator::spawn(Config {
        openai_faults: simulator::parse_script(openai).expect("openai script"),
        gemini_faults: simulator::parse_script(gemini).expect("gemini script"),
        hang: Duration::from_secs(60),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        s.openai.api_key = Some(OPENAI_KEY.to_owned().into());
        s.openai.base_url = format!("http://{addr}/v1");
        s.openai.fallback = SynthesisFallback::Off;
        s.nanobanana.api_key = Some(NANOBANANA_KEY.to_owned().into());
        s.nanobanana.api_url = format!("http://{addr}");
        // A scripted prompt fault is for Generate's write to meet, not a write ahead of it
        // (tests/api/speculation.rs covers those).
        s.speculative_synthesis = openai.is_empty();
        configure(s);
    })
    .await;
    Live { app, sim }
}

/// Fails the test if a response body or header carries the prompt or a key.
fn assert_no_secrets(text: &str) {
    for secret in [PROMPT_MARKER, OPENAI_KEY, NANOBANANA_KEY] {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
}

async fn get_text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = format!("{:?}", response.headers());
    assert_no_secrets(&headers);
    let text = response.text().await.expect("body");
    assert_no_secrets(&text);
    text
}

#[tokio::test]
async fn the_whole_rest_flow_runs_on_the_live_adapters() {
    let Live { app, sim } = live("", "", |_| {}).await;
    let meta = get_text(&app, paths::META).await;
    assert!(meta.contains("OpenAI") || !meta.is_empty());

    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({"aspectRatio": "3:2"})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let image = done.image.expect("an image");
    assert!(!image.offline_preview);
    assert_eq!(image.mime_type, "image/png");
    assert_eq!(
        image.alt,
        "A cinematic picture of a lighthouse keeper feeding a stray cat."
    );

    let response = app.get(&image.url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .bytes()
            .await
            .expect("bytes")
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    get_text(&app, &paths::job(&job.job_id)).await;
    get_text(&app, paths::SESSION).await;

    let received = sim.received();
    let openai = received
        .iter()
        .find(|r| r.path == "/v1/responses")
        .expect("OpenAI was called");
    assert_eq!(
        openai.headers["authorization"],
        format!("Bearer {OPENAI_KEY}").as_str()
    );
    assert_eq!(openai.body["store"], false);
    assert_eq!(openai.body["text"]["format"]["strict"], true);
    let gemini = received
        .iter()
        .find(|r| r.path.ends_with(":generateContent"))
        .expect("Gemini was called");
    assert_eq!(gemini.headers["x-goog-api-key"], NANOBANANA_KEY);
    assert_eq!(
        gemini.body["generationConfig"]["imageConfig"]["aspectRatio"],
        "3:2"
    );
    let sent_prompt = gemini.body["contents"][0]["parts"][0]["text"]
        .as_str()
        .expect("prompt");
    assert!(
        sent_prompt.contains(PROMPT_MARKER),
        "the synthesized prompt went to Gemini"
    );
}

/// Runs one generation that fails with `expected`, checks the job's envelope, that the session
/// survives, and that generating again (the script is used up) succeeds.
async fn fails_then_recovers(openai: &str, gemini: &str, expected: ProviderError) {
    let Live { app, sim: _sim } = live(openai, gemini, |s| {
        s.openai.timeout = Duration::from_secs(1);
        s.nanobanana.timeout = Duration::from_secs(2);
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let failed = app.finished(&job.job_id).await;
    assert_eq!(
        failed.status,
        JobStatus::Failed,
        "{openai}/{gemini}: {failed:?}"
    );
    let error = failed.error.expect("an error envelope");
    assert_eq!(error, provider_failure(&expected), "{openai}/{gemini}");
    get_text(&app, &paths::job(&job.job_id)).await;

    let session = app.session().await;
    assert_eq!(session.status, SessionStatus::Ready, "the session survives");
    assert_eq!(session.answers.len(), 3, "the answers are kept");

    let again = app.generate(json!({})).await;
    let done = app.finished(&again.job_id).await;
    assert_eq!(
        done.status,
        JobStatus::Succeeded,
        "a retry succeeds: {done:?}"
    );
}

#[tokio::test]
async fn a_refusal_is_synthesis_refused() {
    fails_then_recovers("refusal", "", ProviderError::Refused).await;
}

#[tokio::test]
async fn an_incomplete_answer_is_synthesis_incomplete() {
    fails_then_recovers("incomplete", "", ProviderError::Incomplete).await;
}

#[tokio::test]
async fn a_failed_response_is_synthesis_failed() {
    fails_then_recovers("failed", "", ProviderError::Failed(String::new())).await;
}

#[tokio::test]
async fn openai_quota_is_provider_quota() {
    fails_then_recovers("quota", "", ProviderError::QuotaExhausted).await;
}

#[tokio::test]
async fn a_rejected_openai_key_is_provider_auth() {
    fails_then_recovers("401", "", ProviderError::Auth).await;
}

#[tokio::test]
async fn a_hanging_prompt_writer_is_provider_timeout() {
    fails_then_recovers("timeout", "", ProviderError::Timeout).await;
}

#[tokio::test]
async fn an_unsafe_image_is_content_blocked() {
    fails_then_recovers(
        "",
        "image_safety",
        ProviderError::ContentBlocked {
            reason: String::new(),
        },
    )
    .await;
}

#[tokio::test]
async fn a_blocked_prompt_is_content_blocked() {
    fails_then_recovers(
        "",
        "prompt_blocked",
        ProviderError::ContentBlocked {
            reason: String::new(),
        },
    )
    .await;
}

#[tokio::test]
async fn text_only_twice_is_no_image() {
    fails_then_recovers(
        "",
        "text_only,text_only",
        ProviderError::NoImage {
            reason: String::new(),
        },
    )
    .await;
}

#[tokio::test]
async fn gemini_rate_limiting_is_rate_limited_with_its_delay() {
    fails_then_recovers(
        "",
        "429",
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
        },
    )
    .await;
}

#[tokio::test]
async fn a_rejected_gemini_key_is_provider_auth() {
    fails_then_recovers("", "auth", ProviderError::Auth).await;
}

#[tokio::test]
async fn a_gemini_outage_is_provider_unavailable() {
    fails_then_recovers("", "503,503,503", ProviderError::Unavailable).await;
}

#[tokio::test]
async fn a_hanging_image_model_is_provider_timeout() {
    fails_then_recovers("", "timeout", ProviderError::Timeout).await;
}

#[tokio::test]
async fn transient_faults_are_retried_inside_one_job() {
    let Live { app, sim } = live("429,ok", "503,ok", |_| {}).await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let calls = |suffix: &str| {
        sim.received()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    };
    assert_eq!(calls("/v1/responses"), 2);
    assert_eq!(calls(":generateContent"), 2);
}

#[tokio::test]
async fn a_prompt_writer_failure_falls_back_to_the_local_composer() {
    let Live { app, sim: _sim } = live("failed", "", |s| {
        s.openai.fallback = SynthesisFallback::Local;
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let image = done.image.expect("an image");
    assert!(!image.offline_preview, "the image is still the live one");
    assert!(
        image.summary.contains("storm-lashed island"),
        "the local composer's summary"
    );
}

#[tokio::test]
async fn task_mode_runs_the_whole_flow() {
    let Live { app, sim } = live("", "", |s| {
        s.nanobanana.mode = NanoBananaMode::Task;
        s.nanobanana.task.api_url = s.nanobanana.api_url.clone();
        s.nanobanana.task.poll_initial = Duration::from_millis(10);
        s.nanobanana.allow_private_result_urls = true;
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert!(sim.received().iter().any(|r| r.path.starts_with("/files/")));
}

/// Google's real 429 body, asking for a wait no deadline can meet.
const GEMINI_429: &str = include_str!("../../crates/simulator/fixtures/gemini-error-429.json");

#[tokio::test]
async fn an_absurd_gemini_retry_delay_fails_the_job_and_the_next_generate_starts_a_new_one() {
    let gemini = wiremock::MockServer::start().await;
    let mut body: Value = serde_json::from_str(GEMINI_429).expect("fixture");
    body["error"]["details"][2]["retryDelay"] = json!("1e20s");
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(429).set_body_json(body))
        .mount(&gemini)
        .await;
    let app = spawn_app_with(|s| {
        s.nanobanana.api_key = Some(NANOBANANA_KEY.to_owned().into());
        s.nanobanana.api_url = gemini.uri();
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;

    // One bounded long-poll each: a job left `rendering` fails the test instead of hanging it.
    let finished_within = |job_id: String| {
        let app = &app;
        async move {
            let response = app.get(&format!("{}?wait=20", paths::job(&job_id))).await;
            assert_eq!(response.status(), StatusCode::OK);
            let job: JobView = response.json().await.expect("a job view");
            job
        }
    };
    let first = app.generate(json!({})).await;
    let failed = finished_within(first.job_id.clone()).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    assert_eq!(failed.error.expect("an envelope").code, "rate_limited");

    let second = app.generate(json!({})).await;
    assert_ne!(second.job_id, first.job_id, "a new job, not the stuck one");
    let failed = finished_within(second.job_id).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    let generate_calls = gemini
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count();
    // (The start-up model check's GET is not a generation call.)
    assert_eq!(
        generate_calls, 2,
        "one call per job: a wait past the deadline is not started"
    );
    // The job's row says failed a moment before its task returns: wait for the task, bounded.
    assert!(
        app.state
            .jobs
            .wait_until_idle(Duration::from_secs(10))
            .await,
        "no job task is left running"
    );
}

/// A model the provider does not have: the job ends `provider_model_unavailable` after exactly one
/// call (another try cannot help), and the message names the setting to change.
async fn a_missing_model_fails_after_one_call(configure: impl FnOnce(&mut Settings), path: &str) {
    // No prompt written ahead: that call would fail the same way, and Generate (which does not
    // reuse a failed write) would make a second one.
    let Live { app, sim } = live("", "", |s| {
        configure(s);
        s.speculative_synthesis = false;
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let failed = app.finished(&job.job_id).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    let error = failed.error.expect("an error envelope");
    assert_eq!(error.code, contracts::codes::PROVIDER_MODEL_UNAVAILABLE);
    let calls = sim
        .received()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(path))
        .count();
    assert_eq!(calls, 1, "not retried");
    let session = app.session().await;
    assert_eq!(session.status, SessionStatus::Ready, "the session survives");
    get_text(&app, &paths::job(&job.job_id)).await;
}

#[tokio::test]
async fn a_retired_image_model_is_provider_model_unavailable_after_one_call() {
    // Deprecated on 2026-10-06 and gone since; the simulator answers 404 NOT_FOUND as Gemini does.
    a_missing_model_fails_after_one_call(
        |s| s.nanobanana.model = "gemini-3.1-flash-image".into(),
        ":generateContent",
    )
    .await;
}

#[tokio::test]
async fn a_missing_prompt_model_is_provider_model_unavailable_after_one_call() {
    a_missing_model_fails_after_one_call(
        |s| s.openai.model = "gpt-4.5-preview".into(),
        "/v1/responses",
    )
    .await;
}

#[tokio::test]
async fn the_missing_model_message_names_the_setting_to_change() {
    let Live { app, sim: _sim } = live("", "", |s| {
        s.nanobanana.model = "gemini-2.5-flash-image".into();
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    let error = app.finished(&job.job_id).await.error.expect("an error");
    assert!(
        error.error.contains("NANOBANANA_MODEL") && error.error.contains("gemini-2.5-flash-image"),
        "{}",
        error.error
    );
}
