//! Speculative prompt synthesis, observed at the provider simulator: the prompt is written once
//! per brief as soon as the brief is complete, Generate uses it (waiting while it is written), a
//! changed answer supersedes it, and `SPECULATIVE_SYNTHESIS=false` writes nothing ahead.

use std::time::Duration;

use contracts::{JobStatus, paths};
use reqwest::StatusCode;
use serde_json::json;
use server::config::{Settings, SynthesisFallback};
use server::session::cookie::{COOKIE_NAME, CookieSigner};
use server::session::{SessionData, SpeculationState};
use simulator::Config;
use store::SessionId;

use crate::helpers::{TestApp, live_providers_at, spawn_app_with};

/// The secret `Settings::for_tests` signs cookies with.
const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A server on the live adapters, with prompt writing taking `writing` at the simulator.
async fn live(
    writing: Duration,
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, simulator::Handle) {
    let (addr, sim) = simulator::spawn(Config {
        openai_latency: Some(writing),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        s.openai.fallback = SynthesisFallback::Off;
        configure(s);
    })
    .await;
    (app, sim)
}

/// Prompt-writing requests the simulator received.
fn prompt_calls(sim: &simulator::Handle) -> Vec<serde_json::Value> {
    sim.received()
        .into_iter()
        .filter(|r| r.path == "/v1/responses")
        .map(|r| r.body)
        .collect()
}

fn image_calls(sim: &simulator::Handle) -> usize {
    sim.received()
        .iter()
        .filter(|r| r.path.ends_with(":generateContent"))
        .count()
}

/// Waits (bounded) until the simulator has received `n` prompt requests.
async fn until_prompt_calls(sim: &simulator::Handle, n: usize) {
    for _ in 0..500 {
        if prompt_calls(sim).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the simulator did not receive {n} prompt requests in 10 s");
}

/// Starts a session (reading its id from the cookie) and answers the three questions.
async fn ready(app: &TestApp, idea: &str) -> SessionId {
    let response = app
        .post_json(
            paths::SESSION_START,
            &json!({"templateId": "general-cinematic", "initialInput": idea}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{COOKIE_NAME}=")))
        .and_then(|c| c.split(';').next())
        .expect("the session cookie")
        .to_owned();
    let id = CookieSigner::new(SECRET.to_owned().into())
        .verify(&cookie)
        .expect("a cookie this server signed");
    app.answer("a lighthouse on a storm-lashed island at dusk")
        .await;
    app.answer("tense, cold blue light with warm lamp glow")
        .await;
    app.answer("wide establishing shot from a low angle").await;
    id
}

/// The session as stored: the speculation is server-side only, never in a response.
async fn stored(app: &TestApp, id: &SessionId) -> SessionData {
    let response = app.get(paths::SESSION).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains("speculation") && !text.contains("richly detailed"),
        "{text}"
    );
    app.state
        .sessions
        .get::<SessionData>(id)
        .await
        .expect("the store answers")
        .expect("the session")
        .value
}

#[tokio::test]
async fn the_prompt_is_written_when_the_brief_completes_and_generate_uses_it() {
    let (app, sim) = live(Duration::ZERO, |_| {}).await;
    ready(&app, "a lighthouse keeper").await;
    // Written before anyone pressed Generate, and nothing sent to the image provider.
    until_prompt_calls(&sim, 1).await;
    assert_eq!(image_calls(&sim), 0);

    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(
        prompt_calls(&sim).len(),
        1,
        "Generate did not write it again"
    );
    assert_eq!(image_calls(&sim), 1);

    // A re-think writes a new prompt; a new take reuses it.
    let rethink = app.generate(json!({"reusePrompt": false})).await;
    app.finished(&rethink.job_id).await;
    let new_take = app.generate(json!({"reusePrompt": true})).await;
    app.finished(&new_take.job_id).await;
    assert_eq!(prompt_calls(&sim).len(), 2);
}

/// A prompt already written when Generate is pressed is used as the request read it (no store
/// round trip before the image call), and cleared from the session with the job's prompt, so a
/// re-think still writes a new one.
#[tokio::test]
async fn a_prompt_written_before_generate_is_used_once_and_a_rethink_writes_anew() {
    let (app, sim) = live(Duration::ZERO, |_| {}).await;
    let id = ready(&app, "a fox in the snow").await;
    let mut written = false;
    for _ in 0..500 {
        if matches!(
            stored(&app, &id).await.speculation.map(|s| s.state),
            Some(SpeculationState::Ready(_))
        ) {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(written, "the prompt was not written ahead in 10 s");

    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(prompt_calls(&sim).len(), 1, "Generate wrote no prompt");
    assert_eq!(image_calls(&sim), 1);
    let after = stored(&app, &id).await;
    assert!(after.speculation.is_none(), "it was taken");
    assert!(
        after.synthesis.is_some(),
        "the job's prompt is the session's"
    );

    let rethink = app.generate(json!({"reusePrompt": false})).await;
    let done = app.finished(&rethink.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(
        prompt_calls(&sim).len(),
        2,
        "a re-think writes a new prompt"
    );
}

#[tokio::test]
async fn generate_during_the_write_waits_for_it_instead_of_writing_twice() {
    let (app, sim) = live(Duration::from_millis(1500), |_| {}).await;
    let id = ready(&app, "a heron in the reeds").await;
    assert!(matches!(
        stored(&app, &id).await.speculation.map(|s| s.state),
        Some(SpeculationState::Writing { .. })
    ));
    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(prompt_calls(&sim).len(), 1, "one prompt for one brief");
    assert!(
        stored(&app, &id).await.speculation.is_none(),
        "it was taken"
    );
}

#[tokio::test]
async fn a_changed_answer_supersedes_the_write_in_flight() {
    let (app, sim) = live(Duration::from_millis(1500), |_| {}).await;
    let id = ready(&app, "a fox").await;
    let before = stored(&app, &id)
        .await
        .speculation
        .expect("a write started");
    until_prompt_calls(&sim, 1).await;

    let response = app
        .client
        .put(app.url("/api/session/answers/2"))
        .json(&json!({"answer": "warm amber lantern light in fog"}))
        .send()
        .await
        .expect("revise");
    assert_eq!(response.status(), StatusCode::OK);
    let after = stored(&app, &id)
        .await
        .speculation
        .expect("a new write started");
    assert_ne!(after.brief, before.brief);
    assert_ne!(after.attempt, before.attempt);

    let job = app.generate(json!({})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let calls = prompt_calls(&sim);
    assert_eq!(
        calls.len(),
        2,
        "the superseded write, the new one, and no third"
    );
    assert!(
        calls[1]
            .to_string()
            .contains("warm amber lantern light in fog"),
        "the new write follows the changed answer"
    );
}

#[tokio::test]
async fn with_speculation_off_the_prompt_is_written_only_by_generate() {
    let (app, sim) = live(Duration::ZERO, |s| s.speculative_synthesis = false).await;
    let id = ready(&app, "a badger").await;
    assert!(
        stored(&app, &id).await.speculation.is_none(),
        "no write was started"
    );
    assert!(prompt_calls(&sim).is_empty());
    let job = app.generate(json!({})).await;
    assert_eq!(app.finished(&job.job_id).await.status, JobStatus::Succeeded);
    assert_eq!(prompt_calls(&sim).len(), 1);
}

#[tokio::test]
async fn a_session_started_from_a_recipe_has_its_prompt_written_ahead() {
    let (app, sim) = live(Duration::ZERO, |_| {}).await;
    ready(&app, "a lighthouse keeper").await;
    let job = app.generate(json!({})).await;
    app.finished(&job.job_id).await;
    let response = app.post_json(paths::RECIPES, &json!({})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let link: contracts::RecipeCreated = response.json().await.expect("a recipe link");
    let written = prompt_calls(&sim).len();

    let partner = app.another_person();
    let response = partner
        .post_json(paths::SESSION_START, &json!({"recipeId": link.recipe_id}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The brief is complete at once, so its prompt is written before Generate is pressed.
    until_prompt_calls(&sim, written + 1).await;
    let job = partner.generate(json!({})).await;
    let done = partner.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(
        prompt_calls(&sim).len(),
        written + 1,
        "Generate used the prompt written ahead"
    );
}
