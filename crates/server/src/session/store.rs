//! Where session state lives, behind [`SessionStore`] so a shared store (Redis) can replace the
//! in-memory one. Updates are compare-and-swap on a version number, which Redis can do with
//! WATCH/MULTI, so two requests on one session never silently overwrite each other.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lru::LruCache;

use super::SessionData;
use super::cookie::SessionId;

/// A stored value with the version a later write must name.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// Someone else wrote first (or the session was dropped); reload and retry.
    #[error("the session changed underneath this write")]
    Conflict,
}

/// Session persistence.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The session, or `None` if unknown or expired.
    async fn get(&self, id: &SessionId) -> Option<Versioned<SessionData>>;
    /// Writes `data`. `expected: None` creates a new session; `Some(v)` replaces version `v`.
    async fn put(
        &self,
        id: &SessionId,
        data: SessionData,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
    /// Drops the session; true if it existed.
    async fn delete(&self, id: &SessionId) -> bool;
    /// Live sessions.
    async fn count(&self) -> usize;
}

struct Entry {
    data: SessionData,
    version: u64,
    touched: Instant,
}

/// In-process store: bounded in count (least recently used dropped first) and idle time.
pub struct MemoryStore {
    entries: Mutex<LruCache<SessionId, Entry>>,
    idle_timeout: Duration,
}

impl MemoryStore {
    pub fn new(max_sessions: usize, idle_timeout: Duration) -> MemoryStore {
        MemoryStore {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(max_sessions).unwrap_or(NonZeroUsize::MIN),
            )),
            idle_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<SessionId, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written: writes are single inserts.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops idle sessions from the cold end. The LRU order is the idle order, so this stops at the first live one.
    fn sweep(&self, entries: &mut LruCache<SessionId, Entry>, now: Instant) {
        while entries
            .peek_lru()
            .is_some_and(|(_, e)| now.duration_since(e.touched) >= self.idle_timeout)
        {
            entries.pop_lru();
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn get(&self, id: &SessionId) -> Option<Versioned<SessionData>> {
        let now = Instant::now();
        let mut entries = self.lock();
        self.sweep(&mut entries, now);
        let entry = entries.get_mut(id)?;
        entry.touched = now;
        Some(Versioned {
            value: entry.data.clone(),
            version: entry.version,
        })
    }

    async fn put(
        &self,
        id: &SessionId,
        data: SessionData,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut entries = self.lock();
        self.sweep(&mut entries, now);
        let current = entries.peek(id).map(|e| e.version);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        let version = expected.map_or(1, |v| v + 1);
        // At capacity, `push` evicts the least recently used session.
        entries.push(
            *id,
            Entry {
                data,
                version,
                touched: now,
            },
        );
        Ok(version)
    }

    async fn delete(&self, id: &SessionId) -> bool {
        self.lock().pop(id).is_some()
    }

    async fn count(&self) -> usize {
        let mut entries = self.lock();
        self.sweep(&mut entries, Instant::now());
        entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(idea: &str) -> SessionData {
        SessionData::new("general-cinematic".into(), idea.into())
    }

    #[tokio::test]
    async fn writes_must_name_the_version_they_read() {
        let store = MemoryStore::new(10, Duration::from_secs(60));
        let id = SessionId::random();
        assert_eq!(store.put(&id, data("a"), None).await, Ok(1));
        assert_eq!(
            store.put(&id, data("b"), None).await,
            Err(StoreError::Conflict)
        );
        assert_eq!(store.put(&id, data("b"), Some(1)).await, Ok(2));
        assert_eq!(
            store.put(&id, data("c"), Some(1)).await,
            Err(StoreError::Conflict)
        );
        let got = store.get(&id).await.expect("present");
        assert_eq!((got.value.idea.as_str(), got.version), ("b", 2));
    }

    #[tokio::test]
    async fn the_least_recently_used_session_is_dropped_at_capacity() {
        let store = MemoryStore::new(2, Duration::from_secs(60));
        let (a, b, c) = (
            SessionId::random(),
            SessionId::random(),
            SessionId::random(),
        );
        store.put(&a, data("a"), None).await.expect("a");
        store.put(&b, data("b"), None).await.expect("b");
        store.get(&a).await.expect("touch a");
        store.put(&c, data("c"), None).await.expect("c");
        assert!(store.get(&b).await.is_none(), "b was the oldest");
        assert!(store.get(&a).await.is_some() && store.get(&c).await.is_some());
        assert_eq!(store.count().await, 2);
    }

    #[tokio::test]
    async fn idle_sessions_expire() {
        let store = MemoryStore::new(10, Duration::ZERO);
        let id = SessionId::random();
        store.put(&id, data("a"), None).await.expect("a");
        assert!(store.get(&id).await.is_none());
        assert_eq!(store.count().await, 0);
    }
}
