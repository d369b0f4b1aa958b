//! The server as a separate process (the `refinery` code, built here as `refinery-test-server`),
//! for what only a real process shows: `kill -9` and a restart on the same data, `SIGTERM`, a
//! refusal to start. It binds port 0 and the test reads the address from its start-up log. A
//! running process is killed when its handle drops, so a failing test leaves none behind.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a start may take (migrations, a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server process.
pub struct Refinery {
    child: Child,
    address: String,
    output: Arc<Mutex<String>>,
}

/// A server that exited instead of starting.
#[derive(Debug)]
pub struct Refused {
    pub status: Option<ExitStatus>,
    /// Its log and error output.
    pub output: String,
}

enum Event {
    Address(String),
    Closed,
}

fn read_lines(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    events: mpsc::Sender<Event>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("running at http://") {
                let address: String = line[at + "running at ".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let _ = events.send(Event::Address(address));
            }
            let mut all = output.lock().unwrap_or_else(|p| p.into_inner());
            all.push_str(&line);
            all.push('\n');
        }
        let _ = events.send(Event::Closed);
    });
}

impl Refinery {
    /// Starts `program` (a test's `env!("CARGO_BIN_EXE_refinery-test-server")`) with exactly
    /// `env` (nothing inherited, so no `.env` or shell variable leaks in) in `cwd`, and waits
    /// until it listens. The wait runs off the async runtime, so servers the test runs in
    /// process (a provider simulator, another instance) keep answering meanwhile.
    pub async fn start(
        program: &Path,
        env: &[(String, String)],
        cwd: &Path,
    ) -> Result<Refinery, Refused> {
        let (program, env, cwd) = (program.to_owned(), env.to_vec(), cwd.to_owned());
        tokio::task::spawn_blocking(move || Refinery::start_blocking(&program, &env, &cwd))
            .await
            .unwrap_or_else(|e| {
                Err(Refused {
                    status: None,
                    output: format!("the start was cancelled: {e}"),
                })
            })
    }

    fn start_blocking(
        program: &Path,
        env: &[(String, String)],
        cwd: &Path,
    ) -> Result<Refinery, Refused> {
        let mut child = Command::new(program)
            .env_clear()
            .env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("STATIC_DIR", "/nonexistent-static-dir")
            .env("RATE_LIMIT_IP_PER_MINUTE", "0")
            .env("RATE_LIMIT_SESSION_PER_MINUTE", "0")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Refused {
                status: None,
                output: format!("cannot run the server: {e}"),
            })?;
        let output = Arc::new(Mutex::new(String::new()));
        let (events, received) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            read_lines(stdout, output.clone(), events.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            read_lines(stderr, output.clone(), events);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let mut closed = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(Event::Address(address)) => {
                    return Ok(Refinery {
                        child,
                        address,
                        output,
                    });
                }
                Ok(Event::Closed) => {
                    closed += 1;
                    if closed == 2 {
                        let status = child.wait().ok();
                        return Err(Refused {
                            status,
                            output: text(&output),
                        });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Refused {
                        status: None,
                        output: format!("no address within {START_TIMEOUT:?}:\n{}", text(&output)),
                    });
                }
            }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Everything it logged so far.
    pub fn output(&self) -> String {
        text(&self.output)
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `SIGTERM`, then waits up to `within` for it to exit (off the async runtime, like
    /// [`Refinery::start`]). `None` if it did not.
    pub async fn terminate(mut self, within: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let waited = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + within;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Some(status);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            None
        });
        waited.await.ok().flatten()
    }
}

impl Drop for Refinery {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn text(output: &Mutex<String>) -> String {
    output.lock().unwrap_or_else(|p| p.into_inner()).clone()
}
