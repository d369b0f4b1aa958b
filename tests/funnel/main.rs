//! The funnel in /metrics, counted exactly. The metrics recorder is process-wide, so this test runs
//! in a binary of its own: in the api binary every other test's flow would count too, and a check
//! could pass on their events while this flow recorded nothing.

#[allow(
    dead_code,
    reason = "shared with the api tests; this binary uses a few of them"
)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::collections::HashMap;

use contracts::paths;
use reqwest::StatusCode;
use serde_json::json;

use helpers::{TestApp, spawn_app};

/// `refinery_funnel_events_total` by event, from the text exposition.
fn funnel(exposition: &str) -> HashMap<String, u64> {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix("refinery_funnel_events_total{event=\""))
        .filter_map(|rest| {
            let (event, value) = rest.split_once("\"} ")?;
            Some((event.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

async fn metrics(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    response.text().await.expect("text")
}

#[tokio::test]
async fn metrics_show_the_funnel_after_a_flow() {
    let app = spawn_app().await;
    let before = funnel(&metrics(&app).await);

    app.start("a fox").await;
    app.answer("idk").await;
    app.answer("a birch forest at dawn").await;
    app.skip().await;
    app.answer("wide shot").await;
    let job = app.generate(json!({})).await;
    app.finished(&job.job_id).await;
    let again = app.generate(json!({"reusePrompt": true})).await;
    app.finished(&again.job_id).await;
    app.post_json(paths::SESSION_BACK, &json!({"question": 3}))
        .await;
    app.delete(paths::SESSION).await;

    let text = metrics(&app).await;
    for needle in [
        "refinery_time_to_image_seconds_bucket",
        r#"route="/api/session/answer""#,
        r#"role="image""#,
        "refinery_sessions_live",
        "refinery_jobs_in_flight",
    ] {
        assert!(text.contains(needle), "{needle} missing from /metrics");
    }
    let after = funnel(&text);
    let counted = |event: &str| {
        after.get(event).copied().unwrap_or(0) - before.get(event).copied().unwrap_or(0)
    };
    for (event, expected) in [
        ("session_started", 1),
        // "idk" is re-asked, then three answers, one of them a skip.
        ("question_answered", 4),
        ("question_reasked", 1),
        ("question_skipped", 1),
        ("question_defaulted", 0),
        ("generation_requested", 2),
        ("rethink", 1),
        ("new_take", 1),
        // The new take reuses the prompt, so only the first generation writes one.
        ("synthesis_started", 1),
        ("synthesis_succeeded", 1),
        ("synthesis_failed", 0),
        ("generation_succeeded", 2),
        ("generation_failed", 0),
        ("answers_changed", 1),
        ("start_over", 1),
    ] {
        assert_eq!(counted(event), expected, "{event}");
    }
}
