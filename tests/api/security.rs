//! Security headers on every response, the same-origin rule, and request ids.

use contracts::paths;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{cookie_client, error_of, spawn_app};

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let job = app.finished(&app.generate(json!({})).await.job_id).await;
    let image_url = job.image.expect("image").url;
    for path in [
        paths::TEMPLATES,
        "/api/nope",
        image_url.as_str(),
        "/",
        "/some/page",
        paths::HEALTHZ,
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_same_site_or_scripts_allowed() {
    let app = spawn_app().await;
    let start = json!({"templateId": "general-cinematic", "initialInput": "a fox"});
    let host = app.address.trim_start_matches("http://").to_owned();

    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let browser = cookie_client();
        let response = browser
            .post(app.url(paths::SESSION_START))
            .header(name, value)
            .json(&start)
            .send()
            .await
            .expect("answered");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no session for {name}"
        );
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::FORBIDDEN, "cross_site_request"),
            "{name}"
        );
    }
    let same_origin = cookie_client()
        .post(app.url(paths::SESSION_START))
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .json(&start)
        .send()
        .await
        .expect("answered");
    assert_eq!(same_origin.status(), StatusCode::OK);
    // A script (no Origin, no Sec-Fetch-Site) is allowed: it cannot carry a victim's cookie.
    let script = cookie_client()
        .post(app.url(paths::SESSION_START))
        .json(&start)
        .send()
        .await
        .expect("answered");
    assert_eq!(script.status(), StatusCode::OK);
    // Reads are never blocked.
    let read = cookie_client()
        .get(app.url(paths::TEMPLATES))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("answered");
    assert_eq!(read.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_ids_are_made_or_echoed() {
    let app = spawn_app().await;
    let made = app.get(paths::HEALTHZ).await;
    let id = made.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let echoed = app
        .client
        .get(app.url(paths::HEALTHZ))
        .header("x-request-id", "script-run-42")
        .send()
        .await
        .expect("answered");
    assert_eq!(echoed.headers()["x-request-id"], "script-run-42");
}
