//! Request rate limits per IP and per session: 429 `rate_limited` with `Retry-After`.

use contracts::paths;
use reqwest::StatusCode;

use crate::helpers::{error_of, spawn_app_with};

#[tokio::test]
async fn one_ip_over_its_limit_waits_and_health_checks_never_do() {
    let app = spawn_app_with(|s| s.rate_limit_ip_per_minute = Some(5)).await;
    for _ in 0..5 {
        assert_eq!(app.get(paths::TEMPLATES).await.status(), StatusCode::OK);
    }
    let response = app.get(paths::TEMPLATES).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert_eq!(app.get(paths::HEALTHZ).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_session_over_its_limit_does_not_hold_up_another() {
    let app = spawn_app_with(|s| s.rate_limit_session_per_minute = Some(3)).await;
    app.start("a fox").await; // no session yet: not counted against one
    for _ in 0..3 {
        assert_eq!(app.get(paths::SESSION).await.status(), StatusCode::OK);
    }
    let (status, error) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    let other = app.another_person();
    other.start("a heron").await;
    assert_eq!(other.get(paths::SESSION).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_limits_follow_the_same_client_address_rule() {
    let app = spawn_app_with(|s| s.rate_limit_ip_per_minute = Some(3)).await;
    let get_as = |client: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(app.url(paths::TEMPLATES))
                .header("cf-connecting-ip", client)
                .send()
                .await
                .expect("answered")
                .status()
        }
    };
    for _ in 0..3 {
        assert_eq!(get_as("203.0.113.7").await, StatusCode::OK);
    }
    assert_eq!(get_as("203.0.113.7").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get_as("203.0.113.8").await, StatusCode::OK);
}
