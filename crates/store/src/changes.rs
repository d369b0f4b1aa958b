//! What this instance wrote, and when, for copies of what it reads: every write that changes what
//! a session view shows marks its subject (the session, a job, the quotas) with the next tick of
//! one clock, after the write is committed. A copy read at [`Stamp`] `s` is still true while none
//! of its subjects is marked after `s`. The server's session-view cache (`server::views`) is the
//! reader (docs/adr/0006-session-view-cache.md).
//!
//! Only the embedded store tracks: one SQLite file serves one instance, so every write passes
//! through here. On PostgreSQL other instances write too and nothing is tracked ([`Changes::stamp`]
//! is `None`), so nothing may be copied.
//!
//! Memory is bounded: past [`MARKS_KEPT`] marks they are all forgotten at once and every subject
//! counts as changed at that moment (copies made before it are re-read once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::ids::SessionId;

/// Marks kept (sessions and jobs together) before all are forgotten: about 100 bytes each.
pub const MARKS_KEPT: usize = 20_000;

/// A moment on this instance's write clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

/// The write marks of this instance; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// `None` when nothing is tracked (PostgreSQL).
    inner: Option<Arc<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    clock: AtomicU64,
    marks: Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    sessions: HashMap<SessionId, u64>,
    /// Jobs by id (and any other key `Wakeups` publishes).
    jobs: HashMap<String, u64>,
    quotas: u64,
    /// Every subject without a mark of its own counts as changed at this tick.
    floor: u64,
}

impl Marks {
    fn session(&self, id: &SessionId) -> u64 {
        self.sessions.get(id).copied().unwrap_or(self.floor)
    }

    fn job(&self, id: &str) -> u64 {
        self.jobs.get(id).copied().unwrap_or(self.floor)
    }

    fn forget_if_full(&mut self, tick: u64) {
        if self.sessions.len() + self.jobs.len() > MARKS_KEPT {
            self.sessions.clear();
            self.jobs.clear();
            self.floor = tick;
        }
    }
}

impl Changes {
    /// Tracks writes (the embedded store).
    pub(crate) fn tracked() -> Changes {
        Changes {
            inner: Some(Arc::default()),
        }
    }

    /// Tracks nothing (PostgreSQL: other instances write too).
    pub(crate) fn untracked() -> Changes {
        Changes { inner: None }
    }

    /// Now, to take before reading what will be copied; `None` when nothing may be copied.
    pub fn stamp(&self) -> Option<Stamp> {
        let inner = self.inner.as_ref()?;
        Some(Stamp(inner.clock.load(Ordering::SeqCst)))
    }

    /// True when neither the session, nor the job (if any), nor — with `quotas` — the quota
    /// counters were written after `stamp`.
    pub fn unchanged_since(
        &self,
        stamp: Stamp,
        session: &SessionId,
        job: Option<&str>,
        quotas: bool,
    ) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        let marks = inner.lock();
        marks.session(session) <= stamp.0
            && job.is_none_or(|job| marks.job(job) <= stamp.0)
            && (!quotas || marks.quotas.max(marks.floor) <= stamp.0)
    }

    /// True when the quota counters were not written after `stamp`.
    pub fn quotas_unchanged_since(&self, stamp: Stamp) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        let marks = inner.lock();
        marks.quotas.max(marks.floor) <= stamp.0
    }

    fn mark(&self, change: impl FnOnce(&mut Marks, u64)) {
        if let Some(inner) = &self.inner {
            let mut marks = inner.lock();
            // Ticked under the lock, so a mark is never older than one written before it.
            let tick = inner.clock.fetch_add(1, Ordering::SeqCst) + 1;
            change(&mut marks, tick);
            marks.forget_if_full(tick);
        }
    }

    /// The session's row, its jobs' rows or its references were written (committed).
    pub(crate) fn session(&self, id: &SessionId) {
        self.mark(|marks, tick| {
            marks.sessions.insert(*id, tick);
        });
    }

    /// A job's row (or another key `Wakeups` publishes) was written.
    pub(crate) fn job(&self, id: &str) {
        self.mark(|marks, tick| {
            marks.jobs.insert(id.to_owned(), tick);
        });
    }

    /// A quota counter was written.
    pub(crate) fn quotas(&self) {
        self.mark(|marks, tick| marks.quotas = tick);
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Marks> {
        // Every critical section leaves the marks whole; a poisoned lock holds no half-write.
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_stays_true_until_one_of_its_subjects_is_written() {
        let changes = Changes::tracked();
        let (mine, other) = (SessionId::random(), SessionId::random());
        changes.session(&mine);
        let stamp = changes.stamp().expect("tracked");
        assert!(changes.unchanged_since(stamp, &mine, Some("job-1"), true));

        changes.session(&other);
        changes.job("job-2");
        assert!(changes.unchanged_since(stamp, &mine, Some("job-1"), false));

        changes.job("job-1");
        assert!(!changes.unchanged_since(stamp, &mine, Some("job-1"), false));
        assert!(changes.unchanged_since(stamp, &mine, None, false));

        changes.quotas();
        assert!(!changes.unchanged_since(stamp, &mine, None, true));
        assert!(!changes.quotas_unchanged_since(stamp));
        assert!(changes.unchanged_since(stamp, &mine, None, false));

        changes.session(&mine);
        assert!(!changes.unchanged_since(stamp, &mine, None, false));
        let later = changes.stamp().expect("tracked");
        assert!(changes.unchanged_since(later, &mine, Some("job-1"), true));
    }

    #[test]
    fn forgetting_the_marks_counts_every_subject_as_changed() {
        let changes = Changes::tracked();
        let mine = SessionId::random();
        let stamp = changes.stamp().expect("tracked");
        for i in 0..=MARKS_KEPT {
            changes.job(&format!("job-{i}"));
        }
        // Nothing of `mine` was written, but its mark was forgotten with the rest.
        assert!(!changes.unchanged_since(stamp, &mine, None, false));
        assert!(!changes.quotas_unchanged_since(stamp));
        let after = changes.stamp().expect("tracked");
        assert!(changes.unchanged_since(after, &mine, Some("job-0"), true));
    }

    #[test]
    fn untracked_changes_never_vouch_for_a_copy() {
        let changes = Changes::untracked();
        assert_eq!(changes.stamp(), None);
        let any = Stamp(u64::MAX);
        assert!(!changes.unchanged_since(any, &SessionId::random(), None, false));
        assert!(!changes.quotas_unchanged_since(any));
    }
}
