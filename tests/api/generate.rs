//! Generation jobs: both modes, aspect ratios, one job at a time, failures, cancellation.

use std::time::Duration;

use contracts::{JobStatus, SessionStatus, paths};
use reqwest::StatusCode;
use serde_json::json;

use server::config::SynthesisFallback;

use crate::helpers::{error_of, live_providers_at, spawn_app, spawn_app_with};

#[tokio::test]
async fn generate_before_three_answers_is_refused() {
    let app = spawn_app().await;
    app.start("a fox").await;
    app.answer("a birch forest at dawn").await;
    let before = app.session().await;
    let (status, error) = error_of(app.post_json(paths::GENERATE, &json!({})).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::CONFLICT, "refinement_incomplete")
    );
    assert_eq!(app.session().await, before);
}

#[tokio::test]
async fn the_requested_aspect_ratio_shapes_the_image() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({"aspectRatio": "9:16"})).await;
    let image = app.finished(&job.job_id).await.image.expect("image");
    assert_eq!((image.width, image.height), (768, 1365));
    assert_eq!(image.aspect_ratio.as_str(), "9:16");
}

#[tokio::test]
async fn an_unknown_aspect_ratio_is_refused_before_any_work() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let (status, error) = error_of(
        app.post_json(paths::GENERATE, &json!({"aspectRatio": "7:5"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        error.error.contains("7:5") || error.error.contains("aspectRatio"),
        "{}",
        error.error
    );
    assert!(app.session().await.job.is_none());
}

#[tokio::test]
async fn a_second_generate_while_one_runs_returns_the_running_job() {
    let app = spawn_app_with(|s| s.offline.latency = Duration::from_millis(400)).await;
    app.ready_session("a fox").await;
    let first = app.generate(json!({})).await;
    let second = app.generate(json!({"reusePrompt": true})).await;
    assert_eq!(first.job_id, second.job_id);
    assert!(!second.status.is_terminal());
    assert_eq!(
        app.finished(&first.job_id).await.status,
        JobStatus::Succeeded
    );
    let third = app.generate(json!({})).await;
    assert_ne!(
        third.job_id, first.job_id,
        "a finished job does not block the next"
    );
}

/// A job's task starts before its row is written, writing the prompt meanwhile: of two
/// Generates pressed together in one session, the one whose row is not written stops before
/// any image is asked for, and both get the one job.
#[tokio::test]
async fn two_generates_at_once_make_one_job_and_one_image() {
    let (addr, sim) = simulator::spawn(simulator::Config {
        openai_latency: Some(Duration::from_millis(300)),
        gemini_latency: Some(Duration::from_millis(200)),
        ..simulator::Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        s.openai.fallback = SynthesisFallback::Off;
        s.speculative_synthesis = false;
    })
    .await;
    app.ready_session("a fox").await;
    let (first, second) = tokio::join!(app.generate(json!({})), app.generate(json!({})));
    assert_eq!(first.job_id, second.job_id);
    let done = app.finished(&first.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let images = sim
        .received()
        .iter()
        .filter(|r| r.path.ends_with(":generateContent"))
        .count();
    assert_eq!(images, 1, "one image call for one job");
    let next = app.generate(json!({"reusePrompt": true})).await;
    assert_ne!(next.job_id, first.job_id, "nothing left running");
    assert_eq!(
        app.finished(&next.job_id).await.status,
        JobStatus::Succeeded
    );
}

/// The local composer is scripted to fail on its second call, so only a job that writes the
/// prompt again can fail: "new take" must succeed, "re-think" must fail.
#[tokio::test]
async fn new_take_reuses_the_prompt_and_rethink_writes_it_again() {
    let app = spawn_app_with(|s| s.offline.synthesis_faults = "ok,synthesis_failed".into()).await;
    app.ready_session("a fox").await;
    let first = app.finished(&app.generate(json!({})).await.job_id).await;
    assert_eq!(first.status, JobStatus::Succeeded);

    let new_take = app
        .finished(&app.generate(json!({"reusePrompt": true})).await.job_id)
        .await;
    assert_eq!(new_take.status, JobStatus::Succeeded);
    let (a, b) = (first.image.expect("a"), new_take.image.expect("b"));
    assert_ne!(a.url, b.url, "a new image");
    assert_eq!(a.summary, b.summary, "from the same prompt");

    let rethink = app
        .finished(&app.generate(json!({"reusePrompt": false})).await.job_id)
        .await;
    assert_eq!(rethink.status, JobStatus::Failed);
    assert_eq!(rethink.error.expect("error").code, "synthesis_failed");
}

#[tokio::test]
async fn rethink_after_changing_an_answer_follows_the_new_answer() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let first = app
        .finished(&app.generate(json!({})).await.job_id)
        .await
        .image
        .expect("image");
    assert!(first.summary.contains("tense, cold blue light"));

    app.post_json(paths::SESSION_BACK, &json!({"question": 2}))
        .await;
    app.answer("serene, pastel sunrise").await;
    let view = app.answer("wide establishing shot from a low angle").await;
    assert_eq!(view.status, SessionStatus::Ready);
    let second = app
        .finished(&app.generate(json!({})).await.job_id)
        .await
        .image
        .expect("image");
    assert!(
        second.summary.contains("serene, pastel sunrise"),
        "{}",
        second.summary
    );
    assert!(!second.summary.contains("tense"));
}

#[tokio::test]
async fn a_provider_failure_reaches_the_client_and_a_retry_succeeds() {
    let app = spawn_app_with(|s| s.offline.image_faults = "provider_unavailable".into()).await;
    let ready = app.ready_session("a fox").await;
    let failed = app.finished(&app.generate(json!({})).await.job_id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.error.expect("an error");
    assert_eq!(error.code, "provider_unavailable");
    assert!(error.error.contains("answers are kept"), "{}", error.error);

    let after = app.session().await;
    assert_eq!(
        (after.status, &after.answers),
        (SessionStatus::Ready, &ready.answers)
    );

    let retried = app
        .finished(&app.generate(json!({"reusePrompt": true})).await.job_id)
        .await;
    assert_eq!(retried.status, JobStatus::Succeeded);
}

#[tokio::test]
async fn another_sessions_job_and_unknown_ids_are_not_found() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let job = app.finished(&app.generate(json!({})).await.job_id).await;

    let stranger = app.another_person();
    stranger.ready_session("a heron").await;
    let (status, error) = error_of(stranger.get(&paths::job(&job.job_id)).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );

    let (status, error) = error_of(
        app.get(&paths::job("0123456789abcdef0123456789abcdef"))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );
    let (status, error) = error_of(
        app.get(&paths::image("0123456789abcdef0123456789abcdef"))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "image_not_found")
    );
    let (status, error) = error_of(
        app.get(&format!("{}?wait=soon", paths::job(&job.job_id)))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn start_over_cancels_a_running_generation() {
    let app = spawn_app_with(|s| s.offline.latency = Duration::from_secs(30)).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({})).await;
    assert_eq!(app.state.jobs.in_flight(), 1);

    assert_eq!(
        app.delete(paths::SESSION).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        app.state.jobs.wait_until_idle(Duration::from_secs(5)).await,
        "the job's task ended well before its 30 s provider call would have"
    );
    let (status, _) = error_of(app.get(&paths::job(&job.job_id)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.images_stored().await.0, 0, "no image was stored");
}
