//! Variations and image sizes: `count` images from one prompt, each its own provider call, seed
//! and quota unit; `imageSize` where the configured model makes it; partial failures.

use std::collections::HashSet;
use std::time::Duration;

use contracts::{ImageSize, ImageView, JobStatus, JobView, MetaResponse, paths};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::Settings;
use simulator::{Config, Fault};

use crate::helpers::{TestApp, error_of, live_providers_at, spawn_app, spawn_app_with};

/// The app on the live adapters, pointed at the simulator with `gemini` as its image script.
async fn live_app(
    gemini: &str,
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, simulator::Handle) {
    let (addr, sim) = simulator::spawn(Config {
        gemini_faults: simulator::parse_script(gemini).expect("a script"),
        hang: Duration::from_secs(60),
        // The capability tests use a retired model's table (1K only, classic ratios); here it
        // still answers, as it did before its shutdown.
        missing_models: Vec::new(),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        s.nanobanana.model = "gemini-nano-banana-2.1".into();
        configure(s);
    })
    .await;
    (app, sim)
}

async fn bytes_of(app: &TestApp, image: &ImageView) -> Vec<u8> {
    let response = app.get(&image.url).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", image.url);
    response.bytes().await.expect("bytes").to_vec()
}

/// Checks a job's four images are distinct files with their own ids, `image` the first.
async fn assert_four_distinct(app: &TestApp, done: &JobView) {
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.images.len(), 4);
    assert_eq!(
        done.image.as_ref(),
        done.images.first(),
        "`image` is the first"
    );
    assert_eq!(done.failed_images, None);
    assert_eq!(done.progress, None);
    let ids: HashSet<&str> = done.images.iter().map(|i| i.image_id.as_str()).collect();
    assert_eq!(ids.len(), 4, "four image ids");
    for image in &done.images {
        assert_eq!(image.url, paths::image(&image.image_id));
    }
    let mut files = HashSet::new();
    for image in &done.images {
        files.insert(bytes_of(app, image).await);
    }
    assert_eq!(files.len(), 4, "four different files");
}

fn gemini_calls(sim: &simulator::Handle) -> Vec<Value> {
    sim.received()
        .into_iter()
        .filter(|r| r.path.ends_with(":generateContent"))
        .map(|r| r.body)
        .collect()
}

#[tokio::test]
async fn four_variations_offline_are_four_different_pictures_and_the_session_keeps_them_all() {
    let app = spawn_app().await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({"count": 4})).await;
    let done = app.finished(&job.job_id).await;
    assert_four_distinct(&app, &done).await;
    let session = app.session().await;
    assert_eq!(session.images[..4], done.images[..], "listed in order");
    assert_eq!(session.last_image.as_ref(), done.images.first());
}

#[tokio::test]
async fn a_new_take_and_a_rethink_draw_new_pictures_offline() {
    let app = spawn_app().await;
    app.ready_session("a fox in the snow").await;
    let mut seen = HashSet::new();
    for reuse in [false, true, true, false] {
        let job = app.generate(json!({"reusePrompt": reuse})).await;
        let done = app.finished(&job.job_id).await;
        let image = done.image.expect("an image");
        assert!(
            seen.insert(bytes_of(&app, &image).await),
            "generation with reusePrompt={reuse} repeated an earlier picture"
        );
    }
}

#[tokio::test]
async fn the_image_size_changes_the_offline_pixels() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let mut sizes = Vec::new();
    for size in ["1K", "2K"] {
        let job = app
            .generate(json!({"aspectRatio": "1:1", "imageSize": size}))
            .await;
        let image = app.finished(&job.job_id).await.image.expect("an image");
        assert_eq!(image.image_size.as_str(), size);
        let png = bytes_of(&app, &image).await;
        // The PNG header's own width and height (IHDR), not only what the view says.
        let header =
            |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        assert_eq!((header(16), header(20)), (image.width, image.height));
        sizes.push((image.width, image.height));
    }
    assert_eq!(sizes, [(1024, 1024), (2048, 2048)]);
}

#[tokio::test]
async fn a_count_outside_one_to_four_is_refused_before_any_work() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    for count in [
        json!(0),
        json!(5),
        json!(-1),
        json!(1.5),
        json!("4"),
        json!(300),
    ] {
        let (status, error) = error_of(
            app.post_json(paths::GENERATE, &json!({"count": count}))
                .await,
        )
        .await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "count {count}"
        );
    }
    let (_, error) = error_of(app.post_json(paths::GENERATE, &json!({"count": 5})).await).await;
    assert!(error.error.contains("1 to 4"), "{}", error.error);
    assert!(app.session().await.job.is_none(), "no job was queued");
}

#[tokio::test]
async fn four_variations_live_are_four_calls_four_files_and_four_quota_units() {
    let (app, sim) = live_app("", |s| s.quota_per_session_day = Some(10)).await;
    app.ready_session("a lighthouse keeper").await;
    let job = app
        .generate(json!({"count": 4, "imageSize": "2K", "aspectRatio": "4:1"}))
        .await;
    let done = app.finished(&job.job_id).await;
    assert_four_distinct(&app, &done).await;
    let calls = gemini_calls(&sim);
    assert_eq!(calls.len(), 4, "one generateContent call per image");
    for body in &calls {
        assert_eq!(
            body["generationConfig"]["imageConfig"],
            json!({"aspectRatio": "4:1", "imageSize": "2K"}),
            "the size and ratio reach Gemini"
        );
    }
    assert_eq!(app.quota_used_globally().await, 4);
    let quota = app.session().await.quota.expect("limits are shown");
    assert_eq!(quota.session_left, Some(6));
}

#[tokio::test]
async fn a_job_that_would_pass_a_limit_is_refused_whole_before_any_call() {
    let (app, sim) = live_app("", |s| s.quota_per_session_day = Some(5)).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({"count": 4})).await;
    assert_eq!(app.finished(&job.job_id).await.images.len(), 4);
    let calls = gemini_calls(&sim).len();

    let response = app.post_json(paths::GENERATE, &json!({"count": 2})).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded")
    );
    assert_eq!(gemini_calls(&sim).len(), calls, "no provider call");
    assert_eq!(app.quota_used_globally().await, 4, "nothing of it counted");
    assert_eq!(
        app.session().await.job.map(|j| j.job_id),
        Some(job.job_id),
        "no new job"
    );
    // The one unit left is still usable.
    let last = app.generate(json!({"count": 1})).await;
    assert_eq!(
        app.finished(&last.job_id).await.status,
        JobStatus::Succeeded
    );
}

#[tokio::test]
async fn some_images_failing_still_succeeds_with_the_rest_and_says_how_many_and_why() {
    // Content blocks are not retried, so exactly one of the four calls fails.
    let (app, sim) = live_app("ok,image_safety,ok,ok", |_| {}).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({"count": 4})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.images.len(), 3);
    assert_eq!(done.image.as_ref(), done.images.first());
    let failed = done.failed_images.expect("the failure is reported");
    assert_eq!((failed.count, failed.code.as_str()), (1, "content_blocked"));
    assert_eq!(done.error, None);
    assert_eq!(gemini_calls(&sim).len(), 4);
    // Counted like any provider failure: the call was made.
    assert_eq!(app.quota_used_globally().await, 4);
}

#[tokio::test]
async fn every_image_failing_fails_the_job_with_the_first_failure() {
    let (app, sim) = live_app("image_safety,image_safety", |_| {}).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({"count": 2})).await;
    let done = app.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(
        done.error.map(|e| e.code).as_deref(),
        Some("content_blocked")
    );
    assert!(done.images.is_empty() && done.image.is_none());
    assert_eq!(gemini_calls(&sim).len(), 2);
    sim.set_faults("gemini", vec![Fault::Ok]);
    let again = app.generate(json!({"reusePrompt": true})).await;
    assert_eq!(
        app.finished(&again.job_id).await.status,
        JobStatus::Succeeded
    );
}

#[tokio::test]
async fn a_rendering_job_reports_its_progress() {
    // Two images come at once; the third hangs, so the job stays rendering at 2 of 3.
    let (app, _sim) = live_app("ok,ok,timeout", |_| {}).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({"count": 3})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let progress = loop {
        let view: JobView = app
            .get(&paths::job(&job.job_id))
            .await
            .json()
            .await
            .expect("a job view");
        if let Some(progress) = view.progress
            && progress.done == 2
        {
            assert_eq!(view.status, JobStatus::Rendering);
            break progress;
        }
        assert!(!view.status.is_terminal(), "{view:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress: {view:?}"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(progress.total, 3);
}

#[tokio::test]
async fn a_size_or_ratio_the_model_cannot_make_is_refused_naming_what_it_can() {
    let (app, sim) = live_app("", |s| s.nanobanana.model = "gemini-2.5-flash-image".into()).await;
    let meta: MetaResponse = app.get(paths::META).await.json().await.expect("meta");
    assert_eq!(meta.image_sizes, [ImageSize::OneK]);
    assert_eq!(meta.aspect_ratios.len(), 10);
    assert!(!meta.aspect_ratios.iter().any(|r| r.as_str() == "8:1"));
    assert_eq!(meta.max_images_per_job, 4);
    assert!(meta.takes_images, "Gemini takes references and edits");

    app.ready_session("a fox").await;
    let (status, error) = error_of(
        app.post_json(paths::GENERATE, &json!({"imageSize": "2K"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        error.error.contains("2K") && error.error.contains("1K"),
        "{}",
        error.error
    );
    let (status, error) = error_of(
        app.post_json(paths::GENERATE, &json!({"aspectRatio": "8:1"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error.error.contains("8:1") && error.error.contains("16:9"),
        "{}",
        error.error
    );
    assert!(gemini_calls(&sim).is_empty(), "no provider call");
    assert_eq!(app.quota_used_globally().await, 0);

    // What it can make works, and no imageSize is sent to a model that takes none.
    let job = app.generate(json!({"aspectRatio": "21:9"})).await;
    assert_eq!(app.finished(&job.job_id).await.status, JobStatus::Succeeded);
    assert_eq!(
        gemini_calls(&sim)[0]["generationConfig"]["imageConfig"],
        json!({"aspectRatio": "21:9"})
    );
}

#[tokio::test]
async fn meta_offers_every_size_and_ratio_offline_and_for_nano_banana_2_1() {
    let offline = spawn_app().await;
    let (live, _sim) = live_app("", |_| {}).await;
    for app in [&offline, &live] {
        let meta: MetaResponse = app.get(paths::META).await.json().await.expect("meta");
        assert_eq!(meta.image_sizes, ImageSize::ALL);
        assert_eq!(meta.aspect_ratios.len(), 14);
        for ratio in ["1:4", "4:1", "1:8", "8:1"] {
            assert!(
                meta.aspect_ratios.iter().any(|r| r.as_str() == ratio),
                "{ratio}"
            );
        }
    }
}
