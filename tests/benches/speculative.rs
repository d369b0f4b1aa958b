//! Benchmark: Generate → image with and without speculative prompt synthesis, against the
//! provider simulator with slow prompt writing (1.5 s) and a slow image model (2 s), a person
//! spending a moment (1.5 s) on the ready screen before pressing Generate. Prints the p50 and
//! p95 of Generate → image, and each as a ratio to the image model's own latency measured in the
//! same run (calls straight to the simulator). The goal is ≤ 1.02 × with speculation.
//! Run: `cargo bench -p api-tests --bench speculative` (RUNS, PROMPT_MS, IMAGE_MS, READY_MS,
//! STAGGER_MS override). The runs of each mode overlap, so the whole benchmark takes seconds:
//! one person arrives every STAGGER_MS (100), so most are in flight together but no two press
//! Generate in the same millisecond. The same runs are also made all at once, a burst in which
//! every step of every run (theirs, the server's and the simulator's) lands on the 2 cores in
//! the same few ms; that row shows queueing under load, not one person's wait.

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
async fn one_run(base: &str, ready_screen: Duration, arrives: Duration) -> Duration {
    tokio::time::sleep(arrives).await;
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

/// The image model alone: a call straight to the simulator's Gemini endpoint, on a client built
/// beforehand as the server's adapter is (building one loads the TLS roots: tens of ms that are
/// no part of the model's latency).
async fn image_call(client: &Client, sim: SocketAddr, arrives: Duration) -> Duration {
    tokio::time::sleep(arrives).await;
    let started = Instant::now();
    let response = client
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

/// When the `i`th person of a mode arrives.
fn arrival(stagger: Duration, i: usize) -> Duration {
    stagger.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX))
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
    let stagger = Duration::from_millis(env_u64("STAGGER_MS", 100));
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
            "speculative synthesis: prompt writing {} ms, image model {} ms, {} ms on the ready screen, {runs} runs per mode, one person every {} ms",
            prompt.as_millis(),
            image.as_millis(),
            ready_screen.as_millis(),
            stagger.as_millis()
        );
        // One client for the direct calls, built before any is timed, as the server builds its
        // adapter's once: building one loads the TLS roots, tens of ms that are no part of the
        // model's latency.
        let direct = &Client::new();
        let model = |stagger| {
            let call = move |i| image_call(direct, sim, arrival(stagger, i));
            join_all((0..runs).map(call))
        };
        let people = |base, stagger| {
            let person = move |i| one_run(base, ready_screen, arrival(stagger, i));
            join_all((0..runs).map(person))
        };
        let mut alone = model(stagger).await;
        let mut off = people(&without, stagger).await;
        let mut on = people(&with, stagger).await;
        let mut alone_burst = model(Duration::ZERO).await;
        let mut on_burst = people(&with, Duration::ZERO).await;

        println!(
            "{:<40} {:>9} {:>9} {:>12} {:>12}",
            "Generate → image", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"
        );
        let model = (percentile(&mut alone, 0.5), percentile(&mut alone, 0.95));
        let model_burst = (
            percentile(&mut alone_burst, 0.5),
            percentile(&mut alone_burst, 0.95),
        );
        let mut ratios = (0.0, 0.0);
        for (name, samples, (model50, model95)) in [
            ("image model alone", &mut alone, model),
            ("without speculation", &mut off, model),
            ("with speculation", &mut on, model),
            ("image model alone, all at once", &mut alone_burst, model_burst),
            ("with speculation, all at once", &mut on_burst, model_burst),
        ] {
            let (p50, p95) = (percentile(samples, 0.5), percentile(samples, 0.95));
            println!(
                "{name:<40} {p50:>9.0} {p95:>9.0} {:>11.3}× {:>11.3}×",
                p50 / model50,
                p95 / model95
            );
            if name == "with speculation" {
                ratios = (p50 / model50, p95 / model95);
            }
        }
        let (p50, p95) = ratios;
        println!(
            "goal ≤ 1.02 × the image model with speculation: p50 {} ({p50:.3}), p95 {} ({p95:.3})",
            if p50 <= 1.02 { "met" } else { "NOT met" },
            if p95 <= 1.02 { "met" } else { "NOT met" },
        );
    });
}
