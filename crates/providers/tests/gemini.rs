//! The Gemini (Nano Banana) adapter against wiremock: the exact request and every outcome.

use std::time::{Duration, Instant};

use contracts::AspectRatio;
use providers::gemini::{GeminiConfig, GeminiImages};
use providers::retry::RetryPolicy;
use providers::{GeneratedImage, ImageGenerator, ImageRequest, ProviderError};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIza-test-very-secret";
const MODEL: &str = "gemini-test-image";
const PATH: &str = "/v1beta/models/gemini-test-image:generateContent";
const SUCCESS: &str = include_str!("../../simulator/fixtures/gemini-image-success.json");
const THOUGHTS: &str =
    include_str!("../../simulator/fixtures/gemini-image-success-with-thoughts.json");
const SAFETY: &str = include_str!("../../simulator/fixtures/gemini-image-safety-block.json");
const BLOCKED: &str = include_str!("../../simulator/fixtures/gemini-prompt-blocked.json");
const TEXT_ONLY: &str = include_str!("../../simulator/fixtures/gemini-text-only-no-image.json");
const ERROR_429: &str = include_str!("../../simulator/fixtures/gemini-error-429.json");
const ERROR_400_KEY: &str =
    include_str!("../../simulator/fixtures/gemini-error-400-invalid-key.json");
const ERROR_503: &str = include_str!("../../simulator/fixtures/gemini-error-503.json");

fn config(server: &MockServer) -> GeminiConfig {
    let mut config = GeminiConfig::new(KEY.to_owned().into(), &server.uri(), MODEL);
    config.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        deadline: Duration::from_secs(10),
    };
    config
}

async fn generate_with(config: GeminiConfig) -> Result<GeneratedImage, ProviderError> {
    GeminiImages::new(config)
        .expect("client")
        .generate(ImageRequest {
            prompt: "A keeper feeds a cat at dusk.",
            aspect_ratio: AspectRatio::Landscape16x9,
            ..ImageRequest::new("", AspectRatio::Square)
        })
        .await
}

async fn generate(server: &MockServer) -> Result<GeneratedImage, ProviderError> {
    generate_with(config(server)).await
}

fn raw(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
}

async fn mount(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(response)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

async fn count(server: &MockServer) -> usize {
    server.received_requests().await.expect("recording").len()
}

#[tokio::test]
async fn success_with_thought_parts_reads_the_final_image_and_sends_the_exact_request() {
    let server = MockServer::start().await;
    // Poison the thought image: reading it instead of the final one would fail the byte check.
    let mut body: Value = serde_json::from_str(THOUGHTS).expect("fixture");
    body["candidates"][0]["content"]["parts"][1]["inlineData"]["data"] =
        json!("R0lGODlhAQABAAAAACw=");
    mount(&server, ResponseTemplate::new(200).set_body_json(body), 1).await;

    let image = generate(&server).await.expect("an image");
    assert_eq!(image.mime_type, "image/png");
    assert_eq!((image.width, image.height), (1, 1));
    assert!(image.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), PATH);
    assert_eq!(
        request.url.query(),
        None,
        "the key goes in a header, not the URL"
    );
    assert_eq!(request.headers["x-goog-api-key"], KEY);
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.headers.get("authorization").is_none());
    let sent: Value = request.body_json().expect("json");
    assert_eq!(
        sent,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "A keeper feeds a cat at dusk."}]}],
            "generationConfig": {
                "responseModalities": ["IMAGE"],
                "imageConfig": {"aspectRatio": "16:9"}
            }
        }),
        "exactly these fields; the ratio is a setting, not words in the prompt"
    );
}

#[tokio::test]
async fn success_with_a_text_part_beside_the_image() {
    let server = MockServer::start().await;
    mount(&server, raw(200, SUCCESS), 1).await;
    assert_eq!(
        generate(&server).await.expect("image").mime_type,
        "image/png"
    );
}

#[tokio::test]
async fn image_safety_is_content_blocked_and_not_retried() {
    let server = MockServer::start().await;
    mount(&server, raw(200, SAFETY), 5).await;
    assert_eq!(
        generate(&server).await.expect_err("blocked"),
        ProviderError::ContentBlocked {
            reason: "IMAGE_SAFETY".into()
        }
    );
    assert_eq!(count(&server).await, 1);
}

#[tokio::test]
async fn a_blocked_prompt_is_content_blocked() {
    let server = MockServer::start().await;
    mount(&server, raw(200, BLOCKED), 5).await;
    assert_eq!(
        generate(&server).await.expect_err("blocked"),
        ProviderError::ContentBlocked {
            reason: "PROHIBITED_CONTENT".into()
        }
    );
    assert_eq!(count(&server).await, 1);
}

#[tokio::test]
async fn text_only_is_no_image_after_exactly_one_retry() {
    let server = MockServer::start().await;
    mount(&server, raw(200, TEXT_ONLY), 5).await;
    assert_eq!(
        generate(&server).await.expect_err("no image"),
        ProviderError::NoImage {
            reason: "NO_IMAGE".into()
        }
    );
    assert_eq!(count(&server).await, 2);
}

#[tokio::test]
async fn text_only_then_an_image_succeeds() {
    let server = MockServer::start().await;
    mount(&server, raw(200, TEXT_ONLY), 1).await;
    mount(&server, raw(200, SUCCESS), 1).await;
    assert!(generate(&server).await.is_ok());
    assert_eq!(count(&server).await, 2);
}

#[tokio::test]
async fn a_429_resource_exhausted_is_rate_limited_with_the_retry_delay() {
    let server = MockServer::start().await;
    mount(&server, raw(429, ERROR_429), 5).await;
    assert_eq!(
        generate(&server).await.expect_err("limited"),
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(55))
        }
    );
    assert_eq!(count(&server).await, 1);
}

/// Google's real 429 body with `RetryInfo.retryDelay` set to `delay`.
fn rate_limited_with_delay(delay: &str) -> ResponseTemplate {
    let mut body: Value = serde_json::from_str(ERROR_429).expect("fixture");
    body["error"]["details"][2]["retryDelay"] = json!(delay);
    ResponseTemplate::new(429).set_body_json(body)
}

#[tokio::test]
async fn absurd_retry_delays_never_panic_and_end_the_call_at_once_as_rate_limited() {
    for delay in [
        "1e20s",
        "18446744073709551616s",
        "1e400s",
        "-5s",
        "-1e20s",
        "NaNs",
        "infs",
        "1.5.3s",
        "soon",
        "",
        "s",
    ] {
        let server = MockServer::start().await;
        mount(&server, rate_limited_with_delay(delay), 5).await;
        let started = Instant::now();
        let error = generate(&server).await.expect_err("limited");
        assert!(
            matches!(error, ProviderError::RateLimited { .. }),
            "{delay:?}: {error:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{delay:?}: a wait past the deadline is not started"
        );
        assert_eq!(count(&server).await, 1, "{delay:?}");
    }
}

#[tokio::test]
async fn a_fractional_retry_delay_is_read_exactly_and_a_huge_one_is_capped() {
    let server = MockServer::start().await;
    mount(&server, rate_limited_with_delay("1.5s"), 1).await;
    mount(&server, rate_limited_with_delay("1e20s"), 1).await;
    assert_eq!(
        generate(&server).await.expect_err("limited"),
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_millis(1500))
        }
    );
    assert_eq!(
        generate(&server).await.expect_err("limited"),
        ProviderError::RateLimited {
            retry_after: Some(providers::retry::MAX_RETRY_AFTER)
        }
    );
}

#[tokio::test]
async fn a_503_then_success() {
    let server = MockServer::start().await;
    mount(&server, raw(503, ERROR_503), 1).await;
    mount(&server, raw(200, SUCCESS), 1).await;
    assert!(generate(&server).await.is_ok());
    assert_eq!(count(&server).await, 2);
}

#[tokio::test]
async fn repeated_5xx_end_as_unavailable() {
    for status in [500, 503, 504] {
        let server = MockServer::start().await;
        mount(&server, raw(status, ERROR_503), 10).await;
        assert_eq!(
            generate(&server).await.expect_err("down"),
            ProviderError::Unavailable
        );
        assert_eq!(
            count(&server).await,
            3,
            "HTTP {status}: 1 attempt + 2 retries"
        );
    }
}

#[tokio::test]
async fn key_problems_are_auth_failures() {
    let server = MockServer::start().await;
    mount(&server, raw(400, ERROR_400_KEY), 5).await;
    assert_eq!(
        generate(&server).await.expect_err("auth"),
        ProviderError::Auth
    );

    let server = MockServer::start().await;
    mount(
        &server,
        raw(
            403,
            r#"{"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}"#,
        ),
        5,
    )
    .await;
    assert_eq!(
        generate(&server).await.expect_err("auth"),
        ProviderError::Auth
    );
    assert_eq!(count(&server).await, 1);
}

#[tokio::test]
async fn the_deadline_ends_as_a_timeout() {
    let server = MockServer::start().await;
    mount(
        &server,
        raw(200, SUCCESS).set_delay(Duration::from_secs(10)),
        5,
    )
    .await;
    let mut config = config(&server);
    config.retry.deadline = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(
        generate_with(config).await.expect_err("slow"),
        ProviderError::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn bytes_that_are_not_the_claimed_type_are_refused() {
    let server = MockServer::start().await;
    let mut body: Value = serde_json::from_str(SUCCESS).expect("fixture");
    body["candidates"][0]["content"]["parts"][1]["inlineData"]["mimeType"] = json!("image/jpeg");
    mount(&server, ResponseTemplate::new(200).set_body_json(body), 1).await;
    assert!(matches!(
        generate(&server).await,
        Err(ProviderError::BadResponse(_))
    ));
}

#[tokio::test]
async fn an_image_over_the_size_cap_is_refused() {
    let server = MockServer::start().await;
    mount(&server, raw(200, SUCCESS), 1).await;
    let mut config = config(&server);
    config.max_image_bytes = 16;
    assert!(matches!(
        generate_with(config).await,
        Err(ProviderError::BadResponse(m)) if m.contains("larger")
    ));
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let config = GeminiConfig::new(KEY.to_owned().into(), "http://x", MODEL);
    assert!(!format!("{config:?}").contains(KEY));
}

/// Sends one 4K request through a model `id` and returns the `imageConfig` Gemini received.
async fn image_config_sent_for(id: &str) -> Value {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{id}:generateContent")))
        .respond_with(raw(200, THOUGHTS))
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.model = id.to_owned();
    GeminiImages::new(config)
        .expect("client")
        .generate(ImageRequest {
            prompt: "A keeper feeds a cat at dusk.",
            aspect_ratio: AspectRatio::Tall1x4,
            image_size: contracts::ImageSize::FourK,
            seed: 7,
            ..ImageRequest::new("", AspectRatio::Square)
        })
        .await
        .expect("an image");
    let requests = server.received_requests().await.expect("recording");
    let sent: Value = requests[0].body_json().expect("json");
    sent["generationConfig"]["imageConfig"].clone()
}

#[tokio::test]
async fn the_image_size_reaches_gemini_with_an_upper_case_k_where_the_model_takes_it() {
    assert_eq!(
        image_config_sent_for("gemini-nano-banana-2.1").await,
        json!({"aspectRatio": "1:4", "imageSize": "4K"})
    );
    // Nano Banana (2.5) takes no imageSize: the field is left out, not sent to be refused.
    assert_eq!(
        image_config_sent_for("gemini-2.5-flash-image").await,
        json!({"aspectRatio": "1:4"})
    );
}

fn input(bytes: &'static [u8], mime: &str) -> providers::InputImage {
    providers::InputImage {
        bytes: bytes::Bytes::from_static(bytes),
        mime_type: mime.to_owned(),
        note: "a note that stays on the server".to_owned(),
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn references_go_as_inline_parts_before_the_prompt_in_order() {
    let server = MockServer::start().await;
    let images = GeminiImages::new(config(&server)).expect("client");
    let references = [
        input(b"first-bytes", "image/png"),
        input(b"second-bytes", "image/jpeg"),
    ];
    let body = images.request_body(&ImageRequest {
        prompt: "The bottle from the first image on a beach.",
        references: &references,
        ..ImageRequest::new("", AspectRatio::Square)
    });
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": b64(b"first-bytes")}},
            {"inlineData": {"mimeType": "image/jpeg", "data": b64(b"second-bytes")}},
            {"text": "The bottle from the first image on a beach."},
        ]}])
    );
    assert!(
        !body.to_string().contains("a note that stays"),
        "notes are for the prompt writer, not sent as such"
    );
}

#[tokio::test]
async fn an_edit_sends_the_signed_image_as_the_models_turn_or_one_user_turn_unsigned() {
    let server = MockServer::start().await;
    let images = GeminiImages::new(config(&server)).expect("client");
    let edited = input(b"edited-bytes", "image/png");
    let signed = images.request_body(&ImageRequest {
        prompt: "make it night",
        edit: Some(providers::EditSource {
            image: &edited,
            thought_signature: Some("c2lnLTE="),
        }),
        ..ImageRequest::new("", AspectRatio::Square)
    });
    assert_eq!(
        signed["contents"],
        json!([
            {"role": "model", "parts": [{
                "inlineData": {"mimeType": "image/png", "data": b64(b"edited-bytes")},
                "thoughtSignature": "c2lnLTE=",
            }]},
            {"role": "user", "parts": [{"text": "make it night"}]},
        ])
    );
    let unsigned = images.request_body(&ImageRequest {
        prompt: "make it night",
        edit: Some(providers::EditSource {
            image: &edited,
            thought_signature: None,
        }),
        ..ImageRequest::new("", AspectRatio::Square)
    });
    assert_eq!(
        unsigned["contents"],
        json!([{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": b64(b"edited-bytes")}},
            {"text": "make it night"},
        ]}])
    );
}

#[tokio::test]
async fn the_image_parts_thought_signature_is_kept_and_a_thoughts_is_not() {
    let server = MockServer::start().await;
    mount(&server, raw(200, THOUGHTS), 1).await;
    let image = generate(&server).await.expect("an image");
    assert_eq!(
        image.thought_signature.as_deref(),
        Some("c2lnbmF0dXJlLXBsYWNlaG9sZGVy")
    );
    let server = MockServer::start().await;
    mount(&server, raw(200, SUCCESS), 1).await;
    assert_eq!(
        generate(&server).await.expect("an image").thought_signature,
        None
    );
    let server = MockServer::start().await;
    let mut huge: Value = serde_json::from_str(THOUGHTS).expect("json");
    huge["candidates"][0]["content"]["parts"][2]["thoughtSignature"] =
        json!("A".repeat(providers::MAX_THOUGHT_SIGNATURE_CHARS + 4));
    mount(&server, raw(200, &huge.to_string()), 1).await;
    assert_eq!(
        generate(&server).await.expect("an image").thought_signature,
        None,
        "an oversized signature is dropped, the image kept"
    );
}
