//! Session views kept in this instance's memory, so `GET /api/session` (and `/resume`) answers
//! without a store round trip: each session's view as JSON, exactly as the store last showed it.
//! A copy is served only while it is still true: no write to what it shows since it was read (the
//! store's write marks, `store::changes`: the session's row, its jobs, its references; the
//! unfinished job it shows, whose stages and end are written by a background task), the session
//! not yet due its once-a-minute touch nor idle past its timeout. Otherwise the view is read again
//! and kept. The quota figures are kept apart, per session and client address, because any
//! session's spending changes them (the global limit); a copy of them is true until any quota
//! counter is written, for its UTC day only, and its `resetsInSecs` is always counted fresh.
//!
//! Only on the embedded store, where every write passes through this instance; on PostgreSQL
//! other instances write too, nothing is kept and every view is read
//! (docs/adr/0006-session-view-cache.md).
//!
//! Memory is bounded: at most [`VIEW_BYTES`] of view JSON and [`QUOTAS_KEPT`] quota figures
//! (quick_cache, which evicts the least used first), besides the store's write marks.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use contracts::QuotaView;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use store::SessionId;
use store::changes::{Changes, Stamp};

/// View JSON kept at most (each view's bytes plus [`ENTRY_OVERHEAD`]): a session's view is
/// a few KiB with one image, about 40 KiB with the hundred a view lists at most.
pub const VIEW_BYTES: u64 = 64 * 1024 * 1024;
/// What one kept view costs besides its JSON (the key, the entry, the job id), counted against
/// [`VIEW_BYTES`].
const ENTRY_OVERHEAD: u64 = 160;
/// Quota figures kept at most (about 150 bytes each).
pub const QUOTAS_KEPT: usize = 20_000;

/// One session's view as read at `stamp`.
struct KeptView {
    stamp: Stamp,
    /// The unfinished job the view shows, if any: its progress and end change the view.
    running_job: Option<Box<str>>,
    /// Read again from then on (`store::sessions::Versioned::reread_by_ms`).
    reread_by_ms: i64,
    json: Bytes,
}

#[derive(Clone)]
struct ByJsonSize;

impl Weighter<SessionId, Arc<KeptView>> for ByJsonSize {
    fn weight(&self, _: &SessionId, view: &Arc<KeptView>) -> u64 {
        view.json.len() as u64 + ENTRY_OVERHEAD
    }
}

/// A session's quota figures for one client address, as read at `stamp` on UTC day `day`.
#[derive(Clone)]
struct KeptQuota {
    stamp: Stamp,
    day: i64,
    quota: Option<QuotaView>,
}

/// The kept views and quota figures of this instance.
pub struct SessionViews {
    changes: Changes,
    views: Cache<SessionId, Arc<KeptView>, ByJsonSize>,
    quotas: Cache<(SessionId, IpAddr), KeptQuota>,
}

impl SessionViews {
    /// Keeps copies while `changes` tracks writes (the embedded store); else keeps nothing.
    pub fn new(changes: Changes) -> SessionViews {
        SessionViews {
            changes,
            views: Cache::with_weighter(
                usize::try_from(VIEW_BYTES / 2048).unwrap_or(usize::MAX),
                VIEW_BYTES,
                ByJsonSize,
            ),
            quotas: Cache::new(QUOTAS_KEPT),
        }
    }

    /// The moment to take before reading what [`SessionViews::keep`] will keep; `None` when
    /// nothing is kept (PostgreSQL).
    pub fn stamp(&self) -> Option<Stamp> {
        self.changes.stamp()
    }

    /// The session's view JSON (without quota), if a copy is still true at `now_ms`.
    pub fn view(&self, id: &SessionId, now_ms: i64) -> Option<Bytes> {
        let kept = self.views.get(id)?;
        let true_still = now_ms < kept.reread_by_ms
            && self
                .changes
                .unchanged_since(kept.stamp, id, kept.running_job.as_deref(), false);
        true_still.then(|| kept.json.clone())
    }

    /// Keeps the view JSON read after `stamp`.
    pub fn keep(
        &self,
        id: SessionId,
        stamp: Stamp,
        running_job: Option<&str>,
        reread_by_ms: i64,
        json: Bytes,
    ) {
        let kept = KeptView {
            stamp,
            running_job: running_job.map(Box::from),
            reread_by_ms,
            json,
        };
        self.views.insert(id, Arc::new(kept));
    }

    /// The quota figures of the session for `client`, if a copy is still true at `now_ms`, with
    /// `resetsInSecs` counted from `now_ms`.
    pub fn quota(&self, id: &SessionId, client: IpAddr, now_ms: i64) -> Option<Option<QuotaView>> {
        let kept = self.quotas.get(&(*id, client))?;
        let true_still = kept.day == store::quotas::day_of(now_ms)
            && self.changes.quotas_unchanged_since(kept.stamp);
        true_still.then(|| {
            kept.quota.map(|quota| QuotaView {
                resets_in_secs: store::quotas::resets_in_secs(now_ms),
                ..quota
            })
        })
    }

    /// Keeps the quota figures read after `stamp`, on the UTC day of `now_ms`.
    pub fn keep_quota(
        &self,
        id: SessionId,
        client: IpAddr,
        stamp: Stamp,
        now_ms: i64,
        quota: Option<QuotaView>,
    ) {
        let kept = KeptQuota {
            stamp,
            day: store::quotas::day_of(now_ms),
            quota,
        };
        self.quotas.insert((id, client), kept);
    }
}
