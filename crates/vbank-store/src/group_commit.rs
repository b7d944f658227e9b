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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    commits: Arc<AtomicU64>,
}

impl GroupCommitter {
    /// Starts the thread that owns `connection`. It ends when every committer is dropped.
    pub(crate) fn start(connection: Connection) -> std::io::Result<GroupCommitter> {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        std::thread::Builder::new()
            .name("vbank-sqlite-writer".into())
            .spawn(move || run(connection, queue, &counted))?;
        Ok(GroupCommitter { jobs, commits })
    }

    /// Commits (batches) so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
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

fn run(connection: Connection, mut queue: mpsc::Receiver<Job>, commits: &AtomicU64) {
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
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                None
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn committer(folder: &tempfile::TempDir) -> (GroupCommitter, std::path::PathBuf) {
        let path = folder.path().join("group.db");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 CREATE TABLE rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);",
            )
            .unwrap();
        (GroupCommitter::start(connection).unwrap(), path)
    }

    fn count(path: &std::path::Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM rows", [], |row| row.get(0))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_answered_write_is_already_committed() {
        let folder = tempfile::tempdir().unwrap();
        let (writer, path) = committer(&folder);
        let writer = Arc::new(writer);
        let mut tasks = Vec::new();
        for n in 0..400 {
            let (writer, path) = (writer.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |tx| Ok(tx.execute("INSERT INTO rows (value) VALUES (?)", [format!("row {n}")])?))
                    .await
                    .unwrap();
                // Answered means committed: another connection sees the row now.
                let seen: i64 = Connection::open(&path)
                    .unwrap()
                    .query_row(
                        "SELECT COUNT(*) FROM rows WHERE value = ?",
                        [format!("row {n}")],
                        |row| row.get(0),
                    )
                    .unwrap();
                assert_eq!(seen, 1, "row {n} was answered before it was committed");
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(count(&path), 400);
        // 400 writers at once shared commits (one flush for many).
        assert!(writer.commits() < 200, "{} commits for 400 writes", writer.commits());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_is_undone_alone_and_its_batch_commits() {
        let folder = tempfile::tempdir().unwrap();
        let (writer, path) = committer(&folder);
        let writer = Arc::new(writer);
        writer
            .write(|tx| Ok(tx.execute("INSERT INTO rows (value) VALUES ('taken')", [])?))
            .await
            .unwrap();
        // Many writers at once, so that the failing ones share batches with good ones.
        let mut tasks = Vec::new();
        for n in 0..200 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |tx| {
                        tx.execute("INSERT INTO rows (value) VALUES (?)", [format!("half-written {n}")])?;
                        if n % 3 == 0 {
                            // The second statement fails: the first must not survive.
                            tx.execute("INSERT INTO rows (value) VALUES ('taken')", params![])?;
                        }
                        if n % 3 == 1 {
                            panic!("a bug in a write job");
                        }
                        Ok(())
                    })
                    .await
            }));
        }
        let mut failed = 0;
        for (n, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            assert_eq!(result.is_err(), n % 3 != 2, "job {n}: {result:?}");
            failed += usize::from(result.is_err());
        }
        assert_eq!(failed, 134);
        // One 'taken' row and the 66 good jobs' rows; nothing of the failed ones.
        assert_eq!(count(&path), 1 + 66);
        // The writer still works after a panic.
        writer
            .write(|tx| Ok(tx.execute("INSERT INTO rows (value) VALUES ('after')", [])?))
            .await
            .unwrap();
        assert_eq!(count(&path), 68);
    }
}
