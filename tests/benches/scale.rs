//! Benchmark: `GET /api/session` and `GET /healthz` on `refinery` (the real router with its whole
//! middleware stack, offline, on the embedded SQLite store in a temporary folder, logging at INFO
//! as the binary does) against a bare axum server answering the same paths with a fixed JSON
//! body, both running side by side in one server runtime and driven by the same in-process load
//! generator: `CONNECTIONS` keep-alive HTTP/1 connections (default 256), each sending its next
//! request as soon as the last was answered, for `SECONDS` per run (default 3).
//!
//! Fairness on a small machine: the server runtime's threads (and the SQLite worker threads they
//! start) are pinned to every CPU but the first, the load generator (one thread) to the first, so
//! the two do not steal each other's time; `SCALE_PIN=0` turns pinning off. Runs alternate
//! between the two servers, `ROUNDS` times (default 3), each server first in every other round,
//! after a warm-up run of each; the ratio is taken per round and its median printed, so a noisy
//! neighbour moment hurts one round, not the verdict.
//!
//! Prints requests per second, p50/p99/max latency and errors for each server and path, the
//! ratios, and whether the goals hold: `GET /api/session` ≥ 0.5 × bare axum and its p99 < 5 ms.
//! Run: `cargo bench -p api-tests --bench scale` (CONNECTIONS, SECONDS, ROUNDS, SESSIONS,
//! SCALE_PIN override). docs/operations.md has the figures measured here.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use api_tests::bench::{env_u64, ready_session};
use api_tests::storage::{Backend, TestStorage};
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use contracts::{JobStatus, JobView, paths};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{COOKIE, HOST};
use hyper_util::rt::TokioIo;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;
use reqwest::Client;
use serde_json::json;
use server::config::Settings;
use server::startup::Application;

/// Pins the calling thread (and every thread it starts later) to `cpus`.
fn pin(cpus: &[usize]) -> bool {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        if set.set(cpu).is_err() {
            return false;
        }
    }
    sched_setaffinity(Pid::from_raw(0), &set).is_ok()
}

/// The bare axum server: the same paths, a fixed small JSON body, no layers.
async fn bare_axum() -> SocketAddr {
    let app = Router::new()
        .route(
            paths::SESSION,
            get(|| async { axum::Json(json!({"status": "ok", "step": 1})) }),
        )
        .route(paths::HEALTHZ, get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// `refinery` on the embedded store in `storage`, offline, with its limits set out of reach
/// (the limiter still runs on every request; 256 connections from one address would otherwise
/// be refused within a second, which is the limiter working, not the server's speed).
async fn refinery(storage: &TestStorage) -> SocketAddr {
    let mut settings = Settings::for_tests();
    storage.apply(&mut settings);
    settings.rate_limit_ip_per_minute = Some(u32::MAX / 2);
    settings.rate_limit_session_per_minute = Some(u32::MAX / 2);
    let app = Application::build(settings).await.expect("refinery starts");
    let address = app.address();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    address
}

/// One person's whole flow (start, three answers, an image), so the session view has a job
/// and an image to read; returns the session cookie (`name=value`).
async fn prepared_session(client: &Client, base: &str) -> String {
    let cookie = ready_session(client, base).await;
    let job: JobView = client
        .post(format!("{base}{}", paths::GENERATE))
        .header(reqwest::header::COOKIE, &cookie)
        .json(&json!({}))
        .send()
        .await
        .expect("generate")
        .json()
        .await
        .expect("a job");
    let done: JobView = client
        .get(format!("{base}{}?wait=60", paths::job(&job.job_id)))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("a job");
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    cookie
}

/// What one run measured.
#[derive(Default)]
struct Run {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    /// Latency of each answered request, µs.
    latencies: Vec<u32>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One keep-alive connection sending `path` back to back until `until`.
async fn connection(
    address: SocketAddr,
    path: &'static str,
    cookie: String,
    until: Instant,
) -> Run {
    let mut run = Run::default();
    while Instant::now() < until {
        let Ok(stream) = tokio::net::TcpStream::connect(address).await else {
            run.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
        else {
            run.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < until {
            let request = Request::get(path)
                .header(HOST, address.to_string())
                .header(COOKIE, &cookie)
                .body(Empty::new())
                .expect("a request");
            let sent = Instant::now();
            let Ok(response) = sender.send_request(request).await else {
                run.errors += 1;
                break;
            };
            let ok = response.status().is_success();
            if response.into_body().collect().await.is_err() || !ok {
                run.errors += 1;
                continue;
            }
            run.ok += 1;
            run.latencies
                .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
    }
    run
}

/// `connections` connections on `address` for `seconds`; the cookies are dealt round robin.
async fn load(
    address: SocketAddr,
    path: &'static str,
    cookies: &[String],
    connections: usize,
    duration: Duration,
) -> Run {
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let cookie = cookies[i % cookies.len()].clone();
            tokio::spawn(connection(address, path, cookie, until))
        })
        .collect();
    let mut total = Run::default();
    for task in tasks {
        let run = task.await.expect("a connection task");
        total.ok += run.ok;
        total.errors += run.errors;
        total.latencies.extend(run.latencies);
    }
    total.elapsed = started.elapsed();
    total
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |&us| f64::from(us) / 1000.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Each server's runs on one path, and the per-round ratios.
struct PathResult {
    path: &'static str,
    axum: Run,
    refinery: Run,
    ratios: Vec<f64>,
}

fn merge(into: &mut Run, run: Run) {
    into.ok += run.ok;
    into.errors += run.errors;
    into.elapsed += run.elapsed;
    into.latencies.extend(run.latencies);
}

fn main() {
    let connections = env_u64("CONNECTIONS", 256).max(1) as usize;
    let duration = Duration::from_secs(env_u64("SECONDS", 3).max(1));
    let rounds = env_u64("ROUNDS", 3).max(1) as usize;
    let sessions = env_u64("SESSIONS", 32).max(1) as usize;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pinned = cpus >= 2 && env_u64("SCALE_PIN", 1) != 0 && pin(&(1..cpus).collect::<Vec<_>>());
    let server_threads = if pinned { cpus - 1 } else { cpus };

    // The binary's logging, formatted in full and thrown away (printing 100,000 lines a second
    // would measure the terminal).
    server::telemetry::init_with_writer(std::io::sink);

    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .enable_all()
        .build()
        .expect("the server runtime");
    let storage = servers.block_on(TestStorage::on(Backend::Embedded));
    let axum_address = servers.block_on(bare_axum());
    let refinery_address = servers.block_on(refinery(&storage));

    let generator = std::thread::spawn(move || {
        if pinned {
            pin(&[0]);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the load generator's runtime");
        runtime.block_on(async move {
            let base = format!("http://{refinery_address}");
            let client = Client::new();
            let mut cookies = Vec::new();
            for _ in 0..sessions {
                cookies.push(prepared_session(&client, &base).await);
            }
            let mut results = Vec::new();
            for path in [paths::SESSION, paths::HEALTHZ] {
                let warm = Duration::from_secs(1);
                load(axum_address, path, &cookies, connections, warm).await;
                load(refinery_address, path, &cookies, connections, warm).await;
                let mut result = PathResult {
                    path,
                    axum: Run::default(),
                    refinery: Run::default(),
                    ratios: Vec::new(),
                };
                for round in 0..rounds {
                    let (a, r) = if round % 2 == 0 {
                        let a = load(axum_address, path, &cookies, connections, duration).await;
                        let r = load(refinery_address, path, &cookies, connections, duration).await;
                        (a, r)
                    } else {
                        let r = load(refinery_address, path, &cookies, connections, duration).await;
                        let a = load(axum_address, path, &cookies, connections, duration).await;
                        (a, r)
                    };
                    result
                        .ratios
                        .push(r.per_second() / a.per_second().max(1e-9));
                    merge(&mut result.axum, a);
                    merge(&mut result.refinery, r);
                }
                results.push(result);
            }
            results
        })
    });
    let mut results = generator.join().expect("the load generator");

    println!(
        "scale: {connections} keep-alive connections, {rounds} rounds × {} s per server and path (after a 1 s warm-up), {sessions} sessions",
        duration.as_secs()
    );
    if pinned {
        println!(
            "pinned: servers on CPUs 1..{} ({server_threads} worker thread(s), SQLite threads with them), load generator on CPU 0",
            cpus - 1
        );
    } else {
        println!(
            "not pinned: {server_threads} server worker thread(s) and the load generator share {cpus} CPU(s)"
        );
    }
    println!(
        "{:<14} {:<9} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "path", "server", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let mut verdicts = Vec::new();
    for result in &mut results {
        for (name, run) in [
            ("axum", &mut result.axum),
            ("refinery", &mut result.refinery),
        ] {
            run.latencies.sort_unstable();
            println!(
                "{:<14} {name:<9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
                result.path,
                run.per_second(),
                percentile_ms(&run.latencies, 0.5),
                percentile_ms(&run.latencies, 0.99),
                percentile_ms(&run.latencies, 1.0),
                run.errors
            );
        }
        let rounds_text: Vec<String> = result.ratios.iter().map(|r| format!("{r:.2}")).collect();
        let ratio = median(&mut result.ratios);
        println!(
            "{:<14} refinery / axum: {ratio:.2} × (median of rounds {})",
            result.path,
            rounds_text.join(", ")
        );
        if result.path == paths::SESSION {
            let p99 = percentile_ms(&result.refinery.latencies, 0.99);
            verdicts.push(format!(
                "goal GET /api/session ≥ 0.5 × bare axum: {} ({ratio:.2} ×)",
                if ratio >= 0.5 { "MET" } else { "NOT MET" }
            ));
            verdicts.push(format!(
                "goal GET /api/session p99 < 5 ms at {connections} connections: {} ({p99:.2} ms)",
                if p99 < 5.0 { "MET" } else { "NOT MET" }
            ));
            verdicts.push(format!(
                "errors: {} (every request must answer 200)",
                if result.refinery.errors + result.axum.errors == 0 {
                    "none"
                } else {
                    "SOME"
                }
            ));
        }
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    drop(servers);
}
