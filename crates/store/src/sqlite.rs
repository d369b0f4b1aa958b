//! SQLite's connections, each served by a thread of its own: one writer that makes every write,
//! and readers (read-only) that share the reads. In WAL mode readers never wait for the writer.
//! Each thread owns its [`Connection`] (rusqlite) and runs the statements on it itself.
//!
//! SQLite lets one writer in at a time. Writes from several pooled connections wait for its lock
//! in the busy handler's sleeps (1 to 100 ms each, however soon the lock comes free). And a pooled
//! connection changes hands through the server's task scheduler: each query's hand-over (the
//! acquire, the query, the pool's ping on release in a task of its own, the next waiter woken)
//! waits behind every other task that is ready, hundreds of them when a thousand generations
//! start at once, so a busy server ran a few thousand queries a second with its CPUs half idle.
//! Here a query is a closure sent to a thread that runs nothing else, and only its answer goes
//! back through the scheduler. The writer runs the writes queued for it back to back and commits
//! the ones that arrived together in one transaction, then tells each caller
//! ([ADR 0008](../../../docs/adr/0008-sqlite-connection-threads.md)). A thread of its own copies
//! the WAL into the database file, so no commit waits for that
//! ([ADR 0011](../../../docs/adr/0011-sqlite-checkpoints-off-the-writer.md)).
//! A query that panics fails for its caller (and a write's batch is undone), and the thread
//! goes on serving.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sqlx::Error;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

mod connection;

pub(crate) use connection::{Connection, Options};

/// Writes committed together at most: a burst is cut into transactions of this many, so a
/// caller early in a long queue hears back without waiting for the whole queue.
const MAX_BATCH: usize = 256;

/// How long a read waits for a reader thread before it fails (as a pool's acquire would).
const READ_WAIT: Duration = Duration::from_secs(10);

/// The checkpointer copies the WAL into the database file once the writer has committed
/// nothing for this long...
const CHECKPOINT_WHEN_IDLE: Duration = Duration::from_millis(200);

/// ...or, while commits keep coming, this long after the first it has not copied yet.
const CHECKPOINT_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// WAL pages (4 KiB each) past which the writer's own commit checkpoints: a backstop, should
/// the checkpointer fall behind (SQLite's default is 1,000).
const CHECKPOINT_PAGES: u32 = 10_000;

/// Tells a caller how its write ended, once its transaction did (`None`: committed).
type Deliver = Box<dyn FnOnce(Option<&Error>) + Send>;

/// One caller's write: run on the writer's connection inside the batch's transaction; true
/// when it failed (its own statements are undone; the batch is committed up to it).
type Op = Box<
    dyn for<'c> FnOnce(&'c mut Connection) -> Pin<Box<dyn Future<Output = (Deliver, bool)> + 'c>>
        + Send,
>;

enum Message {
    Write(Op),
    /// Commit what is queued before it, close the connection, answer.
    Close(oneshot::Sender<()>),
}

/// A handle on the writer thread; clones share it. The thread ends with the last handle.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Message>,
}

impl Writer {
    /// Opens the writer's connection and the checkpointer's (the file must exist:
    /// [`crate::db`] makes and migrates it) and starts their threads.
    pub(crate) async fn open(options: Options) -> Result<Writer, Error> {
        let (queue, messages) = mpsc::unbounded_channel();
        let (committed, commits) = watch::channel(());
        spawn(
            "sqlite-checkpointer".into(),
            options.clone(),
            async move |connection| checkpoint_after_commits(connection, commits).await,
        )
        .await?;
        spawn("sqlite-writer".into(), options, async move |mut connection| {
            if let Err(e) = connection.checkpoint_past(CHECKPOINT_PAGES) {
                tracing::warn!(error = %e, "the SQLite writer keeps SQLite's own checkpoint threshold");
            }
            serve(connection, messages, committed).await;
        })
        .await?;
        Ok(Writer { queue })
    }

    /// Runs `write` on the writer's connection and answers once it is committed. Its statements
    /// run one after the other with no other write between them; several that must stand or fall
    /// together take a transaction of their own (`connection.begin()`, a savepoint here).
    pub(crate) async fn run<R, F>(&self, write: F) -> Result<R, Error>
    where
        F: AsyncFnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<R, Error>>();
        let op: Op = Box::new(move |connection: &mut Connection| {
            Box::pin(async move {
                match write(connection).await {
                    Ok(value) => {
                        let deliver: Deliver = Box::new(move |failed: Option<&Error>| {
                            let _ = answer.send(match failed {
                                None => Ok(value),
                                Some(e) => Err(not_committed(e)),
                            });
                        });
                        (deliver, false)
                    }
                    Err(e) => {
                        let deliver: Deliver = Box::new(move |_| {
                            let _ = answer.send(Err(e));
                        });
                        (deliver, true)
                    }
                }
            })
        });
        self.queue.send(Message::Write(op)).map_err(|_| stopped())?;
        // A write the thread dropped unrun (its transaction could not begin) answers nothing.
        answered.await.map_err(|_| stopped())?
    }

    /// Commits what is queued, closes the connection and ends the thread (at shutdown, after
    /// the last write; a write after it fails).
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

fn stopped() -> Error {
    Error::Io(std::io::Error::other(
        "the SQLite connection's thread stopped",
    ))
}

fn not_committed(e: &Error) -> Error {
    Error::Io(std::io::Error::other(format!(
        "the write was not committed: {e}"
    )))
}

/// The writer thread's loop: takes what is queued (up to [`MAX_BATCH`]), runs it and tells the
/// checkpointer.
async fn serve(
    mut connection: Connection,
    mut messages: mpsc::UnboundedReceiver<Message>,
    committed: watch::Sender<()>,
) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    while messages.recv_many(&mut received, MAX_BATCH).await > 0 {
        let mut writes = VecDeque::with_capacity(received.len());
        let mut close = None;
        for message in received.drain(..) {
            match message {
                Message::Write(op) => writes.push_back(op),
                Message::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
        }
        if !writes.is_empty() {
            while !writes.is_empty() {
                commit_some(&mut connection, &mut writes).await;
            }
            committed.send_replace(());
        }
        if let Some(done) = close {
            messages.close();
            drop(connection);
            let _ = done.send(());
            return;
        }
    }
}

/// Runs writes from the front of `writes` in one transaction, up to and including the first
/// that fails, commits them and tells their callers.
async fn commit_some(connection: &mut Connection, writes: &mut VecDeque<Op>) {
    // IMMEDIATE: the write lock is taken at once, so no statement in the batch waits for it.
    if let Err(e) = connection.begin_batch() {
        tracing::error!(error = %e, writes = writes.len(), "the SQLite writer could not begin a transaction");
        // Dropped unrun: each caller hears that the writer could not take it.
        writes.clear();
        return;
    }
    let mut done: Vec<Deliver> = Vec::new();
    let mut failed_last = None;
    while let Some(op) = writes.pop_front() {
        // A write that panics must not end the thread, or every later write would fail. Its
        // statements so far cannot be told apart from the batch's, so the batch is undone: each
        // caller hears its write was not committed (the panicking one, that the thread dropped it).
        let Ok((deliver, failed)) = AssertUnwindSafe(op(&mut *connection)).catch_unwind().await
        else {
            tracing::error!(
                writes = done.len() + 1,
                "a SQLite write panicked; its batch is undone"
            );
            let undone = connection.end_batch(false).err().unwrap_or_else(|| {
                Error::Io(std::io::Error::other("a write in the same batch panicked"))
            });
            for deliver in done {
                deliver(Some(&undone));
            }
            return;
        };
        if failed {
            // SQLite undoes the statement that failed, and a savepoint the write took is rolled
            // back with it; what ran before is committed, as it would have been one by one.
            failed_last = Some(deliver);
            break;
        }
        done.push(deliver);
    }
    let committed = connection.end_batch(true);
    if let Err(e) = &committed {
        tracing::error!(error = %e, writes = done.len(), "the SQLite writer could not commit");
    }
    for deliver in done {
        deliver(committed.as_ref().err());
    }
    if let Some(deliver) = failed_last {
        deliver(None);
    }
}

/// The checkpointer thread's loop: after commits, once the writer pauses (or at least every
/// [`CHECKPOINT_AT_LEAST_EVERY`] while it does not), copies the WAL into the database file on a
/// connection of its own, so no write waits for the copy. Ends, after a last copy, with the
/// writer.
async fn checkpoint_after_commits(mut connection: Connection, mut commits: watch::Receiver<()>) {
    while commits.changed().await.is_ok() {
        let first = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(CHECKPOINT_WHEN_IDLE) => break,
                more = commits.changed() => {
                    if more.is_err() || first.elapsed() >= CHECKPOINT_AT_LEAST_EVERY {
                        break;
                    }
                }
            }
        }
        if let Err(e) = connection.checkpoint() {
            tracing::warn!(error = %e, "the SQLite checkpointer could not copy the WAL");
        }
    }
}

/// One caller's read, run on a reader's connection; it answers the caller itself.
type Read =
    Box<dyn for<'c> FnOnce(&'c mut Connection) -> Pin<Box<dyn Future<Output = ()> + 'c>> + Send>;

/// Handles on the reader threads, and the connections lent for reads by key; clones share
/// them. The threads end with the last handle.
#[derive(Clone, Debug)]
pub(crate) struct Readers {
    queue: mpsc::UnboundedSender<Read>,
    /// Read-only connections a read by key borrows to run on its caller's thread: one per CPU,
    /// as many as the server's runtime has workers, so each worker finds one.
    spare: Arc<std::sync::Mutex<Vec<Connection>>>,
}

impl Readers {
    /// Opens `count` read-only connections with `options`, a thread each, and one more per CPU
    /// to lend.
    pub(crate) async fn open(options: Options, count: u32) -> Result<Readers, Error> {
        let options = Options {
            read_only: true,
            ..options
        };
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let spare = (0..cpus)
            .map(|_| Connection::open(&options))
            .collect::<Result<Vec<_>, _>>()?;
        let (queue, reads) = mpsc::unbounded_channel::<Read>();
        let reads = Arc::new(Mutex::new(reads));
        for n in 0..count.max(1) {
            let reads = Arc::clone(&reads);
            spawn(
                format!("sqlite-reader-{n}"),
                options.clone(),
                async move |mut connection| {
                    loop {
                        // The lock is held only while this thread waits for the next read.
                        let next = reads.lock().await.recv().await;
                        let Some(read) = next else { break };
                        // A read that panics is dropped unanswered (its caller hears the
                        // thread stopped); the thread goes on serving the others.
                        if AssertUnwindSafe(read(&mut connection))
                            .catch_unwind()
                            .await
                            .is_err()
                        {
                            tracing::error!("a SQLite read panicked");
                        }
                    }
                    drop(connection);
                },
            )
            .await?;
        }
        Ok(Readers {
            queue,
            spare: Arc::new(std::sync::Mutex::new(spare)),
        })
    }

    /// Runs `read` on a reader's connection.
    pub(crate) async fn run<R, F>(&self, read: F) -> Result<R, Error>
    where
        F: AsyncFnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<R, Error>>();
        let op: Read = Box::new(move |connection: &mut Connection| {
            Box::pin(async move {
                let _ = answer.send(read(connection).await);
            })
        });
        self.queue.send(op).map_err(|_| stopped())?;
        match tokio::time::timeout(READ_WAIT, answered).await {
            Ok(answer) => answer.map_err(|_| stopped())?,
            Err(_) => Err(Error::PoolTimedOut),
        }
    }

    /// How many connections are free to lend.
    #[cfg(test)]
    pub(crate) fn lendable(&self) -> usize {
        self.spare.lock().map_or(0, |spare| spare.len())
    }

    /// Runs `read`, a read of a few rows found by key, on the caller's thread with a lent
    /// connection, or on a reader's thread when none is free. Such a read takes tens of
    /// microseconds, less than the two thread hand-overs it saves; and in a busy server the
    /// caller, once answered from another thread, waits behind every task that is ready (34-145
    /// ms a read in a burst of 1,000 generations, docs/operations.md), where here it goes on at
    /// once. Reads that scan a table stay on the readers' threads ([`Readers::run`]).
    pub(crate) async fn run_here<R, F>(&self, read: F) -> Result<R, Error>
    where
        F: AsyncFnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let lent = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let mut lent = Lent {
            connection: lent,
            spare: &self.spare,
        };
        let Some(connection) = lent.connection.as_mut() else {
            return self.run(read).await;
        };
        // SQLite's statements are synchronous: this completes in the one poll.
        match AssertUnwindSafe(read(connection)).catch_unwind().await {
            Ok(answer) => answer,
            Err(_) => {
                // The connection's state is unknown: it is closed, not lent again.
                lent.connection = None;
                tracing::error!("a SQLite read panicked");
                Err(stopped())
            }
        }
    }
}

/// A connection lent from [`Readers::spare`]; it goes back when dropped, unless a read panicked
/// on it.
struct Lent<'a> {
    connection: Option<Connection>,
    spare: &'a std::sync::Mutex<Vec<Connection>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let (Some(connection), Ok(mut spare)) = (self.connection.take(), self.spare.lock()) {
            spare.push(connection);
        }
    }
}

/// Starts a thread named `name` that opens a connection with `options`, then serves with
/// `serve` until it returns; answers once the connection is ready.
async fn spawn<S, F>(name: String, options: Options, serve: S) -> Result<(), Error>
where
    S: FnOnce(Connection) -> F + Send + 'static,
    F: Future<Output = ()>,
{
    let (ready, opened) = oneshot::channel();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            // The connection's work is synchronous; the runtime only waits for the next query
            // and runs the store's query blocks, which are written as async for PostgreSQL.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(Error::Io(e)));
                    return;
                }
            };
            let connection = match Connection::open(&options) {
                Ok(connection) => connection,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            runtime.block_on(serve(connection));
        })
        .map_err(Error::Io)?;
    opened.await.map_err(|_| stopped())?
}
