//! The three questions: re-ask, default, skip, never a fourth, and going back to change answers.

use contracts::{SessionStatus, paths};
use domain::Catalog;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_of, spawn_app};

fn default_of(question: usize) -> String {
    let catalog = Catalog::built_in().expect("templates");
    let template = catalog.get("general-cinematic").expect("template");
    template.questions[question].default.clone()
}

#[tokio::test]
async fn a_sparse_answer_is_reasked_once_with_the_hint_then_defaulted() {
    let app = spawn_app().await;
    let first = app.start("a fox").await;
    let reasked = app.answer("idk").await;
    let question = reasked.question.expect("still question 1");
    assert_eq!((question.index, question.reask), (1, true));
    assert_eq!(question.hint, first.question.expect("q1").hint);
    assert!(reasked.answers.is_empty());

    let moved_on = app.answer("?!").await;
    assert_eq!(
        moved_on.question.as_ref().map(|q| (q.index, q.reask)),
        Some((2, false))
    );
    let answer = &moved_on.answers[0];
    assert!(answer.defaulted && !answer.skipped);
    assert_eq!(answer.answer, default_of(0));
}

#[tokio::test]
async fn a_good_answer_after_a_reask_is_kept() {
    let app = spawn_app().await;
    app.start("a fox").await;
    app.answer("whatever").await;
    let view = app.answer("a birch forest at dawn").await;
    assert_eq!(view.answers[0].answer, "a birch forest at dawn");
    assert!(!view.answers[0].defaulted);
}

#[tokio::test]
async fn skip_takes_the_default_at_once() {
    let app = spawn_app().await;
    app.start("a fox").await;
    app.answer("a birch forest at dawn").await;
    let view = app.skip().await;
    let answer = &view.answers[1];
    assert!(answer.skipped && answer.defaulted);
    assert_eq!(answer.answer, default_of(1));
    assert_eq!(view.question.map(|q| q.index), Some(3));
}

#[tokio::test]
async fn there_is_never_a_fourth_question() {
    let app = spawn_app().await;
    let ready = app.ready_session("a fox").await;
    assert_eq!(ready.status, SessionStatus::Ready);
    for body in [json!({"answer": "one more thing"}), json!({"skip": true})] {
        let (status, error) = error_of(app.post_json(paths::SESSION_ANSWER, &body).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::CONFLICT, "refinement_complete")
        );
    }
    assert_eq!(app.session().await, ready, "the session is intact");
}

#[tokio::test]
async fn going_back_offers_the_old_answers_and_changes_one() {
    let app = spawn_app().await;
    let ready = app.ready_session("a fox").await;

    let response = app
        .post_json(paths::SESSION_BACK, &json!({"question": 2}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let back: contracts::SessionView = response.json().await.expect("view");
    assert_eq!(back.status, SessionStatus::Refining);
    assert_eq!(back.answers.len(), 1);
    let question = back.question.expect("question 2");
    assert_eq!(question.index, 2);
    assert_eq!(
        question.previous_answer.as_deref(),
        Some(ready.answers[1].answer.as_str())
    );

    let next = app.answer("warm, hopeful morning light").await;
    assert_eq!(
        next.question.and_then(|q| q.previous_answer),
        Some(ready.answers[2].answer.clone()),
        "question 3 is prefilled with its old answer"
    );
    let done = app.answer(&ready.answers[2].answer).await;
    assert_eq!(done.status, SessionStatus::Ready);
    assert_eq!(done.answers[0], ready.answers[0]);
    assert_eq!(done.answers[1].answer, "warm, hopeful morning light");
    assert_eq!(done.answers[2], ready.answers[2]);
}

#[tokio::test]
async fn going_back_out_of_range_or_ahead_is_refused() {
    let app = spawn_app().await;
    app.start("a fox").await;
    let before = app.session().await;
    for question in [0, 2, 4] {
        let (status, error) = error_of(
            app.post_json(paths::SESSION_BACK, &json!({"question": question}))
                .await,
        )
        .await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::CONFLICT, "invalid_step"),
            "{question}"
        );
    }
    assert_eq!(app.session().await, before);
}

#[tokio::test]
async fn short_answers_in_other_scripts_are_recorded_at_once() {
    let app = spawn_app().await;
    app.start("雨の夜の東京").await;
    for (i, answer) in ["東京", "雨", "서울의 밤"].into_iter().enumerate() {
        let view = app.answer(answer).await;
        let recorded = &view.answers[i];
        assert_eq!(recorded.answer, answer);
        assert!(
            !recorded.defaulted,
            "{answer:?} was replaced by the default"
        );
    }
}

#[tokio::test]
async fn dont_know_in_other_languages_and_emoji_alone_are_reasked() {
    let app = spawn_app().await;
    app.start("a fox").await;
    for (i, answer) in ["わからない", "不知道", "🌧️🌃"].into_iter().enumerate() {
        let view = app.answer(answer).await;
        let question = view.question.expect("the same question again");
        assert_eq!(
            (question.index, question.reask),
            (i as u8 + 1, true),
            "{answer:?}"
        );
        app.answer(["дождь", "ليل", "모르겠어요"][i]).await;
    }
    let ready = app.session().await;
    assert_eq!(ready.status, SessionStatus::Ready);
    assert_eq!(ready.answers[0].answer, "дождь");
    assert_eq!(ready.answers[1].answer, "ليل");
    assert!(
        ready.answers[2].defaulted,
        "a second sparse answer takes the default"
    );
    assert_eq!(ready.answers[2].answer, default_of(2));
}
