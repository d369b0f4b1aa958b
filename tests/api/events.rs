//! `GET /api/generate/{jobId}/events`: a job's stages as server-sent events, read as they
//! arrive; the final `done` event; resuming with `Last-Event-ID`; the same access rules as the
//! long-poll.

use contracts::JobStatus;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{EventReader, SseEvent, error_of, spawn_app_with, stage_order};

/// Checks a whole stream: stage events in the job's order, each carrying its stage, then one
/// `done` event with the finished job, and nothing after it.
fn assert_well_formed(events: &[SseEvent]) -> contracts::JobView {
    let (done, stages) = events.split_last().expect("at least the done event");
    assert_eq!(done.event, "done", "{events:?}");
    assert_eq!(done.id.as_deref(), Some("done"));
    let mut last = None;
    for event in stages {
        assert_eq!(event.event, "stage", "{events:?}");
        let job = event.job();
        assert!(!job.status.is_terminal());
        assert!(
            last < Some(stage_order(job.status)),
            "stages move forward: {events:?}"
        );
        last = Some(stage_order(job.status));
        assert!(event.id.is_some(), "every event has an id");
    }
    done.job()
}

#[tokio::test]
async fn the_stream_reports_each_stage_then_done_and_ends() {
    // Each offline step takes a second, so every stage is open long enough to be reported.
    let app = spawn_app_with(|s| s.offline.latency = std::time::Duration::from_secs(1)).await;
    app.ready_session("a lighthouse keeper").await;
    let job = app.generate(json!({"reusePrompt": false})).await;
    let response = app.job_events(&job.job_id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
    assert_eq!(header("x-accel-buffering").as_deref(), Some("no"));

    let events = EventReader::new(response).all().await;
    let done = assert_well_formed(&events);
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.job_id, job.job_id);
    assert!(done.image.is_some());
    let seen: Vec<JobStatus> = events.iter().map(|e| e.job().status).collect();
    assert!(
        seen.contains(&JobStatus::Rendering),
        "a second-long stage is reported: {seen:?}"
    );
    // The same end as the long-poll reports.
    assert_eq!(app.finished(&job.job_id).await, done);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_resumes_without_losing_done() {
    let app = spawn_app_with(|s| s.offline.latency = std::time::Duration::from_secs(1)).await;
    app.ready_session("a heron").await;
    let job = app.generate(json!({})).await;

    // Read one stage event, then drop the connection as a flaky network would.
    let mut reader = EventReader::new(app.job_events(&job.job_id, None).await);
    let first = reader.next().await.expect("a first event");
    assert_eq!(first.event, "stage");
    drop(reader);

    let resumed = EventReader::new(app.job_events(&job.job_id, first.id.as_deref()).await)
        .all()
        .await;
    let done = assert_well_formed(&resumed);
    assert_eq!(done.status, JobStatus::Succeeded);
    assert!(
        resumed.iter().all(|e| e.id != first.id),
        "nothing already received is sent again: {resumed:?}"
    );

    // After the job ended, a reconnect from before the end still gets the done event.
    let late = EventReader::new(app.job_events(&job.job_id, first.id.as_deref()).await)
        .all()
        .await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].event, "done");
    assert_eq!(late[0].job(), done);

    // One that already has it is told to stop (204 ends EventSource's reconnects).
    let after_done = app.job_events(&job.job_id, Some("done")).await;
    assert_eq!(after_done.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_the_jobs_own_session_may_follow_it() {
    let app = spawn_app_with(|_| {}).await;
    app.ready_session("a fox").await;
    let job = app.generate(json!({})).await;

    let (status, error) = error_of(app.job_events("no-such-job", None).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );
    let stranger = app.another_person();
    stranger.ready_session("a badger").await;
    let (status, error) = error_of(stranger.job_events(&job.job_id, None).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );
    let nobody = app.another_person();
    let (status, error) = error_of(nobody.job_events(&job.job_id, None).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );
    // The owner's stream still ends with the job.
    let events = EventReader::new(app.job_events(&job.job_id, None).await)
        .all()
        .await;
    assert_eq!(assert_well_formed(&events).status, JobStatus::Succeeded);
}
