//! Browser-test harness: the real server (in-process, on 127.0.0.1 with an OS-picked port)
//! serving the built SPA from `dist/`, ChromeDriver in its own process group, headless Chromium
//! with a fresh profile, and keyboard-first page helpers.
//!
//! Every wait polls a DOM condition against a deadline; nothing sleeps for a fixed time.
//! [`run`] always saves a screenshot, closes the browser session, kills ChromeDriver's whole
//! process group (Chromium included) and stops the server, whether the test passed or not.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::error::NewSessionError;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use server::config::Settings;
use server::startup::Application;
use tokio::sync::oneshot;

/// Longest any single wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// The workspace root (this crate lives in `<root>/e2e`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The built SPA. Missing means the suite cannot test anything: that is a failure, not a skip.
pub fn dist_dir() -> PathBuf {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} is missing: build the browser app first with scripts/build-spa, then run the e2e tests again",
        dist.join("index.html").display()
    );
    dist
}

/// Runs one browser test: starts everything, hands `body` a [`Page`], then saves
/// `e2e/screenshots/<name>.png` and tears everything down, and only then reports the result.
pub async fn run<F, Fut>(name: &str, configure: impl FnOnce(&mut Settings), body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    // The server's warnings and errors (a 500's cause) go to the output, so a failure says why.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .try_init();
    let mut settings = Settings::for_tests();
    settings.static_dir = dist_dir();
    // A database file, not `sqlite::memory:`: a reload cancels the page's requests mid-query, the
    // pool then replaces that connection, and a new in-memory connection is an empty database.
    let data = std::env::temp_dir().join(format!(
        "prompt-refinery-e2e-data-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&data);
    settings.storage.database_url = Some(format!("sqlite://{}/refinery.db", data.display()));
    configure(&mut settings);
    let server = TestServer::start(settings).await.expect("server starts");
    let driver = Driver::start().expect("chromedriver starts");
    let profile =
        std::env::temp_dir().join(format!("prompt-refinery-e2e-{}-{name}", std::process::id()));
    let client = match connect(&driver, &profile).await {
        Ok(client) => client,
        Err(e) => {
            drop(driver);
            panic!("cannot open a browser session: {e:#}");
        }
    };
    let page = Page {
        client: client.clone(),
        base: format!("http://{}", server.address),
        webdriver: format!("http://127.0.0.1:{}", driver.port),
        profile: profile.clone(),
    };

    let outcome = body(page.clone()).await;

    let shot = page.screenshot(name).await;
    let _ = client.close().await;
    drop(driver);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&data);
    if let Err(e) = outcome {
        panic!("{name}: {e:#}");
    }
    if let Err(e) = shot {
        panic!("{name}: could not save the screenshot: {e:#}");
    }
}

struct TestServer {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    async fn start(settings: Settings) -> anyhow::Result<TestServer> {
        let app = Application::build(settings).await?;
        let address = app.address();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            address,
            stop,
            task,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// ChromeDriver, started in its own process group so that dropping it ends it and every
/// browser it launched, even when a test panics.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts ChromeDriver on a port it picks itself (`--port=0`) and reads that port from its
    /// first lines of output. Picking a free port here and handing it over would race: another
    /// test's server could take the port in between.
    fn start() -> anyhow::Result<Driver> {
        // ChromeDriver picks its port and then binds it for IPv4 and IPv6 separately; when another
        // process takes it in between, it says "IPv4 port not available" and exits. A new start
        // picks a new port, so a couple of tries make that race harmless.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Driver::start_once() {
                Ok(driver) => return Ok(driver),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        bail!("chromedriver did not start in 3 tries: {failures:?}")
    }

    fn start_once() -> anyhow::Result<Driver> {
        use std::io::{BufRead, BufReader};
        use std::os::unix::process::CommandExt;

        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let mut child = Command::new(&program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| {
                format!("cannot run {program}: install it with scripts/bootstrap --browser")
            })?;
        let stdout = child.stdout.take().context("chromedriver's stdout")?;
        let mut driver = Driver { child, port: 0 };

        // Read on a thread, so a silent ChromeDriver meets the deadline instead of blocking us;
        // the thread keeps draining the pipe afterwards so ChromeDriver never blocks on a full one.
        let (lines, heard) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut said = Vec::new();
        while driver.port == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match heard.recv_timeout(left) {
                Ok(line) => {
                    driver.port = listening_port(&line).unwrap_or(0);
                    said.push(line);
                }
                Err(_) => bail!(
                    "chromedriver did not say which port it listens on within 15 s; it said: {said:?}"
                ),
            }
        }
        Ok(driver)
    }
}

/// The port in ChromeDriver's "ChromeDriver was started successfully on port 40123."
fn listening_port(line: &str) -> Option<u16> {
    line.split_once("started successfully on port ")?
        .1
        .trim_end_matches('.')
        .trim()
        .parse()
        .ok()
        .filter(|port| *port != 0)
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Negative pid: the whole group (ChromeDriver and the Chromium processes it started).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver, profile: &Path) -> anyhow::Result<Client> {
    connect_to(&format!("http://127.0.0.1:{}", driver.port), profile).await
}

async fn connect_to(webdriver: &str, profile: &Path) -> anyhow::Result<Client> {
    let _ = std::fs::remove_dir_all(profile);
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": binary,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(capabilities);
    // A connection that fails outright is tried once more; a refused session is not.
    let client = match builder.connect(webdriver).await {
        Err(
            NewSessionError::Failed(_) | NewSessionError::FailedC(_) | NewSessionError::Lost(_),
        ) => builder.connect(webdriver).await,
        other => other,
    }
    .context("new WebDriver session")?;
    Ok(client)
}

/// The app in a browser tab, with keyboard-first helpers.
#[derive(Clone)]
pub struct Page {
    pub client: Client,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// ChromeDriver's address, for [`Page::fresh_browser`].
    webdriver: String,
    /// This browser's profile folder; a fresh browser gets one beside it.
    profile: PathBuf,
}

impl Page {
    /// A second browser on the same server, with a profile of its own: no cookies, no storage,
    /// nothing shared with this one (a partner opening a link). Close it with
    /// [`Page::close_fresh`]; ChromeDriver's end takes it down in any case.
    pub async fn fresh_browser(&self) -> anyhow::Result<Page> {
        let profile = self.profile.with_extension("fresh");
        let client = connect_to(&self.webdriver, &profile).await?;
        Ok(Page {
            client,
            base: self.base.clone(),
            webdriver: self.webdriver.clone(),
            profile,
        })
    }

    /// Ends a browser from [`Page::fresh_browser`] and removes its profile.
    pub async fn close_fresh(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    /// Resizes the window until the page's viewport is `width` x `height` CSS pixels (the window
    /// is larger than its viewport by whatever the browser draws around it).
    pub async fn viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        let target = format!("window.innerWidth === {width} && window.innerHeight === {height}");
        for _ in 0..3 {
            // The window's frame around the page, measured while no resize is in flight: the
            // window is made the page's size plus that frame.
            let (_, _, outer_w, outer_h) = self.client.get_window_rect().await?;
            let inner = self
                .js("return [window.innerWidth, window.innerHeight];")
                .await?;
            let frame = |outer: u64, i: usize| {
                i64::try_from(outer).unwrap_or_default() - inner[i].as_i64().unwrap_or_default()
            };
            let size =
                |page: u32, frame: i64| u32::try_from(i64::from(page) + frame).unwrap_or(page);
            self.client
                .set_window_size(
                    size(width, frame(outer_w, 0)),
                    size(height, frame(outer_h, 1)),
                )
                .await?;
            // A busy machine applies the size a moment later: wait (bounded) for the page to see it.
            if self.wait_until("the new viewport", &target).await.is_ok() {
                return Ok(());
            }
        }
        Err(anyhow!("the viewport did not become {width}x{height}"))
    }

    /// Opens `path` (e.g. `/`) on the test server.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.client.goto(&format!("{}{path}", self.base)).await?;
        Ok(())
    }

    /// Polls the JavaScript expression `condition` until it is truthy, or fails after [`WAIT`]
    /// naming `what` and, if the page shows one, the error alert's text.
    pub async fn wait_until(&self, what: &str, condition: &str) -> anyhow::Result<()> {
        let script = format!("return !!({condition});");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Value::Bool(true)) = self.client.execute(&script, vec![]).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                let alert = self
                    .js("const a = document.querySelector('[role=alert]'); return a ? a.innerText : null;")
                    .await
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                bail!("timed out after {WAIT:?} waiting for {what} (alert on the page: {alert:?})");
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// Waits for an element with `data-testid` to be in the page.
    pub async fn wait_for(&self, test_id: &str) -> anyhow::Result<()> {
        self.wait_until(
            &format!("[data-testid={test_id}]"),
            &format!("document.querySelector('[data-testid=\"{test_id}\"]')"),
        )
        .await
    }

    /// Waits until the step counter reads "Question `n` of 3".
    pub async fn wait_for_question(&self, n: u8) -> anyhow::Result<()> {
        self.wait_until(
            &format!("Question {n} of 3"),
            &format!(
                "(document.querySelector('[data-testid=\"step-counter\"]') || {{}}).textContent === 'Question {n} of 3'"
            ),
        )
        .await
    }

    /// Runs a script and returns its value.
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// The text of the element with `data-testid`.
    pub async fn text(&self, test_id: &str) -> anyhow::Result<String> {
        let element = self
            .client
            .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
            .await
            .with_context(|| format!("no [data-testid={test_id}]"))?;
        Ok(element.text().await?)
    }

    /// The `value` of the element with `data-testid`.
    pub async fn value(&self, test_id: &str) -> anyhow::Result<String> {
        let element = self
            .client
            .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
            .await
            .with_context(|| format!("no [data-testid={test_id}]"))?;
        Ok(element.prop("value").await?.unwrap_or_default())
    }

    /// `data-testid` (or, failing that, `id`) of the focused element.
    pub async fn focused(&self) -> anyhow::Result<String> {
        let value = self
            .js("const e = document.activeElement; return e ? (e.dataset.testid || e.id || e.tagName) : '';")
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the element with `data-testid` or `id` equal to `target` has focus.
    pub async fn wait_for_focus(&self, target: &str) -> anyhow::Result<()> {
        self.wait_until(
            &format!("focus on {target}"),
            &format!(
                "document.activeElement && (document.activeElement.dataset.testid === '{target}' || document.activeElement.id === '{target}')"
            ),
        )
        .await
    }

    /// Presses keys (characters or [`Key`] codes) one after another, as a keyboard would.
    pub async fn press(&self, keys: &[char]) -> anyhow::Result<()> {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for &key in keys {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Types `text` into whatever has focus.
    pub async fn type_text(&self, text: &str) -> anyhow::Result<()> {
        let keys: Vec<char> = text.chars().collect();
        self.press(&keys).await
    }

    /// Presses Enter.
    pub async fn enter(&self) -> anyhow::Result<()> {
        self.press(&[Key::Enter.into()]).await
    }

    /// Presses Space (activates the focused button, checkbox or radio).
    pub async fn space(&self) -> anyhow::Result<()> {
        self.press(&[' ']).await
    }

    /// Presses Tab until the element with `data-testid` has focus, proving it is reachable by
    /// keyboard. Fails after 40 presses.
    pub async fn tab_to(&self, test_id: &str) -> anyhow::Result<()> {
        for _ in 0..40 {
            if self.focused().await? == test_id {
                return Ok(());
            }
            self.press(&[Key::Tab.into()]).await?;
        }
        Err(anyhow!(
            "[data-testid={test_id}] was not reached with Tab (focus is on {:?})",
            self.focused().await?
        ))
    }

    /// Selects everything in the focused field (Ctrl+A) so typing replaces it.
    pub async fn select_all(&self) -> anyhow::Result<()> {
        let control: char = Key::Control.into();
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: control })
            .then(KeyAction::Down { value: 'a' })
            .then(KeyAction::Up { value: 'a' })
            .then(KeyAction::Up { value: control });
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Fetches `url` from inside the page (same origin, same cookies) and returns
    /// `(status, content type, first 8 bytes)`.
    pub async fn fetch_head(&self, url: &str) -> anyhow::Result<(u64, String, Vec<u8>)> {
        let script = r#"
            const [url, done] = arguments;
            fetch(url)
              .then(r => r.arrayBuffer().then(b => done({
                status: r.status,
                type: r.headers.get('content-type') || '',
                head: Array.from(new Uint8Array(b).slice(0, 8)),
              })))
              .catch(e => done({ status: 0, type: String(e), head: [] }));
        "#;
        let value = self
            .client
            .execute_async(script, vec![Value::String(url.to_owned())])
            .await?;
        let status = value["status"].as_u64().unwrap_or(0);
        let kind = value["type"].as_str().unwrap_or_default().to_owned();
        let head = value["head"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .filter_map(|b| u8::try_from(b).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok((status, kind, head))
    }

    /// Runs axe-core over the page as it is now and fails, naming `state`, if any rule finds a
    /// serious or critical violation; the message lists each one's rule, impact, help text and the
    /// elements it found. axe is injected through WebDriver, which the page's CSP
    /// (`script-src 'self'`) does not govern, once per document.
    pub async fn check_accessibility(&self, state: &str) -> anyhow::Result<()> {
        let loaded = self.js("return typeof window.axe === 'object';").await?;
        if loaded != Value::Bool(true) {
            let path = repo_root().join(".tools/node_modules/axe-core/axe.min.js");
            let source = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read {}: install it with scripts/bootstrap --browser",
                    path.display()
                )
            })?;
            self.js(&format!("{source}\nreturn typeof window.axe === 'object';"))
                .await?
                .as_bool()
                .filter(|&ok| ok)
                .context("axe-core did not load into the page")?;
        }
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done({ violations: r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => `${n.target.join(' ')}: ${n.html}`),
                })) }))
              .catch(e => done({ error: String(e) }));
        "#;
        let outcome = self.client.execute_async(script, vec![]).await?;
        if let Some(error) = outcome["error"].as_str() {
            bail!("axe could not check {state}: {error}");
        }
        let violations = outcome["violations"]
            .as_array()
            .with_context(|| format!("axe gave no result for {state}: {outcome}"))?;
        if violations.is_empty() {
            return Ok(());
        }
        let report: Vec<String> = violations
            .iter()
            .map(|v| {
                let nodes: Vec<&str> = v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!(
                    "{} ({}): {}\n      {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    nodes.join("\n      ")
                )
            })
            .collect();
        bail!(
            "axe found {} serious or critical violation(s) on {state}:\n  {}",
            report.len(),
            report.join("\n  ")
        )
    }

    /// Saves a PNG of the current screen as `e2e/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = repo_root().join("e2e").join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await?;
        std::fs::write(&path, png)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn the_port_is_read_from_chromedrivers_greeting() {
        assert_eq!(
            listening_port("ChromeDriver was started successfully on port 39159."),
            Some(39159)
        );
        assert_eq!(listening_port("Only local connections are allowed."), None);
        assert_eq!(
            listening_port("ChromeDriver was started successfully on port 0."),
            None
        );
    }
}
