//! A statement written once and run on either database: `query(sql).bind(..).execute(conn)`,
//! `query_as` into a tuple, `query_scalar` into one value, shaped like sqlx's own so the store's
//! queries read the same. On PostgreSQL it is sqlx's query; on SQLite it runs on a
//! [`crate::sqlite::Connection`] (rusqlite) on the store's own thread, where sqlx's SQLite
//! driver would hand every statement to a worker thread of its own and back, two thread
//! hand-overs that cost three times the statement
//! ([ADR 0010](../../../docs/adr/0010-sqlite-statements-on-the-store-threads.md)).
//!
//! Parameters are written `$1`, `$2`, ... in both dialects: SQLite reads `$N` as a named
//! parameter, bound here by its number.

use std::future::Future;
use std::marker::PhantomData;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Error, Postgres, Row as _};

/// A bound parameter: its value, or a NULL that keeps its type (PostgreSQL wants one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Bool(bool),
    NullInt,
    NullText,
}

/// What a parameter can be made from.
pub(crate) trait Arg {
    fn value(self) -> Value;
}

/// A parameter type whose NULL is typed (`Option<T>` binds as that type's NULL).
pub(crate) trait NullAs {
    const NULL: Value;
}

impl Arg for i64 {
    fn value(self) -> Value {
        Value::Int(self)
    }
}
impl NullAs for i64 {
    const NULL: Value = Value::NullInt;
}
impl Arg for &i64 {
    fn value(self) -> Value {
        Value::Int(*self)
    }
}
impl Arg for bool {
    fn value(self) -> Value {
        Value::Bool(self)
    }
}
impl Arg for String {
    fn value(self) -> Value {
        Value::Text(self)
    }
}
impl NullAs for String {
    const NULL: Value = Value::NullText;
}
impl Arg for &String {
    fn value(self) -> Value {
        Value::Text(self.clone())
    }
}
impl Arg for &str {
    fn value(self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl NullAs for &str {
    const NULL: Value = Value::NullText;
}
impl<T: Arg + NullAs> Arg for Option<T> {
    fn value(self) -> Value {
        self.map_or(T::NULL, Arg::value)
    }
}
impl<T: Arg + NullAs + Clone> Arg for &Option<T> {
    fn value(self) -> Value {
        self.clone().map_or(T::NULL, Arg::value)
    }
}

/// One statement and its parameters, `$1` first.
#[derive(Debug, Clone)]
pub(crate) struct Query<'q> {
    pub(crate) sql: &'q str,
    pub(crate) args: Vec<Value>,
}

/// A statement whose rows decode into `O`.
#[derive(Debug, Clone)]
pub(crate) struct QueryAs<'q, O> {
    query: Query<'q>,
    rows: PhantomData<fn() -> O>,
}

/// A statement whose rows' first column decodes into `T`.
#[derive(Debug, Clone)]
pub(crate) struct QueryScalar<'q, T> {
    query: Query<'q>,
    value: PhantomData<fn() -> T>,
}

pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

pub(crate) fn query_as<O: FromRow>(sql: &str) -> QueryAs<'_, O> {
    QueryAs {
        query: query(sql),
        rows: PhantomData,
    }
}

pub(crate) fn query_scalar<T: Column>(sql: &str) -> QueryScalar<'_, T> {
    QueryScalar {
        query: query(sql),
        value: PhantomData,
    }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    pub(crate) rows_affected: u64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, arg: impl Arg) -> Self {
        self.args.push(arg.value());
        self
    }

    pub(crate) async fn execute(self, on: impl Executor) -> Result<Done, Error> {
        on.execute(self).await
    }

    /// The sqlx statement for PostgreSQL.
    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, PgArguments> {
        let mut query = sqlx::query(self.sql);
        for value in &self.args {
            query = match value {
                Value::Int(n) => query.bind(*n),
                Value::Text(text) => query.bind(text.as_str()),
                Value::Bool(b) => query.bind(*b),
                Value::NullInt => query.bind(None::<i64>),
                Value::NullText => query.bind(None::<&str>),
            };
        }
        query
    }
}

impl<'q, O: FromRow> QueryAs<'q, O> {
    pub(crate) fn bind(mut self, arg: impl Arg) -> Self {
        self.query = self.query.bind(arg);
        self
    }

    pub(crate) async fn fetch_all(self, on: impl Executor) -> Result<Vec<O>, Error> {
        on.fetch_all(self.query).await
    }

    pub(crate) async fn fetch_optional(self, on: impl Executor) -> Result<Option<O>, Error> {
        on.fetch_optional(self.query).await
    }

    pub(crate) async fn fetch_one(self, on: impl Executor) -> Result<O, Error> {
        self.fetch_optional(on).await?.ok_or(Error::RowNotFound)
    }
}

impl<'q, T: Column> QueryScalar<'q, T> {
    pub(crate) fn bind(mut self, arg: impl Arg) -> Self {
        self.query = self.query.bind(arg);
        self
    }

    pub(crate) async fn fetch_all(self, on: impl Executor) -> Result<Vec<T>, Error> {
        let rows: Vec<(T,)> = on.fetch_all(self.query).await?;
        Ok(rows.into_iter().map(|(value,)| value).collect())
    }

    pub(crate) async fn fetch_optional(self, on: impl Executor) -> Result<Option<T>, Error> {
        let row: Option<(T,)> = on.fetch_optional(self.query).await?;
        Ok(row.map(|(value,)| value))
    }

    pub(crate) async fn fetch_one(self, on: impl Executor) -> Result<T, Error> {
        self.fetch_optional(on).await?.ok_or(Error::RowNotFound)
    }
}

/// Where a statement runs: a PostgreSQL pool or connection, or a SQLite connection.
pub(crate) trait Executor: Send {
    fn execute(self, query: Query<'_>) -> impl Future<Output = Result<Done, Error>> + Send;

    fn fetch_all<O: FromRow>(
        self,
        query: Query<'_>,
    ) -> impl Future<Output = Result<Vec<O>, Error>> + Send;

    fn fetch_optional<O: FromRow>(
        self,
        query: Query<'_>,
    ) -> impl Future<Output = Result<Option<O>, Error>> + Send;
}

/// The PostgreSQL executors the store uses: its pool, and a connection or transaction
/// (`&mut *tx`) taken from it.
macro_rules! postgres_executor {
    ($on:ty) => {
        impl Executor for $on {
            async fn execute(self, query: Query<'_>) -> Result<Done, Error> {
                let done = query.postgres().execute(self).await?;
                Ok(Done {
                    rows_affected: done.rows_affected(),
                })
            }

            async fn fetch_all<O: FromRow>(self, query: Query<'_>) -> Result<Vec<O>, Error> {
                let rows = query.postgres().fetch_all(self).await?;
                rows.iter().map(O::from_postgres).collect()
            }

            async fn fetch_optional<O: FromRow>(
                self,
                query: Query<'_>,
            ) -> Result<Option<O>, Error> {
                let row = query.postgres().fetch_optional(self).await?;
                row.as_ref().map(O::from_postgres).transpose()
            }
        }
    };
}
postgres_executor!(&sqlx::PgPool);
postgres_executor!(&mut sqlx::PgConnection);

/// A column value: what both drivers decode the same way (text, integers, booleans, and NULL as
/// `None`).
pub(crate) trait Column:
    rusqlite::types::FromSql
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + 'static
{
}
impl<T> Column for T where
    T: rusqlite::types::FromSql
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + 'static
{
}

/// A row as a tuple of columns, in the order the statement names them.
pub(crate) trait FromRow: Sized + Send + 'static {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
    fn from_postgres(row: &PgRow) -> Result<Self, Error>;
}

macro_rules! tuple_row {
    ($($column:ident $n:tt),+) => {
        impl<$($column: Column),+> FromRow for ($($column,)+) {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<usize, $column>($n)?,)+))
            }

            fn from_postgres(row: &PgRow) -> Result<Self, Error> {
                Ok(($(row.try_get::<$column, usize>($n)?,)+))
            }
        }
    };
}
tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
