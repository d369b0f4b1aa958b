//! Benchmark: `GET /api/session` and `GET /healthz` on `refinery` (the real router with its whole
//! middleware stack, offline, on the embedded SQLite store in a temporary folder, logging at INFO
//! as the binary does) against a bare axum server answering the same paths with a fixed JSON
//! body, both running side by side in one server runtime (on the allocator the `refinery` binary
//! runs with, mimalloc), driven by the same load generator:
//! `CONNECTIONS` keep-alive HTTP/1 connections (default 256), each sending its next request as
//! soon as the last was answered, for `SECONDS` per run (default 3), with the cookies of
//! `SESSIONS` sessions (default 32) dealt in turn.
//!
//! The load generator is `wrk` when it is installed (`apt-get install wrk`; `SCALE_LOAD=wrk`
//! insists on it), else hyper client connections on one thread of this process
//! (`SCALE_LOAD=hyper` chooses them). Why wrk first: a generator that costs about as much per
//! request as the bare server it drives can cap that server below its own speed, and a capped
//! baseline flatters the ratio. Measured here (2 cores, other builds running), wrk used 14-16 µs
//! of CPU per request and the in-process client 17 µs, against 18-28 µs for the bare axum server
//! on its contended CPU: close enough that the generator may be the limit on a quiet machine. So
//! every row also prints both sides' CPU use (`gen busy`: the generator's CPU time over the run;
//! `srv busy`: the rest of the process over the servers' CPUs): a baseline whose generator is
//! near 100 % while its server is not is capped by the generator, and its ratio is too kind.
//! With wrk, the latency figures are wrk's own percentiles (the worst round's).
//!
//! Fairness on a small machine: the server runtime's threads (and the SQLite worker threads they
//! start) are pinned to every CPU but the first, the load generator (one thread, or wrk's process,
//! which inherits the pinning) to the first, so the two do not steal each other's time;
//! `SCALE_PIN=0` turns pinning off. Runs alternate between the two servers, `ROUNDS` times
//! (default 3), each server first in every other round, after a warm-up run of each; the ratio is
//! taken per round and its median printed, so a noisy neighbour moment hurts one round, not the
//! verdict.
//!
//! Prints requests per second, p50/p99/max latency, errors and CPU use for each server and path,
//! the ratios, and whether the goals hold: `GET /api/session` ≥ 0.5 × bare axum and its p99 < 5 ms.
//! `µs/req` is the servers' CPU time per answered request (their side's busy time over the
//! requests): the cost ratio itself, which moves less with the machine's load than the rates do.
//! The `others` column is the share of the machine's CPUs other processes used meanwhile
//! (`/proc/stat` less this process and wrk): a build running alongside starves the bare server
//! more than refinery and flatters the ratio (0.98 × was printed once that way), so above 5 % the
//! bench prints that the machine was not quiet.
//! Run: `cargo bench -p api-tests --bench scale`. docs/operations.md has the figures measured here.

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

/// The allocator the `refinery` binary runs with (`crates/server/src/main.rs`), so refinery is
/// measured as it ships; the bare server in this process uses it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Above this share of the machine's CPUs used by other processes during a run, the figures are
/// not a quiet machine's and the bench says so.
const QUIET_MACHINE: f64 = 5.0;

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
    /// CPU time the load generator's thread used, and the rest of the process (the servers).
    generator_cpu: Duration,
    servers_cpu: Duration,
    /// wrk's latency percentiles (its `--latency` table: 50, 75, 90, 99), ms.
    wrk_percentiles: Vec<(u32, f64)>,
    /// CPU time the rest of the machine used meanwhile (other processes: builds, editors).
    others_cpu: Duration,
}

/// CPU time (user + system) in `/proc/<which>/stat`: `thread-self` or `self`. Linux only; zero
/// elsewhere (the busy shares then read 0 %).
fn cpu_time(which: &str) -> Duration {
    stat_ticks(which, &[11, 12])
}

/// CPU time every CPU of the machine spent busy (`/proc/stat`: all but idle and I/O wait);
/// zero where it cannot be read.
fn machine_busy() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let Some(total) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return Duration::ZERO;
    };
    // user nice system idle iowait irq softirq steal: skip idle (3) and iowait (4).
    let ticks: u64 = total
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, n)| n.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time of this process's children that ended (wrk, once it exits).
fn children_cpu_time() -> Duration {
    stat_ticks("self", &[13, 14])
}

/// The sum of the given fields of `/proc/<which>/stat`, counted from the state (field 3) as 0,
/// in clock ticks, as a duration.
fn stat_ticks(which: &str, fields_at: &[usize]) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{which}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = fields_at
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
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

/// Which program sends the load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generator {
    /// wrk (Debian's `wrk`), a separate process on the load generator's CPU.
    Wrk,
    /// hyper client connections on this process's load generator thread.
    InProcess,
}

/// `wrk` with `connections` connections on `address` for `duration`, pinned where the calling
/// thread is (a child inherits its CPU affinity). Each request carries the next of `cookies`,
/// the requests formatted once up front (wrk's own advice for a script that varies requests).
fn wrk(
    address: SocketAddr,
    path: &'static str,
    cookies: &[String],
    connections: usize,
    duration: Duration,
) -> Run {
    let quoted: Vec<String> = cookies.iter().map(|c| format!("{c:?}")).collect();
    let script = format!(
        "local cookies = {{{}}}\n\
         local requests = {{}}\n\
         local i = 0\n\
         init = function(args)\n\
           for k, c in ipairs(cookies) do\n\
             requests[k] = wrk.format(\"GET\", {path:?}, {{[\"Cookie\"] = c}})\n\
           end\n\
         end\n\
         request = function()\n\
           i = i % #requests + 1\n\
           return requests[i]\n\
         end\n",
        quoted.join(", ")
    );
    let script_file =
        std::env::temp_dir().join(format!("refinery-scale-{}.lua", std::process::id()));
    std::fs::write(&script_file, script).expect("the wrk script is written");
    let (process_before, children_before) = (cpu_time("self"), children_cpu_time());
    let started = Instant::now();
    let output = std::process::Command::new("wrk")
        .arg("-t1")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("--latency")
        .arg("-s")
        .arg(&script_file)
        .arg(format!("http://{address}"))
        .output()
        .expect("wrk runs");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    // "Requests/sec: 71234.56", "     50%    1.23ms", "Non-2xx or 3xx responses: 12",
    // "Socket errors: connect 0, read 0, write 0, timeout 0".
    let number = |line: &str| {
        line.split_whitespace()
            .last()
            .and_then(|n| n.parse::<f64>().ok())
    };
    let millis = |text: &str| -> Option<f64> {
        let split = text.find(|c: char| c.is_ascii_alphabetic())?;
        let (n, unit) = text.split_at(split);
        let n: f64 = n.parse().ok()?;
        Some(match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            _ => return None,
        })
    };
    let mut run = Run {
        elapsed,
        ..Run::default()
    };
    let mut per_second = 0.0;
    for line in text.lines().map(str::trim) {
        if line.starts_with("Requests/sec:") {
            per_second = number(line).unwrap_or(0.0);
        } else if line.starts_with("Non-2xx") {
            run.errors += number(line).unwrap_or(0.0) as u64;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            run.errors += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        } else if line.starts_with("Latency ")
            && let Some(max) = line.split_whitespace().nth(3).and_then(millis)
        {
            run.wrk_percentiles.push((100, max));
        } else if let Some((p, value)) = line.split_once('%')
            && let Ok(p) = p.trim().parse::<u32>()
            && let Some(ms) = millis(value.trim())
        {
            run.wrk_percentiles.push((p, ms));
        }
    }
    // wrk's own rate over its own clock; `elapsed` also holds its start and exit.
    run.ok = (per_second * duration.as_secs_f64()).round() as u64;
    run.elapsed = duration;
    run.servers_cpu = cpu_time("self").saturating_sub(process_before);
    run.generator_cpu = children_cpu_time().saturating_sub(children_before);
    let _ = std::fs::remove_file(&script_file);
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
    let (generator_before, process_before) = (cpu_time("thread-self"), cpu_time("self"));
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
    total.generator_cpu = cpu_time("thread-self").saturating_sub(generator_before);
    total.servers_cpu = cpu_time("self")
        .saturating_sub(process_before)
        .saturating_sub(total.generator_cpu);
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
    into.generator_cpu += run.generator_cpu;
    into.servers_cpu += run.servers_cpu;
    into.others_cpu += run.others_cpu;
    // wrk reports percentiles, not samples: keep each one's worst round.
    for (p, ms) in run.wrk_percentiles {
        match into.wrk_percentiles.iter_mut().find(|(q, _)| *q == p) {
            Some((_, worst)) => *worst = worst.max(ms),
            None => into.wrk_percentiles.push((p, ms)),
        }
    }
}

/// The `p` latency of `run` in ms: from its samples, or (wrk) its worst round's percentile;
/// NaN when wrk does not report that one.
fn latency_ms(run: &Run, p: f64) -> f64 {
    if !run.latencies.is_empty() {
        return percentile_ms(&run.latencies, p);
    }
    let wanted = (p * 100.0).round() as u32;
    run.wrk_percentiles
        .iter()
        .find(|(q, _)| *q == wanted)
        .map_or(f64::NAN, |(_, ms)| *ms)
}

/// One run on `address` with the chosen generator.
async fn one_run(
    generator: Generator,
    address: SocketAddr,
    path: &'static str,
    cookies: &[String],
    connections: usize,
    duration: Duration,
) -> Run {
    let before = (machine_busy(), cpu_time("self"), children_cpu_time());
    let mut run = match generator {
        Generator::Wrk => wrk(address, path, cookies, connections, duration),
        Generator::InProcess => load(address, path, cookies, connections, duration).await,
    };
    let ours =
        cpu_time("self").saturating_sub(before.1) + children_cpu_time().saturating_sub(before.2);
    run.others_cpu = machine_busy().saturating_sub(before.0).saturating_sub(ours);
    run
}

fn main() {
    // As the `refinery` binary runs.
    server::memory::no_huge_pages();
    let connections = env_u64("CONNECTIONS", 256).max(1) as usize;
    let duration = Duration::from_secs(env_u64("SECONDS", 3).max(1));
    let rounds = env_u64("ROUNDS", 3).max(1) as usize;
    let sessions = env_u64("SESSIONS", 32).max(1) as usize;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pinned = cpus >= 2 && env_u64("SCALE_PIN", 1) != 0 && pin(&(1..cpus).collect::<Vec<_>>());
    let server_threads = if pinned { cpus - 1 } else { cpus };
    let wrk_installed = std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok();
    let generator_kind = match std::env::var("SCALE_LOAD").as_deref() {
        Ok("hyper") => Generator::InProcess,
        Ok("wrk") => {
            assert!(
                wrk_installed,
                "SCALE_LOAD=wrk needs wrk (apt-get install wrk)"
            );
            Generator::Wrk
        }
        _ if wrk_installed => Generator::Wrk,
        _ => Generator::InProcess,
    };

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
                let run = async |address| {
                    one_run(
                        generator_kind,
                        address,
                        path,
                        &cookies,
                        connections,
                        duration,
                    )
                    .await
                };
                one_run(
                    generator_kind,
                    axum_address,
                    path,
                    &cookies,
                    connections,
                    warm,
                )
                .await;
                one_run(
                    generator_kind,
                    refinery_address,
                    path,
                    &cookies,
                    connections,
                    warm,
                )
                .await;
                let mut result = PathResult {
                    path,
                    axum: Run::default(),
                    refinery: Run::default(),
                    ratios: Vec::new(),
                };
                for round in 0..rounds {
                    let (a, r) = if round % 2 == 0 {
                        let a = run(axum_address).await;
                        (a, run(refinery_address).await)
                    } else {
                        let r = run(refinery_address).await;
                        (run(axum_address).await, r)
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
    println!(
        "load generator: {}",
        match generator_kind {
            Generator::Wrk =>
                "wrk, one thread (a process of its own); p50/p99/max are wrk's, the worst round's",
            Generator::InProcess =>
                "hyper client connections on one thread of this process (wrk not found, or SCALE_LOAD=hyper)",
        }
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
        "{:<14} {:<9} {:>10} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>7} {:>8}",
        "path",
        "server",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "gen busy",
        "srv busy",
        "others",
        "µs/req"
    );
    let mut noisiest = 0.0f64;
    let mut verdicts = Vec::new();
    for result in &mut results {
        for (name, run) in [
            ("axum", &mut result.axum),
            ("refinery", &mut result.refinery),
        ] {
            run.latencies.sort_unstable();
            let elapsed = run.elapsed.as_secs_f64().max(1e-9);
            let others = 100.0 * run.others_cpu.as_secs_f64() / elapsed / cpus as f64;
            noisiest = noisiest.max(others);
            println!(
                "{:<14} {name:<9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>8.0}% {:>8.0}% {:>6.0}% {:>8.1}",
                result.path,
                run.per_second(),
                latency_ms(run, 0.5),
                latency_ms(run, 0.99),
                latency_ms(run, 1.0),
                run.errors,
                100.0 * run.generator_cpu.as_secs_f64() / elapsed,
                100.0 * run.servers_cpu.as_secs_f64() / elapsed / server_threads as f64,
                others,
                run.servers_cpu.as_secs_f64() * 1e6 / run.ok.max(1) as f64,
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
            let p99 = latency_ms(&result.refinery, 0.99);
            verdicts.push(format!(
                "goal GET /api/session ≥ 0.5 × bare axum: {} ({ratio:.2} ×)",
                if ratio >= 0.5 { "MET" } else { "NOT MET" }
            ));
            verdicts.push(format!(
                "goal GET /api/session p99 < 5 ms at {connections} connections: {} ({p99:.2} ms)",
                if p99 < 5.0 { "MET" } else { "NOT MET" }
            ));
            // Each connection sends as soon as it is answered, so `connections` requests are
            // always waiting and the mean latency is connections / rate (Little's law): the
            // p99 goal is a rate the server must reach, and this says which, next to bare
            // axum's own figures from the same runs.
            verdicts.push(format!(
                "   bound: with {connections} requests always in flight, the mean latency is {connections} / rate, so even a mean under 5 ms takes over {:.0} req/s, and a p99 under 5 ms more; bare axum answered {:.0} req/s with a p99 of {:.2} ms, refinery {:.0} req/s",
                connections as f64 / 0.005,
                result.axum.per_second(),
                latency_ms(&result.axum, 0.99),
                result.refinery.per_second(),
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
    if noisiest > QUIET_MACHINE {
        verdicts.push(format!(
            "NOT A QUIET MACHINE: other processes used {noisiest:.0} % of the CPUs over one server's \
             runs (quiet: under {QUIET_MACHINE:.0} %); they starve the bare server more than refinery, \
             so the ratios above flatter refinery. Measure again with nothing else running."
        ));
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    drop(servers);
}
