//! The synthesized prompt never leaves the server: not in a body, not in a header.

use contracts::{SessionView, paths};
use domain::Catalog;
use reqwest::Response;
use serde_json::json;

use crate::helpers::{expected_prompt, spawn_app};

/// Everything a client received, headers and body, as one text.
async fn record(response: Response, seen: &mut String) -> Vec<u8> {
    for (name, value) in response.headers() {
        seen.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    let body = response.bytes().await.expect("body").to_vec();
    seen.push_str(&String::from_utf8_lossy(&body));
    seen.push('\n');
    body
}

#[tokio::test]
async fn no_response_of_a_full_flow_carries_the_prompt() {
    let app = spawn_app().await;
    let idea = "a lighthouse keeper feeding a stray cat";
    let mut seen = String::new();

    record(app.get(paths::TEMPLATES).await, &mut seen).await;
    record(app.get(paths::META).await, &mut seen).await;
    record(
        app.post_json(
            paths::SESSION_START,
            &json!({"templateId": "general-cinematic", "initialInput": idea}),
        )
        .await,
        &mut seen,
    )
    .await;
    for body in [
        json!({"answer": "idk"}),
        json!({"answer": "a storm-lashed island at dusk"}),
        json!({"skip": true}),
        json!({"answer": "close-up, 85 mm"}),
    ] {
        record(app.post_json(paths::SESSION_ANSWER, &body).await, &mut seen).await;
    }
    let job: contracts::JobView = serde_json::from_slice(
        &record(app.post_json(paths::GENERATE, &json!({})).await, &mut seen).await,
    )
    .expect("job");
    let done: contracts::JobView = serde_json::from_slice(
        &record(
            app.get(&format!("{}?wait=30", paths::job(&job.job_id)))
                .await,
            &mut seen,
        )
        .await,
    )
    .expect("job");
    let image = done.image.expect("image");
    let png = record(app.get(&image.url).await, &mut seen).await;
    let view: SessionView =
        serde_json::from_slice(&record(app.get(paths::SESSION).await, &mut seen).await)
            .expect("view");
    let new_take: contracts::JobView = serde_json::from_slice(
        &record(
            app.post_json(paths::GENERATE, &json!({"reusePrompt": true}))
                .await,
            &mut seen,
        )
        .await,
    )
    .expect("job");
    record(
        app.get(&format!("{}?wait=30", paths::job(&new_take.job_id)))
            .await,
        &mut seen,
    )
    .await;

    // The prompt the server wrote, recomputed from the same inputs by the same composer.
    let prompt = expected_prompt(idea, &view);
    let catalog = Catalog::built_in().expect("templates");
    let template = catalog.get("general-cinematic").expect("template");
    assert!(prompt.len() > 200, "a real prompt: {prompt}");
    assert!(!png.is_empty());

    assert!(!seen.contains(&prompt), "the whole prompt leaked");
    // No sentence of it either, beyond what the person typed themselves.
    for sentence in prompt.split(". ").filter(|s| s.len() > 40) {
        let typed = [idea, "a storm-lashed island at dusk", "close-up, 85 mm"]
            .iter()
            .any(|t| sentence.contains(t));
        if !typed {
            assert!(
                !seen.contains(sentence),
                "a prompt sentence leaked: {sentence}"
            );
        }
    }
    assert!(!seen.contains(&template.style), "the style sentence leaked");
}
