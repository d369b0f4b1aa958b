//! Benchmark: Generate → image with and without speculative prompt synthesis, against the
//! provider simulator with slow prompt writing (1.5 s) and a slow image model (2 s), a person
//! spending a moment (1.5 s) on the ready screen before pressing Generate. Prints the p50 and
//! p95 of Generate → image, and each as a ratio to the image model's own latency measured in the
//! same run (calls straight to the simulator). The goal is ≤ 1.02 × with speculation.
//! Run: `cargo bench -p api-tests --bench speculative` (RUNS, PROMPT_MS, IMAGE_MS, READY_MS
//! override). The runs of each mode go at once, so the whole benchmark takes seconds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api_tests::bench::env_u64;
use contracts::{JobStatus, JobView, paths};
use futures::future::join_all;
use reqwest::Client;
use serde_json::json;
use server::config::{Settings, SynthesisFallback};
use server::startup::Application;

/// A server on the live adapters at the simulator, speculating or not.
async fn server(sim: SocketAddr, speculative: bool) -> String {
    let mut settings = Settings::for_tests();
    settings.openai.api_key = Some("sk-sim".to_owned().into());
    settings.openai.base_url = format!("http://{sim}/v1");
    settings.openai.fallback = SynthesisFallback::Off;
    settings.nanobanana.api_key = Some("sim".to_owned().into());
    settings.nanobanana.api_url = format!("http://{sim}");
    settings.quota_global_day = None;
    settings.quota_per_session_day = None;
    settings.speculative_synthesis = speculative;
    let app = Application::build(settings).await.expect("server");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

/// One person: the three answers, a moment on the ready screen, then Generate → image.
async fn one_run(base: &str, ready_screen: Duration) -> Duration {
    let client = Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{}", r.status());
        r
    };
    ok(client
        .post(format!("{base}{}", paths::SESSION_START))
        .json(&json!({"templateId": "general-cinematic", "initialInput": "a lighthouse keeper feeding a stray cat"}))
        .send()
        .await
        .expect("start"));
    for answer in [
        "a storm-lashed island at dusk",
        "tense, cold blue light",
        "wide shot, low angle",
    ] {
        ok(client
            .post(format!("{base}{}", paths::SESSION_ANSWER))
            .json(&json!({"answer": answer}))
            .send()
            .await
            .expect("answer"));
    }
    // The person reads the brief before pressing Generate (this is the scenario, not a wait for
    // the server).
    tokio::time::sleep(ready_screen).await;
    let pressed = Instant::now();
    let job: JobView = ok(client
        .post(format!("{base}{}", paths::GENERATE))
        .json(&json!({}))
        .send()
        .await
        .expect("generate"))
    .json()
    .await
    .expect("job");
    let done: JobView = ok(client
        .get(format!("{base}{}?wait=60", paths::job(&job.job_id)))
        .send()
        .await
        .expect("job"))
    .json()
    .await
    .expect("job");
    let took = pressed.elapsed();
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    took
}

/// The image model alone: a call straight to the simulator's Gemini endpoint.
async fn image_call(sim: SocketAddr) -> Duration {
    let started = Instant::now();
    let response = Client::new()
        .post(format!(
            "http://{sim}/v1beta/models/gemini-image:generateContent"
        ))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("the simulator answers");
    assert!(response.status().is_success());
    response.bytes().await.expect("a body");
    started.elapsed()
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs = env_u64("RUNS", 24).max(1) as usize;
    let prompt = Duration::from_millis(env_u64("PROMPT_MS", 1500));
    let image = Duration::from_millis(env_u64("IMAGE_MS", 2000));
    let ready_screen = Duration::from_millis(env_u64("READY_MS", 1500));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let (sim, _handle) = simulator::spawn(simulator::Config {
            openai_latency: Some(prompt),
            gemini_latency: Some(image),
            ..simulator::Config::default()
        })
        .await
        .expect("the simulator starts");
        let without = server(sim, false).await;
        let with = server(sim, true).await;

        println!(
            "speculative synthesis: prompt writing {} ms, image model {} ms, {} ms on the ready screen, {runs} runs per mode (at once)",
            prompt.as_millis(),
            image.as_millis(),
            ready_screen.as_millis()
        );
        let mut model = join_all((0..runs).map(|_| image_call(sim))).await;
        let mut off = join_all((0..runs).map(|_| one_run(&without, ready_screen))).await;
        let mut on = join_all((0..runs).map(|_| one_run(&with, ready_screen))).await;

        let (model50, model95) = (percentile(&mut model, 0.5), percentile(&mut model, 0.95));
        println!(
            "{:<28} {:>9} {:>9} {:>12} {:>12}",
            "Generate → image", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"
        );
        println!(
            "{:<28} {model50:>9.0} {model95:>9.0} {:>12} {:>12}",
            "image model alone", "1.00", "1.00"
        );
        for (name, samples) in [
            ("without speculation", &mut off),
            ("with speculation", &mut on),
        ] {
            let (p50, p95) = (percentile(samples, 0.5), percentile(samples, 0.95));
            println!(
                "{name:<28} {p50:>9.0} {p95:>9.0} {:>11.3}× {:>11.3}×",
                p50 / model50,
                p95 / model95
            );
        }
        let p50 = percentile(&mut on, 0.5) / model50;
        let p95 = percentile(&mut on, 0.95) / model95;
        println!(
            "goal ≤ 1.02 × the image model with speculation: p50 {} ({p50:.3}), p95 {} ({p95:.3})",
            if p50 <= 1.02 { "met" } else { "NOT met" },
            if p95 <= 1.02 { "met" } else { "NOT met" },
        );
    });
}
