//! SQLite reads: a few threads, each owning a read-only connection, taking read jobs
//! from one queue. A read is one hand-off to a thread and one answer back; the thread
//! keeps its connection and prepared statements for its whole life.
//!
//! (A general-purpose pool such as deadpool checks each connection with a query every
//! time it lends it, which doubled the cost of a point read here.)

use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&Connection) + Send>;

pub(crate) struct ReadPool {
    jobs: flume::Sender<Job>,
}

impl ReadPool {
    /// Starts `size` reader threads, each with a connection from `open`. They end when
    /// the pool is dropped.
    pub(crate) fn start(
        size: usize,
        open: impl Fn() -> rusqlite::Result<Connection> + Send + Sync + 'static,
    ) -> StoreResult<ReadPool> {
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
        Ok(ReadPool { jobs })
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
