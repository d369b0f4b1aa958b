//! `provider-sim`: serves the simulated provider APIs on 127.0.0.1 until Ctrl-C. The first line on
//! stdout is the bound address (`127.0.0.1:PORT`), so scripts can read it even with `--port 0`.
//!
//! Options (each also read from the environment variable in brackets):
//! `--port N` [SIM_PORT, default 8090], `--latency-ms N` [SIM_LATENCY_MS],
//! `--openai-latency-ms N` [SIM_OPENAI_LATENCY_MS] and `--gemini-latency-ms N`
//! [SIM_GEMINI_LATENCY_MS] (each replaces `--latency-ms` for its API),
//! `--openai-faults S` [SIM_OPENAI_FAULTS], `--gemini-faults S` [SIM_GEMINI_FAULTS],
//! `--task-faults S` [SIM_TASK_FAULTS]. A fault script is e.g. `429,ok` or `500,500,ok`.
//! `--missing-models a,b` [SIM_MISSING_MODELS]: model ids that answer 404 (default: the ids
//! retired in 2026). `--shutdown-dates id=YYYY-MM-DD,...` [SIM_SHUTDOWN_DATES]: OpenAI models'
//! `shutdown_date` (default: OpenAI's announced shutdowns).

use std::io::Write;
use std::time::Duration;

fn main() {
    if let Err(message) = run() {
        eprintln!("provider-sim: {message}");
        std::process::exit(2);
    }
}

/// `u64::MAX` (the option's absence) as `None`, a number of milliseconds as a latency.
fn optional(ms: u64) -> Option<Duration> {
    (ms != u64::MAX).then(|| Duration::from_millis(ms))
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut options = std::collections::HashMap::new();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!(
                "provider-sim [--port N] [--latency-ms N] [--openai-latency-ms N] [--gemini-latency-ms N] [--openai-faults S] [--gemini-faults S] [--task-faults S] [--missing-models a,b] [--shutdown-dates id=YYYY-MM-DD,...]"
            );
            return Ok(());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        options.insert(flag, value);
    }
    let get = |flag: &str, env: &str| {
        options
            .get(flag)
            .cloned()
            .or_else(|| std::env::var(env).ok())
            .unwrap_or_default()
    };
    let number = |flag: &str, env: &str, default: u64| -> Result<u64, String> {
        let raw = get(flag, env);
        if raw.is_empty() {
            return Ok(default);
        }
        raw.parse()
            .map_err(|_| format!("{flag}={raw:?} is not a whole number"))
    };
    let list = |flag: &str, env: &str| -> Option<Vec<String>> {
        let raw = get(flag, env);
        (!raw.trim().is_empty()).then(|| {
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    };
    let defaults = simulator::Config::default();
    let missing_models =
        list("--missing-models", "SIM_MISSING_MODELS").unwrap_or(defaults.missing_models);
    let shutdown_dates = match list("--shutdown-dates", "SIM_SHUTDOWN_DATES") {
        None => defaults.shutdown_dates,
        Some(pairs) => pairs
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(id, date)| (id.trim().to_owned(), date.trim().to_owned()))
                    .ok_or_else(|| format!("--shutdown-dates: {pair:?} is not id=YYYY-MM-DD"))
            })
            .collect::<Result<_, _>>()?,
    };
    let config = simulator::Config {
        missing_models,
        shutdown_dates,
        port: u16::try_from(number("--port", "SIM_PORT", 8090)?)
            .map_err(|_| "--port is out of range".to_owned())?,
        latency: Duration::from_millis(number("--latency-ms", "SIM_LATENCY_MS", 0)?),
        openai_latency: optional(number(
            "--openai-latency-ms",
            "SIM_OPENAI_LATENCY_MS",
            u64::MAX,
        )?),
        gemini_latency: optional(number(
            "--gemini-latency-ms",
            "SIM_GEMINI_LATENCY_MS",
            u64::MAX,
        )?),
        openai_faults: simulator::parse_script(&get("--openai-faults", "SIM_OPENAI_FAULTS"))?,
        gemini_faults: simulator::parse_script(&get("--gemini-faults", "SIM_GEMINI_FAULTS"))?,
        task_faults: simulator::parse_script(&get("--task-faults", "SIM_TASK_FAULTS"))?,
        ..simulator::Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (addr, _handle) = simulator::spawn(config)
            .await
            .map_err(|e| format!("cannot bind: {e}"))?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{addr}");
        let _ = writeln!(out, "OPENAI_BASE_URL=http://{addr}/v1");
        let _ = writeln!(out, "NANOBANANA_API_URL=http://{addr}");
        let _ = writeln!(out, "NANOBANANA_TASK_API_URL=http://{addr}");
        let _ = out.flush();
        drop(out);
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}
