//! Daily spend limits: generations per session (`QUOTA_PER_SESSION_DAY`) and for the whole
//! instance (`QUOTA_GLOBAL_DAY`), counted for generations that reach a live provider. Days are UTC.
//! One mutex makes check-and-count a single step, so the limit holds exactly under concurrency.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use contracts::QuotaView;

use crate::session::cookie::SessionId;

const DAY_SECS: u64 = 86_400;

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

pub struct Quotas {
    per_session: Option<u32>,
    global: Option<u32>,
    used: Mutex<Used>,
}

#[derive(Default)]
struct Used {
    day: u64,
    global: u32,
    /// Cleared each day, so it holds at most one day's sessions.
    sessions: HashMap<SessionId, u32>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Quotas {
    /// `None` means no limit of that kind.
    pub fn new(per_session: Option<u32>, global: Option<u32>) -> Quotas {
        Quotas {
            per_session,
            global,
            used: Mutex::new(Used::default()),
        }
    }

    fn used_today(&self, now: u64) -> std::sync::MutexGuard<'_, Used> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.day != now / DAY_SECS {
            *used = Used {
                day: now / DAY_SECS,
                ..Used::default()
            };
        }
        used
    }

    /// Counts one generation for `session`, or refuses it when a limit is reached.
    pub fn take(&self, session: &SessionId) -> Result<(), QuotaExceeded> {
        self.take_at(session, now_secs())
    }

    fn take_at(&self, session: &SessionId, now: u64) -> Result<(), QuotaExceeded> {
        let mut used = self.used_today(now);
        let resets_in = Duration::from_secs(DAY_SECS - now % DAY_SECS);
        if let Some(limit) = self.global.filter(|&l| used.global >= l) {
            return Err(QuotaExceeded {
                scope: Scope::Global,
                limit,
                resets_in,
            });
        }
        let mine = used.sessions.get(session).copied().unwrap_or(0);
        if let Some(limit) = self.per_session.filter(|&l| mine >= l) {
            return Err(QuotaExceeded {
                scope: Scope::Session,
                limit,
                resets_in,
            });
        }
        used.global += 1;
        used.sessions.insert(*session, mine + 1);
        Ok(())
    }

    /// Gives back a generation counted by [`Quotas::take`] that did not start.
    pub fn refund(&self, session: &SessionId) {
        let mut used = self.used_today(now_secs());
        used.global = used.global.saturating_sub(1);
        if let Some(mine) = used.sessions.get_mut(session) {
            *mine = mine.saturating_sub(1);
        }
    }

    /// What is left today, for the UI next to the Generate button; `None` without limits.
    pub fn left(&self, session: &SessionId) -> Option<QuotaView> {
        if self.per_session.is_none() && self.global.is_none() {
            return None;
        }
        let now = now_secs();
        let used = self.used_today(now);
        let mine = used.sessions.get(session).copied().unwrap_or(0);
        Some(QuotaView {
            session_left: self.per_session.map(|l| l.saturating_sub(mine)),
            global_left: self.global.map(|l| l.saturating_sub(used.global)),
            resets_in_secs: DAY_SECS - now % DAY_SECS,
        })
    }

    /// Generations counted today across the instance (for metrics).
    pub fn used_globally(&self) -> u32 {
        self.used_today(now_secs()).global
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: u64 = 20_000 * DAY_SECS + DAY_SECS / 2;

    #[test]
    fn each_session_has_its_own_limit_and_all_share_the_global_one() {
        let q = Quotas::new(Some(2), Some(3));
        let (a, b) = (SessionId::random(), SessionId::random());
        assert!(q.take_at(&a, NOON).is_ok() && q.take_at(&a, NOON).is_ok());
        let refused = q.take_at(&a, NOON).expect_err("a used its 2");
        assert_eq!((refused.scope, refused.limit), (Scope::Session, 2));
        assert_eq!(refused.resets_in, Duration::from_secs(DAY_SECS / 2));
        assert!(q.take_at(&b, NOON).is_ok());
        let refused = q.take_at(&b, NOON).expect_err("3 used in all");
        assert_eq!(refused.scope, Scope::Global);
    }

    #[test]
    fn a_new_utc_day_starts_from_zero() {
        let q = Quotas::new(Some(1), None);
        let a = SessionId::random();
        assert!(q.take_at(&a, NOON).is_ok());
        assert!(q.take_at(&a, NOON).is_err());
        assert!(q.take_at(&a, NOON + DAY_SECS).is_ok());
    }

    #[test]
    fn a_refund_gives_the_generation_back() {
        let q = Quotas::new(Some(1), Some(1));
        let a = SessionId::random();
        q.take(&a).expect("first");
        q.refund(&a);
        assert!(q.take(&a).is_ok());
        let left = q.left(&a).expect("limits set");
        assert_eq!((left.session_left, left.global_left), (Some(0), Some(0)));
    }

    #[test]
    fn no_limits_means_nothing_to_show() {
        let q = Quotas::new(None, None);
        assert!(q.left(&SessionId::random()).is_none());
        assert!(q.take(&SessionId::random()).is_ok());
    }
}
