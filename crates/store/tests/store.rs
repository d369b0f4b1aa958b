//! The store's behaviour, each case run on both backends: SQLite files in a temporary folder, and
//! a real PostgreSQL with a real S3-compatible server (both started by `test-servers`).

use std::time::Duration;

use bytes::Bytes;
use contracts::{ApiErrorBody, AspectRatio, ImageRecipe, ImageSize, ImageView, JobStatus};
use futures::FutureExt;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use store::images::NewImage;
use store::jobs::{Inserted, JobRow, NewJob, Outcome};
use store::quotas::{Scope, Spender, Taken};
use store::references::{NewReference, NotStored, ReferenceRow};
use store::sessions::Conflict;
use store::{ImageLocation, S3Options, SessionId, Store, StoreConfig};
use test_servers::{Postgres, S3};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flow {
    idea: String,
}

fn flow(idea: &str) -> Flow {
    Flow { idea: idea.into() }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sqlite,
    Postgres,
}

/// One test's store, and what reopens it (a restart, or a second instance).
struct Fixture {
    store: Store,
    config: StoreConfig,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn reopen(&self) -> Store {
        Store::open(&self.config).await.expect("the store reopens")
    }
}

fn s3_options(s3: &S3) -> S3Options {
    S3Options {
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".to_owned().into()),
        session_token: None,
        region: Some("us-east-1".into()),
        endpoint: Some(s3.endpoint().to_owned()),
        allow_http: true,
    }
}

async fn open(kind: Kind, change: impl FnOnce(&mut StoreConfig)) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, images, s3) = match kind {
        Kind::Sqlite => (
            format!("sqlite://{}", dir.path().join("refinery.db").display()),
            ImageLocation::Folder(dir.path().join("images")),
            S3Options::default(),
        ),
        Kind::Postgres => {
            let s3 = S3::shared().await;
            (
                Postgres::shared().await.fresh_database().await,
                ImageLocation::parse(&s3.fresh_url()).expect("an s3 url"),
                s3_options(s3),
            )
        }
    };
    let mut config = StoreConfig {
        database_url,
        images,
        s3,
        max_connections: 8,
        session_idle: Duration::from_secs(3600),
        max_sessions: 1000,
        image_cap_bytes: 1024 * 1024,
        image_retention: Duration::from_secs(30 * 86_400),
        quota_per_session: None,
        quota_per_client: None,
        quota_global: None,
        job_lease: Duration::from_secs(30),
    };
    change(&mut config);
    Fixture {
        store: Store::open(&config).await.expect("the store opens"),
        config,
        _dir: dir,
    }
}

/// Runs each named case as `on_sqlite::case` and `on_postgres::case`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Kind::Sqlite).await
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Kind::Postgres).await
            })*
        }
    };
}

on_both_backends!(
    session_writes_must_name_the_version_they_read,
    sessions_survive_reopening,
    idle_sessions_are_refused_and_swept,
    the_sweep_keeps_the_most_recently_used_sessions_up_to_the_cap,
    a_session_has_at_most_one_unfinished_job,
    jobs_move_through_stages_and_wake_their_watchers,
    a_deleted_session_takes_its_jobs_and_tells_their_watchers,
    a_lapsed_lease_ends_the_job_interrupted_and_refunds_its_quota,
    a_job_of_four_images_keeps_them_in_order_and_reports_progress,
    a_lapsed_job_of_several_images_gives_every_unit_back,
    renewal_keeps_only_this_instances_unfinished_jobs,
    only_the_instance_running_a_job_may_move_it,
    the_global_quota_holds_exactly_under_40_concurrent_takes,
    quotas_are_per_session_per_utc_day_and_refundable,
    without_limits_every_counter_still_counts,
    a_take_of_several_units_is_granted_whole_or_refused_whole,
    a_client_address_is_limited_across_its_sessions,
    image_bytes_round_trip_and_survive_reopening,
    a_thought_signature_is_kept_with_its_image,
    the_oldest_images_go_first_when_over_the_cap,
    old_images_are_swept_after_the_retention,
    a_session_holds_three_references_however_many_arrive_at_once,
    recipes_last_as_long_as_the_image_retention,
);

async fn session_writes_must_name_the_version_they_read(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let sessions = &f.store.sessions;
    let id = SessionId::random();
    assert_eq!(sessions.create(&id, &flow("a")).await.expect("db"), Ok(1));
    assert_eq!(
        sessions.create(&id, &flow("b")).await.expect("db"),
        Err(Conflict)
    );
    assert_eq!(
        sessions.replace(&id, &flow("b"), 1).await.expect("db"),
        Ok(2)
    );
    assert_eq!(
        sessions.replace(&id, &flow("c"), 1).await.expect("db"),
        Err(Conflict)
    );
    let got = sessions
        .get::<Flow>(&id)
        .await
        .expect("db")
        .expect("present");
    assert_eq!((got.value.idea.as_str(), got.version), ("b", 2));
    let unknown = sessions.get::<Flow>(&SessionId::random()).await;
    assert!(unknown.expect("db").is_none());
}

async fn sessions_survive_reopening(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let id = SessionId::random();
    f.store
        .sessions
        .create(&id, &flow("kept"))
        .await
        .expect("db")
        .expect("new");
    f.store.close().await;
    let again = f.reopen().await;
    let got = again
        .sessions
        .get::<Flow>(&id)
        .await
        .expect("db")
        .expect("still there");
    assert_eq!(got.value, flow("kept"));
    assert_eq!(again.sessions.count().await.expect("db"), 1);
}

async fn idle_sessions_are_refused_and_swept(kind: Kind) {
    let f = open(kind, |c| c.session_idle = Duration::ZERO).await;
    let id = SessionId::random();
    f.store
        .sessions
        .create(&id, &flow("a"))
        .await
        .expect("db")
        .expect("new");
    assert!(
        f.store
            .sessions
            .get::<Flow>(&id)
            .await
            .expect("db")
            .is_none()
    );
    assert_eq!(f.store.sessions.count().await.expect("db"), 0);
    assert_eq!(f.store.sweep().await.expect("db").sessions, 1);
}

async fn the_sweep_keeps_the_most_recently_used_sessions_up_to_the_cap(kind: Kind) {
    let f = open(kind, |c| c.max_sessions = 2).await;
    let ids = [
        SessionId::random(),
        SessionId::random(),
        SessionId::random(),
    ];
    for id in &ids {
        f.store
            .sessions
            .create(id, &flow("x"))
            .await
            .expect("db")
            .expect("new");
        // Use times are milliseconds; make each session's distinct.
        std::thread::sleep(Duration::from_millis(3));
    }
    // The first session is used again, so the second is now the least recently used.
    f.store
        .sessions
        .replace(&ids[0], &flow("y"), 1)
        .await
        .expect("db")
        .expect("cas");
    assert_eq!(f.store.sweep().await.expect("db").sessions, 1);
    let sessions = &f.store.sessions;
    let mut kept = Vec::new();
    for id in &ids {
        kept.push(sessions.get::<Flow>(id).await.expect("db").is_some());
    }
    assert_eq!(
        kept,
        [true, false, true],
        "the least recently used session was dropped"
    );
}

/// The client address tests count units for.
const CLIENT: &str = "203.0.113.7";

fn spender(session: &SessionId) -> Spender<'_> {
    Spender {
        session,
        client: CLIENT,
    }
}

fn new_job(session: SessionId, quota_day: Option<i64>) -> NewJob {
    NewJob {
        id: store::ids::random_id(),
        session,
        aspect_ratio: AspectRatio::Landscape16x9,
        image_size: ImageSize::OneK,
        reuse_prompt: false,
        image_count: 1,
        quota_day,
        quota_client: quota_day.map(|_| CLIENT.to_owned()),
        count_quota: false,
    }
}

async fn session_with_job(store: &Store, quota_day: Option<i64>) -> (SessionId, JobRow) {
    let session = SessionId::random();
    store
        .sessions
        .create(&session, &flow("x"))
        .await
        .expect("db")
        .expect("new");
    match store
        .jobs
        .insert(new_job(session, quota_day))
        .await
        .expect("db")
    {
        Inserted::New(row) => (session, row),
        other => panic!("expected a new job, got {other:?}"),
    }
}

/// An image stored for `session`, as a job lists it (a session view lists only stored images).
async fn stored_image(store: &Store, session: SessionId) -> ImageView {
    let id = store
        .images
        .insert(new_image(session, png(16)))
        .await
        .expect("stored");
    image_view(&format!("/api/images/{id}"))
}

fn image_view(url: &str) -> ImageView {
    ImageView {
        image_id: url.rsplit('/').next().unwrap_or_default().into(),
        url: url.into(),
        mime_type: "image/png".into(),
        width: 16,
        height: 9,
        alt: "alt".into(),
        summary: "summary".into(),
        aspect_ratio: AspectRatio::Landscape16x9,
        image_size: ImageSize::OneK,
        offline_preview: true,
    }
}

fn interrupted() -> ApiErrorBody {
    ApiErrorBody {
        error: "Interrupted. Try again.".into(),
        code: "generation_interrupted".into(),
    }
}

async fn a_session_has_at_most_one_unfinished_job(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (session, first) = session_with_job(&f.store, None).await;
    // Another instance asks too: it gets the same job back.
    let other = f.reopen().await;
    match other.jobs.insert(new_job(session, None)).await.expect("db") {
        Inserted::Existing(row) => assert_eq!(row.id, first.id),
        got => panic!("expected the running job, got {got:?}"),
    }
    let made = stored_image(&f.store, session).await;
    f.store
        .jobs
        .finish(
            &first.id,
            &Outcome::Succeeded {
                images: vec![made.clone()],
                failed: None,
            },
        )
        .await
        .expect("db");
    let Inserted::New(second) = f
        .store
        .jobs
        .insert(new_job(session, None))
        .await
        .expect("db")
    else {
        panic!("a finished job does not block a new one");
    };
    let latest = f.store.jobs.latest(&session).await.expect("db");
    assert_eq!(latest.job.map(|j| j.id), Some(second.id));
    assert_eq!(
        latest.images.first().map(|i| i.url.as_str()),
        Some(made.url.as_str())
    );
    assert_eq!(
        f.store
            .jobs
            .insert(new_job(SessionId::random(), None))
            .await
            .expect("db"),
        Inserted::SessionGone
    );
    // Another session cannot read this session's job.
    assert!(
        f.store
            .jobs
            .get(&SessionId::random(), &first.id)
            .await
            .expect("db")
            .is_none()
    );
}

/// Fails the test instead of hanging when a wake-up never comes.
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within 10 s"))
}

async fn jobs_move_through_stages_and_wake_their_watchers(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (session, job) = session_with_job(&f.store, None).await;
    // A second instance on the same database watches (on PostgreSQL through LISTEN/NOTIFY).
    let elsewhere = f.reopen().await;
    let mut here = f.store.wakeups.watch(&job.id);
    let mut there = elsewhere.wakeups.watch(&job.id);
    // A long-poll waits for the end only.
    let mut ending_here = f.store.wakeups.watch(&job.id);
    let mut ending_there = elsewhere.wakeups.watch(&job.id);
    assert!(
        f.store
            .jobs
            .advance(&job.id, JobStatus::Rendering)
            .await
            .expect("db")
    );
    within("the local wake-up", here.changed()).await;
    if matches!(kind, Kind::Sqlite) {
        // Delivered before `advance` returned; on PostgreSQL the instance's own notice comes
        // back through LISTEN a moment later and may have ended the job, for all it says.
        assert!(
            ending_here.ended().now_or_never().is_none(),
            "a stage does not wake a waiter for the end"
        );
    }
    if matches!(kind, Kind::Postgres) {
        within("the wake-up on the other instance", there.changed()).await;
    }
    let read = elsewhere
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("found");
    assert_eq!(read.status, JobStatus::Rendering);

    let done = Outcome::Failed(ApiErrorBody {
        error: "no".into(),
        code: "no_image".into(),
    });
    assert!(f.store.jobs.finish(&job.id, &done).await.expect("db"));
    within("the wake-up at the end", here.changed()).await;
    within("the end wakes a waiter for the end", ending_here.ended()).await;
    if matches!(kind, Kind::Postgres) {
        within("the end, on the other instance", ending_there.ended()).await;
    }
    let read = f
        .store
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("found");
    assert_eq!(read.status, JobStatus::Failed);
    assert_eq!(read.error.map(|e| e.code).as_deref(), Some("no_image"));
    // Finished jobs do not move again.
    assert!(
        !f.store
            .jobs
            .advance(&job.id, JobStatus::Rendering)
            .await
            .expect("db")
    );
}

async fn a_deleted_session_takes_its_jobs_and_tells_their_watchers(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (session, job) = session_with_job(&f.store, None).await;
    let running_elsewhere = f.reopen().await;
    let mut here = f.store.wakeups.watch(&job.id);
    let mut there = running_elsewhere.wakeups.watch(&job.id);
    assert!(f.store.sessions.delete(&session).await.expect("db"));
    within("the gone signal", here.gone()).await;
    if matches!(kind, Kind::Postgres) {
        within("the gone signal on the other instance", there.gone()).await;
    }
    assert!(
        f.store
            .jobs
            .get(&session, &job.id)
            .await
            .expect("db")
            .is_none()
    );
    assert!(
        !f.store.sessions.delete(&session).await.expect("db"),
        "deleting twice is harmless"
    );
    assert!(f.store.jobs.renew().await.expect("db").is_empty());
}

async fn a_lapsed_lease_ends_the_job_interrupted_and_refunds_its_quota(kind: Kind) {
    let f = open(kind, |c| {
        c.quota_global = Some(1);
        c.job_lease = Duration::from_millis(1);
    })
    .await;
    let session = SessionId::random();
    f.store
        .sessions
        .create(&session, &flow("x"))
        .await
        .expect("db")
        .expect("new");
    let taken = f
        .store
        .quotas
        .take(spender(&session), 1)
        .await
        .expect("db")
        .expect("a unit");
    let Inserted::New(job) = f
        .store
        .jobs
        .insert(new_job(session, Some(taken.day)))
        .await
        .expect("db")
    else {
        panic!("new job");
    };
    assert_eq!(f.store.quotas.used_globally().await.expect("db"), 1);
    let mut watch = f.store.wakeups.watch(&job.id);
    let later = job.lease_until + 1;
    let ended = f
        .store
        .jobs
        .expire_lapsed(&interrupted(), later)
        .await
        .expect("db");
    assert_eq!(ended.len(), 1);
    assert!(ended[0].refunded);
    within("the wake-up", watch.changed()).await;
    let read = f
        .store
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("kept");
    assert_eq!(read.status, JobStatus::Failed);
    assert_eq!(read.error, Some(interrupted()));
    assert_eq!(f.store.quotas.used_globally().await.expect("db"), 0);
    // Nothing left to expire, and the session may queue again at once.
    assert!(
        f.store
            .jobs
            .expire_lapsed(&interrupted(), later)
            .await
            .expect("db")
            .is_empty()
    );
    assert!(matches!(
        f.store
            .jobs
            .insert(new_job(session, None))
            .await
            .expect("db"),
        Inserted::New(_)
    ));
}

async fn renewal_keeps_only_this_instances_unfinished_jobs(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (_, mine) = session_with_job(&f.store, None).await;
    let other = f.reopen().await;
    let (_, theirs) = session_with_job(&other, None).await;
    assert_eq!(
        f.store.jobs.renew().await.expect("db"),
        vec![mine.id.clone()]
    );
    assert_eq!(
        other.jobs.renew().await.expect("db"),
        vec![theirs.id.clone()]
    );
    // At a SQLite start every other instance is dead: their jobs end interrupted.
    let orphans = f
        .store
        .jobs
        .interrupt_orphans(&interrupted())
        .await
        .expect("db");
    assert_eq!(
        orphans.into_iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![theirs.id]
    );
    assert_eq!(f.store.jobs.renew().await.expect("db"), vec![mine.id]);
}

async fn only_the_instance_running_a_job_may_move_it(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (session, job) = session_with_job(&f.store, None).await;
    let other = f.reopen().await;
    assert!(
        !other
            .jobs
            .advance(&job.id, JobStatus::Rendering)
            .await
            .expect("db")
    );
    let done = Outcome::Succeeded {
        images: vec![image_view("/x")],
        failed: None,
    };
    assert!(!other.jobs.finish(&job.id, &done).await.expect("db"));
    let read = f
        .store
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("found");
    assert_eq!(read.status, JobStatus::Queued);
    let ended = other
        .jobs
        .interrupt(&job.id, &interrupted())
        .await
        .expect("db");
    assert!(ended.is_some(), "any instance may end a job it gives up on");
    assert!(!f.store.jobs.finish(&job.id, &done).await.expect("db"));
}

async fn the_global_quota_holds_exactly_under_40_concurrent_takes(kind: Kind) {
    let f = open(kind, |c| {
        c.quota_global = Some(15);
        c.quota_per_session = Some(1);
    })
    .await;
    // Half the takes go through a second instance on the same database.
    let other = f.reopen().await;
    let takes = (0..40).map(|i| {
        let store = if i % 2 == 0 {
            f.store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            let session = SessionId::random();
            store.quotas.take(spender(&session), 1).await
        })
    });
    let outcomes = join_all(takes).await;
    let granted = outcomes
        .into_iter()
        .map(|o| o.expect("task").expect("db"))
        .filter(Result::is_ok)
        .count();
    assert_eq!(granted, 15);
    assert_eq!(f.store.quotas.used_globally().await.expect("db"), 15);
}

async fn quotas_are_per_session_per_utc_day_and_refundable(kind: Kind) {
    let f = open(kind, |c| {
        c.quota_per_session = Some(2);
        c.quota_global = Some(3);
    })
    .await;
    const DAY: i64 = 86_400_000;
    let noon = 20_000 * DAY + DAY / 2;
    let (a, b) = (SessionId::random(), SessionId::random());
    let q = &f.store.quotas;
    assert!(q.take_at(spender(&a), 1, noon).await.expect("db").is_ok());
    let second = q
        .take_at(spender(&a), 1, noon)
        .await
        .expect("db")
        .expect("a's second");
    let refused = q
        .take_at(spender(&a), 1, noon)
        .await
        .expect("db")
        .expect_err("a used its 2");
    assert_eq!((refused.scope, refused.limit), (Scope::Session, 2));
    assert_eq!(refused.resets_in, Duration::from_secs(43_200));
    assert!(q.take_at(spender(&b), 1, noon).await.expect("db").is_ok());
    let refused = q
        .take_at(spender(&b), 1, noon)
        .await
        .expect("db")
        .expect_err("3 used in all");
    assert_eq!(refused.scope, Scope::Global);
    q.refund(spender(&a), second).await.expect("db");
    assert!(
        q.take_at(spender(&b), 1, noon).await.expect("db").is_ok(),
        "the refund freed a global unit"
    );
    assert!(
        q.take_at(spender(&a), 1, noon + DAY)
            .await
            .expect("db")
            .is_ok(),
        "a new UTC day"
    );
}

async fn without_limits_every_counter_still_counts(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let (a, b) = (SessionId::random(), SessionId::random());
    for session in [&a, &b] {
        f.store
            .sessions
            .create(session, &flow("x"))
            .await
            .expect("db")
            .expect("new");
    }
    let q = &f.store.quotas;
    // With no limit nothing is written before the job: its row counts the units.
    let counted_with_row = |session, taken: Taken, units| NewJob {
        image_count: units,
        count_quota: !taken.counted,
        ..new_job(session, Some(taken.day))
    };
    let unused = q.take(spender(&a), 2).await.expect("db").expect("no limit");
    assert!(!unused.counted);
    assert_eq!(
        q.used_globally().await.expect("db"),
        0,
        "nothing written before the job"
    );
    q.refund(spender(&a), unused).await.expect("db");
    let taken = q.take(spender(&a), 1).await.expect("db").expect("no limit");
    let inserted = f.store.jobs.insert(counted_with_row(a, taken, 1)).await;
    assert!(matches!(inserted, Ok(Inserted::New(_))), "{inserted:?}");
    assert_eq!(
        q.used_globally().await.expect("db"),
        1,
        "counted with the row"
    );
    // A second job while the first runs is not started, and counts nothing.
    let taken = q.take(spender(&a), 3).await.expect("db").expect("no limit");
    let inserted = f.store.jobs.insert(counted_with_row(a, taken, 3)).await;
    assert!(
        matches!(inserted, Ok(Inserted::Existing(_))),
        "{inserted:?}"
    );
    q.refund(spender(&a), taken).await.expect("db");
    let taken = q.take(spender(&b), 4).await.expect("db").expect("no limit");
    let inserted = f.store.jobs.insert(counted_with_row(b, taken, 4)).await;
    assert!(matches!(inserted, Ok(Inserted::New(_))), "{inserted:?}");
    assert_eq!(q.used_globally().await.expect("db"), 5);
    // The same counters, read by an instance with limits.
    let mut limited = f.config.clone();
    limited.quota_per_session = Some(10);
    limited.quota_per_client = Some(20);
    limited.quota_global = Some(30);
    let limited = Store::open(&limited).await.expect("the store reopens");
    let left = limited
        .quotas
        .left(spender(&a))
        .await
        .expect("db")
        .expect("limits");
    assert_eq!(
        (left.session_left, left.client_left, left.global_left),
        (Some(9), Some(15), Some(25))
    );
}

async fn a_take_of_several_units_is_granted_whole_or_refused_whole(kind: Kind) {
    let f = open(kind, |c| {
        c.quota_per_session = Some(5);
        c.quota_global = Some(6);
    })
    .await;
    let (a, b) = (SessionId::random(), SessionId::random());
    let q = &f.store.quotas;
    let four = q.take(spender(&a), 4).await.expect("db").expect("4 of 5");
    assert_eq!(four.units, 4);
    let refused = q
        .take(spender(&a), 2)
        .await
        .expect("db")
        .expect_err("4 + 2 > 5");
    assert_eq!(refused.scope, Scope::Session);
    assert_eq!(
        q.used_globally().await.expect("db"),
        4,
        "nothing of it counted"
    );
    // More than a limit holds at all is refused even on a fresh counter.
    let refused = q
        .take(spender(&b), 7)
        .await
        .expect("db")
        .expect_err("7 > 6");
    assert_eq!((refused.scope, refused.limit), (Scope::Global, 6));
    let refused = q
        .take(spender(&b), 3)
        .await
        .expect("db")
        .expect_err("4 + 3 > 6");
    assert_eq!(refused.scope, Scope::Global);
    assert!(
        q.take(spender(&b), 2).await.expect("db").is_ok(),
        "4 + 2 = 6 fits"
    );
    q.refund(spender(&a), four).await.expect("db");
    assert_eq!(
        q.used_globally().await.expect("db"),
        2,
        "all four came back"
    );
}

async fn a_job_of_four_images_keeps_them_in_order_and_reports_progress(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let session = SessionId::random();
    f.store
        .sessions
        .create(&session, &flow("x"))
        .await
        .expect("db")
        .expect("new");
    let Inserted::New(job) = f
        .store
        .jobs
        .insert(NewJob {
            image_count: 4,
            image_size: ImageSize::TwoK,
            ..new_job(session, None)
        })
        .await
        .expect("db")
    else {
        panic!("new job");
    };
    assert!(
        f.store
            .jobs
            .advance(&job.id, JobStatus::Rendering)
            .await
            .expect("db")
    );
    for _ in 0..2 {
        assert!(f.store.jobs.image_done(&job.id).await.expect("db"));
    }
    let read = f
        .store
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("kept");
    assert_eq!(read.image_size, ImageSize::TwoK);
    assert_eq!(
        read.view().progress,
        Some(contracts::JobProgress { done: 2, total: 4 })
    );
    let mut images = Vec::new();
    for _ in 0..3 {
        images.push(stored_image(&f.store, session).await);
    }
    let failed = contracts::FailedImages {
        count: 1,
        code: "provider_unavailable".into(),
    };
    let done = Outcome::Succeeded {
        images: images.clone(),
        failed: Some(failed.clone()),
    };
    assert!(f.store.jobs.finish(&job.id, &done).await.expect("db"));
    let view = f
        .store
        .jobs
        .get(&session, &job.id)
        .await
        .expect("db")
        .expect("kept")
        .view();
    assert_eq!(view.images, images);
    assert_eq!(view.image.as_ref(), images.first(), "`image` is the first");
    assert_eq!(view.failed_images, Some(failed));
    assert_eq!(view.progress, None, "progress is for rendering jobs only");
    let latest = f.store.jobs.latest(&session).await.expect("db");
    assert_eq!(
        latest.images, images,
        "the session lists every image, in order"
    );
}

async fn a_lapsed_job_of_several_images_gives_every_unit_back(kind: Kind) {
    let f = open(kind, |c| {
        c.quota_global = Some(4);
        c.job_lease = Duration::from_millis(1);
    })
    .await;
    let session = SessionId::random();
    f.store
        .sessions
        .create(&session, &flow("x"))
        .await
        .expect("db")
        .expect("new");
    let taken = f
        .store
        .quotas
        .take(spender(&session), 3)
        .await
        .expect("db")
        .expect("3 units");
    let Inserted::New(job) = f
        .store
        .jobs
        .insert(NewJob {
            image_count: 3,
            ..new_job(session, Some(taken.day))
        })
        .await
        .expect("db")
    else {
        panic!("new job");
    };
    assert_eq!(f.store.quotas.used_globally().await.expect("db"), 3);
    let ended = f
        .store
        .jobs
        .expire_lapsed(&interrupted(), job.lease_until + 1)
        .await
        .expect("db");
    assert_eq!(ended.len(), 1);
    assert_eq!(f.store.quotas.used_globally().await.expect("db"), 0);
}

async fn a_client_address_is_limited_across_its_sessions(kind: Kind) {
    let f = open(kind, |c| c.quota_per_client = Some(2)).await;
    let q = &f.store.quotas;
    let (a, b, c) = (
        SessionId::random(),
        SessionId::random(),
        SessionId::random(),
    );
    assert!(q.take(spender(&a), 1).await.expect("db").is_ok());
    let second = q.take(spender(&b), 1).await.expect("db").expect("b's unit");
    let refused = q
        .take(spender(&c), 1)
        .await
        .expect("db")
        .expect_err("a new session does not reset the client's count");
    assert_eq!((refused.scope, refused.limit), (Scope::Client, 2));
    let elsewhere = Spender {
        session: &c,
        client: "198.51.100.9",
    };
    assert!(
        q.take(elsewhere, 1).await.expect("db").is_ok(),
        "another client"
    );
    let left = q.left(spender(&c)).await.expect("db").expect("limits");
    assert_eq!(left.client_left, Some(0));
    q.refund(spender(&b), second).await.expect("db");
    assert!(
        q.take(spender(&c), 1).await.expect("db").is_ok(),
        "refunded"
    );
}

fn png(n: usize) -> Bytes {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..n).map(|i| (i % 251) as u8));
    Bytes::from(bytes)
}

fn new_image(session: SessionId, bytes: Bytes) -> NewImage {
    NewImage {
        session,
        job_id: store::ids::random_id(),
        bytes,
        mime_type: "image/png".into(),
        width: 16,
        height: 9,
        alt: "a fox".into(),
        summary: "A fox at dusk".into(),
        aspect_ratio: contracts::AspectRatio::Landscape16x9,
        image_size: ImageSize::OneK,
        offline_preview: true,
        recipe: None,
        thought_signature: None,
    }
}

async fn image_bytes_round_trip_and_survive_reopening(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let bytes = png(5000);
    let id = f
        .store
        .images
        .insert(new_image(SessionId::random(), bytes.clone()))
        .await
        .expect("stored");
    assert_eq!(id.len(), 32);
    let got = f.store.images.get(&id).await.expect("read").expect("found");
    assert_eq!(
        (got.bytes, got.mime_type.as_str()),
        (bytes.clone(), "image/png")
    );
    f.store.close().await;
    let again = f.reopen().await;
    let got = again
        .images
        .get(&id)
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(got.bytes, bytes);
    assert_eq!(
        again.images.usage().await.expect("db"),
        (1, bytes.len() as u64)
    );
    assert!(again.images.get("not-an-id").await.expect("read").is_none());
}

async fn a_thought_signature_is_kept_with_its_image(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let session = SessionId::random();
    let signed = f
        .store
        .images
        .insert(NewImage {
            thought_signature: Some("c2lnbmVk".into()),
            ..new_image(session, png(100))
        })
        .await
        .expect("stored");
    let unsigned = f
        .store
        .images
        .insert(new_image(session, png(100)))
        .await
        .expect("stored");
    let images = &f.store.images;
    assert_eq!(
        images
            .thought_signature(&signed)
            .await
            .expect("db")
            .as_deref(),
        Some("c2lnbmVk")
    );
    assert_eq!(images.thought_signature(&unsigned).await.expect("db"), None);
    assert_eq!(images.thought_signature("unknown").await.expect("db"), None);
}

async fn the_oldest_images_go_first_when_over_the_cap(kind: Kind) {
    let f = open(kind, |c| c.image_cap_bytes = 250).await;
    let session = SessionId::random();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let bytes = Bytes::from(vec![7u8; 100]);
        ids.push(
            f.store
                .images
                .insert(new_image(session, bytes))
                .await
                .expect("stored"),
        );
    }
    let images = &f.store.images;
    assert!(
        images.get(&ids[0]).await.expect("read").is_none(),
        "the first went"
    );
    assert!(images.get(&ids[1]).await.expect("read").is_some());
    assert!(images.get(&ids[2]).await.expect("read").is_some());
    assert_eq!(images.usage().await.expect("db"), (2, 200));
    // One image bigger than the cap is still kept: the newest always stays.
    let big = images
        .insert(new_image(session, Bytes::from(vec![1u8; 400])))
        .await
        .expect("stored");
    assert!(images.get(&big).await.expect("read").is_some());
    assert_eq!(images.usage().await.expect("db"), (1, 400));
}

async fn old_images_are_swept_after_the_retention(kind: Kind) {
    let f = open(kind, |c| c.image_retention = Duration::ZERO).await;
    let id = f
        .store
        .images
        .insert(new_image(SessionId::random(), png(10)))
        .await
        .expect("stored");
    assert_eq!(f.store.sweep().await.expect("db").images, 1);
    assert!(f.store.images.get(&id).await.expect("read").is_none());
    assert_eq!(f.store.images.usage().await.expect("db"), (0, 0));
}

fn new_reference(session: SessionId, n: u32) -> NewReference {
    NewReference {
        session,
        bytes: png(100 + n as usize),
        mime_type: "image/png".into(),
        width: n + 1,
        height: 1,
        note: format!("reference {n}"),
    }
}

async fn a_session_holds_three_references_however_many_arrive_at_once(kind: Kind) {
    let f = open(kind, |_| {}).await;
    let session = SessionId::random();
    f.store
        .sessions
        .create(&session, &flow("jars"))
        .await
        .expect("db")
        .expect("new");
    // Half the uploads go through a second instance on the same database.
    let other = f.reopen().await;
    let uploads = (0..10).map(|n| {
        let store = if n % 2 == 0 {
            f.store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move { store.references.insert(new_reference(session, n)).await })
    });
    let outcomes: Vec<_> = join_all(uploads)
        .await
        .into_iter()
        .map(|o| o.expect("task").expect("db"))
        .collect();
    let stored: Vec<ReferenceRow> = outcomes.iter().filter_map(|o| o.clone().ok()).collect();
    assert_eq!(stored.len(), 3);
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.clone().err())
            .all(|e| e == NotStored::Full)
    );
    let listed = f.store.references.list(&session).await.expect("db");
    assert_eq!(listed.len(), 3);
    for row in &stored {
        let bytes = f
            .store
            .references
            .get(&session, &row.id)
            .await
            .expect("read");
        assert_eq!(
            bytes.map(|b| b.bytes.len()),
            Some(100 + row.width as usize - 1 + 8)
        );
        assert!(
            f.store
                .references
                .get(&SessionId::random(), &row.id)
                .await
                .expect("read")
                .is_none(),
            "another session does not see it"
        );
    }
    let gone = SessionId::random();
    assert_eq!(
        f.store
            .references
            .insert(new_reference(gone, 1))
            .await
            .expect("db"),
        Err(NotStored::SessionGone)
    );

    // A session that goes takes its references with it at the next sweep.
    assert!(f.store.sessions.delete(&session).await.expect("db"));
    assert_eq!(f.store.sweep().await.expect("db").references, 3);
    assert!(
        f.store
            .references
            .list(&session)
            .await
            .expect("db")
            .is_empty()
    );
    for row in &stored {
        assert!(
            f.store
                .references
                .get(&session, &row.id)
                .await
                .expect("read")
                .is_none()
        );
    }
}

fn recipe() -> ImageRecipe {
    ImageRecipe {
        template_id: "general-cinematic".into(),
        template_name: "General cinematic".into(),
        idea: "a fox".into(),
        answers: Vec::new(),
        aspect_ratio: AspectRatio::Square,
        image_size: None,
        count: None,
        reference_ids: Vec::new(),
        edit_instruction: None,
        edit_of: None,
    }
}

async fn recipes_last_as_long_as_the_image_retention(kind: Kind) {
    let kept = open(kind, |_| {}).await;
    let id = kept
        .store
        .recipes
        .insert("img", &recipe())
        .await
        .expect("db");
    assert_eq!(id.len(), 32);
    assert_eq!(kept.store.sweep().await.expect("db").recipes, 0);
    let row = kept
        .store
        .recipes
        .get(&id)
        .await
        .expect("db")
        .expect("kept");
    assert_eq!((row.image_id.as_str(), row.recipe), ("img", recipe()));

    let expiring = open(kind, |c| c.image_retention = Duration::ZERO).await;
    let id = expiring
        .store
        .recipes
        .insert("img", &recipe())
        .await
        .expect("db");
    assert_eq!(expiring.store.sweep().await.expect("db").recipes, 1);
    assert!(expiring.store.recipes.get(&id).await.expect("db").is_none());
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_names_database_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let mut config = StoreConfig {
        database_url: format!("postgres://nobody@127.0.0.1:{port}/none?connect_timeout=2"),
        images: ImageLocation::Folder(dir.path().join("images")),
        s3: S3Options::default(),
        max_connections: 2,
        session_idle: Duration::from_secs(60),
        max_sessions: 10,
        image_cap_bytes: 1000,
        image_retention: Duration::from_secs(60),
        quota_per_session: None,
        quota_per_client: None,
        quota_global: None,
        job_lease: Duration::from_secs(10),
    };
    let err = Store::open(&config)
        .await
        .expect_err("nothing listens there");
    assert!(err.to_string().starts_with("DATABASE_URL: "), "{err}");

    config.database_url = "mysql://localhost/db".into();
    let err = Store::open(&config)
        .await
        .expect_err("not a supported scheme");
    assert!(err.to_string().starts_with("DATABASE_URL: "), "{err}");
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_names_image_store_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s3 = S3::shared().await;
    let config = StoreConfig {
        database_url: format!("sqlite://{}", dir.path().join("db").display()),
        images: ImageLocation::parse("s3://no-such-bucket-here/x").expect("url"),
        s3: s3_options(s3),
        max_connections: 2,
        session_idle: Duration::from_secs(60),
        max_sessions: 10,
        image_cap_bytes: 1000,
        image_retention: Duration::from_secs(60),
        quota_per_session: None,
        quota_per_client: None,
        quota_global: None,
        job_lease: Duration::from_secs(10),
    };
    let err = Store::open(&config).await.expect_err("no such bucket");
    assert!(err.to_string().starts_with("IMAGE_STORE_URL: "), "{err}");
}
