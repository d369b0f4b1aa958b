//! Daily spend limits: exact under concurrency, per session, shown in the session view, and only
//! for generations that reach a live provider.

use std::time::Duration;

use contracts::{ApiErrorBody, paths};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use server::config::Settings;

use crate::helpers::{Person, TestApp, live_providers_at, spawn_app_with};

/// A server whose providers are live, pointed at the in-process simulator.
async fn live_app(
    latency: Duration,
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, simulator::Handle) {
    let (addr, sim) = simulator::spawn(simulator::Config {
        latency,
        ..simulator::Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        configure(s);
    })
    .await;
    (app, sim)
}

#[tokio::test]
async fn the_global_limit_holds_exactly_under_50_concurrent_generates() {
    let (app, _sim) = live_app(Duration::ZERO, |s| {
        s.quota_global_day = Some(20);
        s.quota_per_session_day = Some(5);
    })
    .await;
    let people: Vec<TestApp> = (0..50).map(|_| app.another_person()).collect();
    for p in &people {
        p.ready_session("a fox").await;
    }
    // All 50 requests race each other on the server.
    let body = json!({});
    let responses = join_all(people.iter().map(|p| p.post_json(paths::GENERATE, &body))).await;

    let mut accepted = 0;
    let mut refused = 0;
    for response in responses {
        match response.status() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("seconds");
                assert!((1..=86_400).contains(&retry_after));
                let body: ApiErrorBody = response.json().await.expect("envelope");
                assert_eq!(body.code, "quota_exceeded");
                assert!(body.error.contains("midnight UTC"), "{}", body.error);
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted, refused), (20, 30));
    assert_eq!(app.quota_used_globally().await, 20);
}

#[tokio::test]
async fn each_session_has_its_own_limit_shown_in_its_view() {
    let (app, _sim) = live_app(Duration::ZERO, |s| s.quota_per_session_day = Some(2)).await;
    let ready = app.ready_session("a fox").await;
    let quota = ready.quota.expect("limits are shown");
    assert_eq!(
        (quota.session_left, quota.global_left),
        (Some(2), Some(200))
    );

    for _ in 0..2 {
        let job = app.generate(json!({})).await;
        app.finished(&job.job_id).await;
    }
    let response = app.post_json(paths::GENERATE, &json!({})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let view = app.session().await;
    assert_eq!(view.quota.and_then(|q| q.session_left), Some(0));
}

#[tokio::test]
async fn asking_again_while_a_job_runs_costs_nothing() {
    // Each simulated provider answer takes 2 s, so the first job is still running below.
    let (app, _sim) = live_app(Duration::from_secs(2), |s| {
        s.quota_per_session_day = Some(2)
    })
    .await;
    app.ready_session("a heron").await;
    let first = app.generate(json!({})).await;
    let again = app.generate(json!({})).await;
    assert_eq!(again.job_id, first.job_id);
    assert_eq!(
        app.session().await.quota.and_then(|q| q.session_left),
        Some(1)
    );
    app.finished(&first.job_id).await;
}

#[tokio::test]
async fn offline_previews_are_not_counted() {
    let app = spawn_app_with(|s| s.quota_global_day = Some(1)).await;
    app.ready_session("a fox").await;
    for _ in 0..3 {
        let job = app.generate(json!({})).await;
        assert!(app.finished(&job.job_id).await.image.is_some());
    }
    assert_eq!(app.quota_used_globally().await, 0);
    assert_eq!(
        app.session().await.quota,
        None,
        "offline, the view shows no limit that is not counted"
    );
}

/// A person whose requests a trusted proxy (loopback, the default) forwards from `ip`.
fn person_from(app: &TestApp, ip: &str) -> Person {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().expect("a header value"));
    Person {
        address: app.address.clone(),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .expect("a reqwest client"),
    }
}

#[tokio::test]
async fn new_sessions_do_not_reset_what_one_client_may_spend() {
    let (app, _sim) = live_app(Duration::ZERO, |s| s.quota_per_client_day = Some(2)).await;
    let first = person_from(&app, "2001:db8:1:2::1");
    for idea in ["a fox", "a heron"] {
        // A fresh session each time: start replaces the last one.
        first.ready_session(idea).await;
        let job = first.generate(json!({})).await;
        assert!(first.finished(&job.job_id).await.image.is_some());
    }
    // Another address in the same IPv6 /64 is the same client, in a session of its own.
    let same_64 = person_from(&app, "2001:db8:1:2:ffff::9");
    let ready = same_64.ready_session("a badger").await;
    assert_eq!(ready.quota.and_then(|q| q.client_left), Some(0));
    let response = same_64.post_json(paths::GENERATE, &json!({})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: ApiErrorBody = response.json().await.expect("envelope");
    assert_eq!(body.code, "quota_exceeded");
    assert!(body.error.contains("from this address"), "{}", body.error);

    for other in ["2001:db8:1:3::1", "198.51.100.7"] {
        let person = person_from(&app, other);
        let ready = person.ready_session("an otter").await;
        assert_eq!(ready.quota.and_then(|q| q.client_left), Some(2), "{other}");
        let job = person.generate(json!({})).await;
        assert!(
            person.finished(&job.job_id).await.image.is_some(),
            "{other}"
        );
    }
    assert_eq!(app.quota_used_globally().await, 4);
}
