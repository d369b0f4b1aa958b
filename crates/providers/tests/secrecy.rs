//! The secret rule for the live adapters: neither the synthesized prompt nor an API key appears in
//! a log line (at any level the adapters emit, INFO included), whatever the outcome.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::AspectRatio;
use domain::{Answer, Catalog};
use providers::fallback::WithFallback;
use providers::faults::FaultScript;
use providers::gemini::{GeminiConfig, GeminiImages};
use providers::local::LocalComposer;
use providers::openai::{OpenAiConfig, OpenAiSynthesizer};
use providers::{ImageGenerator, ImageRequest, PromptSynthesizer, SynthesisRequest};
use simulator::{Config, Fault};

const OPENAI_KEY: &str = "sk-log-test-secret";
const GEMINI_KEY: &str = "AIza-log-test-secret";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn prompts_and_keys_never_reach_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (addr, sim) = simulator::spawn(Config {
        openai_faults: vec![
            Fault::Malformed,
            Fault::Ok,
            Fault::RateLimited,
            Fault::Failed,
        ],
        gemini_faults: vec![Fault::Status503, Fault::Ok],
        ..Config::default()
    })
    .await
    .expect("simulator");

    let template = Catalog::built_in()
        .expect("templates")
        .get("general-cinematic")
        .expect("template");
    let answers: Vec<Answer> = ["a storm-lashed island", "tense", "wide shot"]
        .iter()
        .map(|t| Answer {
            text: (*t).to_owned(),
            defaulted: false,
            skipped: false,
            reasked: false,
        })
        .collect();
    let mut config = OpenAiConfig::new(
        OPENAI_KEY.to_owned().into(),
        &format!("http://{addr}/v1"),
        "m",
        1500,
    );
    config.retry.base_delay = Duration::from_millis(1);
    let openai: Arc<dyn PromptSynthesizer> =
        Arc::new(OpenAiSynthesizer::new(config).expect("client"));
    let local = Arc::new(LocalComposer::new(
        1500,
        Duration::ZERO,
        FaultScript::default(),
    ));
    let writer = WithFallback::new(openai, local);
    let request = SynthesisRequest {
        template: &template,
        idea: "a lighthouse keeper feeding a stray cat",
        answers: &answers,
        reference_notes: &[],
    };
    // malformed → ok: the live prompt.
    let first = writer.synthesize(request).await.expect("synthesized");
    // 429 → failed: the fallback's prompt.
    let second = writer.synthesize(request).await.expect("fallback");

    let gemini = GeminiImages::new({
        let mut c = GeminiConfig::new(GEMINI_KEY.to_owned().into(), &format!("http://{addr}"), "g");
        c.retry.base_delay = Duration::from_millis(1);
        c
    })
    .expect("client");
    gemini
        .generate(ImageRequest {
            prompt: &first.prompt,
            aspect_ratio: AspectRatio::Square,
            ..ImageRequest::new("", AspectRatio::Square)
        })
        .await
        .expect("image");
    drop(sim);

    let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf-8");
    assert!(
        text.contains("provider attempt"),
        "the attempts were logged: {text}"
    );
    assert!(
        text.contains("synthesis_fallback"),
        "the fallback was logged: {text}"
    );
    for secret in [
        OPENAI_KEY,
        GEMINI_KEY,
        first.prompt.as_str(),
        second.prompt.as_str(),
        "lighthouse keeper",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} leaked into the logs:\n{text}"
        );
    }
}

#[tokio::test]
async fn serde_errors_quoting_model_output_never_reach_an_info_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Answers serde quotes back in its error text: a bare JSON string, and an unknown key.
    let quoted_value = "MODEL-OUTPUT-VALUE a lighthouse keeper in the storm";
    let quoted_key = "MODEL-OUTPUT-KEY";
    let success: serde_json::Value = serde_json::from_str(include_str!(
        "../../simulator/fixtures/openai-responses-success.json"
    ))
    .expect("fixture");
    let with_text = |text: String| {
        let mut body = success.clone();
        body["output"][1]["content"][0]["text"] = serde_json::json!(text);
        wiremock::ResponseTemplate::new(200).set_body_json(body)
    };
    let server = wiremock::MockServer::start().await;
    for text in [
        serde_json::json!(quoted_value).to_string(),
        serde_json::json!({ quoted_key: "x" }).to_string(),
    ] {
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(with_text(text))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let mut config = OpenAiConfig::new(
        OPENAI_KEY.to_owned().into(),
        &format!("{}/v1", server.uri()),
        "m",
        1500,
    );
    config.retry.base_delay = Duration::from_millis(1);
    let openai = OpenAiSynthesizer::new(config).expect("client");
    let template = Catalog::built_in()
        .expect("templates")
        .get("general-cinematic")
        .expect("template");
    let answers: Vec<Answer> = ["a", "b", "c"]
        .iter()
        .map(|t| Answer {
            text: (*t).to_owned(),
            defaulted: false,
            skipped: false,
            reasked: false,
        })
        .collect();
    let error = openai
        .synthesize(SynthesisRequest {
            template: &template,
            idea: "an idea",
            answers: &answers,
            reference_notes: &[],
        })
        .await
        .expect_err("malformed twice");
    assert!(
        matches!(&error, providers::ProviderError::BadResponse(_)),
        "{error:?}"
    );

    let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf-8");
    assert!(
        text.contains("malformed structured output"),
        "the malformed answers were logged: {text}"
    );
    let carried = error.to_string();
    for quoted in [quoted_value, quoted_key] {
        assert!(
            !text.contains(quoted),
            "{quoted:?} reached the logs:\n{text}"
        );
        assert!(
            !carried.contains(quoted),
            "{quoted:?} is carried in the error, one log line away: {carried}"
        );
    }
}
