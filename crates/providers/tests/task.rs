//! The task-service adapter (kie.ai shape) against the in-process provider simulator.

use std::time::Duration;

use contracts::AspectRatio;
use providers::task::{TaskConfig, TaskImages};
use providers::{GeneratedImage, ImageGenerator, ImageRequest, ProviderError};
use serde_json::json;
use simulator::{Config, Fault};

const KEY: &str = "kie-test-very-secret";

async fn sim(faults: &str) -> (String, simulator::Handle) {
    let (addr, handle) = simulator::spawn(Config {
        task_faults: simulator::parse_script(faults).expect("script"),
        hang: Duration::from_secs(30),
        ..Config::default()
    })
    .await
    .expect("simulator");
    (format!("http://{addr}"), handle)
}

fn config(url: &str) -> TaskConfig {
    let mut config = TaskConfig::new(KEY.to_owned().into(), url, "google/nano-banana");
    config.poll_initial = Duration::from_millis(5);
    config.poll_max = Duration::from_millis(20);
    config.deadline = Duration::from_secs(10);
    config.allow_private_urls = true;
    config
}

async fn generate(config: TaskConfig) -> Result<GeneratedImage, ProviderError> {
    TaskImages::new(config)
        .expect("client")
        .generate(ImageRequest {
            prompt: "A keeper feeds a cat at dusk.",
            aspect_ratio: AspectRatio::Landscape3x2,
            ..ImageRequest::new("", AspectRatio::Square)
        })
        .await
}

#[tokio::test]
async fn pending_then_success_downloads_the_result_without_our_key() {
    let (url, sim) = sim("ok").await;
    let image = generate(config(&url)).await.expect("an image");
    assert_eq!(image.mime_type, "image/png");
    assert!(image.bytes.starts_with(b"\x89PNG"));

    let received = sim.received();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/jobs/createTask",
            "/api/v1/jobs/recordInfo?taskId=task_sim_1",
            "/api/v1/jobs/recordInfo?taskId=task_sim_1",
            "/files/task_sim_1.png",
        ],
        "submit, one pending poll, the succeeded poll, the download"
    );
    let submit = &received[0];
    assert_eq!(submit.method, "POST");
    assert_eq!(
        submit.headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
    assert_eq!(
        submit.body,
        json!({
            "model": "google/nano-banana",
            "input": {"prompt": "A keeper feeds a cat at dusk.", "output_format": "png", "image_size": "3:2"}
        })
    );
    assert_eq!(
        received[1].headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
    assert!(
        received[3].headers.get("authorization").is_none(),
        "the result URL never gets our key"
    );
}

#[tokio::test]
async fn a_failed_task_is_no_image() {
    let (url, _sim) = sim("task_fail").await;
    assert!(matches!(
        generate(config(&url)).await,
        Err(ProviderError::NoImage { reason }) if reason.contains("501")
    ));
}

#[tokio::test]
async fn a_result_url_answering_404_is_a_bad_response() {
    let (url, _sim) = sim("404").await;
    assert!(matches!(
        generate(config(&url)).await,
        Err(ProviderError::BadResponse(m)) if m.contains("404")
    ));
}

#[tokio::test]
async fn an_oversized_result_is_refused() {
    let (url, _sim) = sim("oversized").await;
    let mut config = config(&url);
    config.max_image_bytes = 1024 * 1024;
    assert!(matches!(
        generate(config).await,
        Err(ProviderError::BadResponse(m)) if m.contains("larger")
    ));
}

#[tokio::test]
async fn private_result_urls_are_refused_unless_allowed() {
    let (url, sim) = sim("ok").await;
    let mut config = config(&url);
    config.allow_private_urls = false;
    assert!(matches!(
        generate(config).await,
        Err(ProviderError::BadResponse(m)) if m.contains("private")
    ));
    assert!(
        !sim.received().iter().any(|r| r.path.starts_with("/files/")),
        "nothing was fetched from the private address"
    );
}

#[tokio::test]
async fn submit_errors_map_to_their_codes() {
    for (fault, expected) in [
        ("auth", ProviderError::Auth),
        ("quota", ProviderError::QuotaExhausted),
        ("500", ProviderError::Unavailable),
    ] {
        let (url, _sim) = sim(fault).await;
        assert_eq!(
            generate(config(&url)).await.expect_err(fault),
            expected,
            "{fault}"
        );
    }
}

#[tokio::test]
async fn the_deadline_ends_as_a_timeout() {
    let (url, sim) = sim("").await;
    sim.set_faults("task", vec![Fault::Timeout]);
    let mut config = config(&url);
    config.deadline = Duration::from_millis(300);
    assert_eq!(
        generate(config).await.expect_err("slow"),
        ProviderError::Timeout
    );
}

/// A result URL on the simulator's port, with another spelling of the host.
fn result_url(sim_url: &str, host: &str) -> String {
    let port = sim_url.rsplit(':').next().expect("a port");
    format!("http://{host}:{port}/files/task_sim_1.png")
}

#[tokio::test]
async fn a_result_host_name_resolving_to_loopback_is_refused_and_never_connected_to() {
    let (url, sim) = sim("ok").await;
    let mut config = config(&url);
    config.allow_private_urls = false;
    let images = TaskImages::new(config).expect("client");
    let error = images
        .download(&result_url(&url, "localhost"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, ProviderError::BadResponse(m) if m.contains("private")),
        "{error:?}"
    );
    assert!(sim.received().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn loopback_behind_nat64_6to4_or_ipv4_in_ipv6_is_refused_before_connecting() {
    let (url, _sim) = sim("ok").await;
    let mut config = config(&url);
    config.allow_private_urls = false;
    let images = TaskImages::new(config).expect("client");
    for host in [
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::a00:1]",
        "[2002:7f00:1::1]",
        "[::127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "192.0.0.8",
        "0.0.0.0",
        "240.0.0.1",
    ] {
        let error = images
            .download(&result_url(&url, host))
            .await
            .expect_err(host);
        assert!(
            matches!(&error, ProviderError::BadResponse(m) if m.contains("private")),
            "{host}: {error:?}"
        );
    }
}

#[tokio::test]
async fn loopback_result_urls_still_work_when_allowed() {
    let (url, sim) = sim("ok").await;
    let images = TaskImages::new(config(&url)).expect("client");
    let image = images
        .download(&result_url(&url, "localhost"))
        .await
        .expect("ALLOW_PRIVATE_RESULT_URLS lets tests use loopback");
    assert!(image.bytes.starts_with(b"\x89PNG"));
    assert_eq!(sim.received().len(), 1);
}
