//! `GET /api/session` right after every kind of write that changes what it shows sees the write:
//! the brief's steps, a job's stages and end (written by a background task), a new job, start
//! over and a new start, references added and removed, an image deleted, quota spent by this
//! session and by others, a session dropped by the sweep or idle too long. Each test reads the
//! view first, so the instance holds a copy of it (docs/adr/0006-session-view-cache.md) that the
//! write must make stale. On PostgreSQL nothing is kept and the same reads must hold.

use std::time::{Duration, Instant};

use contracts::{JobStatus, JobView, ResumeResponse, SessionStatus, SessionView, paths};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

use crate::helpers::{
    EventReader, Person, error_of, live_providers_at, spawn_app, spawn_app_with, stage_order,
};
use crate::references::png;

/// The view a write answered with, as `GET /api/session` must show it right after.
async fn answered(response: reqwest::Response) -> SessionView {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a session view")
}

#[tokio::test]
async fn each_step_of_the_brief_shows_in_the_next_read() {
    let app = spawn_app().await;
    let started = app.start("a lighthouse keeper feeding a stray cat").await;
    assert_eq!(app.session().await, started);
    // Read twice: the second read is served from the instance's copy where there is one.
    assert_eq!(app.session().await, started);

    let first = app.answer("a storm-lashed island at dusk").await;
    assert_eq!(first.answers.len(), 1);
    assert_eq!(app.session().await, first);

    let skipped = app.skip().await;
    assert_eq!(skipped.answers.len(), 2);
    assert_eq!(app.session().await, skipped);

    let ready = app.answer("wide establishing shot from a low angle").await;
    assert_eq!(ready.status, SessionStatus::Ready);
    assert_eq!(app.session().await, ready);

    let revised = answered(
        app.client
            .put(app.url(&paths::answer(2)))
            .json(&json!({"answer": "tense, cold blue light with a warm lamp"}))
            .send()
            .await
            .expect("PUT is answered"),
    )
    .await;
    assert_eq!(
        revised.answers[1].answer,
        "tense, cold blue light with a warm lamp"
    );
    assert_eq!(app.session().await, revised);

    let back = answered(
        app.post_json(paths::SESSION_BACK, &json!({"question": 2}))
            .await,
    )
    .await;
    assert_eq!(back.status, SessionStatus::Refining);
    assert_eq!(app.session().await, back);
    // The resume read shows the same view.
    let resumed: ResumeResponse = app
        .get(paths::SESSION_RESUME)
        .await
        .json()
        .await
        .expect("a resume answer");
    assert_eq!(resumed.session, Some(back));
}

#[tokio::test]
async fn a_jobs_stages_and_end_show_in_the_next_read() {
    // Each offline step takes half a second, so a read lands in each stage.
    let app = spawn_app_with(|s| s.offline.latency = Duration::from_millis(500)).await;
    app.ready_session("a heron in a reed bed").await;
    assert_eq!(app.session().await.job, None);

    let job = app
        .generate(json!({"reusePrompt": false, "count": 2}))
        .await;
    // The new job shows at once, though the view was read (and kept) before it.
    let view = app.session().await;
    assert_eq!(
        view.job.as_ref().map(|j| j.job_id.as_str()),
        Some(job.job_id.as_str())
    );

    let mut events = EventReader::new(app.job_events(&job.job_id, None).await);
    let mut stages = 0;
    while let Some(event) = events.next().await {
        let reported = event.job();
        // Written by the job's task; the session view read after the event is never behind it.
        let shown = app.session().await.job.expect("the job shows");
        assert_eq!(shown.job_id, job.job_id);
        assert!(
            stage_order(shown.status) >= stage_order(reported.status),
            "the view shows {:?} after the stream reported {:?}",
            shown.status,
            reported.status
        );
        if let (Some(shown), Some(reported)) = (shown.progress, reported.progress)
            && shown.total == reported.total
        {
            assert!(shown.done >= reported.done, "{shown:?} after {reported:?}");
        }
        if event.event == "done" {
            assert_eq!(shown, reported);
            break;
        }
        stages += 1;
    }
    assert!(stages >= 2, "the job was seen in several stages");
    let done = app.session().await;
    assert_eq!(
        done.job.as_ref().map(|j| j.status),
        Some(JobStatus::Succeeded)
    );
    assert_eq!(done.images.len(), 2);
    assert_eq!(done.last_image, done.images.first().cloned());

    // A new take is the newest job at once.
    let again = app.generate(json!({"reusePrompt": true})).await;
    let view = app.session().await;
    assert_eq!(view.job.map(|j| j.job_id), Some(again.job_id.clone()));
    app.finished(&again.job_id).await;
    assert_eq!(app.session().await.images.len(), 3);
}

/// The session cookie a start set, as `name=value`, to send by hand after the jar forgot it.
fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a start sets the session cookie");
    set.split(';').next().expect("name=value").to_owned()
}

/// `GET /api/session` with `cookie` and no jar.
async fn read_with(person: &Person, cookie: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(person.url(paths::SESSION))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("GET is answered")
}

#[tokio::test]
async fn start_over_and_a_new_start_end_the_old_session_at_once() {
    let app = spawn_app().await;
    let start = async |idea: &str| {
        app.post_json(
            paths::SESSION_START,
            &json!({"templateId": "general-cinematic", "initialInput": idea}),
        )
        .await
    };
    let first = start("a fox in the snow").await;
    let first_cookie = session_cookie(&first);
    assert_eq!(
        read_with(&app, &first_cookie).await.status(),
        StatusCode::OK
    );

    // A new start replaces the session: the old cookie's session is gone.
    let second = start("a heron at dawn").await;
    let second_cookie = session_cookie(&second);
    let (status, error) = error_of(read_with(&app, &first_cookie).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );
    assert_eq!(app.session().await.idea, "a heron at dawn");

    // Start over drops it too, though the view was just read.
    assert_eq!(
        read_with(&app, &second_cookie).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.delete(paths::SESSION).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, _) = error_of(read_with(&app, &second_cookie).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn references_added_and_removed_show_in_the_next_read() {
    let app = spawn_app().await;
    app.start("our product on a beach").await;
    assert!(app.session().await.references.is_empty());

    let added = app.add_reference(png(16, 12), "the bottle").await;
    let view = app.session().await;
    assert_eq!(view.references, vec![added.clone()]);

    assert_eq!(
        app.delete(&paths::reference(&added.reference_id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(app.session().await.references.is_empty());
}

#[tokio::test]
async fn quota_spent_by_this_session_and_by_others_shows_in_the_next_read() {
    let (addr, _sim) = simulator::spawn(simulator::Config::default())
        .await
        .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        s.quota_per_session_day = Some(5);
        s.quota_global_day = Some(10);
    })
    .await;
    let left = |view: SessionView| {
        let quota = view.quota.expect("limits are shown");
        (quota.session_left, quota.global_left)
    };
    app.ready_session("a fox").await;
    assert_eq!(left(app.session().await), (Some(5), Some(10)));

    let job = app.generate(json!({"count": 2})).await;
    assert_eq!(left(app.session().await), (Some(3), Some(8)));
    app.finished(&job.job_id).await;

    // Another session's spending moves the global figure this session shows.
    let other = app.another_person();
    other.ready_session("a heron").await;
    let theirs = other.generate(json!({})).await;
    assert_eq!(left(app.session().await), (Some(3), Some(7)));
    other.finished(&theirs.job_id).await;
    assert_eq!(left(other.session().await), (Some(4), Some(7)));
}

#[tokio::test]
async fn a_session_dropped_by_the_sweep_is_gone_at_once() {
    // Room for one session: the sweep drops the least recently used beyond it.
    let app = spawn_app_with(|s| s.session.max_sessions = 1).await;
    app.start("a fox in the snow").await;
    assert_eq!(app.get(paths::SESSION).await.status(), StatusCode::OK);
    let other = app.another_person();
    other.start("a heron at dawn").await;

    // The server's own upkeep sweeps at start too, and under load that sweep may come after the
    // second start and drop the first session itself: whichever sweep drops it, it is gone at
    // once, and the other stays.
    let swept = app.state.store.sweep().await.expect("the sweep runs");
    assert!(swept.sessions <= 1, "{swept:?}");
    let (status, _) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(other.get(paths::SESSION).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_idle_past_its_timeout_is_gone_though_it_was_just_read() {
    let idle = Duration::from_secs(2);
    let app = spawn_app_with(|s| s.session.idle_timeout = idle).await;
    app.start("a fox in the snow").await;
    // The session was touched before its start was answered, so no later than now.
    let touched_by = Instant::now();
    assert_eq!(app.get(paths::SESSION).await.status(), StatusCode::OK);
    // The behaviour under test is the clock passing the timeout: nothing else is waited for.
    let expired_at = touched_by + idle + Duration::from_millis(50);
    tokio::time::sleep(expired_at.saturating_duration_since(Instant::now())).await;
    let (status, _) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deleted_image_leaves_the_view_and_its_job() {
    let app = spawn_app().await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let first = app.generate(json!({})).await;
    let first = app.finished(&first.job_id).await;
    let second = app.generate(json!({"reusePrompt": true})).await;
    let second = app.finished(&second.job_id).await;
    let (Some(old), Some(newest)) = (first.image, second.image) else {
        panic!("two images were made");
    };
    let before = app.session().await;
    assert_eq!(before.images, [newest.clone(), old.clone()]);
    assert_eq!(app.session().await, before);

    let deleted = app.delete(&paths::image(&newest.image_id)).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after = app.session().await;
    assert_eq!(
        after.images,
        std::slice::from_ref(&old),
        "the gallery strip"
    );
    assert_eq!(after.last_image, Some(old), "the image shown last");
    let job = after.job.expect("the newest job");
    assert_eq!(job.job_id, second.job_id);
    assert!(job.image.is_none() && job.images.is_empty(), "{job:?}");

    let polled = app.get(&paths::job(&second.job_id)).await;
    assert_eq!(polled.status(), StatusCode::OK);
    let polled: JobView = polled.json().await.expect("a job");
    assert!(
        polled.image.is_none() && polled.images.is_empty(),
        "the job's own address does not list it either: {polled:?}"
    );
}
