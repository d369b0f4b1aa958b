//! The database connection: a SQLite file (WAL mode) or a PostgreSQL server, picked by the URL's
//! scheme, with the checked-in migrations of that dialect run at open.
//!
//! The queries themselves are written once: both dialects accept the same SQL with `$1`-style
//! parameters (sqlx's SQLite driver numbers `$N` like PostgreSQL does), `ON CONFLICT`, partial
//! indexes and `RETURNING`. [`on_db!`] expands a query block once per pool type.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

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
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per backend.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// How long a request waits for a pooled connection (or, on SQLite, for the write lock).
const WAIT: Duration = Duration::from_secs(10);

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connects and migrates. `url` is `sqlite://path`, `sqlite::memory:` or `postgres://...`.
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
        let options = SqliteConnectOptions::from_str(url)?;
        // An in-memory database lives in one connection (shared-cache mode would refuse
        // concurrent writers with "table is locked" instead of waiting).
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && let Some(folder) = options.get_filename().parent() {
            std::fs::create_dir_all(folder).map_err(sqlx::Error::Io)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL: a commit survives a killed process; only a power cut may lose
            // the last moments, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(WAIT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { max_connections })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .acquire_timeout(WAIT)
            // sqlx pings a pooled connection before lending it by default. A SQLite connection
            // is a file this process has open, served by a thread of its own: the ping is one
            // more round trip to that thread on every query and can find nothing the query
            // itself would not.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Db::Sqlite(pool))
    }

    pub(crate) async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}
