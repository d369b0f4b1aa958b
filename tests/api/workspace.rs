//! What the browser app's workspace relies on: revising one answer in place
//! (`PUT /api/session/answers/{n}`), every image of the session in its view, and resuming without
//! a failed request on a first visit.

use contracts::{JobStatus, ResumeResponse, SessionStatus, SessionView, paths};
use domain::Catalog;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};

fn question(index: usize) -> domain::Question {
    let catalog = Catalog::built_in().expect("templates");
    let template = catalog.get("general-cinematic").expect("template");
    template.questions[index].clone()
}

impl TestApp {
    async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PUT is answered")
    }

    async fn revise(&self, question: u8, body: Value) -> SessionView {
        let response = self.put_json(&paths::answer(question), &body).await;
        assert_eq!(response.status(), StatusCode::OK, "revise {question}");
        response.json().await.expect("a session view")
    }
}

#[tokio::test]
async fn revising_one_answer_keeps_the_other_two_and_the_session_ready() {
    let app = spawn_app().await;
    let ready = app.ready_session("a fox").await;

    let revised = app
        .revise(2, json!({"answer": "  warm,   hopeful morning light "}))
        .await;

    assert_eq!(revised.status, SessionStatus::Ready);
    assert_eq!(revised.question, None);
    assert_eq!(revised.answers[0], ready.answers[0]);
    assert_eq!(revised.answers[1].answer, "warm, hopeful morning light");
    assert!(!revised.answers[1].defaulted && !revised.answers[1].skipped);
    assert_eq!(revised.answers[2], ready.answers[2]);
    assert_eq!(app.session().await.answers, revised.answers, "it was saved");
}

#[tokio::test]
async fn a_revised_skip_shows_the_default_as_such() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let revised = app.revise(3, json!({"skip": true})).await;
    let third = &revised.answers[2];
    assert!(third.skipped && third.defaulted);
    assert_eq!(third.answer, question(2).default);
    assert_eq!(
        third.hint,
        question(2).hint,
        "the hint rides along for editing"
    );
}

#[tokio::test]
async fn a_thin_revision_is_refused_with_the_hint_and_nothing_changes() {
    let app = spawn_app().await;
    let ready = app.ready_session("a fox").await;
    for thin in ["idk", "", "🤷", "わからない"] {
        let (status, error) = error_of(
            app.put_json(&paths::answer(2), &json!({"answer": thin}))
                .await,
        )
        .await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "answer_too_thin"),
            "{thin:?}"
        );
        assert!(
            error.error.contains(question(1).hint.trim()),
            "the hint is in the message: {}",
            error.error
        );
    }
    assert_eq!(app.session().await, ready, "the earlier answer is kept");
}

#[tokio::test]
async fn revising_is_refused_before_three_answers_out_of_range_and_without_a_session() {
    let app = spawn_app().await;
    let (status, error) = error_of(
        app.put_json(&paths::answer(1), &json!({"answer": "a birch forest"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );

    app.start("a fox").await;
    app.answer("a birch forest at dawn").await;
    let (status, error) = error_of(
        app.put_json(&paths::answer(1), &json!({"answer": "a pine forest"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::CONFLICT, "refinement_incomplete")
    );

    app.answer("misty, grey-green").await;
    let ready = app.answer("wide, from a low angle").await;
    for n in ["0", "4"] {
        let response = app
            .put_json(
                &format!("{}/{n}", paths::SESSION_ANSWERS),
                &json!({"skip": true}),
            )
            .await;
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::CONFLICT, "invalid_step"),
            "{n}"
        );
    }
    let (status, error) = error_of(
        app.put_json(
            &format!("{}/two", paths::SESSION_ANSWERS),
            &json!({"skip": true}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, error) = error_of(
        app.put_json(
            &paths::answer(1),
            &json!({"answer": "a pine forest", "skip": true}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (status, error) = error_of(
        app.put_json(&paths::answer(1), &json!({"answer": "x".repeat(301)}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert_eq!(app.session().await, ready, "nothing changed");
}

#[tokio::test]
async fn a_changed_answer_reaches_the_next_image_even_as_a_new_take() {
    let app = spawn_app().await;
    app.ready_session("a fox").await;
    let first = app.finished(&app.generate(json!({})).await.job_id).await;
    assert!(app.session().await.can_reuse_prompt);

    let same = app
        .revise(
            1,
            json!({"answer": "a lighthouse on a storm-lashed island at dusk"}),
        )
        .await;
    assert!(
        same.can_reuse_prompt,
        "an unchanged answer keeps the prompt"
    );
    let revised = app
        .revise(2, json!({"answer": "serene, pastel sunrise"}))
        .await;
    assert!(
        !revised.can_reuse_prompt,
        "the written prompt no longer matches the brief"
    );

    let next = app
        .finished(&app.generate(json!({"reusePrompt": true})).await.job_id)
        .await;
    let summary = next.image.expect("an image").summary;
    assert!(summary.contains("serene, pastel sunrise"), "{summary}");
    let view = app.session().await;
    assert_eq!(
        view.images.last().map(|i| &i.url),
        first.image.as_ref().map(|i| &i.url),
        "the first image is still listed"
    );
}

#[tokio::test]
async fn every_image_of_the_session_is_listed_newest_first_through_failures() {
    let app =
        spawn_app_with(|s| s.offline.image_faults = "ok,provider_unavailable,ok".into()).await;
    app.ready_session("a fox").await;
    let first = app.finished(&app.generate(json!({})).await.job_id).await;
    let failed = app
        .finished(&app.generate(json!({"reusePrompt": true})).await.job_id)
        .await;
    assert_eq!(failed.status, JobStatus::Failed);
    let view = app.session().await;
    let first_url = first.image.expect("first image").url;
    assert_eq!(view.images.len(), 1, "a failure removes nothing");
    assert_eq!(view.images[0].url, first_url);

    app.post_json(paths::SESSION_BACK, &json!({"question": 3}))
        .await;
    app.answer("close-up, eye level").await;
    let third = app.finished(&app.generate(json!({})).await.job_id).await;
    let view = app.session().await;
    let urls: Vec<&str> = view.images.iter().map(|i| i.url.as_str()).collect();
    let third_url = third.image.expect("third image").url;
    assert_eq!(urls, [third_url.as_str(), first_url.as_str()]);
    assert_eq!(view.last_image.as_ref(), view.images.first());
}

#[tokio::test]
async fn resume_answers_200_with_or_without_a_session() {
    let app = spawn_app().await;
    let response = app.get(paths::SESSION_RESUME).await;
    assert_eq!(response.status(), StatusCode::OK);
    let none: ResumeResponse = response.json().await.expect("json");
    assert_eq!(none.session, None);
    // Scripts keep the 404 of GET /api/session.
    let (status, error) = error_of(app.get(paths::SESSION).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, "session_not_found")
    );

    app.start("a fox").await;
    let resumed: ResumeResponse = app
        .get(paths::SESSION_RESUME)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(resumed.session, Some(app.session().await));
}

#[tokio::test]
async fn resume_with_a_cookie_that_does_not_verify_answers_null_and_clears_it() {
    let app = spawn_app().await;
    let response = Client::new()
        .get(app.url(paths::SESSION_RESUME))
        .header(
            "cookie",
            "refinery_session=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cleared.starts_with("refinery_session=") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let body: ResumeResponse = response.json().await.expect("json");
    assert_eq!(body.session, None);
}
