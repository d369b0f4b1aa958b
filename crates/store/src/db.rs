//! The database connection: a SQLite file (WAL mode) or a PostgreSQL server, picked by the URL's
//! scheme, with the checked-in migrations of that dialect run at open.
//!
//! The queries themselves are written once: both dialects accept the same SQL with `$1`-style
//! parameters (sqlx's SQLite driver numbers `$N` like PostgreSQL does), `ON CONFLICT`, partial
//! indexes and `RETURNING`. [`on_db!`] expands a query block once per pool type.

use std::str::FromStr;
use std::sync::Arc;
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
    Sqlite(
        SqlitePool,
        // Held for its drop: the folder goes with the last handle (only tests read it).
        #[cfg_attr(not(test), expect(dead_code))] Scratch,
    ),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per backend.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// How long a request waits for a pooled connection (or, on SQLite, for the write lock).
const WAIT: Duration = Duration::from_secs(10);

/// The temporary folder of a throwaway database, removed when the last handle on it drops.
pub(crate) type Scratch = Option<Arc<tempfile::TempDir>>;

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
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
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL: a commit survives a killed process; only a power cut may lose
            // the last moments, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(WAIT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .acquire_timeout(WAIT)
            // sqlx pings a pooled connection before lending it by default. A SQLite connection
            // is a file this process has open, served by a thread of its own: the ping is one
            // more round trip to that thread on every query and can find nothing the query
            // itself would not.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Db::Sqlite(pool, scratch))
    }

    pub(crate) async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_throwaway_database_is_one_database_across_connections_and_goes_with_its_pool() {
        let db = Db::open("sqlite::memory:", 4).await.expect("opens");
        let Db::Sqlite(pool, Some(folder)) = &db else {
            panic!("a throwaway SQLite database has a scratch folder");
        };
        let path = folder.path().to_owned();

        // Two connections held at once: a write on one is seen on the other, as it is after
        // the pool replaces a connection whose query was cancelled.
        let mut first = pool.acquire().await.expect("first connection");
        let mut second = pool.acquire().await.expect("second connection");
        sqlx::query("CREATE TABLE probe (v INTEGER)")
            .execute(&mut *first)
            .await
            .expect("creates");
        sqlx::query("INSERT INTO probe (v) VALUES (7)")
            .execute(&mut *first)
            .await
            .expect("writes");
        let seen: i64 = sqlx::query_scalar("SELECT v FROM probe")
            .fetch_one(&mut *second)
            .await
            .expect("the other connection sees the table");
        assert_eq!(seen, 7);
        drop((first, second));

        db.close().await;
        drop(db);
        assert!(
            !path.exists(),
            "the scratch folder is removed with the pool"
        );
    }
}
