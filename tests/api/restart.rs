//! What a restart keeps, with the server as a real process: killed with `kill -9` and started
//! again on the same data, or stopped with SIGTERM while a job runs. Each runs on the backend
//! `TEST_BACKEND` names (the embedded `DATA_DIR`, or PostgreSQL + S3).

use std::path::Path;
use std::time::Duration;

use api_tests::process::Refinery;
use api_tests::storage::{Backend, TestStorage};
use contracts::{JobStatus, JobView, SessionView, paths};
use reqwest::StatusCode;
use serde_json::json;
use simulator::{Config, Fault};

use crate::helpers::{Person, refinery_program};

const SECRET: &str = "restart-test-secret-restart-test-secret-0123";

/// The process environment: this test's storage, live providers at the simulator `sim`, and
/// quotas, so what a restart keeps includes spend.
fn env(
    storage: &TestStorage,
    sim: std::net::SocketAddr,
    secret: Option<&str>,
) -> Vec<(String, String)> {
    let mut env = storage.env();
    for (name, value) in [
        ("OPENAI_API_KEY", "sk-sim".to_owned()),
        ("OPENAI_BASE_URL", format!("http://{sim}/v1")),
        ("SYNTHESIS_FALLBACK", "off".to_owned()),
        ("NANOBANANA_API_KEY", "sim".to_owned()),
        ("NANOBANANA_API_URL", format!("http://{sim}")),
        ("QUOTA_PER_SESSION_DAY", "5".to_owned()),
        ("QUOTA_GLOBAL_DAY", "50".to_owned()),
    ] {
        env.push((name.to_owned(), value));
    }
    if let Some(secret) = secret {
        env.push(("SESSION_SECRET".to_owned(), secret.to_owned()));
    }
    env
}

async fn start(env: &[(String, String)], cwd: &Path) -> Refinery {
    Refinery::start(refinery_program(), env, cwd)
        .await
        .unwrap_or_else(|refused| panic!("the server did not start: {refused:?}"))
}

#[tokio::test]
async fn killed_and_restarted_with_session_secret_everything_is_kept() {
    killed_and_restarted(Some(SECRET)).await;
}

#[tokio::test]
async fn killed_and_restarted_without_session_secret_everything_is_kept() {
    killed_and_restarted(None).await;
}

/// One person at question 2 and another with an image; `kill -9`; a restart on the same data.
async fn killed_and_restarted(secret: Option<&str>) {
    let storage = TestStorage::new().await;
    let (sim, _sim) = simulator::spawn(Config::default())
        .await
        .expect("the simulator starts");
    let env = env(&storage, sim, secret);
    if storage.backend == Backend::Postgres && secret.is_none() {
        // Instances behind one address must share one secret, so PostgreSQL refuses to guess.
        let refused = Refinery::start(refinery_program(), &env, storage.data_dir())
            .await
            .err()
            .expect("PostgreSQL without SESSION_SECRET refuses to start");
        assert!(!refused.status.is_some_and(|s| s.success()), "{refused:?}");
        assert!(
            refused.output.contains("SESSION_SECRET"),
            "{}",
            refused.output
        );
        return;
    }
    let server = start(&env, storage.data_dir()).await;
    if secret.is_none() {
        assert!(
            server.output().contains("session-secret"),
            "the log says where the secret is kept:\n{}",
            server.output()
        );
    }

    let asking = Person::new(server.address());
    asking
        .start("a lighthouse keeper feeding a stray cat")
        .await;
    let at_two = asking.answer("a storm-lashed island at dusk").await;
    assert_eq!(at_two.question.as_ref().map(|q| q.index), Some(2));

    let done = Person::new(server.address());
    done.ready_session("a heron in the reeds").await;
    let job = done.generate(json!({})).await;
    let finished = done.finished(&job.job_id).await;
    assert_eq!(finished.status, JobStatus::Succeeded);
    let image = finished.image.expect("an image");
    let bytes = done.get(&image.url).await.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG"));
    let quota_before = done.session().await.quota.expect("quotas are set");
    assert_eq!(quota_before.session_left, Some(4));

    server.kill();
    let server = start(&env, storage.data_dir()).await;

    // The same browsers (cookie jars) at the restarted server's new port.
    let asking = asking.at(server.address());
    let resumed = asking.session().await;
    assert_eq!(resumed.question.as_ref().map(|q| q.index), Some(2));
    assert_eq!(resumed.answers.len(), 1);
    let at_three = asking.answer("tense, cold blue light").await;
    assert_eq!(at_three.question.as_ref().map(|q| q.index), Some(3));

    let done = done.at(server.address());
    let response = done.get(&image.url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("bytes"), bytes);
    let view = done.session().await;
    let quota_after = view.quota.expect("quotas are set");
    assert_eq!(
        (quota_after.session_left, quota_after.global_left),
        (quota_before.session_left, quota_before.global_left),
        "the quota left is unchanged"
    );
    assert_eq!(view.last_image.map(|i| i.url), Some(image.url));
    // A stranger's browser still cannot read the image's session.
    let stranger = Person::new(server.address());
    assert_eq!(
        stranger.get(paths::SESSION).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// A job that is still running when SIGTERM comes and outlasts the grace ends
/// `generation_interrupted`, its quota unit comes back, and the session can generate again.
#[tokio::test]
async fn sigterm_ends_a_job_that_outlasts_the_grace_as_interrupted() {
    let storage = TestStorage::new().await;
    let (sim, handle) = simulator::spawn(Config::default())
        .await
        .expect("the simulator starts");
    // The prompt writer never answers: the job stays in `synthesizing`.
    handle.set_faults("openai", vec![Fault::Timeout]);
    let mut env = env(&storage, sim, Some(SECRET));
    env.push(("SHUTDOWN_GRACE_SECS".into(), "1".into()));
    let server = start(&env, storage.data_dir()).await;
    let person = Person::new(server.address());
    person.ready_session("a fox in the snow").await;
    let job = person.generate(json!({})).await;
    assert!(!job.status.is_terminal());

    let status = server
        .terminate(Duration::from_secs(30))
        .await
        .expect("the server stops after its grace");
    assert!(status.success(), "{status:?}");

    handle.set_faults("openai", vec![]);
    let server = start(&env, storage.data_dir()).await;
    let person = person.at(server.address());
    let ended: JobView = person
        .get(&paths::job(&job.job_id))
        .await
        .json()
        .await
        .expect("a job view");
    assert_eq!(ended.status, JobStatus::Failed);
    let error = ended.error.expect("an error");
    assert_eq!(error.code, "generation_interrupted");
    assert!(error.error.contains("Try again"), "{}", error.error);
    let view: SessionView = person.session().await;
    assert_eq!(
        view.quota.and_then(|q| q.session_left),
        Some(5),
        "the unit came back"
    );
    let again = person.generate(json!({})).await;
    assert_eq!(
        person.finished(&again.job_id).await.status,
        JobStatus::Succeeded
    );
}

/// SIGTERM with a job running: no new connections, but the job finishes within the grace and is
/// kept as done.
#[tokio::test]
async fn sigterm_lets_a_running_job_finish_within_the_grace() {
    let storage = TestStorage::new().await;
    let (sim, _handle) = simulator::spawn(Config {
        latency: Duration::from_millis(700),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let env = env(&storage, sim, Some(SECRET));
    let server = start(&env, storage.data_dir()).await;
    let person = Person::new(server.address());
    person.ready_session("a kite over the dunes").await;
    let job = person.generate(json!({})).await;
    let status = server
        .terminate(Duration::from_secs(30))
        .await
        .expect("the server stops once the job is done");
    assert!(status.success(), "{status:?}");

    let server = start(&env, storage.data_dir()).await;
    let person = person.at(server.address());
    let done = person.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let image = done.image.expect("an image");
    assert_eq!(person.get(&image.url).await.status(), StatusCode::OK);
}
