//! Throwaway real servers for tests: a PostgreSQL cluster (Debian's `postgresql`: `initdb` into a
//! temporary folder, as the `postgres` user when running as root) and an S3-compatible server
//! (moto's server mode), each on a loopback port the OS picked, started once per test process
//! on first use. Nothing here uses a service that happens to be running on the machine.
//!
//! Each server runs under a small supervisor shell whose stdin is a pipe from the test process.
//! When the test process ends — passed, failed, panicked or killed — the kernel closes the pipe,
//! and the supervisor stops its server and deletes its files. `scripts/bootstrap` installs both.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::OnceCell;

/// How long a server may take to come up (moto imports a lot of Python on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Start attempts when the picked port was taken in between.
const ATTEMPTS: usize = 5;

/// A supervised server process. Dropping it (or ending the test process) stops the server.
struct Supervisor {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // Closing stdin is the stop signal; the supervisor cleans up and exits.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Starts `script` under bash with `args`, and waits for a stdout line `ready` returns `Some`
/// for. Later output is drained so the server never blocks on a full pipe.
fn supervise<T: Send + 'static>(
    script: &str,
    args: &[&str],
    ready: impl Fn(&str) -> Option<T> + Send + 'static,
) -> Result<(Supervisor, T), String> {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("supervisor")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let stdin = child.stdin.take();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| "no stdout pipe".to_owned())?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(found) = ready(&line) {
                    let _ = sender.send(Ok(found));
                    sent = true;
                } else if seen.len() < 200 {
                    seen.push(line);
                }
            }
        }
        if !sent {
            let _ = sender.send(Err(seen.join("\n")));
        }
    });
    let supervisor = Supervisor { child, stdin };
    match receiver.recv_timeout(START_TIMEOUT) {
        Ok(Ok(found)) => Ok((supervisor, found)),
        Ok(Err(output)) => Err(format!("the server did not start:\n{output}")),
        Err(_) => Err(format!(
            "the server did not report ready within {} s",
            START_TIMEOUT.as_secs()
        )),
    }
}

/// A port that was free a moment ago (the server's own bind decides; a clash is retried).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot pick a port: {e}"))
}

fn temp_dir(kind: &str) -> PathBuf {
    let tag: u64 = rand::random();
    std::env::temp_dir().join(format!("refinery-{kind}-{}-{tag:016x}", std::process::id()))
}

fn random_name(prefix: &str) -> String {
    format!("{prefix}{:016x}", rand::random::<u64>())
}

/// The workspace's `.tools` folder, where `scripts/bootstrap` installs what tests need.
fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools")
}

const POSTGRES_SCRIPT: &str = r#"
set -u
bin="$1"; dir="$2"; port="$3"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP
mkdir -p "$dir" || exit 1
if [ "$(id -u)" = 0 ]; then chown postgres "$dir" || exit 1; fi
if ! as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1; then
  echo "initdb failed:"; cat "$dir/initdb.log"; exit 1
fi
# Durability off: a test cluster is thrown away, and this makes it several times faster.
if ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null 2>&1; then
  echo "pg_ctl start failed:"; cat "$dir/server.log"; exit 1
fi
echo ready
cat >/dev/null
"#;

/// A throwaway PostgreSQL cluster.
pub struct Postgres {
    port: u16,
    _supervisor: Supervisor,
}

/// Where Debian's PostgreSQL binaries are: `PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| NOT_INSTALLED.to_owned())?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| NOT_INSTALLED.to_owned())
}

const NOT_INSTALLED: &str =
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/bootstrap";

impl Postgres {
    /// This test process's cluster, started on first use.
    pub async fn shared() -> &'static Postgres {
        static SHARED: OnceCell<Postgres> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                Postgres::start().unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"))
            })
            .await
    }

    fn start() -> Result<Postgres, String> {
        let bin = postgres_bin()?;
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port()?;
            let dir = temp_dir("pg");
            let args = [
                bin.to_string_lossy(),
                dir.to_string_lossy(),
                port.to_string().into(),
            ];
            let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
            match supervise(POSTGRES_SCRIPT, &args, |line| {
                (line == "ready").then_some(())
            }) {
                Ok((supervisor, ())) => {
                    return Ok(Postgres {
                        port,
                        _supervisor: supervisor,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A URL for database `name` as the superuser.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database of its own for one test and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = random_name("t");
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let _ = admin.close().await;
        self.url(&name)
    }
}

const MOTO_SCRIPT: &str = r#"
set -u
"$1" -H 127.0.0.1 -p 0 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
trap 'exit 1' TERM INT HUP
cat >/dev/null
"#;

/// A throwaway S3-compatible server with one bucket.
pub struct S3 {
    endpoint: String,
    bucket: String,
    _supervisor: Supervisor,
}

/// moto's server: `MOTO_SERVER`, else `.tools/moto/bin/moto_server`, else `moto_server` on PATH.
fn moto_server() -> String {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return path;
    }
    let local = tools_dir().join("moto/bin/moto_server");
    if local.is_file() {
        return local.to_string_lossy().into_owned();
    }
    "moto_server".to_owned()
}

impl S3 {
    /// This test process's server and bucket, started on first use.
    pub async fn shared() -> &'static S3 {
        static SHARED: OnceCell<S3> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                let s3 = S3::start().unwrap_or_else(|e| {
                    panic!("cannot start moto_server (run scripts/bootstrap): {e}")
                });
                s3.create_bucket(&s3.bucket).await;
                s3
            })
            .await
    }

    fn start() -> Result<S3, String> {
        let program = moto_server();
        // moto binds port 0 itself and prints the address it got.
        let (supervisor, endpoint) = supervise(MOTO_SCRIPT, &[&program], |line| {
            let at = line.find("Running on http://127.0.0.1:")?;
            let address = line[at + "Running on ".len()..].trim();
            Some(address.to_owned())
        })?;
        Ok(S3 {
            endpoint,
            bucket: random_name("refinery-test-"),
            _supervisor: supervisor,
        })
    }

    /// `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// An `IMAGE_STORE_URL` of its own for one test: the bucket with a fresh prefix.
    pub fn fresh_url(&self) -> String {
        format!("s3://{}/{}", self.bucket, random_name("t"))
    }

    /// Creates a bucket through the S3 API (`PUT /bucket`).
    pub async fn create_bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot reach moto_server: {e}"));
        assert!(
            response.status().is_success(),
            "creating bucket {name} failed: {}",
            response.status()
        );
    }

    /// The environment a `refinery` process needs to use this server (any key works with moto).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ]
    }
}
