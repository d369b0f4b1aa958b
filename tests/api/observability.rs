//! What an operator sees in the logs: lengths and ids, never the idea, an answer, the prompt, a
//! password or a cookie. (The funnel in /metrics is counted in tests/funnel, a process of its own.)

use contracts::paths;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{captured_logs, expected_prompt, spawn_app, spawn_app_with};

#[tokio::test]
async fn logs_of_a_full_flow_hold_no_idea_answer_prompt_or_secret() {
    let captured = captured_logs();

    let password = "partner-password-for-log-test";
    let app = spawn_app_with(|s| s.access_password = Some(SecretString::from(password))).await;
    let login = app
        .post_json("/login", &json!({"password": password}))
        .await;
    assert_eq!(login.status(), StatusCode::NO_CONTENT);
    let idea = "a zebracorn lighthouse keeper polishing brass";
    let answers = [
        "quokka harbour at midnight",
        "melancholic teal fogbanks",
        "periscope-level dutch tilt",
    ];
    app.start(idea).await;
    for answer in answers {
        app.answer(answer).await;
    }
    let job = app.generate(json!({})).await;
    let image = app.finished(&job.job_id).await.image.expect("image");
    app.get(&image.url).await;
    let view = app.session().await;
    app.delete(paths::SESSION).await;

    let prompt = expected_prompt(idea, &view);

    let logs = captured.text();
    // The logs of the whole test process, this test's flow among them.
    assert!(
        logs.contains(&format!("job={}", job.job_id)),
        "this flow was logged:\n{logs}"
    );
    assert!(logs.contains("idea_chars="), "lengths are logged instead");
    let test_secret = "test-secret-test-secret-test-secret-0123";
    for forbidden in [
        idea,
        "zebracorn",
        answers[0],
        answers[1],
        answers[2],
        prompt.as_str(),
        password,
        test_secret,
        "refinery_session=",
        "refinery_access=",
    ] {
        assert!(
            !logs.contains(forbidden),
            "{forbidden:?} appears in the logs"
        );
    }
}

/// The per-request line at INFO is for requests an operator should look at: every refused or
/// failed one carries its status and request id; a quick success is DEBUG (`RUST_LOG`).
#[tokio::test]
async fn a_refused_request_is_logged_with_its_request_id_and_a_quick_success_is_not() {
    let captured = captured_logs();
    let app = spawn_app().await;
    let send = |path: &'static str, request_id: &'static str| {
        app.client
            .get(app.url(path))
            .header("x-request-id", request_id)
            .send()
    };
    let refused = send("/api/no-such-route", "log-test-refused-5e1d")
        .await
        .expect("answered");
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    // A client's own id that could pose as more fields is written quoted.
    let forged = send("/api/no-such-route", "forged status=200")
        .await
        .expect("answered");
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    let fine = send(paths::HEALTHZ, "log-test-quick-5e1d")
        .await
        .expect("answered");
    assert_eq!(fine.status(), StatusCode::OK);

    let logs = captured.text();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("request_id=log-test-refused-5e1d"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" INFO ") && l.contains("status=404") && l.contains("latency_ms=")),
        "the 404 and its request id at INFO:\n{logs}"
    );
    assert!(
        logs.contains(r#"request_id="forged status=200""#) && !logs.contains("request_id=forged"),
        "an id with a space is quoted:\n{logs}"
    );
    assert!(
        !logs.contains("log-test-quick-5e1d"),
        "a quick 200 is not an INFO line:\n{logs}"
    );
}

#[tokio::test]
async fn metric_labels_take_only_known_methods_and_matched_routes() {
    let app = crate::helpers::spawn_app().await;
    let invented = reqwest::Method::from_bytes(b"XYZZYMETHOD").expect("a method token");
    for path in [paths::TEMPLATES, "/no/such/page/4711"] {
        app.client
            .request(invented.clone(), app.url(path))
            .send()
            .await
            .expect("answered");
    }
    app.get("/another/unknown/page-0815").await;
    let metrics = app.get(paths::METRICS).await.text().await.expect("text");
    let requests: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("refinery_http_requests_total{"))
        .collect();
    assert!(!requests.is_empty(), "{metrics}");
    for line in &requests {
        assert!(!line.contains("XYZZYMETHOD"), "{line}");
        assert!(!line.contains("4711") && !line.contains("0815"), "{line}");
    }
    assert!(
        requests
            .iter()
            .any(|l| l.contains(r#"method="other""#) && l.contains(r#"route="/api/templates""#)),
        "{requests:#?}"
    );
}
