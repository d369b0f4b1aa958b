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

/// Every byte the embedded store wrote (database, WAL, image files, secret), as text.
fn stored_bytes(dir: &std::path::Path, all: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).expect("DATA_DIR is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            stored_bytes(&path, all);
        } else {
            all.extend(std::fs::read(&path).expect("a stored file"));
        }
    }
}

/// Nothing stored holds an API key; the prompt is stored (for "new take, same prompt") but, as
/// the test above shows, never served. Checked on the embedded store, whose every byte is a file
/// under `DATA_DIR` (both backends store the same rows).
#[tokio::test]
async fn no_api_key_is_stored_but_the_prompt_is() {
    const OPENAI_KEY: &str = "sk-sim-key-that-must-never-be-stored";
    const GEMINI_KEY: &str = "AIza-sim-key-that-must-never-be-stored";
    let storage = std::sync::Arc::new(
        api_tests::storage::TestStorage::on(api_tests::storage::Backend::Embedded).await,
    );
    let (addr, _sim) = simulator::spawn(simulator::Config::default())
        .await
        .expect("the simulator starts");
    let app = crate::helpers::spawn_app_on(&storage, |s| {
        s.openai.api_key = Some(OPENAI_KEY.to_owned().into());
        s.openai.base_url = format!("http://{addr}/v1");
        s.nanobanana.api_key = Some(GEMINI_KEY.to_owned().into());
        s.nanobanana.api_url = format!("http://{addr}");
    })
    .await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = app.generate(json!({})).await;
    assert!(app.finished(&job.job_id).await.image.is_some());

    let mut stored = Vec::new();
    stored_bytes(storage.data_dir(), &mut stored);
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("richly detailed, cinematic image"),
        "the written prompt is kept (the check can see the rows)"
    );
    for key in [OPENAI_KEY, GEMINI_KEY] {
        assert!(!stored.contains(key), "{key} was stored");
    }
}
