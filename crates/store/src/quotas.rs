//! Daily spend limits: generations per session (`QUOTA_PER_SESSION_DAY`) and for the whole
//! deployment (`QUOTA_GLOBAL_DAY`), counted in the database so every instance shares them and a
//! restart keeps them. Days are UTC. One image is one unit; a job's units are one conditional
//! upsert per counter (`... DO UPDATE SET used = used + n WHERE used + n <= limit`), both counters
//! in one transaction, so the limits hold exactly under any concurrency and a job of four images
//! is counted whole or refused whole.

use std::time::Duration;

use contracts::QuotaView;

use crate::StoreError;
use crate::db::{Db, on_db};
use crate::ids::{SessionId, now_ms};

const DAY_MS: i64 = 86_400_000;
const GLOBAL: &str = "global";

/// Which limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Session,
    Global,
}

/// A refused generation: which limit, its size, and how long until midnight UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub scope: Scope,
    pub limit: u32,
    pub resets_in: Duration,
}

/// A counted generation: the UTC day it was counted on, which a refund names, and its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub day: i64,
    pub units: u32,
}

/// The quota counters.
#[derive(Clone, Debug)]
pub struct QuotaStore {
    db: Db,
    per_session: Option<u32>,
    global: Option<u32>,
}

fn subject(session: &SessionId) -> String {
    session_subject(&session.to_hex())
}

/// The counter row of the session whose id is `hex`.
pub(crate) fn session_subject(hex: &str) -> String {
    format!("session:{hex}")
}

fn resets_in(now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(DAY_MS - now_ms.rem_euclid(DAY_MS)).unwrap_or(0))
}

/// `$4` units against limit `$3`. A first row is inserted unchecked, so the caller refuses
/// `units > limit` before it runs.
const TAKE: &str = "INSERT INTO quota_usage (day, subject, used) VALUES ($1, $2, $4) \
     ON CONFLICT (day, subject) DO UPDATE SET used = quota_usage.used + $4 \
     WHERE quota_usage.used + $4 <= $3";

/// Gives back `$3` units of both counters of `day` (the session's and the global one).
pub(crate) const REFUND: &str = "UPDATE quota_usage \
     SET used = CASE WHEN used > $3 THEN used - $3 ELSE 0 END \
     WHERE day = $1 AND subject IN ('global', $2) AND used > 0";

impl QuotaStore {
    /// `None` means no limit of that kind (the counters still count, for the metrics).
    pub(crate) fn new(db: Db, per_session: Option<u32>, global: Option<u32>) -> QuotaStore {
        QuotaStore {
            db,
            per_session,
            global,
        }
    }

    /// Counts one generation of `units` images for `session`, or refuses all of it when either
    /// limit would be passed.
    pub async fn take(
        &self,
        session: &SessionId,
        units: u32,
    ) -> Result<Result<Taken, QuotaExceeded>, StoreError> {
        self.take_at(session, units, now_ms()).await
    }

    /// [`QuotaStore::take`] at a given time (tests cross midnight with it).
    pub async fn take_at(
        &self,
        session: &SessionId,
        units: u32,
        now_ms: i64,
    ) -> Result<Result<Taken, QuotaExceeded>, StoreError> {
        let day = now_ms.div_euclid(DAY_MS);
        let refused = |scope, limit| QuotaExceeded {
            scope,
            limit,
            resets_in: resets_in(now_ms),
        };
        let ceiling = |limit: Option<u32>| limit.map_or(i64::MAX, i64::from);
        let units = units.max(1);
        // More units than a limit holds would slip in as a counter's first row.
        for (scope, limit) in [
            (Scope::Global, self.global),
            (Scope::Session, self.per_session),
        ] {
            if let Some(limit) = limit
                && units > limit
            {
                return Ok(Err(refused(scope, limit)));
            }
        }
        let mine = subject(session);
        let n = i64::from(units);
        let outcome = on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let global = sqlx::query(TAKE)
                .bind(day)
                .bind(GLOBAL)
                .bind(ceiling(self.global))
                .bind(n)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if global == 0 {
                tx.rollback().await?;
                Err(refused(Scope::Global, self.global.unwrap_or(0)))
            } else {
                let own = sqlx::query(TAKE)
                    .bind(day)
                    .bind(&mine)
                    .bind(ceiling(self.per_session))
                    .bind(n)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if own == 0 {
                    tx.rollback().await?;
                    Err(refused(Scope::Session, self.per_session.unwrap_or(0)))
                } else {
                    tx.commit().await?;
                    Ok(Taken { day, units })
                }
            }
        });
        Ok(outcome)
    }

    /// Gives back a generation counted by [`QuotaStore::take`] that did not run.
    pub async fn refund(&self, session: &SessionId, taken: Taken) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query(REFUND)
                .bind(taken.day)
                .bind(subject(session))
                .bind(i64::from(taken.units))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// What is left today, for the UI next to the Generate button; `None` without limits.
    pub async fn left(&self, session: &SessionId) -> Result<Option<QuotaView>, StoreError> {
        if self.per_session.is_none() && self.global.is_none() {
            return Ok(None);
        }
        let now = now_ms();
        let day = now.div_euclid(DAY_MS);
        let mine = subject(session);
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT subject, used FROM quota_usage WHERE day = $1 AND subject IN ('global', $2)",
            )
            .bind(day)
            .bind(&mine)
            .fetch_all(pool)
            .await?
        });
        let used = |name: &str| {
            rows.iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX))
        };
        let (global, mine) = (used(GLOBAL), used(&mine));
        Ok(Some(QuotaView {
            session_left: self.per_session.map(|l| l.saturating_sub(mine)),
            global_left: self.global.map(|l| l.saturating_sub(global)),
            resets_in_secs: resets_in(now).as_secs(),
        }))
    }

    /// Images counted today across every instance (for metrics and tests).
    pub async fn used_globally(&self) -> Result<u32, StoreError> {
        let day = now_ms().div_euclid(DAY_MS);
        let used: Option<i64> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT used FROM quota_usage WHERE day = $1 AND subject = 'global'")
                .bind(day)
                .fetch_optional(pool)
                .await?
        });
        Ok(used.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Drops counters of days before yesterday.
    pub(crate) async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        let before = now_ms.div_euclid(DAY_MS) - 1;
        Ok(on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM quota_usage WHERE day < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
