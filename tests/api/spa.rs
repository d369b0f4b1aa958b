//! The built SPA served by the API server: cache headers, compression, client routes, and the
//! JSON 404 that unknown `/api` paths keep.

use contracts::codes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};

use crate::helpers::{TestApp, error_of, spawn_app_with};

const HASHED_JS: &str = "/frontend-0123456789abcdef.js";

/// A stand-in for trunk's dist/: an index page and one hashed script, in a fresh directory.
fn fake_dist() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("refinery-spa-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dist");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Prompt Refinery</title><script type=module src=/frontend-0123456789abcdef.js></script>",
    )
    .expect("index.html");
    // Repetitive enough to be worth compressing.
    std::fs::write(
        dir.join(HASHED_JS.trim_start_matches('/')),
        "export function hello() { return 'hello'; }\n".repeat(200),
    )
    .expect("script");
    dir
}

async fn spa_app() -> TestApp {
    let dist = fake_dist();
    spawn_app_with(move |settings| settings.static_dir = dist).await
}

#[tokio::test]
async fn index_and_client_routes_get_the_page_uncached() {
    let app = spa_app().await;
    for path in ["/", "/index.html", "/refine", "/some/client/route"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-cache", "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/html")),
            "{path}"
        );
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("Prompt Refinery")
        );
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_compressed() {
    let app = spa_app().await;
    for encoding in ["gzip", "br"] {
        let response = app
            .client
            .get(app.url(HASHED_JS))
            .header(ACCEPT_ENCODING, encoding)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()[CONTENT_ENCODING], encoding);
        let body = response.bytes().await.expect("body");
        assert!(body.len() < 2000, "{encoding}: {} bytes", body.len());
    }
}

#[tokio::test]
async fn missing_files_are_404_not_the_page() {
    let app = spa_app().await;
    let response = app.get("/frontend-ffffffffffffffff.js").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_api_paths_keep_their_json_404() {
    let app = spa_app().await;
    let (status, envelope) = error_of(app.get("/api/no-such-thing").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(envelope.code, codes::NOT_FOUND);
    let meta = app.get("/api/meta").await;
    assert_eq!(meta.status(), StatusCode::OK);
}
