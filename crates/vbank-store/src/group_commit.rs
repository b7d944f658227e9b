//! Group commit for SQLite: many writers' transactions in one durable commit.
//!
//! With `synchronous=FULL` every commit waits for the disk, and SQLite has one writer, so
//! one commit per request caps the whole server at the disk's fsync rate. Here one thread
//! owns the write connection. Writers queue jobs; the thread takes every job waiting,
//! runs each inside its own savepoint of a single `BEGIN IMMEDIATE` transaction, commits
//! once, and only then answers each job. A job that fails is rolled back to its
//! savepoint alone; a commit that fails fails every job of the batch. No job is
//! acknowledged before the commit that holds it is on disk.
//!
//! Jobs run one after another on the one connection, so each sees the writes of the jobs
//! before it: the serial order SQLite's single writer always gave. They run on the
//! thread itself, statement after statement, with no hand-off between them.

use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokio::sync::{mpsc, oneshot};

/// The most jobs one commit holds; bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 512;
/// Writers waiting beyond this wait for room in the queue (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// Sends a job's answer once its batch's fate is known: `None` committed, or why not.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write job: runs on the connection and says whether it succeeded.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

#[derive(Clone)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the thread that owns `connection`. It ends when every committer is dropped.
    pub(crate) fn start(connection: Connection) -> std::io::Result<GroupCommitter> {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("vbank-sqlite-writer".into())
            .spawn(move || run(connection, queue))?;
        Ok(GroupCommitter { jobs })
    }

    /// Runs `body` in a write transaction and returns its result once that is durable.
    /// An error from `body` undoes its writes and nothing else.
    pub(crate) async fn write<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |connection| {
            let result = catch_unwind(AssertUnwindSafe(|| body(connection)))
                .unwrap_or_else(|_| Err(StoreError::Conflict("a write job panicked; it was rolled back".into())));
            let succeeded = result.is_ok();
            let finish: Finish = Box::new(move |commit_failure| {
                let result = match commit_failure {
                    Some(reason) if succeeded => Err(StoreError::CommitFailed(reason.to_owned())),
                    _ => result,
                };
                let _ = answer.send(result);
            });
            (succeeded, finish)
        });
        self.jobs.send(job).await.map_err(|_| {
            StoreError::CommitFailed("the database writer stopped; restart vbank and check its log".into())
        })?;
        answered.await.map_err(|_| {
            StoreError::CommitFailed("the write was not committed because its batch failed; retry it".into())
        })?
    }
}

fn run(connection: Connection, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut finishes: Vec<Finish> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let failure = match commit_batch(&connection, &mut batch, &mut finishes) {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(%error, jobs = finishes.len(), "a group commit failed; its jobs get the error");
                // Leave no half-open transaction behind for the next batch.
                if !connection.is_autocommit() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                Some(error.to_string())
            }
        };
        for finish in finishes.drain(..) {
            finish(failure.as_deref());
        }
        // Jobs a failed batch never reached are dropped: their writers learn it was not committed.
        batch.clear();
    }
}

fn commit_batch(connection: &Connection, batch: &mut Vec<Job>, finishes: &mut Vec<Finish>) -> rusqlite::Result<()> {
    execute(connection, "BEGIN IMMEDIATE")?;
    for job in batch.drain(..) {
        execute(connection, "SAVEPOINT job")?;
        let (succeeded, finish) = job(connection);
        finishes.push(finish);
        if !succeeded {
            execute(connection, "ROLLBACK TO job")?;
        }
        execute(connection, "RELEASE job")?;
    }
    execute(connection, "COMMIT")
}

/// One control statement, prepared once and cached like every other.
fn execute(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}
