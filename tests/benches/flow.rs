//! Benchmark: whole offline flows against the real server on loopback, bounded in count.
//! Prints latency percentiles per step, flows per second and the server's memory.
//! Run: `cargo bench -p api-tests --bench flow` (FLOWS and CONCURRENCY env vars override).

use std::time::{Duration, Instant};

use contracts::{JobView, paths};
use reqwest::Client;
use serde_json::json;
use server::config::Settings;
use server::startup::Application;

const STEPS: [&str; 6] = [
    "start", "answer", "generate", "job wait", "image", "session",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process (server and client share it), from /proc.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1_048_576.0)
}

async fn one_flow(client: &Client, base: &str, samples: &mut [Vec<Duration>; 6]) {
    let mut timed = |step: usize, started: Instant| samples[step].push(started.elapsed());
    let t = Instant::now();
    let r = client
        .post(format!("{base}{}", paths::SESSION_START))
        .json(&json!({"templateId": "general-cinematic", "initialInput": "a lighthouse keeper feeding a stray cat"}))
        .send()
        .await
        .expect("start");
    assert!(r.status().is_success());
    timed(0, t);
    for answer in [
        "a storm-lashed island at dusk",
        "tense, cold blue light",
        "wide shot, low angle",
    ] {
        let t = Instant::now();
        let r = client
            .post(format!("{base}{}", paths::SESSION_ANSWER))
            .json(&json!({"answer": answer}))
            .send()
            .await
            .expect("answer");
        assert!(r.status().is_success());
        timed(1, t);
    }
    let t = Instant::now();
    let job: JobView = client
        .post(format!("{base}{}", paths::GENERATE))
        .json(&json!({}))
        .send()
        .await
        .expect("generate")
        .json()
        .await
        .expect("job");
    timed(2, t);
    let t = Instant::now();
    let done: JobView = client
        .get(format!("{base}{}?wait=60", paths::job(&job.job_id)))
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("job");
    timed(3, t);
    let image = done.image.expect("the flow produced an image");
    let t = Instant::now();
    let bytes = client
        .get(format!("{base}{}", image.url))
        .send()
        .await
        .expect("image")
        .bytes()
        .await
        .expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG"));
    timed(4, t);
    let t = Instant::now();
    assert!(
        client
            .get(format!("{base}{}", paths::SESSION))
            .send()
            .await
            .expect("session")
            .status()
            .is_success()
    );
    timed(5, t);
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let flows = env_usize("FLOWS", 200);
    let concurrency = env_usize("CONCURRENCY", 8).max(1);
    let rss_before = rss_mib();
    let app = Application::build(Settings::for_tests())
        .await
        .expect("server");
    let base = format!("http://{}", app.address());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let base = base.clone();
        let count = flows / concurrency + usize::from(w < flows % concurrency);
        workers.push(tokio::spawn(async move {
            let mut samples: [Vec<Duration>; 6] = Default::default();
            for _ in 0..count {
                // A fresh cookie jar per flow: one person each.
                let client = Client::builder()
                    .cookie_store(true)
                    .build()
                    .expect("client");
                one_flow(&client, &base, &mut samples).await;
            }
            samples
        }));
    }
    let mut all: [Vec<Duration>; 6] = Default::default();
    for worker in workers {
        for (step, samples) in worker.await.expect("worker").into_iter().enumerate() {
            all[step].extend(samples);
        }
    }
    let elapsed = started.elapsed();

    println!(
        "offline flows: {flows} flows, {concurrency} at a time, {:.2} s, {:.1} flows/s",
        elapsed.as_secs_f64(),
        flows as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<10} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "step", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, samples) in STEPS.iter().zip(all.iter_mut()) {
        samples.sort();
        println!(
            "{name:<10} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            samples.len(),
            percentile(samples, 0.5),
            percentile(samples, 0.95),
            percentile(samples, 0.99),
            percentile(samples, 1.0)
        );
    }
    let (images, image_bytes) = state.images.usage();
    println!(
        "memory: process RSS {rss_before:.1} MiB before, {:.1} MiB after; {} live sessions; {images} images holding {:.1} MiB ({:.0} KiB each)",
        rss_mib(),
        state.sessions.count().await,
        image_bytes as f64 / 1_048_576.0,
        image_bytes as f64 / 1024.0 / images.max(1) as f64,
    );
}
