//! One SQLite connection (rusqlite), owned by one of the store's threads: the statements of
//! [`crate::sql`] run on it directly, with their prepared forms cached, and a query block's own
//! transaction is a savepoint inside the writer's batch.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, Row};
use sqlx::Error;
use sqlx::error::{DatabaseError, ErrorKind};

use crate::sql::{Done, Executor, FromRow, Query, Value};

/// Statements kept prepared per connection: more than the store has.
const STATEMENTS_CACHED: usize = 128;

/// How a connection opens.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) path: PathBuf,
    pub(crate) read_only: bool,
    /// How long a statement waits for a lock another connection or process holds.
    pub(crate) busy_timeout: Duration,
}

/// A connection and the savepoints open on it.
pub(crate) struct Connection {
    inner: rusqlite::Connection,
    savepoints: u32,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("savepoints", &self.savepoints)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens an existing database file (WAL mode is kept in the file).
    pub(crate) fn open(options: &Options) -> Result<Connection, Error> {
        let access = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        // NO_MUTEX: one thread uses the connection at a time (its own, or a caller lent it).
        let inner = rusqlite::Connection::open_with_flags(
            &options.path,
            access | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(database)?;
        inner.busy_timeout(options.busy_timeout).map_err(database)?;
        inner.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        // NORMAL in WAL mode: a commit survives a killed process; only a power cut may lose the
        // last moments, never corrupt the file.
        inner
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(database)?;
        Ok(Connection {
            inner,
            savepoints: 0,
        })
    }

    /// This connection, for a block of statements (as a pool hands one out for PostgreSQL).
    pub(crate) async fn acquire(&mut self) -> Result<&mut Connection, Error> {
        Ok(self)
    }

    /// A transaction of the block's own: a savepoint, released by `commit` and rolled back by
    /// `rollback` or when dropped unfinished.
    pub(crate) async fn begin(&mut self) -> Result<Savepoint<'_>, Error> {
        let name = format!("block_{}", self.savepoints);
        self.inner
            .execute_batch(&format!("SAVEPOINT {name}"))
            .map_err(database)?;
        self.savepoints += 1;
        Ok(Savepoint {
            connection: self,
            name,
            open: true,
        })
    }

    /// Lets the WAL grow to `pages` before a commit checkpoints it itself.
    pub(crate) fn checkpoint_past(&mut self, pages: u32) -> Result<(), Error> {
        self.inner
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(database)
    }

    /// Copies what the WAL holds into the database file as far as readers allow (PASSIVE: it
    /// waits for no one).
    pub(crate) fn checkpoint(&mut self) -> Result<(), Error> {
        let (busy, pages, copied): (i64, i64, i64) = self
            .inner
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(database)?;
        tracing::debug!(busy, pages, copied, "SQLite WAL checkpointed");
        Ok(())
    }

    /// Starts the writer's batch transaction, taking the write lock at once.
    pub(crate) fn begin_batch(&mut self) -> Result<(), Error> {
        self.inner
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(database)
    }

    /// Commits (or undoes) the writer's batch.
    pub(crate) fn end_batch(&mut self, commit: bool) -> Result<(), Error> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let ended = self.inner.execute_batch(sql).map_err(database);
        if ended.is_err() && !self.inner.is_autocommit() {
            // A failed COMMIT leaves the transaction open; the next batch must start clean.
            let _ = self.inner.execute_batch("ROLLBACK");
        }
        ended
    }

    /// Runs `query`, handing each row to `row` until it answers false (a statement with
    /// `RETURNING` makes all its changes at its first step). Returns the rows it changed.
    fn run(
        &mut self,
        query: &Query<'_>,
        mut row: impl FnMut(&Row<'_>) -> Result<bool, Error>,
    ) -> Result<u64, Error> {
        let mut statement = self.inner.prepare_cached(query.sql).map_err(database)?;
        for index in 1..=statement.parameter_count() {
            let name = statement.parameter_name(index).unwrap_or("?");
            let value = name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| query.args.get(n))
                .ok_or_else(|| {
                    Error::Protocol(format!("no value is bound for parameter {name}"))
                })?;
            statement
                .raw_bind_parameter(index, value)
                .map_err(database)?;
        }
        let mut rows = statement.raw_query();
        while let Some(next) = rows.next().map_err(database)? {
            if !row(next)? {
                break;
            }
        }
        drop(rows);
        Ok(self.inner.changes())
    }
}

impl Executor for &mut Connection {
    async fn execute(self, query: Query<'_>) -> Result<Done, Error> {
        let rows_affected = self.run(&query, |_| Ok(true))?;
        Ok(Done { rows_affected })
    }

    async fn fetch_all<O: FromRow>(self, query: Query<'_>) -> Result<Vec<O>, Error> {
        let mut rows = Vec::new();
        self.run(&query, |row| {
            rows.push(O::from_sqlite(row).map_err(decode)?);
            Ok(true)
        })?;
        Ok(rows)
    }

    async fn fetch_optional<O: FromRow>(self, query: Query<'_>) -> Result<Option<O>, Error> {
        let mut first = None;
        self.run(&query, |row| {
            first = Some(O::from_sqlite(row).map_err(decode)?);
            Ok(false)
        })?;
        Ok(first)
    }
}

/// A query block's transaction on SQLite.
pub(crate) struct Savepoint<'c> {
    connection: &'c mut Connection,
    name: String,
    open: bool,
}

impl Savepoint<'_> {
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        self.end(&format!("RELEASE {}", self.name))
    }

    pub(crate) async fn rollback(mut self) -> Result<(), Error> {
        self.undo()
    }

    fn undo(&mut self) -> Result<(), Error> {
        self.end(&format!("ROLLBACK TO {0}; RELEASE {0}", self.name))
    }

    fn end(&mut self, sql: &str) -> Result<(), Error> {
        self.open = false;
        self.connection.savepoints = self.connection.savepoints.saturating_sub(1);
        self.connection.inner.execute_batch(sql).map_err(database)
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.undo()
        {
            tracing::error!(error = %e, "a SQLite savepoint could not be rolled back");
        }
    }
}

impl Deref for Savepoint<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection
    }
}

impl DerefMut for Savepoint<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.connection
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(n) => ToSqlOutput::from(*n),
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Bool(b) => ToSqlOutput::from(i64::from(*b)),
            Value::NullInt | Value::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A column that does not decode into the type asked for.
fn decode(e: rusqlite::Error) -> Error {
    Error::Decode(Box::new(e))
}

/// SQLite's own error, as sqlx reports a database's.
fn database(e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
        _ => None,
    };
    Error::Database(Box::new(SqliteError {
        message: e.to_string(),
        code,
    }))
}

#[derive(Debug)]
struct SqliteError {
    message: String,
    code: Option<std::os::raw::c_int>,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqliteError {}

impl DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|code| Cow::Owned(code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{query, query_as, query_scalar};

    fn scratch() -> (tempfile::TempDir, Connection) {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("probe.db");
        rusqlite::Connection::open(&path).expect("makes the file");
        let connection = Connection::open(&Options {
            path,
            read_only: false,
            busy_timeout: Duration::from_secs(1),
        })
        .expect("opens");
        (folder, connection)
    }

    /// SQLite numbers `$N` parameters in order of first use; they must still bind by N.
    #[tokio::test]
    async fn parameters_bind_by_their_number_not_their_place() {
        let (_folder, mut connection) = scratch();
        query("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER, d TEXT)")
            .execute(&mut connection)
            .await
            .expect("creates");
        query("INSERT INTO t (a, b, c, d) VALUES ($3, $1, $3, $2)")
            .bind("one")
            .bind(None::<String>)
            .bind(7_i64)
            .execute(&mut connection)
            .await
            .expect("inserts");
        let row: (i64, String, i64, Option<String>) = query_as("SELECT a, b, c, d FROM t")
            .fetch_one(&mut connection)
            .await
            .expect("reads");
        assert_eq!(row, (7, "one".to_owned(), 7, None));

        let missing = query("SELECT $2")
            .bind(1_i64)
            .execute(&mut connection)
            .await;
        assert!(missing.is_err(), "a parameter with no value is an error");
    }

    /// A block's transaction: undone when dropped unfinished or rolled back, kept when committed,
    /// and the writer's batch around it goes on.
    #[tokio::test]
    async fn a_blocks_transaction_is_undone_unless_committed() {
        let (_folder, mut connection) = scratch();
        query("CREATE TABLE t (v INTEGER)")
            .execute(&mut connection)
            .await
            .expect("creates");
        connection.begin_batch().expect("begins");
        {
            let mut tx = connection.begin().await.expect("savepoint");
            query("INSERT INTO t (v) VALUES (1)")
                .execute(&mut *tx)
                .await
                .expect("inserts");
            // Dropped: an error returned with `?` mid-block.
        }
        let tx = connection.begin().await.expect("savepoint");
        tx.rollback().await.expect("rolls back");
        let mut tx = connection.begin().await.expect("savepoint");
        query("INSERT INTO t (v) VALUES (2)")
            .execute(&mut *tx)
            .await
            .expect("inserts");
        tx.commit().await.expect("releases");
        connection.end_batch(true).expect("commits");
        let kept: Vec<i64> = query_scalar("SELECT v FROM t")
            .fetch_all(&mut connection)
            .await
            .expect("reads");
        assert_eq!(kept, vec![2]);
    }
}
