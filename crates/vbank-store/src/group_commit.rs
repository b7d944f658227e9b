//! Group commit for SQLite: many writers' transactions in one durable commit.
//!
//! With `synchronous=FULL` every commit waits for the disk, and SQLite has one writer, so
//! one commit per request caps the whole server at the disk's fsync rate. Here one task
//! owns the write connection. Writers queue jobs; the task takes every job waiting,
//! runs each inside its own savepoint of a single `BEGIN IMMEDIATE` transaction, commits
//! once, and only then answers each job. A job that fails is rolled back to its
//! savepoint alone; a commit that fails fails every job of the batch. No job is
//! acknowledged before the commit that holds it is on disk.
//!
//! Jobs run one after another on the one connection, so each sees the writes of the jobs
//! before it: the serial order SQLite's single writer always gave.

use crate::{StoreError, StoreResult};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::{Connection, SqliteConnection};
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one commit holds; bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 512;
/// Writers waiting beyond this wait for room in the queue (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// Sends a job's answer once its batch's fate is known: `None` committed, or why not.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write job: runs on the connection and says whether it succeeded.
type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

#[derive(Clone)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the task that owns `connection`. It ends when every committer is dropped.
    pub(crate) fn start(connection: SqliteConnection) -> GroupCommitter {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(connection, queue));
        GroupCommitter { jobs }
    }

    /// Runs `body` in a write transaction and returns its result once that is durable.
    /// An error from `body` undoes its writes and nothing else.
    pub(crate) async fn write<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |connection| {
            async move {
                let result = AssertUnwindSafe(body(connection))
                    .catch_unwind()
                    .await
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
            }
            .boxed()
        });
        self.jobs.send(job).await.map_err(|_| {
            StoreError::CommitFailed("the database writer stopped; restart vbank and check its log".into())
        })?;
        answered.await.map_err(|_| {
            StoreError::CommitFailed("the write was not committed because its batch failed; retry it".into())
        })?
    }
}

async fn run(mut connection: SqliteConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut finishes: Vec<Finish> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let failure = match commit_batch(&mut connection, &mut batch, &mut finishes).await {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(%error, jobs = finishes.len(), "a group commit failed; its jobs get the error");
                // Leave no half-open transaction behind for the next batch.
                let _ = execute(&mut connection, "ROLLBACK").await;
                Some(error.to_string())
            }
        };
        for finish in finishes.drain(..) {
            finish(failure.as_deref());
        }
        // Jobs a failed batch never reached are dropped: their writers learn it was not committed.
        batch.clear();
    }
    let _ = connection.close().await;
}

async fn commit_batch(
    connection: &mut SqliteConnection,
    batch: &mut Vec<Job>,
    finishes: &mut Vec<Finish>,
) -> Result<(), sqlx::Error> {
    execute(connection, "BEGIN IMMEDIATE").await?;
    for job in batch.drain(..) {
        execute(connection, "SAVEPOINT job").await?;
        let (succeeded, finish) = job(connection).await;
        finishes.push(finish);
        if !succeeded {
            execute(connection, "ROLLBACK TO job").await?;
        }
        execute(connection, "RELEASE job").await?;
    }
    execute(connection, "COMMIT").await?;
    Ok(())
}

/// One control statement, prepared once and cached like every other. Boxed, so that the
/// writer task's future is `Send` (the compiler cannot prove it through sqlx's executor
/// lifetimes otherwise).
fn execute<'c>(connection: &'c mut SqliteConnection, sql: &'static str) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    async move { sqlx::query(sql).execute(connection).await.map(|_| ()) }.boxed()
}
