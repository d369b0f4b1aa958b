//! Daily spend limits: generations per session (`QUOTA_PER_SESSION_DAY`), per client address
//! (`QUOTA_PER_CLIENT_DAY`: an IPv4 address or an IPv6 /64, so a new session does not reset what
//! one client may spend) and for the whole deployment (`QUOTA_GLOBAL_DAY`), counted in the
//! database so every instance shares them and a restart keeps them. Days are UTC. One image is
//! one unit; a job's units are one conditional upsert per counter (`... DO UPDATE SET used =
//! used + n WHERE used + n <= limit`), all counters in one transaction, so the limits hold
//! exactly under any concurrency and a job of four images is counted whole or refused whole.

use std::time::Duration;

use contracts::QuotaView;

use crate::StoreError;
use crate::changes::Changes;
use crate::db::{Db, on_db_by_key, on_writer};
use crate::ids::{SessionId, now_ms};

const DAY_MS: i64 = 86_400_000;
const GLOBAL: &str = "global";

/// Which limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Session,
    Client,
    Global,
}

/// A refused generation: which limit, its size, and how long until midnight UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub scope: Scope,
    pub limit: u32,
    pub resets_in: Duration,
}

/// A counted generation: the UTC day it was counted on, which a refund names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub day: i64,
    pub units: u32,
    /// False when nothing is written yet: with no limit nothing can be refused, so the units
    /// are counted in the same write as the job's row ([`crate::jobs::NewJob::count_quota`]),
    /// not in a write of their own that the generation would wait for first.
    pub counted: bool,
}

/// Who a generation is counted for: the session, and the client address it came from (its
/// limit key: an IPv4 address, or an IPv6 address's /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spender<'a> {
    pub session: &'a SessionId,
    pub client: &'a str,
}

/// The quota counters.
#[derive(Clone, Debug)]
pub struct QuotaStore {
    db: Db,
    changes: Changes,
    per_session: Option<u32>,
    per_client: Option<u32>,
    global: Option<u32>,
}

fn subject(session: &SessionId) -> String {
    session_subject(&session.to_hex())
}

/// The counter row of the session whose id is `hex`.
pub(crate) fn session_subject(hex: &str) -> String {
    format!("session:{hex}")
}

/// The counter row of a client address (its limit key).
pub fn client_subject(client: &str) -> String {
    format!("client:{client}")
}

fn resets_in(now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(DAY_MS - now_ms.rem_euclid(DAY_MS)).unwrap_or(0))
}

/// The UTC day the counters of `now_ms` are kept under (a copy of [`QuotaStore::left`] is true
/// for that day only).
pub fn day_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// Seconds from `now_ms` until the counters start again (`QuotaView::resets_in_secs`).
pub fn resets_in_secs(now_ms: i64) -> u64 {
    resets_in(now_ms).as_secs()
}

/// `$4` units against limit `$3`. A first row is inserted unchecked, so the caller refuses
/// `units > limit` before it runs.
const TAKE: &str = "INSERT INTO quota_usage (day, subject, used) VALUES ($1, $2, $4) \
     ON CONFLICT (day, subject) DO UPDATE SET used = quota_usage.used + $4 \
     WHERE quota_usage.used + $4 <= $3";

/// `$4` units on the global counter of day `$1`, the client's (`$2`) and the session's (`$3`),
/// with no limit.
pub(crate) const COUNT: &str = "INSERT INTO quota_usage (day, subject, used) \
     VALUES ($1, 'global', $4), ($1, $2, $4), ($1, $3, $4) \
     ON CONFLICT (day, subject) DO UPDATE SET used = quota_usage.used + excluded.used";

/// Gives back `$4` units of the counters of `day`: the global one, the session's (`$2`) and the
/// client's (`$3`, which may be NULL for units counted before clients were).
pub(crate) const REFUND: &str = "UPDATE quota_usage \
     SET used = CASE WHEN used > $4 THEN used - $4 ELSE 0 END \
     WHERE day = $1 AND (subject IN ('global', $2) OR subject = $3) AND used > 0";

impl QuotaStore {
    /// `None` means no limit of that kind (the counters still count, for the metrics).
    pub(crate) fn new(
        db: Db,
        changes: Changes,
        per_session: Option<u32>,
        per_client: Option<u32>,
        global: Option<u32>,
    ) -> QuotaStore {
        QuotaStore {
            db,
            changes,
            per_session,
            per_client,
            global,
        }
    }

    /// Counts one generation of `units` images for `spender`, or refuses all of it when any
    /// limit would be passed. With no limit at all nothing is written here: the job's row
    /// counts the units when it is inserted ([`Taken::counted`]).
    pub async fn take(
        &self,
        spender: Spender<'_>,
        units: u32,
    ) -> Result<Result<Taken, QuotaExceeded>, StoreError> {
        self.take_at(spender, units, now_ms()).await
    }

    /// [`QuotaStore::take`] at a given time (tests cross midnight with it).
    pub async fn take_at(
        &self,
        spender: Spender<'_>,
        units: u32,
        now_ms: i64,
    ) -> Result<Result<Taken, QuotaExceeded>, StoreError> {
        let day = now_ms.div_euclid(DAY_MS);
        let refused = move |scope, limit| QuotaExceeded {
            scope,
            limit,
            resets_in: resets_in(now_ms),
        };
        let ceiling = |limit: Option<u32>| limit.map_or(i64::MAX, i64::from);
        let units = units.max(1);
        // More units than a limit holds would slip in as a counter's first row.
        for (scope, limit) in [
            (Scope::Global, self.global),
            (Scope::Client, self.per_client),
            (Scope::Session, self.per_session),
        ] {
            if let Some(limit) = limit
                && units > limit
            {
                return Ok(Err(refused(scope, limit)));
            }
        }
        let n = i64::from(units);
        if self.global.is_none() && self.per_client.is_none() && self.per_session.is_none() {
            // Nothing can be refused: counted with the job's row, in its write.
            return Ok(Ok(Taken {
                day,
                units,
                counted: false,
            }));
        }
        // Taken in this order, and the first counter that is full names the refusal.
        let counters = [
            (Scope::Global, GLOBAL.to_owned(), self.global),
            (
                Scope::Client,
                client_subject(spender.client),
                self.per_client,
            ),
            (Scope::Session, subject(spender.session), self.per_session),
        ];
        let outcome = on_writer!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut full = None;
            for (scope, name, limit) in &counters {
                let taken = crate::sql::query(TAKE)
                    .bind(day)
                    .bind(name)
                    .bind(ceiling(*limit))
                    .bind(n)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if taken == 0 {
                    full = Some(refused(*scope, limit.unwrap_or(0)));
                    break;
                }
            }
            match full {
                Some(refusal) => {
                    tx.rollback().await?;
                    Err(refusal)
                }
                None => {
                    tx.commit().await?;
                    Ok(Taken {
                        day,
                        units,
                        counted: true,
                    })
                }
            }
        });
        if outcome.is_ok() {
            self.changes.quotas();
        }
        Ok(outcome)
    }

    /// Gives back a generation counted by [`QuotaStore::take`] that did not run.
    pub async fn refund(&self, spender: Spender<'_>, taken: Taken) -> Result<(), StoreError> {
        if !taken.counted {
            return Ok(());
        }
        let (session, client) = (subject(spender.session), client_subject(spender.client));
        on_writer!(&self.db, pool => {
            crate::sql::query(REFUND)
                .bind(taken.day)
                .bind(&session)
                .bind(&client)
                .bind(i64::from(taken.units))
                .execute(pool)
                .await?;
        });
        self.changes.quotas();
        Ok(())
    }

    /// What is left today, for the UI next to the Generate button; `None` without limits.
    pub async fn left(&self, spender: Spender<'_>) -> Result<Option<QuotaView>, StoreError> {
        if self.per_session.is_none() && self.per_client.is_none() && self.global.is_none() {
            return Ok(None);
        }
        let now = now_ms();
        let day = now.div_euclid(DAY_MS);
        let mine = subject(spender.session);
        let client = client_subject(spender.client);
        let subjects = (mine.clone(), client.clone());
        let rows: Vec<(String, i64)> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as(
                "SELECT subject, used FROM quota_usage WHERE day = $1 \
                 AND subject IN ('global', $2, $3)",
            )
            .bind(day)
            .bind(&subjects.0)
            .bind(&subjects.1)
            .fetch_all(pool)
            .await?
        });
        let used = |name: &str| {
            rows.iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX))
        };
        let (global, mine, client) = (used(GLOBAL), used(&mine), used(&client));
        Ok(Some(QuotaView {
            session_left: self.per_session.map(|l| l.saturating_sub(mine)),
            client_left: self.per_client.map(|l| l.saturating_sub(client)),
            global_left: self.global.map(|l| l.saturating_sub(global)),
            resets_in_secs: resets_in(now).as_secs(),
        }))
    }

    /// Images counted today across every instance (for metrics and tests).
    pub async fn used_globally(&self) -> Result<u32, StoreError> {
        let day = now_ms().div_euclid(DAY_MS);
        let used: Option<i64> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_scalar("SELECT used FROM quota_usage WHERE day = $1 AND subject = 'global'")
                .bind(day)
                .fetch_optional(pool)
                .await?
        });
        Ok(used.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Drops counters of days before yesterday.
    pub(crate) async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        let before = now_ms.div_euclid(DAY_MS) - 1;
        Ok(on_writer!(&self.db, pool => {
            crate::sql::query("DELETE FROM quota_usage WHERE day < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
