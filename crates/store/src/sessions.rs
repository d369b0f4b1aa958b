//! Sessions: one row each, the flow state as JSON with a version for compare-and-swap writes.
//! Idle expiry and the session cap are enforced by [`SessionStore::sweep`]; reads also refuse an
//! idle session the sweep has not reached yet, so expiry is exact to the read.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Db, on_db, on_db_by_key, on_writer};
use crate::ids::{SessionId, now_ms};
use crate::jobs::RUNNING;
use crate::{StoreError, wakeups::Wakeups};

/// A stored value with the version a later write must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
    /// Epoch ms until which a copy of this read may stand in for reading again, as far as time
    /// goes: then a read would refresh `touched_at` (which a copy cannot do), or the session
    /// idles out, whichever comes first. Writes are tracked apart (`changes`).
    pub reread_by_ms: i64,
}

/// A write that lost a race: someone else wrote first, or the session is gone. Reload and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session changed underneath this write")]
pub struct Conflict;

/// Reads refresh `touched_at` at most this often, so most reads do not write.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The sessions table.
#[derive(Clone, Debug)]
pub struct SessionStore {
    db: Db,
    wakeups: Wakeups,
    idle_timeout_ms: i64,
    max_sessions: i64,
}

impl SessionStore {
    pub(crate) fn new(
        db: Db,
        wakeups: Wakeups,
        idle_timeout: Duration,
        max_sessions: u64,
    ) -> SessionStore {
        SessionStore {
            db,
            wakeups,
            idle_timeout_ms: i64::try_from(idle_timeout.as_millis()).unwrap_or(i64::MAX),
            max_sessions: i64::try_from(max_sessions).unwrap_or(i64::MAX),
        }
    }

    /// The session, or `None` if unknown or idle too long.
    pub async fn get<T: DeserializeOwned>(
        &self,
        id: &SessionId,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let now = now_ms();
        let key = id.to_hex();
        let read = key.clone();
        let row: Option<(String, i64, i64)> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as("SELECT data, version, touched_at FROM sessions WHERE id = $1")
                .bind(&read)
                .fetch_optional(pool)
                .await?
        });
        let Some((data, version, touched_at)) = row else {
            return Ok(None);
        };
        if now.saturating_sub(touched_at) >= self.idle_timeout_ms {
            return Ok(None);
        }
        let touched_at = if now - touched_at >= TOUCH_EVERY_MS {
            on_writer!(&self.db, pool => {
                crate::sql::query("UPDATE sessions SET touched_at = $1 WHERE id = $2 AND touched_at < $1")
                    .bind(now)
                    .bind(&key)
                    .execute(pool)
                    .await?;
            });
            now
        } else {
            touched_at
        };
        let value = serde_json::from_str(&data).map_err(StoreError::corrupt("session"))?;
        Ok(Some(Versioned {
            value,
            version,
            reread_by_ms: touched_at.saturating_add(TOUCH_EVERY_MS.min(self.idle_timeout_ms)),
        }))
    }

    /// Creates a session; `Err(Conflict)` if the id exists.
    pub async fn create<T: Serialize>(
        &self,
        id: &SessionId,
        value: &T,
    ) -> Result<Result<i64, Conflict>, StoreError> {
        let data = serde_json::to_string(value).map_err(StoreError::corrupt("session"))?;
        let now = now_ms();
        let key = id.to_hex();
        let inserted = on_writer!(&self.db, pool => {
            crate::sql::query(
                "INSERT INTO sessions (id, data, version, created_at, touched_at) \
                 VALUES ($1, $2, 1, $3, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&key)
            .bind(&data)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.wakeups.changes().session(id);
        Ok(if inserted == 1 { Ok(1) } else { Err(Conflict) })
    }

    /// Replaces version `expected` with `value`; returns the new version.
    pub async fn replace<T: Serialize>(
        &self,
        id: &SessionId,
        value: &T,
        expected: i64,
    ) -> Result<Result<i64, Conflict>, StoreError> {
        let data = serde_json::to_string(value).map_err(StoreError::corrupt("session"))?;
        let key = id.to_hex();
        let updated = on_writer!(&self.db, pool => {
            crate::sql::query(
                "UPDATE sessions SET data = $1, version = version + 1, touched_at = $2 \
                 WHERE id = $3 AND version = $4",
            )
            .bind(&data)
            .bind(now_ms())
            .bind(&key)
            .bind(expected)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 1 {
            self.wakeups.changes().session(id);
        }
        Ok(if updated == 1 {
            Ok(expected + 1)
        } else {
            Err(Conflict)
        })
    }

    /// Drops the session and its jobs; true if it existed. A job still running anywhere is told
    /// it is gone, so its instance stops it.
    pub async fn delete(&self, id: &SessionId) -> Result<bool, StoreError> {
        let key = id.to_hex();
        let (running, deleted): (Vec<String>, u64) = on_writer!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let running: Vec<String> = crate::sql::query_scalar(&format!(
                "DELETE FROM jobs WHERE session_id = $1 AND {RUNNING} RETURNING id"
            ))
            .bind(&key)
            .fetch_all(&mut *tx)
            .await?;
            let deleted = crate::sql::query("DELETE FROM sessions WHERE id = $1")
                .bind(&key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            (running, deleted)
        });
        self.wakeups.changes().session(id);
        for job in &running {
            self.wakeups.publish_gone(job).await;
        }
        Ok(deleted > 0)
    }

    /// Live (not idle) sessions.
    pub async fn count(&self) -> Result<u64, StoreError> {
        let since = now_ms().saturating_sub(self.idle_timeout_ms);
        let count: i64 = on_db!(&self.db, pool => {
            crate::sql::query_scalar("SELECT COUNT(*) FROM sessions WHERE touched_at > $1")
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Drops sessions idle for the idle timeout, then the least recently used beyond the cap.
    /// Their jobs go with them (a running one is stopped by its instance's lease renewal).
    /// Returns how many were dropped.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        let idle_before = now_ms.saturating_sub(self.idle_timeout_ms);
        // The ids, so copies of the dropped sessions (`changes`) go stale with them.
        let max_sessions = self.max_sessions;
        let dropped: Vec<String> = on_writer!(&self.db, pool => {
            #[allow(unused_mut)]
            let mut conn = pool.acquire().await?;
            let mut idle: Vec<String> =
                crate::sql::query_scalar("DELETE FROM sessions WHERE touched_at <= $1 RETURNING id")
                    .bind(idle_before)
                    .fetch_all(&mut *conn)
                    .await?;
            let over_cap: Vec<String> = crate::sql::query_scalar(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                 ORDER BY touched_at DESC, id DESC LIMIT $1 OFFSET $2) RETURNING id",
            )
            .bind(i64::MAX)
            .bind(max_sessions)
            .fetch_all(&mut *conn)
            .await?;
            idle.extend(over_cap);
            idle
        });
        for id in dropped.iter().filter_map(|hex| SessionId::from_hex(hex)) {
            self.wakeups.changes().session(&id);
        }
        Ok(dropped.len() as u64)
    }
}
