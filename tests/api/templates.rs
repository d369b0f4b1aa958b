//! Every template the server lists runs the whole flow (offline and on the live adapters), and a
//! broken template file stops the start with the file and the field named.

use std::time::Duration;

use contracts::{JobStatus, SessionStatus, SessionView, TemplateSummary, TemplatesResponse, paths};
use domain::Catalog;
use reqwest::StatusCode;
use serde_json::json;
use server::config::{Settings, SynthesisFallback};
use server::startup::Application;

use crate::helpers::{TestApp, expected_prompt, spawn_app, spawn_app_with};

/// Answers that suit any template: concrete, one per question.
const ANSWERS: [&str; 3] = [
    "weathered brass and dark walnut",
    "a rain-streaked window at dusk",
    "soft side light, close-up from a low angle",
];

async fn listed(app: &TestApp) -> Vec<TemplateSummary> {
    let response = app.get(paths::TEMPLATES).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: TemplatesResponse = response.json().await.expect("a template list");
    list.templates
}

/// Starts `template` with `idea` as a new person and answers the three questions.
async fn refine(app: &TestApp, template: &TemplateSummary, idea: &str) -> SessionView {
    let response = app
        .post_json(
            paths::SESSION_START,
            &json!({"templateId": template.id, "initialInput": idea}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", template.id);
    let first: SessionView = response.json().await.expect("a session view");
    assert_eq!(first.template_name, template.name);
    assert_eq!(first.default_aspect_ratio, template.default_aspect_ratio);

    let catalog = Catalog::built_in().expect("templates");
    let questions = &catalog.get(&template.id).expect("built in").questions;
    let mut view = first;
    for (answer, question) in ANSWERS.iter().zip(questions) {
        let asked = view.question.as_ref().expect("a question is waiting");
        assert_eq!(
            (asked.text.as_str(), asked.hint.as_str()),
            (question.text.as_str(), question.hint.as_str()),
            "{} asks its own questions",
            template.id
        );
        view = app.answer(answer).await;
    }
    assert_eq!(view.status, SessionStatus::Ready, "{}", template.id);
    view
}

#[tokio::test]
async fn six_templates_are_listed_with_general_cinematic_first() {
    let app = spawn_app().await;
    let templates = listed(&app).await;
    let ids: Vec<&str> = templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "general-cinematic",
            "architecture-interior",
            "food",
            "portrait",
            "poster-lettering",
            "product-shot"
        ]
    );
    for t in &templates {
        assert!(!t.name.is_empty() && !t.description.is_empty(), "{t:?}");
        assert_eq!(t.question_count, 3);
    }
}

#[tokio::test]
async fn every_template_runs_the_whole_flow_offline() {
    let app = spawn_app().await;
    let templates = listed(&app).await;
    assert!(templates.len() >= 6, "{templates:?}");
    for template in &templates {
        let person = app.another_person();
        let idea = "an old clockmaker's workshop";
        let ready = refine(&person, template, idea).await;

        let job = person.generate(json!({})).await;
        let done = person.finished(&job.job_id).await;
        assert_eq!(
            done.status,
            JobStatus::Succeeded,
            "{}: {done:?}",
            template.id
        );
        let image = done.image.expect("an image");
        assert!(image.offline_preview);
        let (w, h) = template.default_aspect_ratio.parts();
        assert!(
            (image.width * h).abs_diff(image.height * w) <= w.max(h),
            "{}: {}x{} is not {}",
            template.id,
            image.width,
            image.height,
            template.default_aspect_ratio.as_str()
        );
        assert!(image.summary.contains("weathered brass"), "{}", template.id);
        assert!(image.alt.contains("clockmaker"), "{}", template.id);

        let response = person.get(&image.url).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", template.id);
        assert_eq!(response.headers()["content-type"], "image/png");
        let bytes = response.bytes().await.expect("bytes");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", template.id);

        // The offline composer wrote this template's prompt: its opening and its own leads.
        let prompt = expected_prompt(idea, &ready);
        let catalog = Catalog::built_in().expect("templates");
        let t = catalog.get(&template.id).expect("built in");
        assert!(prompt.starts_with(&t.opening.replace("{idea}", idea)));
        for q in &t.questions {
            assert!(prompt.contains(&q.lead), "{}: {:?}", t.id, q.lead);
        }
    }
}

#[tokio::test]
async fn every_template_runs_on_the_live_adapters_with_its_own_instructions() {
    let (addr, sim) = simulator::spawn(simulator::Config {
        hang: Duration::from_secs(60),
        ..simulator::Config::default()
    })
    .await
    .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        s.openai.api_key = Some("sk-sim-templates".to_owned().into());
        s.openai.base_url = format!("http://{addr}/v1");
        s.openai.fallback = SynthesisFallback::Off;
        s.nanobanana.api_key = Some("sim-templates".to_owned().into());
        s.nanobanana.api_url = format!("http://{addr}");
    })
    .await;
    let catalog = Catalog::built_in().expect("templates");
    for template in listed(&app).await {
        let person = app.another_person();
        refine(&person, &template, "a paper lantern").await;
        let job = person.generate(json!({})).await;
        let done = person.finished(&job.job_id).await;
        assert_eq!(
            done.status,
            JobStatus::Succeeded,
            "{}: {done:?}",
            template.id
        );
        assert!(!done.image.expect("an image").offline_preview);

        let received = sim.received();
        let openai = received
            .iter()
            .rev()
            .find(|r| r.path == "/v1/responses")
            .expect("OpenAI was called");
        let t = catalog.get(&template.id).expect("built in");
        assert_eq!(openai.body["instructions"], t.instructions.trim());
        let brief = openai.body["input"].to_string();
        for q in &t.questions {
            assert!(brief.contains(&q.text), "{}: {:?} not sent", t.id, q.text);
        }
        let gemini = received
            .iter()
            .rev()
            .find(|r| r.path.ends_with(":generateContent"))
            .expect("Gemini was called");
        assert_eq!(
            gemini.body["generationConfig"]["imageConfig"]["aspectRatio"],
            template.default_aspect_ratio.as_str(),
            "{}",
            template.id
        );
    }
}

#[tokio::test]
async fn a_broken_template_file_stops_the_start_naming_the_file_and_the_field() {
    let dir = std::env::temp_dir().join(format!("refinery-api-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let food = include_str!("../../templates/food.toml");
    let hint = food
        .lines()
        .find(|l| l.starts_with("hint = \"Give the light and the angle"))
        .expect("food's third hint");
    std::fs::write(dir.join("food.toml"), food.replacen(hint, "hint = \"\"", 1)).expect("written");

    let mut settings = Settings::for_tests();
    settings.templates_dir = Some(dir.clone());
    let result = Application::build(settings).await;
    let _ = std::fs::remove_dir_all(&dir);

    let message = format!("{:#}", result.err().expect("the start is refused"));
    let file = dir.join("food.toml").display().to_string();
    assert!(
        message.contains(&format!("{file}: questions[2].hint is empty")),
        "{message}"
    );
}

/// Reads a PNG's width and height from its IHDR chunk.
fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let image =
        image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg).expect("a JPEG");
    (image.width(), image.height())
}

#[tokio::test]
async fn each_template_has_its_own_example_picture_drawn_once() {
    let app = spawn_app().await;
    let templates = listed(&app).await;
    let mut pictures = Vec::new();
    for template in &templates {
        let prefix = paths::template_example(&template.id);
        assert!(
            template.example_url.starts_with(&format!("{prefix}?v=")),
            "{}: {}",
            template.id,
            template.example_url
        );
        let response = app.get(&template.example_url).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", template.id);
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        let cache = response.headers()["cache-control"].to_str().expect("ascii");
        assert!(cache.contains("max-age=604800"), "{cache}");
        let etag = response.headers()["etag"].clone();
        let picture = response.bytes().await.expect("bytes");
        let (width, height) = jpeg_size(&picture);
        let (w, h) = template.default_aspect_ratio.parts();
        assert_eq!(width.max(height), 480, "{}: small", template.id);
        assert!(
            (width * h).abs_diff(height * w) <= w.max(h),
            "{}: {width}x{height} is {w}:{h}",
            template.id
        );

        // Again, and with the validator: the same picture, or a 304, never a new drawing.
        let again = app.get(&template.example_url).await;
        assert_eq!(again.headers()["etag"], etag);
        assert_eq!(again.bytes().await.expect("bytes"), picture);
        let revalidated = app
            .client
            .get(app.url(&template.example_url))
            .header("if-none-match", etag.clone())
            .send()
            .await
            .expect("answered");
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        pictures.push(picture);
    }
    assert_eq!(pictures.len(), 6);
    for (i, a) in pictures.iter().enumerate() {
        for b in &pictures[i + 1..] {
            assert_ne!(a, b, "each template has a picture of its own");
        }
    }
    assert_eq!(
        app.state.examples.renders(),
        6,
        "each picture was drawn once; the repeats came from memory"
    );
}

#[tokio::test]
async fn an_unknown_template_has_no_example() {
    let app = spawn_app().await;
    let response = app.get(&paths::template_example("no-such-style")).await;
    let (status, body) = crate::helpers::error_of(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.code, contracts::codes::TEMPLATE_NOT_FOUND);
    assert_eq!(app.state.examples.renders(), 0);
}
