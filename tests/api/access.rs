//! The access password: everything but /healthz needs it; login by form or JSON; attempts limited.

use contracts::paths;
use reqwest::{Client, StatusCode, redirect};
use secrecy::SecretString;
use serde_json::json;
use server::config::Settings;

use crate::helpers::{TestApp, error_of, spawn_app_with};

const PASSWORD: &str = "partner-preview-2026";

async fn gated() -> TestApp {
    gated_with(|_| {}).await
}

async fn gated_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut app = spawn_app_with(|s| {
        s.access_password = Some(SecretString::from(PASSWORD));
        configure(s);
    })
    .await;
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

/// `next` values that could leave the site (or break the Location header) once a browser or a
/// proxy has had its way with them.
const HOSTILE_NEXT: &[&str] = &[
    "/ok\r\nSet-Cookie: planted=1",
    "/ok\rx",
    "/ok\nx",
    "/\t/evil.example",
    "/\\evil.example",
    "/a\\b",
    "/%2f%2fevil.example",
    "/%2F%2Fevil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/a%2Fb",
    "/caf\u{e9}",
    "/with space",
    "/nul\0byte",
    "//evil.example",
    "https://evil.example",
    "evil.example",
    "",
];

#[tokio::test]
async fn a_next_that_could_leave_the_site_falls_back_to_the_home_page_and_never_fails() {
    // Without a password every form sign-in redirects at once: the quickest way to the redirect.
    let app = spawn_app_with(|_| {}).await;
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    for next in HOSTILE_NEXT {
        let response = client
            .post(app.url("/login"))
            .form(&[("password", "anything"), ("next", next)])
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(response.headers()["location"], "/", "{next:?}");
        assert!(response.headers().get("set-cookie").is_none(), "{next:?}");
    }
    // A plain path on this site is still followed.
    let response = client
        .post(app.url("/login"))
        .form(&[("password", "anything"), ("next", "/result?x=1")])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.headers()["location"], "/result?x=1");
}

#[tokio::test]
async fn the_sign_in_page_drops_a_hostile_next_too() {
    let app = gated().await;
    for next in HOSTILE_NEXT {
        let response = app
            .client
            .get(
                reqwest::Url::parse_with_params(&app.url("/login"), &[("next", next)])
                    .expect("a URL"),
            )
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{next:?}");
        let html = response.text().await.expect("html");
        assert!(
            html.contains(r#"<input type="hidden" name="next" value="/">"#),
            "{next:?}"
        );
    }
}

/// One wrong-password attempt, as a client the proxy in front of us names in `X-Forwarded-For`.
async fn attempt_as(app: &TestApp, client: &str) -> StatusCode {
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"password": "not-the-password"}))
        .send()
        .await
        .expect("answered")
        .status()
}

#[tokio::test]
async fn behind_a_local_proxy_each_forwarded_client_has_its_own_login_budget() {
    // The tests connect from 127.0.0.1, which the default TRUSTED_PROXIES (loopback) covers, as
    // it covers a local cloudflared.
    let app = gated().await;
    for _ in 0..5 {
        assert_eq!(
            attempt_as(&app, "203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt_as(&app, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt_as(&app, "198.51.100.1, 203.0.113.8").await,
        StatusCode::UNAUTHORIZED,
        "another client (the hop our proxy appended) has its own budget"
    );
}

#[tokio::test]
async fn an_ipv6_client_is_counted_per_64() {
    let app = gated().await;
    for host in 1..=5 {
        assert_eq!(
            attempt_as(&app, &format!("2001:db8:1:2::{host:x}")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt_as(&app, "2001:db8:1:2:ffff:ffff:ffff:ffff").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the same /64"
    );
    assert_eq!(
        attempt_as(&app, "2001:db8:1:3::1").await,
        StatusCode::UNAUTHORIZED,
        "the next /64"
    );
}

#[tokio::test]
async fn login_attempts_are_limited_globally_too() {
    let app = gated().await;
    let mut refused_at = None;
    // Every attempt from a new client: only the global limit can stop them.
    for n in 0..200u32 {
        let client = format!("198.18.{}.{}", n / 250, n % 250 + 1);
        let status = attempt_as(&app, &client).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(n);
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused_at = refused_at.expect("a global limit");
    assert!(
        (20..200).contains(&refused_at),
        "refused after {refused_at} attempts"
    );
}
