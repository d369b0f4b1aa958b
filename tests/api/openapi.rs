//! The OpenAPI document is served, and every operation it lists exists on the server.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.0.3");

    let operations = server::openapi::operations();
    assert!(operations.len() >= 12);
    for (method, path) in operations {
        assert!(
            doc["paths"][path].get(method).is_some(),
            "{method} {path} not in the served document"
        );
        let url = app.url(
            &path
                .replace("{jobId}", "0")
                .replace("{imageId}", "0")
                .replace("{n}", "1"),
        );
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut request = app.client.request(method.clone(), url);
        if method == Method::POST || method == Method::PUT {
            request = request.json(&serde_json::json!({}));
        }
        let response = request.send().await.expect("answered");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !body.contains("\"code\":\"not_found\""),
            "{method} {path} is not routed: {body}"
        );
    }
}
