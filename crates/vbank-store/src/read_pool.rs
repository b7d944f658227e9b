//! SQLite reads: a few threads, each owning a read-only connection, taking read jobs
//! from one queue. A read is one hand-off to a thread and one answer back; the thread
//! keeps its connection and prepared statements for its whole life.
//!
//! Point reads (one row by its key, a few tens of microseconds) skip the hand-off: they
//! run on the caller's thread with a connection from a small stack, since waking a reader
//! thread and being woken back cost more than the read itself (a third of the server's
//! time under a lookup load on two cores went to those wake-ups).
//!
//! (A general-purpose pool such as deadpool checks each connection with a query every
//! time it lends it, which doubled the cost of a point read here.)

use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&Connection) + Send>;

type Open = dyn Fn() -> rusqlite::Result<Connection> + Send + Sync;

pub(crate) struct ReadPool {
    jobs: flume::Sender<Job>,
    /// Connections for point reads on the caller's thread; one per thread reading at once.
    idle: Mutex<Vec<Connection>>,
    open: Arc<Open>,
}

impl ReadPool {
    /// Starts `size` reader threads, each with a connection from `open`. They end when
    /// the pool is dropped.
    pub(crate) fn start(
        size: usize,
        open: impl Fn() -> rusqlite::Result<Connection> + Send + Sync + 'static,
    ) -> StoreResult<ReadPool> {
        let open: Arc<Open> = Arc::new(open);
        let (jobs, queue) = flume::unbounded::<Job>();
        for n in 0..size {
            let connection = open()?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("vbank-sqlite-reader-{n}"))
                .spawn(move || {
                    for job in queue.iter() {
                        job(&connection);
                    }
                })
                .map_err(|error| StoreError::Unavailable(format!("cannot start a reader thread: {error}")))?;
        }
        Ok(ReadPool {
            jobs,
            idle: Mutex::new(Vec::new()),
            open,
        })
    }

    /// Runs a point read (`body` must be quick: a lookup by key) on this thread.
    pub(crate) fn read_now<T>(&self, body: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let taken = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => (self.open)()?,
        };
        let result = catch_unwind(AssertUnwindSafe(|| body(&connection)))
            .unwrap_or_else(|_| Err(StoreError::Unavailable("a read panicked".into())));
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(connection);
        result
    }

    /// Runs `body` on a reader's connection.
    pub(crate) async fn read<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = catch_unwind(AssertUnwindSafe(|| body(connection)))
                .unwrap_or_else(|_| Err(StoreError::Unavailable("a read panicked".into())));
            let _ = answer.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the database readers stopped; restart vbank".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("a database reader stopped; restart vbank".into()))?
    }
}
