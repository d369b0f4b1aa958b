//! The whole flow a script follows: templates → idea → three answers → generate → PNG.

use contracts::{
    JobStatus, MetaResponse, ProviderMode, SessionStatus, SessionView, TemplatesResponse, paths,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_script_goes_from_idea_to_a_downloaded_png() {
    let app = spawn_app().await;

    let templates: TemplatesResponse = app.get(paths::TEMPLATES).await.json().await.expect("json");
    assert_eq!(templates.templates[0].id, "general-cinematic");

    let view = app.start("a lighthouse keeper feeding a stray cat").await;
    assert_eq!(view.status, SessionStatus::Refining);
    let question = view.question.expect("question 1");
    assert_eq!(
        (question.index, question.total, question.reask),
        (1, 3, false)
    );
    assert!(!question.text.is_empty() && !question.hint.is_empty());

    let second = app.answer("a storm-lashed island at dusk").await;
    assert_eq!(second.question.as_ref().map(|q| q.index), Some(2));
    app.answer("tense, cold blue light").await;
    let ready = app.answer("wide shot, low angle").await;
    assert_eq!(ready.status, SessionStatus::Ready);
    assert!(ready.question.is_none());
    assert_eq!(ready.answers.len(), 3);
    assert_eq!(ready.answers[0].answer, "a storm-lashed island at dusk");
    assert!(!ready.can_reuse_prompt);

    let queued = app.generate(serde_json::json!({})).await;
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!(queued.job_id.len(), 32, "128-bit hex id");
    let done = app.finished(&queued.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let image = done.image.expect("an image");
    assert_eq!(
        (image.width, image.height),
        (1365, 768),
        "the template's 16:9"
    );
    assert!(image.offline_preview);
    assert!(
        image
            .alt
            .starts_with("Offline preview sketch for: A lighthouse keeper")
    );
    assert!(image.summary.contains("storm-lashed island"));

    let response = app.get(&image.url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("filename=\"prompt-refinery-")
    );
    let bytes = response.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

    let after = app.session().await;
    assert_eq!(after.last_image, Some(image));
    assert!(after.can_reuse_prompt);
    assert_eq!(after.job.map(|j| j.status), Some(JobStatus::Succeeded));
}

#[tokio::test]
async fn health_meta_and_templates_describe_the_server() {
    let app = spawn_app().await;
    assert_eq!(app.get(paths::HEALTHZ).await.status(), StatusCode::OK);

    let meta: MetaResponse = app.get(paths::META).await.json().await.expect("json");
    assert_eq!(meta.mode, ProviderMode::Offline);
    assert!(meta.synthesizer.contains("offline") && meta.image_provider.contains("offline"));
    assert_eq!((meta.idea_max_chars, meta.answer_max_chars), (500, 300));

    let raw: Value = app.get(paths::TEMPLATES).await.json().await.expect("json");
    let first = &raw["templates"][0];
    assert_eq!(first["id"], "general-cinematic");
    assert_eq!(first["defaultAspectRatio"], "16:9");
    assert!(first.get("instructions").is_none());
    let text = raw.to_string();
    assert!(
        !text.contains("Nano Banana") && !text.contains("synthes"),
        "instructions stay server-side: {text}"
    );
}

#[tokio::test]
async fn a_reloaded_page_resumes_from_the_session() {
    let app = spawn_app().await;
    app.start("a fox in the snow").await;
    let after_one = app.answer("a birch forest at dawn").await;
    let reloaded: SessionView = app.session().await;
    assert_eq!(reloaded, after_one);
    assert_eq!(reloaded.question.map(|q| q.index), Some(2));
}

#[tokio::test]
async fn the_session_cookie_is_signed_http_only_and_lax() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            paths::SESSION_START,
            &serde_json::json!({"templateId": "general-cinematic", "initialInput": "a fox"}),
        )
        .await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("refinery_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let value = cookie["refinery_session=".len()..]
        .split(';')
        .next()
        .expect("value");
    let (id, tag) = value.split_once('.').expect("id.signature");
    assert!(
        id.len() >= 22 && tag.len() >= 43,
        "128-bit id, 256-bit MAC: {value}"
    );
}

#[tokio::test]
async fn cookies_are_secure_behind_a_trusted_https_proxy() {
    let app = spawn_app_with(|s| s.session.trust_forwarded_proto = true).await;
    let response = app
        .client
        .post(app.url(paths::SESSION_START))
        .header("x-forwarded-proto", "https")
        .json(&serde_json::json!({"templateId": "general-cinematic", "initialInput": "a fox"}))
        .send()
        .await
        .expect("answered");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn without_a_session_the_api_says_so() {
    let app = spawn_app().await;
    let (status, body) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );
    let (status, body) = error_of(
        app.post_json(paths::SESSION_ANSWER, &serde_json::json!({"answer": "x"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );
}

#[tokio::test]
async fn start_over_drops_the_session_and_the_cookie() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let response = app.delete(paths::SESSION).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with("refinery_session=;") || cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let (status, _) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Starting again works, with a fresh first question.
    let view = app.start("a different idea").await;
    assert_eq!(view.question.map(|q| q.index), Some(1));
    assert!(view.answers.is_empty());
}
