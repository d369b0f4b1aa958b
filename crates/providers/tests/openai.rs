//! The OpenAI adapter against wiremock: the exact request it sends (checked against OpenAI's own
//! CreateResponse schema) and every outcome the issue lists.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Answer, Catalog, Template};
use providers::fallback::WithFallback;
use providers::faults::FaultScript;
use providers::local::LocalComposer;
use providers::openai::{OpenAiConfig, OpenAiSynthesizer, ReasoningEffort};
use providers::retry::RetryPolicy;
use providers::{PromptSynthesizer, ProviderError, SynthesisRequest};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-very-secret-key";
const SUCCESS: &str = include_str!("../../simulator/fixtures/openai-responses-success.json");
const REFUSAL: &str = include_str!("../../simulator/fixtures/openai-responses-refusal.json");
const INCOMPLETE: &str = include_str!("../../simulator/fixtures/openai-responses-incomplete.json");
const FAILED: &str = include_str!("../../simulator/fixtures/openai-responses-failed.json");
const RATE_LIMIT: &str = include_str!("../../simulator/fixtures/openai-error-429-rate-limit.json");
const QUOTA: &str =
    include_str!("../../simulator/fixtures/openai-error-429-insufficient-quota.json");
const ERROR_401: &str = include_str!("../../simulator/fixtures/openai-error-401.json");
const ERROR_500: &str = include_str!("../../simulator/fixtures/openai-error-500.json");
const SCHEMA: &str = include_str!("fixtures/openai-responses.schema.json");

fn template() -> Arc<Template> {
    Catalog::built_in()
        .expect("built-in templates")
        .get("general-cinematic")
        .expect("general-cinematic")
}

fn answers() -> Vec<Answer> {
    let answer = |text: &str, defaulted: bool| Answer {
        text: text.to_owned(),
        defaulted,
        skipped: defaulted,
        reasked: false,
    };
    vec![
        answer("a storm-lashed island at dusk", false),
        answer("TEMPLATE-DEFAULT-MOOD", true),
        answer("wide shot, low angle", false),
    ]
}

fn adapter(server: &MockServer) -> OpenAiSynthesizer {
    let mut config = OpenAiConfig::new(
        KEY.to_owned().into(),
        &format!("{}/v1", server.uri()),
        "gpt-test-mini",
        1500,
    );
    config.attempt_timeout = Duration::from_secs(5);
    config.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        deadline: Duration::from_secs(10),
    };
    OpenAiSynthesizer::new(config).expect("client")
}

async fn synthesize(
    adapter: &dyn PromptSynthesizer,
) -> Result<providers::Synthesis, ProviderError> {
    let template = template();
    let answers = answers();
    adapter
        .synthesize(SynthesisRequest {
            template: &template,
            idea: "a lighthouse keeper feeding a stray cat",
            answers: &answers,
            reference_notes: &[],
        })
        .await
}

/// The success fixture with `text` as the message's output_text.
fn body_with_text(text: &str) -> Value {
    let mut body: Value = serde_json::from_str(SUCCESS).expect("fixture");
    body["output"][1]["content"][0]["text"] = json!(text);
    body
}

fn good_answer(prompt: &str) -> Value {
    body_with_text(
        &json!({
            "final_nanobanana_prompt": prompt,
            "summary": "A lighthouse keeper and a cat.",
            "alt_text": "A keeper feeds a cat in a lighthouse."
        })
        .to_string(),
    )
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn raw(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
}

async fn mount(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(response)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.expect("recording on")
}

#[tokio::test]
async fn success_sends_the_exact_request_and_reads_the_answer() {
    let server = MockServer::start().await;
    mount(&server, ok(good_answer("A keeper at dusk. Soft light.")), 1).await;

    let synthesis = synthesize(&adapter(&server)).await.expect("success");
    assert_eq!(synthesis.prompt, "A keeper at dusk. Soft light.");
    assert_eq!(synthesis.summary, "A lighthouse keeper and a cat.");
    assert_eq!(synthesis.alt_text, "A keeper feeds a cat in a lighthouse.");

    let requests = requests(&server).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v1/responses");
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
    assert_eq!(request.headers["content-type"], "application/json");

    let body: Value = request.body_json().expect("JSON body");
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "input",
            "instructions",
            "max_output_tokens",
            "model",
            "reasoning",
            "store",
            "text"
        ],
        "no unknown or unneeded fields"
    );
    assert_eq!(body["model"], "gpt-test-mini");
    assert_eq!(body["store"], false);
    assert_eq!(body["max_output_tokens"], 2500);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "low"}),
        "low by default"
    );
    assert_eq!(body["instructions"], template().instructions.trim());
    let format = &body["text"]["format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["strict"], true);
    assert_eq!(format["name"], "prompt_synthesis");
    let schema = &format["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        json!(["alt_text", "final_nanobanana_prompt", "summary"]),
        "every property required"
    );
    assert_eq!(
        schema["properties"].as_object().expect("properties").len(),
        3
    );

    let input = body["input"].as_array().expect("input items");
    assert_eq!(input.len(), 1);
    assert_eq!(input[0]["role"], "user");
    let brief = input[0]["content"].as_str().expect("text content");
    assert!(brief.contains("Idea: a lighthouse keeper feeding a stray cat"));
    assert!(brief.contains("Answer: a storm-lashed island at dusk"));
    assert!(
        brief.contains("Answer [default"),
        "defaulted answers are marked: {brief}"
    );
    assert!(brief.contains("TEMPLATE-DEFAULT-MOOD"));

    // The body is valid against OpenAI's own CreateResponse schema.
    let validator = create_response_validator();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A validator for `CreateResponse` bodies. The extract carries a few draft-2019 keywords
/// (`$recursiveAnchor: true`) that the 2020-12 meta-schema rejects; they mean nothing in 2020-12
/// and are dropped before compiling.
fn create_response_validator() -> jsonschema::Validator {
    fn drop_recursive_anchor(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("$recursiveAnchor");
                map.values_mut().for_each(drop_recursive_anchor);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_recursive_anchor),
            _ => {}
        }
    }
    let mut spec: Value = serde_json::from_str(SCHEMA).expect("schema");
    drop_recursive_anchor(&mut spec);
    spec["$ref"] = json!("#/$defs/CreateResponse");
    jsonschema::validator_for(&spec).expect("the schema compiles")
}

#[test]
fn every_reasoning_effort_is_sent_as_openai_spells_it() {
    let validator = create_response_validator();
    let (template, answers) = (template(), answers());
    let request = SynthesisRequest {
        template: &template,
        idea: "a lighthouse keeper",
        answers: &answers,
        reference_notes: &[],
    };
    for name in ReasoningEffort::NAMES {
        let effort = ReasoningEffort::parse(&name.to_uppercase()).expect(name);
        let mut config =
            OpenAiConfig::new(KEY.to_owned().into(), "http://127.0.0.1:9/v1", "m", 1500);
        config.reasoning_effort = effort;
        let adapter = OpenAiSynthesizer::new(config).expect("client");
        let body = serde_json::to_value(adapter.request_body(&request, false)).expect("json");
        assert_eq!(body["reasoning"], json!({"effort": name}), "{name}");
        assert_eq!(effort.name(), name);
        assert!(validator.is_valid(&body), "{name}: valid CreateResponse");
    }
    assert_eq!(
        ReasoningEffort::parse("minimal"),
        None,
        "not a GPT-6 effort"
    );
}

#[test]
fn the_schema_validator_catches_a_bad_request() {
    let validator = create_response_validator();
    let example: Value =
        serde_json::from_str(include_str!("fixtures/openai-responses-request.json")).expect("json");
    assert!(
        validator.is_valid(&example),
        "the contract's own example is valid"
    );
    let mut bad = example.clone();
    bad["text"]["format"]["strict"] = json!("yes");
    assert!(!validator.is_valid(&bad), "a wrongly typed field is caught");
}

#[tokio::test]
async fn the_message_is_found_after_reasoning_items() {
    let server = MockServer::start().await;
    let mut body = good_answer("Found it.");
    let message = body["output"][1].clone();
    body["output"] = json!([
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "reasoning", "id": "rs_2", "summary": []},
        message
    ]);
    mount(&server, ok(body), 1).await;
    assert_eq!(
        synthesize(&adapter(&server)).await.expect("ok").prompt,
        "Found it."
    );
}

#[tokio::test]
async fn fields_async_openai_does_not_know_yet_do_not_lose_the_answer() {
    let server = MockServer::start().await;
    let mut body = good_answer("Still read.");
    let message = body["output"][1].clone();
    body["output"] = json!([{"type": "some_future_item", "id": "x_1"}, message]);
    mount(&server, ok(body), 1).await;
    assert_eq!(
        synthesize(&adapter(&server)).await.expect("ok").prompt,
        "Still read."
    );

    let server = MockServer::start().await;
    let mut body: Value = serde_json::from_str(FAILED).expect("fixture");
    body["error"]["code"] = json!("some_future_code");
    mount(&server, ok(body), 1).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Failed("some_future_code".into()))
    );
}

#[tokio::test]
async fn the_prompt_is_capped_at_a_sentence_boundary() {
    let server = MockServer::start().await;
    let long = format!(
        "{} Last sentence is cut.",
        "A calm sentence here. ".repeat(100)
    );
    mount(&server, ok(good_answer(&long)), 1).await;
    let mut config = OpenAiConfig::new(
        KEY.to_owned().into(),
        &format!("{}/v1", server.uri()),
        "m",
        200,
    );
    config.retry.base_delay = Duration::from_millis(1);
    let synthesis = synthesize(&OpenAiSynthesizer::new(config).expect("client"))
        .await
        .expect("ok");
    assert!(synthesis.prompt.chars().count() <= 200);
    assert!(synthesis.prompt.ends_with("here."), "{}", synthesis.prompt);
}

#[tokio::test]
async fn a_refusal_is_its_own_outcome_and_not_retried() {
    let server = MockServer::start().await;
    mount(&server, raw(200, REFUSAL), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Refused)
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn incomplete_is_its_own_outcome() {
    let server = MockServer::start().await;
    mount(&server, raw(200, INCOMPLETE), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Incomplete)
    );
    assert_eq!(requests(&server).await.len(), 1);

    // Either reason.
    let server = MockServer::start().await;
    let mut body: Value = serde_json::from_str(INCOMPLETE).expect("fixture");
    body["incomplete_details"]["reason"] = json!("content_filter");
    mount(&server, ok(body), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Incomplete)
    );
}

#[tokio::test]
async fn failed_is_its_own_outcome() {
    let server = MockServer::start().await;
    mount(&server, raw(200, FAILED), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Failed("server_error".into()))
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn malformed_json_gets_one_retry_with_a_stricter_reminder() {
    let server = MockServer::start().await;
    mount(&server, ok(body_with_text("Sure! {not json")), 1).await;
    mount(&server, ok(good_answer("Second time lucky.")), 1).await;
    assert_eq!(
        synthesize(&adapter(&server)).await.expect("ok").prompt,
        "Second time lucky."
    );
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 2);
    let second: Value = requests[1].body_json().expect("json");
    let input = second["input"].as_array().expect("items");
    assert_eq!(input.len(), 2);
    assert_eq!(input[1]["role"], "developer");
    assert!(
        input[1]["content"]
            .as_str()
            .expect("text")
            .contains("ONLY one JSON object")
    );
}

#[tokio::test]
async fn schema_invalid_json_twice_is_a_clear_failure() {
    let server = MockServer::start().await;
    mount(
        &server,
        ok(body_with_text(r#"{"prompt": "wrong keys"}"#)),
        5,
    )
    .await;
    let error = synthesize(&adapter(&server)).await.expect_err("fails");
    assert!(
        matches!(&error, ProviderError::BadResponse(m) if m.contains("malformed twice")),
        "{error:?}"
    );
    assert_eq!(requests(&server).await.len(), 2, "exactly one retry");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let server = MockServer::start().await;
    mount(
        &server,
        raw(429, RATE_LIMIT).insert_header("retry-after", "1"),
        1,
    )
    .await;
    mount(&server, ok(good_answer("After the wait.")), 1).await;
    let started = Instant::now();
    assert_eq!(
        synthesize(&adapter(&server)).await.expect("ok").prompt,
        "After the wait."
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_time_left_ends_the_call_at_once_without_panicking() {
    for header in ["18446744073709551615", "99999999999", "1e20"] {
        let server = MockServer::start().await;
        mount(
            &server,
            raw(429, RATE_LIMIT).insert_header("retry-after", header),
            5,
        )
        .await;
        let started = Instant::now();
        let error = synthesize(&adapter(&server)).await.expect_err("limited");
        assert!(
            matches!(error, ProviderError::RateLimited { .. }),
            "{header}: {error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{header}");
        assert_eq!(requests(&server).await.len(), 1, "{header}: not retried");
    }
}

#[tokio::test]
async fn a_negative_or_unreadable_retry_after_falls_back_to_the_backoff() {
    for header in [
        "-5",
        "1.5.3",
        "soon",
        "NaN",
        "inf",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        let server = MockServer::start().await;
        mount(
            &server,
            raw(429, RATE_LIMIT).insert_header("retry-after", header),
            5,
        )
        .await;
        let started = Instant::now();
        let error = synthesize(&adapter(&server)).await.expect_err("limited");
        assert!(
            matches!(error, ProviderError::RateLimited { retry_after: None }),
            "{header}: {error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{header}");
        assert_eq!(requests(&server).await.len(), 3, "{header}: two retries");
    }
}

#[tokio::test]
async fn an_oversized_answer_is_refused_unread_and_not_retried() {
    let server = MockServer::start().await;
    // A good answer carrying 3 MiB of padding: valid JSON that would otherwise be read whole.
    let mut body = good_answer("A prompt hidden in a huge body.");
    body["padding"] = json!("x".repeat(3 * 1024 * 1024));
    mount(&server, ok(body), 5).await;
    let error = synthesize(&adapter(&server)).await.expect_err("too big");
    assert!(
        matches!(&error, ProviderError::BadResponse(m) if m.contains("larger than")),
        "{error:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_429_insufficient_quota_is_not_retried() {
    let server = MockServer::start().await;
    mount(&server, raw(429, QUOTA), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::QuotaExhausted)
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn two_500s_then_success() {
    let server = MockServer::start().await;
    mount(&server, raw(500, ERROR_500), 2).await;
    mount(&server, ok(good_answer("Third time.")), 1).await;
    assert_eq!(
        synthesize(&adapter(&server)).await.expect("ok").prompt,
        "Third time."
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn three_500s_exhaust_the_two_retries() {
    let server = MockServer::start().await;
    mount(&server, raw(500, ERROR_500), 10).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Unavailable)
    );
    assert_eq!(
        requests(&server).await.len(),
        3,
        "1 attempt + 2 retries, no more"
    );
}

#[tokio::test]
async fn a_connection_error_is_retried_then_unavailable() {
    // A port nothing listens on: bind, note the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut config = OpenAiConfig::new(
        KEY.to_owned().into(),
        &format!("http://{addr}/v1"),
        "m",
        1500,
    );
    config.retry.base_delay = Duration::from_millis(1);
    let adapter = OpenAiSynthesizer::new(config).expect("client");
    assert_eq!(synthesize(&adapter).await, Err(ProviderError::Unavailable));
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    mount(
        &server,
        ok(good_answer("Too late.")).set_delay(Duration::from_secs(10)),
        5,
    )
    .await;
    let mut config = OpenAiConfig::new(
        KEY.to_owned().into(),
        &format!("{}/v1", server.uri()),
        "m",
        1500,
    );
    config.attempt_timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(
        synthesize(&OpenAiSynthesizer::new(config).expect("client")).await,
        Err(ProviderError::Timeout)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_rejected_key_is_an_auth_failure() {
    let server = MockServer::start().await;
    mount(&server, raw(401, ERROR_401), 5).await;
    assert_eq!(
        synthesize(&adapter(&server)).await,
        Err(ProviderError::Auth)
    );
    assert_eq!(requests(&server).await.len(), 1);
}

fn with_fallback(server: &MockServer) -> WithFallback {
    let local = LocalComposer::new(1500, Duration::ZERO, FaultScript::default());
    WithFallback::new(Arc::new(adapter(server)), Arc::new(local))
}

#[tokio::test]
async fn a_failure_for_good_falls_back_to_the_local_composer() {
    let server = MockServer::start().await;
    mount(&server, raw(200, FAILED), 5).await;
    let wrapper = with_fallback(&server);
    let synthesis = synthesize(&wrapper)
        .await
        .expect("the fallback writes the prompt");
    assert_ne!(
        synthesis.prompt, "a lighthouse keeper feeding a stray cat",
        "never the raw idea"
    );
    assert!(
        synthesis.prompt.contains("storm-lashed island"),
        "the local composer's prompt"
    );
    assert_eq!(wrapper.fallbacks(), 1);
}

#[tokio::test]
async fn a_refusal_is_not_overridden_by_the_fallback() {
    let server = MockServer::start().await;
    mount(&server, raw(200, REFUSAL), 5).await;
    let wrapper = with_fallback(&server);
    assert_eq!(synthesize(&wrapper).await, Err(ProviderError::Refused));
    assert_eq!(wrapper.fallbacks(), 0);
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let config = OpenAiConfig::new(KEY.to_owned().into(), "http://x/v1", "m", 1500);
    assert!(!format!("{config:?}").contains(KEY));
}
