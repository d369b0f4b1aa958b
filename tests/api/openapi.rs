//! The OpenAPI document is served, every operation it lists exists on the server, and the limits
//! it states are the ones the server enforces.

use contracts::paths;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{cookie_client, spawn_app};

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
                .replace("{referenceId}", "0")
                .replace("{recipeId}", "0")
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

/// The document's text limits are the server's: the schema of an idea or an answer accepts a
/// text exactly when the server does (trimmed length, Unicode whitespace, characters not bytes,
/// and for an idea some letter or digit of any script).
#[tokio::test]
async fn the_documented_text_limits_are_the_enforced_ones() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    let schemas = &doc["components"]["schemas"];
    let validator = |schema: &Value| jsonschema::validator_for(schema).expect("a valid schema");
    let idea = validator(&schemas["StartSessionRequest"]["properties"]["initialInput"]);
    let ideas = ["?!", "🦊🚀", "\u{1c}", "雨", "ночь", "🦊 in the snow", "٣"].map(str::to_owned);
    let answer = validator(&schemas["AnswerRequest"]["properties"]["answer"]);
    let texts = |max: usize| {
        [
            String::new(),
            " ".to_owned(),
            "\u{3000}\t\n\u{85}".to_owned(),
            "a".to_owned(),
            " a ".to_owned(),
            "\u{1c}".to_owned(),
            "x".repeat(max),
            format!("\u{a0} {}\n", "é".repeat(max)),
            "x".repeat(max + 1),
            format!("a{}b", " ".repeat(max)),
        ]
    };

    for text in texts(contracts::IDEA_MAX_CHARS).into_iter().chain(ideas) {
        let person = cookie_client();
        let status = person
            .post(app.url(paths::SESSION_START))
            .json(&json!({"templateId": "general-cinematic", "initialInput": text}))
            .send()
            .await
            .expect("answered")
            .status();
        assert!(matches!(status.as_u16(), 200 | 400), "{status}");
        assert_eq!(
            idea.is_valid(&json!(text)),
            status == StatusCode::OK,
            "idea {text:?}"
        );
    }
    for text in texts(contracts::ANSWER_MAX_CHARS) {
        let person = cookie_client();
        let started = person
            .post(app.url(paths::SESSION_START))
            .json(&json!({"templateId": "general-cinematic", "initialInput": "a fox"}))
            .send()
            .await
            .expect("answered");
        assert_eq!(started.status(), StatusCode::OK);
        let status = person
            .post(app.url(paths::SESSION_ANSWER))
            .json(&json!({"answer": text}))
            .send()
            .await
            .expect("answered")
            .status();
        assert!(matches!(status.as_u16(), 200 | 400), "{status}");
        assert_eq!(
            answer.is_valid(&json!(text)),
            status == StatusCode::OK,
            "answer {text:?}"
        );
    }
}
