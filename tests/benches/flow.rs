//! Benchmark: whole offline flows against the real server on loopback, bounded in count, on each
//! storage backend. Prints flows per second, latency percentiles per step and the server
//! process's memory for each, and each backend's ratio to the in-memory store measured in the
//! same run (SQLite in memory and images in memory: the cost of the store code without disk).
//! Each backend runs in a child process of its own, so memory figures do not mix.
//! Run: `cargo bench -p api-tests --bench flow` (FLOWS, CONCURRENCY, BENCH_BACKENDS override;
//! backends: memory, embedded, postgres).

use std::time::{Duration, Instant};

use api_tests::storage::{Backend, TestStorage};
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

/// Runs the flows on one backend (in this process) and prints its report and a summary line.
async fn run_backend(name: &str) {
    let flows = env_usize("FLOWS", 200);
    let concurrency = env_usize("CONCURRENCY", 8).max(1);
    let rss_before = rss_mib();
    let mut settings = Settings::for_tests();
    let _storage = match name {
        "memory" => None,
        "embedded" => Some(TestStorage::on(Backend::Embedded).await),
        "postgres" => Some(TestStorage::on(Backend::Postgres).await),
        other => panic!("unknown backend {other:?}: memory, embedded or postgres"),
    };
    if let Some(storage) = &_storage {
        storage.apply(&mut settings);
    }
    let app = Application::build(settings).await.expect("server");
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
    let per_second = flows as f64 / elapsed.as_secs_f64();

    println!(
        "[{name}] {flows} flows, {concurrency} at a time, {:.2} s, {per_second:.1} flows/s",
        elapsed.as_secs_f64()
    );
    println!(
        "{:<10} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "step", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (step, samples) in STEPS.iter().zip(all.iter_mut()) {
        samples.sort();
        println!(
            "{step:<10} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            samples.len(),
            percentile(samples, 0.5),
            percentile(samples, 0.95),
            percentile(samples, 0.99),
            percentile(samples, 1.0)
        );
    }
    let (images, image_bytes) = state.images.usage().await.expect("usage");
    let rss_after = rss_mib();
    println!(
        "memory: process RSS {rss_before:.1} MiB before, {rss_after:.1} MiB after; {} live sessions; {images} images holding {:.1} MiB",
        state.sessions.count().await.expect("count"),
        image_bytes as f64 / 1_048_576.0,
    );
    let answers = &all[1];
    println!(
        "SUMMARY {name} {per_second:.3} {:.3} {:.3} {rss_after:.1}",
        percentile(answers, 0.5),
        percentile(answers, 0.99)
    );
}

struct Summary {
    name: String,
    flows_per_second: f64,
    answer_p50: f64,
    answer_p99: f64,
    rss: f64,
}

fn parse_summary(line: &str) -> Option<Summary> {
    let mut words = line.strip_prefix("SUMMARY ")?.split_whitespace();
    Some(Summary {
        name: words.next()?.to_owned(),
        flows_per_second: words.next()?.parse().ok()?,
        answer_p50: words.next()?.parse().ok()?,
        answer_p99: words.next()?.parse().ok()?,
        rss: words.next()?.parse().ok()?,
    })
}

fn main() {
    if let Ok(name) = std::env::var("BENCH_BACKEND") {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(run_backend(&name));
        return;
    }
    let backends =
        std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "memory,embedded,postgres".to_owned());
    let me = std::env::current_exe().expect("this benchmark's path");
    let mut summaries = Vec::new();
    for name in backends.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let output = std::process::Command::new(&me)
            .env("BENCH_BACKEND", name)
            .output()
            .expect("the backend's run");
        let text = String::from_utf8_lossy(&output.stdout);
        for line in text.lines().filter(|l| !l.starts_with("SUMMARY ")) {
            println!("{line}");
        }
        assert!(
            output.status.success(),
            "{name} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        summaries.extend(text.lines().filter_map(parse_summary));
        println!();
    }
    let Some(base) = summaries.first() else {
        return;
    };
    println!(
        "{:<10} {:>9} {:>12} {:>12} {:>9}   ratio to {} (flows/s, answer p50, answer p99, RSS)",
        "backend", "flows/s", "answer p50", "answer p99", "RSS MiB", base.name
    );
    for s in &summaries {
        println!(
            "{:<10} {:>9.1} {:>9.2} ms {:>9.2} ms {:>9.1}   {:.2} {:.2} {:.2} {:.2}",
            s.name,
            s.flows_per_second,
            s.answer_p50,
            s.answer_p99,
            s.rss,
            s.flows_per_second / base.flows_per_second,
            s.answer_p50 / base.answer_p50.max(1e-9),
            s.answer_p99 / base.answer_p99.max(1e-9),
            s.rss / base.rss.max(1e-9),
        );
    }
}
