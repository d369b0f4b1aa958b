//! The access password: everything but /healthz needs it; login by form or JSON; attempts limited.

use contracts::paths;
use reqwest::{Client, StatusCode, redirect};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{TestApp, error_of, spawn_app_with};

const PASSWORD: &str = "partner-preview-2026";

async fn gated() -> TestApp {
    let mut app = spawn_app_with(|s| s.access_password = Some(SecretString::from(PASSWORD))).await;
    // Redirects are part of what is tested, so they are not followed.
    app.client = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    app
}

#[tokio::test]
async fn without_the_password_only_health_and_login_answer() {
    let app = gated().await;
    assert_eq!(app.get(paths::HEALTHZ).await.status(), StatusCode::OK);
    for path in [
        paths::TEMPLATES,
        paths::META,
        paths::SESSION,
        "/api/images/0",
    ] {
        let (status, error) = error_of(app.get(path).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::UNAUTHORIZED, "access_required"),
            "{path}"
        );
    }
    let (status, error) = error_of(
        app.post_json(
            paths::SESSION_START,
            &json!({"templateId": "general-cinematic", "initialInput": "a fox"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::UNAUTHORIZED, "access_required")
    );

    let page = app.get("/some/client/route?x=1").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()["location"],
        "/login?next=/some/client/route%3Fx%3D1"
    );
    let login = app.get("/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.expect("html");
    assert!(html.contains(r#"<label for="password">"#) && html.contains(r#"action="/login""#));
}

#[tokio::test]
async fn a_script_signs_in_with_json_and_runs_the_flow() {
    let app = gated().await;
    let (status, error) =
        error_of(app.post_json("/login", &json!({"password": "guess"})).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::UNAUTHORIZED, "access_denied")
    );
    assert_eq!(error.error, "That password is not right.");

    let response = app
        .post_json("/login", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with("refinery_access=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(!cookie.contains(PASSWORD));

    app.ready_session("a fox").await;
    let job = app.generate(json!({})).await;
    assert!(app.finished(&job.job_id).await.image.is_some());
}

#[tokio::test]
async fn the_form_signs_in_and_returns_to_the_page_asked_for() {
    let app = gated().await;
    let wrong = app
        .client
        .post(app.url("/login"))
        .form(&[("password", "nope"), ("next", "/result")])
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.expect("html");
    assert!(html.contains(r#"role="alert""#) && html.contains("That password is not right."));

    let right = app
        .client
        .post(app.url("/login"))
        .form(&[("password", PASSWORD), ("next", "/result")])
        .send()
        .await
        .expect("answered");
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(right.headers()["location"], "/result");
    assert_eq!(app.get(paths::TEMPLATES).await.status(), StatusCode::OK);

    // A `next` pointing elsewhere is not followed.
    let other = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    let response = other
        .post(app.url("/login"))
        .form(&[("password", PASSWORD), ("next", "//evil.example/x")])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.headers()["location"], "/");
}

#[tokio::test]
async fn repeated_attempts_are_rate_limited_even_with_the_right_password() {
    let app = gated().await;
    for _ in 0..5 {
        let response = app.post_json("/login", &json!({"password": "wrong"})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .post_json("/login", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    let (_, error) = error_of(response).await;
    assert_eq!(error.code, "rate_limited");
    assert_eq!(
        app.get(paths::TEMPLATES).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
