//! The database connection: a SQLite file (WAL mode) or a PostgreSQL server, picked by the URL's
//! scheme, with the checked-in migrations of that dialect run at open.
//!
//! The queries themselves are written once ([`crate::sql`]): both dialects accept the same SQL
//! with `$1`-style parameters, `ON CONFLICT`, partial indexes and `RETURNING`. [`on_db!`] expands
//! a query block once per database, with a SQLite connection or a PostgreSQL pool.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

use crate::sqlite::{Options, Readers, Writer};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file (or memory) on one machine: one server instance.
    Sqlite,
    /// A shared server: any number of instances.
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(Sqlite),
    Postgres(PgPool),
}

/// A SQLite database: one connection that makes every write and read-only connections that
/// share the reads, each on a thread of its own ([`crate::sqlite`]).
#[derive(Clone, Debug)]
pub(crate) struct Sqlite {
    pub(crate) readers: Readers,
    pub(crate) writer: Writer,
    // Held for its drop: the folder goes with the last handle (only tests read it).
    #[cfg_attr(not(test), expect(dead_code))]
    scratch: Scratch,
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per backend; on SQLite, through
/// `$side.$run` (`readers.run`, `readers.run_here` or `writer.run`), so it owns what it uses,
/// with `$pool` a connection of that side's.
macro_rules! on_sqlite_side {
    ($db:expr, $side:ident . $run:ident, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(sqlite) => {
                sqlite
                    .$side
                    .$run(async move |$pool: &mut $crate::sqlite::Connection| {
                        Ok::<_, sqlx::Error>($body)
                    })
                    .await?
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_sqlite_side;

/// A read that may scan a table: on SQLite, on a reader's thread and its read-only connection
/// (a write there fails: "attempt to write a readonly database").
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::db::on_sqlite_side!($db, readers.run, $pool => $body)
    };
}
pub(crate) use on_db;

/// A read of a few rows found by key (an id, or one session's rows): on SQLite, on the
/// caller's thread with a read-only connection lent for it
/// ([`crate::sqlite::Readers::run_here`]).
macro_rules! on_db_by_key {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::db::on_sqlite_side!($db, readers.run_here, $pool => $body)
    };
}
pub(crate) use on_db_by_key;

/// A write: on SQLite, on the writer's connection; the result comes back once committed.
macro_rules! on_writer {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::db::on_sqlite_side!($db, writer.run, $pool => $body)
    };
}
pub(crate) use on_writer;

/// How long a request waits for a pooled connection (PostgreSQL) or, on SQLite, for a write lock
/// another process holds.
const WAIT: Duration = Duration::from_secs(10);

/// The temporary folder of a throwaway database, removed when the last handle on it drops.
pub(crate) type Scratch = Option<Arc<tempfile::TempDir>>;

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connects and migrates. `url` is `sqlite://path`, `sqlite::memory:` or `postgres://...`.
    ///
    /// A throwaway database (`sqlite::memory:`) is a file in a temporary folder that is removed
    /// when the last handle on the pool drops: sqlx replaces a connection whose query was cancelled
    /// mid-flight (a browser reload does that), and a new in-memory connection would be an empty
    /// database.
    pub(crate) async fn open(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?.application_name("refinery");
            let pool = PgPoolOptions::new()
                // One more for the LISTEN connection, which stays checked out.
                .max_connections(max_connections + 1)
                .acquire_timeout(WAIT)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            return Ok(Db::Postgres(pool));
        }
        if !url.starts_with("sqlite:") {
            return Err(sqlx::Error::Configuration(
                "the scheme must be sqlite:// or postgres://".into(),
            ));
        }
        let mut scratch: Scratch = None;
        let options = if url.contains(":memory:") || url.contains("mode=memory") {
            let folder = tempfile::Builder::new()
                .prefix("prompt-refinery-db-")
                .tempdir()
                .map_err(sqlx::Error::Io)?;
            let options = SqliteConnectOptions::new().filename(folder.path().join("store.db"));
            scratch = Some(Arc::new(folder));
            options
        } else {
            let options = SqliteConnectOptions::from_str(url)?;
            if let Some(folder) = options.get_filename().parent() {
                std::fs::create_dir_all(folder).map_err(sqlx::Error::Io)?;
            }
            options
        };
        let path = options.get_filename().to_owned();
        // sqlx makes the file, turns WAL on (which the file keeps) and migrates; the store's
        // own connections open it after.
        static MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
        let mut migrating = SqliteConnection::connect_with(
            &options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(WAIT)
                .foreign_keys(true),
        )
        .await?;
        MIGRATIONS.run(&mut migrating).await?;
        migrating.close().await?;
        let options = Options {
            path,
            read_only: false,
            busy_timeout: WAIT,
        };
        let writer = Writer::open(options.clone()).await?;
        let readers = Readers::open(options, max_connections).await?;
        Ok(Db::Sqlite(Sqlite {
            readers,
            writer,
            scratch,
        }))
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite(sqlite) => {
                // The readers' threads end with the last handle on them.
                sqlite.writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway database's writer, and the size of its database file, which changes only
    /// when the WAL is copied into it.
    fn writer_and_file_size(db: &Db) -> (&Writer, impl Fn() -> u64) {
        let Db::Sqlite(Sqlite {
            writer,
            scratch: Some(folder),
            ..
        }) = db
        else {
            panic!("a throwaway SQLite database has a scratch folder");
        };
        let file = folder.path().join("store.db");
        (writer, move || {
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)
        })
    }

    /// Makes the table `probe` with one row, `v`, on the writer.
    fn readers_and_writer(db: &Db) -> (&Readers, &Writer) {
        let Db::Sqlite(Sqlite {
            readers, writer, ..
        }) = db
        else {
            panic!("a throwaway SQLite database");
        };
        (readers, writer)
    }

    async fn probe_table(writer: &Writer, v: i64) {
        writer
            .run(async move |connection| {
                crate::sql::query("CREATE TABLE probe (v INTEGER)")
                    .execute(&mut *connection)
                    .await?;
                crate::sql::query("INSERT INTO probe (v) VALUES ($1)")
                    .bind(v)
                    .execute(&mut *connection)
                    .await
            })
            .await
            .expect("creates and writes");
    }

    #[tokio::test]
    async fn a_throwaway_database_is_one_database_across_connections_and_goes_with_its_pool() {
        let db = Db::open("sqlite::memory:", 4).await.expect("opens");
        let Db::Sqlite(Sqlite {
            readers,
            writer,
            scratch: Some(folder),
        }) = &db
        else {
            panic!("a throwaway SQLite database has a scratch folder");
        };
        let path = folder.path().to_owned();

        // A write on the writer is seen on every reader, as it is after the pool replaces a
        // connection whose query was cancelled.
        probe_table(writer, 7).await;
        for _ in 0..8 {
            let seen: i64 = readers
                .run(async |connection| {
                    crate::sql::query_scalar("SELECT v FROM probe")
                        .fetch_one(connection)
                        .await
                })
                .await
                .expect("every reader sees the table");
            assert_eq!(seen, 7);
        }
        let refused = readers
            .run(async |connection| {
                crate::sql::query("INSERT INTO probe (v) VALUES (8)")
                    .execute(connection)
                    .await
            })
            .await;
        assert!(refused.is_err(), "a reader cannot write");

        db.close().await;
        drop(db);
        assert!(
            !path.exists(),
            "the scratch folder is removed with the pool"
        );
    }

    /// A query that panics fails for its caller only: the writer, and the one reader here, go
    /// on serving (without the guard the next write failed at once and the next read after 10 s).
    #[tokio::test]
    async fn a_query_that_panics_leaves_its_thread_serving() {
        let db = Db::open("sqlite::memory:", 1).await.expect("opens");
        let (readers, writer) = readers_and_writer(&db);
        let insert = |v: i64| {
            writer.run(async move |connection| {
                crate::sql::query("INSERT INTO probe (v) VALUES ($1)")
                    .bind(v)
                    .execute(&mut *connection)
                    .await
                    .map(|_| ())
            })
        };
        probe_table(writer, 1).await;

        let panicked = writer
            .run(async |connection| {
                crate::sql::query("INSERT INTO probe (v) VALUES (2)")
                    .execute(&mut *connection)
                    .await?;
                if true {
                    panic!("a bug in a write");
                }
                Ok(())
            })
            .await;
        assert!(panicked.is_err(), "the panicking write fails");
        insert(3).await.expect("the writer still writes");

        let panicked = readers
            .run(
                async |_: &mut crate::sqlite::Connection| -> Result<(), sqlx::Error> {
                    panic!("a bug in a read")
                },
            )
            .await;
        assert!(panicked.is_err(), "the panicking read fails");
        let seen: Vec<i64> = tokio::time::timeout(
            Duration::from_secs(5),
            readers.run(async |connection| {
                crate::sql::query_scalar("SELECT v FROM probe ORDER BY v")
                    .fetch_all(connection)
                    .await
            }),
        )
        .await
        .expect("the reader still reads")
        .expect("reads");
        assert_eq!(
            seen,
            vec![1, 3],
            "the panicking write's statement was undone"
        );
        db.close().await;
    }

    /// A read by key runs on its caller's thread and sees what is committed; while every lent
    /// connection is held, the next read goes to a reader's thread and still answers; one that
    /// panics fails for its caller only, and the reads after it are served.
    #[tokio::test]
    async fn a_read_by_key_runs_on_its_callers_thread_or_a_readers_when_none_is_free() {
        let db = Db::open("sqlite::memory:", 1).await.expect("opens");
        let (readers, writer) = readers_and_writer(&db);
        probe_table(writer, 7).await;
        let read = async |connection: &mut crate::sqlite::Connection| {
            let seen: i64 = crate::sql::query_scalar("SELECT v FROM probe")
                .fetch_one(connection)
                .await?;
            Ok::<_, sqlx::Error>((std::thread::current().name().map(str::to_owned), seen))
        };
        let here = std::thread::current().name().map(str::to_owned);
        let (thread, seen) = readers.run_here(read).await.expect("reads");
        assert_eq!((thread, seen), (here, 7), "read on the caller's thread");

        // Every lent connection held by a read that waits.
        let lendable = readers.lendable();
        assert!(lendable >= 1, "one connection a CPU is lent");
        let (release, released) = tokio::sync::watch::channel(false);
        let (holding, mut held) = tokio::sync::mpsc::unbounded_channel();
        let holders: Vec<_> = (0..lendable)
            .map(|_| {
                let (readers, mut released, holding) =
                    (readers.clone(), released.clone(), holding.clone());
                tokio::spawn(async move {
                    readers
                        .run_here(async move |_| {
                            let _ = holding.send(());
                            let _ = released.wait_for(|r| *r).await;
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for _ in 0..lendable {
            held.recv().await.expect("a holder took a connection");
        }
        assert_eq!(readers.lendable(), 0);
        let (thread, seen) = readers.run_here(read).await.expect("reads");
        assert_eq!(
            (thread.as_deref(), seen),
            (Some("sqlite-reader-0"), 7),
            "read on a reader's thread"
        );
        release.send_replace(true);
        for holder in holders {
            holder
                .await
                .expect("no panic")
                .expect("the holders' reads end");
        }
        assert_eq!(readers.lendable(), lendable, "every connection came back");

        let panicked = readers
            .run_here(
                async |_: &mut crate::sqlite::Connection| -> Result<(), sqlx::Error> {
                    panic!("a bug in a read")
                },
            )
            .await;
        assert!(panicked.is_err(), "the panicking read fails");
        assert_eq!(
            readers.lendable(),
            lendable - 1,
            "its connection is not lent again"
        );
        for _ in 0..=lendable {
            assert_eq!(readers.run_here(read).await.expect("reads").1, 7);
        }
        db.close().await;
    }

    /// What is committed reaches the database file once writes pause (the checkpointer's copy),
    /// not only when the WAL outgrows SQLite's own threshold (1,000 pages by default), which a
    /// burst would otherwise pay for in its commits. Here about 60 pages, which SQLite alone
    /// leaves in the WAL.
    #[tokio::test]
    async fn what_is_committed_reaches_the_database_file_once_writes_pause() {
        let db = Db::open("sqlite::memory:", 1).await.expect("opens");
        let (writer, size) = writer_and_file_size(&db);
        let before = size();
        let written = 50 * 4_000;
        writer
            .run(async |connection| {
                crate::sql::query("CREATE TABLE probe (v TEXT)")
                    .execute(&mut *connection)
                    .await?;
                for _ in 0..50 {
                    crate::sql::query("INSERT INTO probe (v) VALUES ($1)")
                        .bind("x".repeat(4_000))
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
            .await
            .expect("writes");
        // Waits for the file to change (not for a set time), up to a bound far past the idle wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() < before + written {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was not checkpointed: the database file is {} bytes, {before} before",
                size()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        db.close().await;
    }

    /// While writes keep coming, each within the idle wait of the last, the WAL is still copied
    /// into the database file (about a second after the first commit not copied), not only once
    /// they pause: a steady trickle of writes would otherwise grow the WAL up to SQLite's
    /// backstop (10,000 pages) and pay for that copy in one commit.
    #[tokio::test]
    async fn a_stream_of_writes_that_never_pauses_still_reaches_the_database_file() {
        let db = Db::open("sqlite::memory:", 1).await.expect("opens");
        let (writer, size) = writer_and_file_size(&db);
        writer
            .run(async |connection| {
                crate::sql::query("CREATE TABLE pad (v TEXT)")
                    .execute(&mut *connection)
                    .await
            })
            .await
            .expect("creates");
        let before = size();
        // A write of 4 KB every 50 ms, a quarter of the idle wait, for up to 10 s (about 800
        // KB, far below the backstop): only the at-least-every rule copies during it.
        let stream = std::time::Instant::now();
        while size() <= before {
            assert!(
                stream.elapsed() < Duration::from_secs(10),
                "the WAL was not copied while writes kept coming: the database file is still {} bytes",
                size()
            );
            writer
                .run(async |connection| {
                    crate::sql::query("INSERT INTO pad (v) VALUES ($1)")
                        .bind("x".repeat(4_000))
                        .execute(&mut *connection)
                        .await
                })
                .await
                .expect("writes");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        db.close().await;
    }
}
