//! Spawns the real server on 127.0.0.1 (OS-picked port) and drives it over HTTP with a cookie
//! store, like a script with curl and a cookie jar. The server keeps its data on the backend
//! `TEST_BACKEND` names (`api_tests::storage`): the embedded default, or PostgreSQL + S3.

use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use api_tests::storage::TestStorage;
use contracts::{ApiErrorBody, JobStatus, JobView, SessionView, paths};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use server::config::Settings;
use server::startup::Application;
use server::state::AppState;
use tracing_subscriber::fmt::MakeWriter;

/// One person's browser against one server address: keeps the session cookie between calls.
#[derive(Clone)]
pub struct Person {
    pub address: String,
    pub client: Client,
}

/// A running in-process server and one person using it.
pub struct TestApp {
    person: Person,
    /// In-process handles, to inspect what HTTP cannot show (e.g. running jobs).
    pub state: AppState,
    /// Kept until the test ends: the server's data.
    pub storage: Arc<TestStorage>,
}

impl Deref for TestApp {
    type Target = Person;
    fn deref(&self) -> &Person {
        &self.person
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut Person {
        &mut self.person
    }
}

/// A server with test settings (offline providers, fixed secret).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with test settings changed by `configure`, on storage of its own.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let storage = Arc::new(TestStorage::new().await);
    spawn_app_on(&storage, configure).await
}

/// A server on `storage`, which other servers (instances, restarts) may share.
pub async fn spawn_app_on(
    storage: &Arc<TestStorage>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_tests();
    storage.apply(&mut settings);
    configure(&mut settings);
    let app = Application::build(settings)
        .await
        .expect("the test server builds");
    let address = format!("http://{}", app.address());
    assert!(
        address.starts_with("http://127.0.0.1:"),
        "tests stay on loopback"
    );
    let state = app.state().clone();
    // Bound before spawning: requests queue in the listener until the server accepts them.
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        person: Person {
            address,
            client: cookie_client(),
        },
        state,
        storage: storage.clone(),
    }
}

/// The `refinery` binary built for process tests.
/// Points both live adapters (prompt writer and image model) at the provider simulator on `addr`.
pub fn live_providers_at(settings: &mut Settings, addr: std::net::SocketAddr) {
    settings.openai.api_key = Some("sk-sim".to_owned().into());
    settings.openai.base_url = format!("http://{addr}/v1");
    settings.nanobanana.api_key = Some("sim".to_owned().into());
    settings.nanobanana.api_url = format!("http://{addr}");
}

/// Where each stage comes in a job's life.
pub fn stage_order(status: JobStatus) -> usize {
    match status {
        JobStatus::Queued => 0,
        JobStatus::Synthesizing => 1,
        JobStatus::Rendering => 2,
        JobStatus::Storing => 3,
        JobStatus::Succeeded | JobStatus::Failed => 4,
    }
}

pub fn refinery_program() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_refinery-test-server"))
}

pub fn cookie_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("a reqwest client")
}

/// The status and envelope of an error response, checking the envelope has exactly its two keys.
pub async fn error_of(response: Response) -> (StatusCode, ApiErrorBody) {
    let status = response.status();
    let body: Value = response.json().await.expect("an error body is JSON");
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 2, "envelope has exactly error and code: {body}");
    let envelope: ApiErrorBody = serde_json::from_value(body).expect("the envelope");
    assert!(!envelope.error.is_empty());
    (status, envelope)
}

/// The prompt the server wrote for `view`, recomputed with the same local composer.
pub fn expected_prompt(idea: &str, view: &SessionView) -> String {
    let catalog = domain::Catalog::built_in().expect("templates");
    let template = catalog.get(&view.template_id).expect("template");
    let answers: Vec<domain::Answer> = view
        .answers
        .iter()
        .map(|a| domain::Answer {
            text: a.answer.clone(),
            defaulted: a.defaulted,
            skipped: a.skipped,
            reasked: false,
        })
        .collect();
    domain::compose(&template, idea, &answers, 1500).prompt
}

/// `view` with `quota.resetsInSecs` zeroed. It counts down with the wall clock, so two reads of
/// an unchanged session a second apart differ; tests that compare views compare everything else.
fn steady(mut view: SessionView) -> SessionView {
    if let Some(quota) = view.quota.as_mut() {
        quota.resets_in_secs = 0;
    }
    view
}

impl TestApp {
    /// Another person on the same server: a fresh cookie jar.
    pub fn another_person(&self) -> TestApp {
        TestApp {
            person: Person {
                address: self.address.clone(),
                client: cookie_client(),
            },
            state: self.state.clone(),
            storage: self.storage.clone(),
        }
    }

    /// Live generations counted today, read from the store.
    pub async fn quota_used_globally(&self) -> u32 {
        self.state
            .quotas
            .used_globally()
            .await
            .expect("the store answers")
    }

    /// (images, bytes) in the image store.
    pub async fn images_stored(&self) -> (u64, u64) {
        self.state.images.usage().await.expect("the store answers")
    }
}

impl Person {
    /// A person with a fresh cookie jar at `address`.
    pub fn new(address: &str) -> Person {
        Person {
            address: address.to_owned(),
            client: cookie_client(),
        }
    }

    /// The same person (same cookie jar) talking to another server address.
    pub fn at(&self, address: &str) -> Person {
        Person {
            address: address.to_owned(),
            client: self.client.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET is answered")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST is answered")
    }

    /// A POST with an exact body and content type, for malformed input.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.expect("POST is answered")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE is answered")
    }

    pub async fn start(&self, idea: &str) -> SessionView {
        let response = self
            .post_json(
                paths::SESSION_START,
                &json!({"templateId": "general-cinematic", "initialInput": idea}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        steady(response.json().await.expect("a session view"))
    }

    pub async fn answer(&self, answer: &str) -> SessionView {
        let response = self
            .post_json(paths::SESSION_ANSWER, &json!({"answer": answer}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "answer {answer:?}");
        steady(response.json().await.expect("a session view"))
    }

    pub async fn skip(&self) -> SessionView {
        let response = self
            .post_json(paths::SESSION_ANSWER, &json!({"skip": true}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        steady(response.json().await.expect("a session view"))
    }

    pub async fn session(&self) -> SessionView {
        let response = self.get(paths::SESSION).await;
        assert_eq!(response.status(), StatusCode::OK);
        steady(response.json().await.expect("a session view"))
    }

    /// Starts a session and answers all three questions.
    pub async fn ready_session(&self, idea: &str) -> SessionView {
        self.start(idea).await;
        self.answer("a lighthouse on a storm-lashed island at dusk")
            .await;
        self.answer("tense, cold blue light with warm lamp glow")
            .await;
        self.answer("wide establishing shot from a low angle").await
    }

    pub async fn generate(&self, body: Value) -> JobView {
        let response = self.post_json(paths::GENERATE, &body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json().await.expect("a job view")
    }

    /// Long-polls the job until it finishes (bounded).
    pub async fn finished(&self, job_id: &str) -> JobView {
        for _ in 0..10 {
            let response = self.get(&format!("{}?wait=30", paths::job(job_id))).await;
            assert_eq!(response.status(), StatusCode::OK);
            let job: JobView = response.json().await.expect("a job view");
            if job.status.is_terminal() {
                return job;
            }
        }
        panic!("job {job_id} did not finish in 5 minutes");
    }
}

/// One server-sent event as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl SseEvent {
    /// The job view the event carries.
    pub fn job(&self) -> JobView {
        serde_json::from_str(&self.data).expect("an event's data is a job view")
    }
}

/// Reads a `text/event-stream` response event by event, as it arrives (comments, the
/// keep-alives, are skipped).
pub struct EventReader {
    response: Response,
    buffer: String,
}

impl EventReader {
    pub fn new(response: Response) -> EventReader {
        EventReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` once the server ended the stream. Bounded: a stream that
    /// neither sends nor ends for a minute fails the test.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(60), self.response.chunk())
                    .await
                    .expect("the stream sends or ends within a minute")
                    .expect("the stream reads");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8 events")),
                None => return None,
            }
        }
    }

    /// Every event until the stream ends.
    pub async fn all(mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn parse_event(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut data) = (None, None, Vec::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {} // a comment (keep-alive) or a field this client ignores
        }
    }
    if event.is_none() && data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".to_owned()),
        id,
        data: data.join("\n"),
    })
}

impl Person {
    /// Opens a job's event stream, optionally resuming after `last_event_id`.
    pub async fn job_events(&self, job_id: &str, last_event_id: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(&paths::job_events(job_id)));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.expect("the event stream answers")
    }
}

/// Collects formatted log lines in memory.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Every INFO log line of this test process. Global, not per thread: tracing caches per call
/// site whether anyone listens, so a thread-local subscriber misses lines other tests hit first.
pub fn captured_logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(captured.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
}
