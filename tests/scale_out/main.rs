//! Many instances behind one address: two servers on one PostgreSQL and one S3 bucket serve one
//! person turn and turn about, share one quota exactly, stop each other's jobs, and take over
//! when one dies. Always on a real PostgreSQL and a real S3-compatible server.

#[allow(
    dead_code,
    reason = "the API suite's helpers; this suite uses some of them"
)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_tests::process::Refinery;
use api_tests::storage::{Backend, TestStorage};
use contracts::{ApiErrorBody, JobStatus, JobView, paths};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use server::config::{Settings, SynthesisFallback};
use simulator::{Config, Fault};

use helpers::{EventReader, Person, TestApp, refinery_program, spawn_app_on};

/// The secret `Settings::for_tests` uses: every instance signs cookies with it.
const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Live providers at the simulator `sim` (so quotas count).
fn live(settings: &mut Settings, sim: SocketAddr) {
    settings.openai.api_key = Some("sk-sim".to_owned().into());
    settings.openai.base_url = format!("http://{sim}/v1");
    settings.openai.fallback = SynthesisFallback::Off;
    settings.nanobanana.api_key = Some("sim".to_owned().into());
    settings.nanobanana.api_url = format!("http://{sim}");
}

async fn shared_storage() -> Arc<TestStorage> {
    Arc::new(TestStorage::on(Backend::Postgres).await)
}

#[tokio::test]
async fn one_person_alternates_between_two_instances_for_the_whole_flow() {
    let storage = shared_storage().await;
    // Each provider answer takes a moment, so the long-poll below really waits.
    let (sim, handle) = simulator::spawn(Config {
        latency: Duration::from_millis(400),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let a = spawn_app_on(&storage, |s| live(s, sim)).await;
    let b = spawn_app_on(&storage, |s| live(s, sim)).await;
    let on_a = Person::new(&a.address);
    let on_b = on_a.at(&b.address);

    on_a.start("a lighthouse keeper feeding a stray cat").await;
    on_b.answer("a storm-lashed island at dusk").await;
    on_a.answer("tense, cold blue light with a warm lamp").await;
    let ready = on_b.answer("wide shot from a low angle").await;
    assert_eq!(ready.answers.len(), 3);

    let job = on_a.generate(json!({})).await;
    assert_eq!((a.state.jobs.in_flight(), b.state.jobs.in_flight()), (1, 0));
    // B's long-poll wakes when A's job moves (PostgreSQL LISTEN/NOTIFY).
    let done = on_b.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    let image = done.image.expect("an image");
    let from_b = on_b.get(&image.url).await.bytes().await.expect("bytes");
    assert!(from_b.starts_with(b"\x89PNG"));
    let from_a = on_a.get(&image.url).await.bytes().await.expect("bytes");
    assert_eq!(from_a, from_b);
    assert_eq!(
        on_b.session().await.last_image.map(|i| i.url),
        Some(image.url)
    );

    // The prompt writer now hangs, so A's next job stays running until something stops it.
    handle.set_faults("openai", vec![Fault::Timeout]);
    let running = on_a.generate(json!({})).await;
    assert_eq!(a.state.jobs.in_flight(), 1);
    assert_eq!(
        on_b.delete(paths::SESSION).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        a.state.jobs.wait_until_idle(Duration::from_secs(10)).await,
        "start over on B stopped the job running on A"
    );
    let gone = on_a.get(&paths::job(&running.job_id)).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_global_quota_holds_exactly_under_40_concurrent_generates_on_two_instances() {
    let storage = shared_storage().await;
    let (sim, _handle) = simulator::spawn(Config::default())
        .await
        .expect("the simulator starts");
    let limits = |s: &mut Settings| {
        live(s, sim);
        s.quota_global_day = Some(20);
        s.quota_per_session_day = Some(5);
    };
    let a = spawn_app_on(&storage, limits).await;
    let b = spawn_app_on(&storage, limits).await;
    let people: Vec<TestApp> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                a.another_person()
            } else {
                b.another_person()
            }
        })
        .collect();
    for p in &people {
        p.ready_session("a fox").await;
    }
    let body = json!({});
    let responses = join_all(people.iter().map(|p| p.post_json(paths::GENERATE, &body))).await;
    let (mut accepted, mut refused) = (0, 0);
    for response in responses {
        match response.status() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let body: ApiErrorBody = response.json().await.expect("envelope");
                assert_eq!(body.code, "quota_exceeded");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted, refused), (20, 20));
    assert_eq!(a.quota_used_globally().await, 20);
    assert_eq!(b.quota_used_globally().await, 20);
}

#[tokio::test]
async fn a_killed_instances_job_ends_interrupted_within_its_lease_and_the_session_goes_on_elsewhere()
 {
    const LEASE_SECS: u64 = 2;
    let storage = shared_storage().await;
    // A's prompt writer never answers, so its job is mid-flight when A dies.
    let (hanging, hang) = simulator::spawn(Config::default())
        .await
        .expect("a simulator");
    hang.set_faults("openai", vec![Fault::Timeout]);
    let (working, _work) = simulator::spawn(Config::default())
        .await
        .expect("a simulator");

    let mut env = storage.env();
    for (name, value) in [
        ("SESSION_SECRET", SECRET.to_owned()),
        ("JOB_LEASE_SECS", LEASE_SECS.to_string()),
        ("OPENAI_API_KEY", "sk-sim".to_owned()),
        ("OPENAI_BASE_URL", format!("http://{hanging}/v1")),
        ("SYNTHESIS_FALLBACK", "off".to_owned()),
        ("NANOBANANA_API_KEY", "sim".to_owned()),
        ("NANOBANANA_API_URL", format!("http://{hanging}")),
        ("QUOTA_PER_SESSION_DAY", "5".to_owned()),
        // A's job must meet A's hanging prompt writer, not a prompt B wrote ahead.
        ("SPECULATIVE_SYNTHESIS", "false".to_owned()),
    ] {
        env.push((name.to_owned(), value));
    }
    let a = Refinery::start(refinery_program(), &env, storage.data_dir())
        .await
        .unwrap_or_else(|refused| panic!("instance A did not start: {refused:?}"));
    let b = spawn_app_on(&storage, |s| {
        live(s, working);
        s.storage.job_lease = Duration::from_secs(LEASE_SECS);
        s.quota_per_session_day = Some(5);
        s.speculative_synthesis = false;
    })
    .await;

    let on_b = Person::new(&b.address);
    let on_a = on_b.at(a.address());
    on_b.ready_session("a heron in the reeds").await;
    let job = on_a.generate(json!({})).await;
    let seen: JobView = on_b
        .get(&paths::job(&job.job_id))
        .await
        .json()
        .await
        .expect("a job view");
    assert!(!seen.status.is_terminal(), "running on A: {seen:?}");
    assert_eq!(b.state.jobs.in_flight(), 0);

    a.kill();
    let killed = Instant::now();
    let ended = on_b.finished(&job.job_id).await;
    let took = killed.elapsed();
    assert_eq!(ended.status, JobStatus::Failed);
    assert_eq!(
        ended.error.map(|e| e.code).as_deref(),
        Some("generation_interrupted")
    );
    assert!(
        took < Duration::from_secs(LEASE_SECS + 2),
        "ended {took:?} after the kill; the lease is {LEASE_SECS} s"
    );
    let view = on_b.session().await;
    assert_eq!(
        view.quota.and_then(|q| q.session_left),
        Some(5),
        "the unit came back"
    );

    let again = on_b.generate(json!({})).await;
    let done = on_b.finished(&again.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(
        on_b.session().await.quota.and_then(|q| q.session_left),
        Some(4)
    );
}

#[tokio::test]
async fn a_jobs_event_stream_on_one_instance_follows_it_running_on_another() {
    let storage = shared_storage().await;
    // Each provider answer takes a moment, so the stages are seen as they change.
    let (sim, _handle) = simulator::spawn(Config {
        latency: Duration::from_millis(600),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let a = spawn_app_on(&storage, |s| live(s, sim)).await;
    let b = spawn_app_on(&storage, |s| live(s, sim)).await;
    let on_a = Person::new(&a.address);
    let on_b = on_a.at(&b.address);

    on_a.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    let job = on_a.generate(json!({})).await;
    let response = on_b.job_events(&job.job_id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!((a.state.jobs.in_flight(), b.state.jobs.in_flight()), (1, 0));
    let events = EventReader::new(response).all().await;
    let (done, stages) = events.split_last().expect("events");
    assert_eq!(done.event, "done");
    assert_eq!(done.job().status, JobStatus::Succeeded);
    assert!(
        stages
            .iter()
            .any(|e| e.job().status == JobStatus::Rendering),
        "B reported A's rendering stage as it happened: {events:?}"
    );
    assert_eq!(b.state.store.wakeups.watched(), 0, "B let go of the job");
}

#[tokio::test]
async fn a_prompt_written_ahead_on_one_instance_is_used_by_generate_on_another() {
    let storage = shared_storage().await;
    // Prompt writing takes a while, so Generate on A arrives while B is still writing.
    let (sim, handle) = simulator::spawn(Config {
        openai_latency: Some(Duration::from_millis(1500)),
        ..Config::default()
    })
    .await
    .expect("the simulator starts");
    let a = spawn_app_on(&storage, |s| live(s, sim)).await;
    let b = spawn_app_on(&storage, |s| live(s, sim)).await;
    let on_b = Person::new(&b.address);
    let on_a = on_b.at(&a.address);

    on_b.ready_session("a heron in the reeds").await;
    let job = on_a.generate(json!({})).await;
    let done = on_a.finished(&job.job_id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let prompt_calls = handle
        .received()
        .iter()
        .filter(|r| r.path == "/v1/responses")
        .count();
    assert_eq!(
        prompt_calls, 1,
        "A waited for B's write instead of writing again"
    );
}
