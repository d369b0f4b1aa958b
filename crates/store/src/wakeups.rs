//! Each job's own wake-up: long-polls wait on the job they care about, and the instance running a
//! job learns when it is gone (start over anywhere). The keys are plain strings, so other
//! records that several instances wait on (a session's speculative prompt) use them too. In process this is one `watch` channel per
//! watched job; on PostgreSQL every change is also sent with `NOTIFY`, and each instance's
//! `LISTEN` task passes it on to its own watchers, so a long-poll on one instance wakes when a
//! job on another moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use crate::changes::Changes;

/// The `LISTEN`/`NOTIFY` channel. Payloads are `changed:<job id>` or `gone:<job id>`.
const CHANNEL: &str = "refinery_jobs";

/// What a watcher of one job sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signal {
    /// Bumped on every change.
    pub changes: u64,
    /// Bumped on every change that may have ended the job: its end written here, and any change
    /// announced by another instance (whose notice does not say). A long-poll that waits only
    /// for the end reads the job again on these, not at every stage.
    pub may_have_ended: u64,
    /// The job's row was deleted (its session was dropped).
    pub gone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A stage or progress: the job is still running.
    Changed,
    /// Its status may be final.
    Ended,
    Gone,
}

/// The registry of watched jobs, and the PostgreSQL link when there is one.
#[derive(Clone, Debug)]
pub struct Wakeups {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    channels: Mutex<HashMap<String, watch::Sender<Signal>>>,
    postgres: Option<PgPool>,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
    /// Every key published is also a write mark (`changes`), so copies of what it names go stale.
    changes: Changes,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .listener
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// A subscription to one job. Dropping it forgets the job once nobody else watches it.
#[derive(Debug)]
pub struct JobWatch {
    receiver: watch::Receiver<Signal>,
    /// `may_have_ended` as of the subscription or the last [`JobWatch::ended`].
    ended_seen: u64,
    job_id: String,
    wakeups: Wakeups,
}

impl JobWatch {
    /// Resolves at the job's next change (or at once if one happened since the last call).
    pub async fn changed(&mut self) {
        // The sender lives in the registry as long as this receiver does.
        let _ = self.receiver.changed().await;
    }

    /// Resolves at the job's next change that may have ended it, or once it is gone (or at once
    /// if one happened since the subscription or the last call).
    pub async fn ended(&mut self) {
        let seen = self.ended_seen;
        if let Ok(signal) = self
            .receiver
            .wait_for(|s| s.gone || s.may_have_ended != seen)
            .await
        {
            self.ended_seen = signal.may_have_ended;
        }
    }

    /// Resolves once the job is gone.
    pub async fn gone(&mut self) {
        let _ = self.receiver.wait_for(|s| s.gone).await;
    }
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        let mut channels = self.wakeups.lock();
        // This receiver still counts: 1 means nobody else watches.
        if channels
            .get(&self.job_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.job_id);
        }
    }
}

impl Wakeups {
    /// In-process only (SQLite: one instance), marking each key published in `changes`.
    pub(crate) fn local(changes: Changes) -> Wakeups {
        Wakeups {
            inner: Arc::new(Inner {
                channels: Mutex::default(),
                postgres: None,
                listener: Mutex::default(),
                changes,
            }),
        }
    }

    /// Shared through PostgreSQL: starts this instance's `LISTEN` task.
    pub(crate) async fn postgres(pool: PgPool) -> Result<Wakeups, sqlx::Error> {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let wakeups = Wakeups {
            inner: Arc::new(Inner {
                channels: Mutex::default(),
                postgres: Some(pool),
                listener: Mutex::default(),
                changes: Changes::untracked(),
            }),
        };
        let task = tokio::spawn(listen(listener, Arc::downgrade(&wakeups.inner)));
        *wakeups.lock_listener() = Some(task.abort_handle());
        Ok(wakeups)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Signal>>> {
        // Every critical section is a single map operation, so a poisoned lock holds no half-write.
        self.inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn lock_listener(&self) -> std::sync::MutexGuard<'_, Option<tokio::task::AbortHandle>> {
        self.inner
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Watches `job_id`. Subscribe before reading the job, so a change in between is not missed.
    pub fn watch(&self, job_id: &str) -> JobWatch {
        let receiver = self
            .lock()
            .entry(job_id.to_owned())
            .or_insert_with(|| watch::Sender::new(Signal::default()))
            .subscribe();
        let ended_seen = receiver.borrow().may_have_ended;
        JobWatch {
            ended_seen,
            receiver,
            job_id: job_id.to_owned(),
            wakeups: self.clone(),
        }
    }

    /// Stops this instance's `LISTEN` task (at shutdown: it holds a pooled connection).
    pub(crate) fn stop_listening(&self) {
        if let Some(task) = self.lock_listener().take() {
            task.abort();
        }
    }

    /// Jobs someone watches in this process.
    pub fn watched(&self) -> usize {
        self.lock().len()
    }

    /// Tells every watcher, on every instance, that the job changed. Any key works the same way:
    /// the server also wakes the waiters of a session's speculative prompt with it.
    pub async fn publish_changed(&self, job_id: &str) {
        self.publish(job_id, Event::Changed).await;
    }

    /// Tells every watcher, on every instance, that the job changed and may have ended.
    pub(crate) async fn publish_ended(&self, job_id: &str) {
        self.publish(job_id, Event::Ended).await;
    }

    /// Tells every watcher, on every instance, that the job's row is gone.
    pub(crate) async fn publish_gone(&self, job_id: &str) {
        self.publish(job_id, Event::Gone).await;
    }

    /// The write marks of this instance (the writes that publish nothing mark here directly).
    pub(crate) fn changes(&self) -> &Changes {
        &self.inner.changes
    }

    async fn publish(&self, job_id: &str, event: Event) {
        // Called after the write it announces, so the mark is never older than the write.
        self.inner.changes.job(job_id);
        self.deliver(job_id, event);
        let Some(pool) = &self.inner.postgres else {
            return;
        };
        // Another instance hears any change as one that may have ended the job: the notice
        // reads the same from instances of an earlier version.
        let kind = match event {
            Event::Changed | Event::Ended => "changed",
            Event::Gone => "gone",
        };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{kind}:{job_id}"))
            .execute(pool)
            .await;
        if let Err(e) = sent {
            // Watchers elsewhere still re-read at their deadline or the job's lease end.
            tracing::warn!(error = %e, "could not notify other instances of a job change");
        }
    }

    fn deliver(&self, job_id: &str, event: Event) {
        if let Some(sender) = self.lock().get(job_id) {
            sender.send_modify(|s| {
                s.changes += 1;
                if event != Event::Changed {
                    s.may_have_ended += 1;
                }
                s.gone |= event == Event::Gone;
            });
        }
    }

    /// Wakes every watcher (after a lost connection may have dropped notifications).
    fn wake_all(&self) {
        for sender in self.lock().values() {
            sender.send_modify(|s| {
                s.changes += 1;
                s.may_have_ended += 1;
            });
        }
    }
}

/// This instance's `LISTEN` loop. sqlx reconnects a dropped listener by itself; `try_recv`
/// reports the drop as `None`, and then every watcher re-reads in case a notice was lost.
async fn listen(mut listener: PgListener, inner: Weak<Inner>) {
    loop {
        let received = listener.try_recv().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let wakeups = Wakeups { inner };
        match received {
            Ok(Some(notification)) => {
                let payload = notification.payload();
                match payload.split_once(':') {
                    Some(("changed", job)) => wakeups.deliver(job, Event::Ended),
                    Some(("gone", job)) => wakeups.deliver(job, Event::Gone),
                    _ => tracing::debug!(payload, "ignored an unknown job notification"),
                }
            }
            Ok(None) => {
                tracing::warn!("lost the database notification link; reconnecting");
                wakeups.wake_all();
            }
            Err(e) => {
                tracing::warn!(error = %e, "job notifications failed; retrying in 1 s");
                drop(wakeups);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
