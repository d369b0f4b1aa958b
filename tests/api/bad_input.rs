//! Bad input gets its documented status and code, and the session it came with is left intact.

use contracts::paths;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error_of, spawn_app};

/// Sends `body` raw to `path` and checks the error, then that the session did not change.
async fn refused(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    status: StatusCode,
    code: &str,
) -> String {
    let before = app.session().await;
    let (got_status, error) = error_of(app.post_raw(path, content_type, body).await).await;
    assert_eq!(
        (got_status, error.code.as_str()),
        (status, code),
        "{path}: {}",
        error.error
    );
    assert_eq!(app.session().await, before, "{path}: the session is intact");
    error.error
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn malformed_bodies_are_refused_with_the_envelope() {
    let app = spawn_app().await;
    app.start("a fox").await;
    app.answer("a birch forest at dawn").await;
    let bad = StatusCode::BAD_REQUEST;

    refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        b"{\"answer\": ".to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    let message = refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        br#"{"answer": 5}"#.to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    assert!(message.contains("answer"), "names the field: {message}");
    let message = refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        br#"{"answer": "x", "mood": "y"}"#.to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    assert!(
        message.contains("mood"),
        "names the unknown field: {message}"
    );
    let message = refused(
        &app,
        paths::SESSION_BACK,
        JSON,
        b"{}".to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    assert!(
        message.contains("question"),
        "names the missing field: {message}"
    );
    refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        b"{\"answer\": \"caf\xff\"}".to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        b"[1, 2]".to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    refused(
        &app,
        paths::SESSION_ANSWER,
        None,
        br#"{"answer": "dusk"}"#.to_vec(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = serde_json::to_vec(&json!({"answer": "a".repeat(17 * 1024)})).expect("json");
    refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let both = serde_json::to_vec(&json!({"answer": "dusk", "skip": true})).expect("json");
    refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        both,
        bad,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn over_long_answers_are_refused_naming_the_field() {
    let app = spawn_app().await;
    app.start("a fox").await;
    let body = serde_json::to_vec(&json!({"answer": "é".repeat(301)})).expect("json");
    let message = refused(
        &app,
        paths::SESSION_ANSWER,
        JSON,
        body,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(
        message.contains("answer") && message.contains("300"),
        "{message}"
    );
    // Exactly at the limit is fine (counted in characters, not bytes).
    let view = app.answer(&"é".repeat(300)).await;
    assert_eq!(view.answers.len(), 1);
}

#[tokio::test]
async fn ideas_must_be_present_short_and_for_a_known_template() {
    let app = spawn_app().await;
    app.start("the session that must survive").await;
    let start = |template: &str, idea: String| {
        serde_json::to_vec(&json!({"templateId": template, "initialInput": idea})).expect("json")
    };
    let bad = StatusCode::BAD_REQUEST;
    let message = refused(
        &app,
        paths::SESSION_START,
        JSON,
        start("general-cinematic", "x".repeat(501)),
        bad,
        "invalid_request",
    )
    .await;
    assert!(
        message.contains("initialInput") && message.contains("500"),
        "{message}"
    );
    let message = refused(
        &app,
        paths::SESSION_START,
        JSON,
        start("general-cinematic", "   ".into()),
        bad,
        "invalid_request",
    )
    .await;
    assert!(message.contains("initialInput"), "{message}");
    refused(
        &app,
        paths::SESSION_START,
        JSON,
        start("no-such-template", "a fox".into()),
        StatusCode::NOT_FOUND,
        "template_not_found",
    )
    .await;
    refused(
        &app,
        paths::SESSION_START,
        JSON,
        br#"{"templateId": "general-cinematic"}"#.to_vec(),
        bad,
        "invalid_request",
    )
    .await;
    // 500 characters is accepted.
    app.start(&"x".repeat(500)).await;
}

#[tokio::test]
async fn an_idea_needs_letters_or_digits_in_some_script() {
    let app = spawn_app().await;
    app.start("the session that must survive").await;
    for idea in ["🦊🚀", "🌧️ 🌃", "?!", "—"] {
        let body =
            serde_json::to_vec(&json!({"templateId": "general-cinematic", "initialInput": idea}))
                .expect("json");
        let message = refused(
            &app,
            paths::SESSION_START,
            JSON,
            body,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert!(
            message.contains("initialInput") && message.contains("emoji"),
            "{idea:?}: {message}"
        );
    }
    // The same rule as answers: any script counts, and emoji beside words are kept.
    for idea in ["雨", "東京の夜", "비 오는 서울", "ночь", "🦊 in the snow"] {
        let view = app.start(idea).await;
        assert_eq!(view.idea, idea);
    }
}

#[tokio::test]
async fn a_tampered_or_unsigned_cookie_is_refused_and_the_real_one_still_works() {
    let app = spawn_app().await;
    let plain = Client::new();
    let response = plain
        .post(app.url(paths::SESSION_START))
        .json(&json!({"templateId": "general-cinematic", "initialInput": "a fox"}))
        .send()
        .await
        .expect("answered");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let value = set_cookie.split(';').next().expect("pair").to_owned();
    let (name_and_id, tag) = value.split_once('.').expect("signed");
    let flipped_tag: String = tag.chars().rev().collect();

    for cookie in [
        format!("{name_and_id}.{flipped_tag}"),
        name_and_id.to_owned(),
        "refinery_session=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .to_owned(),
    ] {
        let response = plain
            .get(app.url(paths::SESSION))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("answered");
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_session"),
            "{cookie}"
        );
    }
    let response = plain
        .get(app.url(paths::SESSION))
        .header("cookie", &value)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let app = spawn_app().await;
    let (status, error) = error_of(app.get("/api/nope").await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, error) = error_of(app.get(paths::SESSION_ANSWER).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (status, error) = error_of(app.delete(paths::TEMPLATES).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused_even_where_every_field_is_optional() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let job = app.generate(serde_json::json!({})).await;
    app.finished(&job.job_id).await;
    // serde reads a struct from an array, so `[]` once passed as "every field defaulted".
    for path in [paths::GENERATE, paths::RECIPES] {
        for body in [&b"[]"[..], b"[1]", b"null", b"\"x\"", b"4"] {
            let message = refused(
                &app,
                path,
                JSON,
                body.to_vec(),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            )
            .await;
            assert!(message.contains("JSON object"), "{path}: {message}");
        }
    }
}
