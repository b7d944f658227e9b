//! Closed-loop load: `concurrency` clients, each sending its next request as soon as the
//! last is answered, for a time or until the work runs out.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Outcome {
    pub done: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.done as f64 / self.seconds.max(1e-9)
    }

    /// The latency below which `quantile` of the answers came, in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((self.latencies_us.len() - 1) as f64 * quantile).round() as usize;
        f64::from(self.latencies_us[rank]) / 1000.0
    }
}

/// Runs `request(i)` for i = 0, 1, 2, ... below `limit`, until `duration` has passed.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, limit: u64, request: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None));
    let started = Instant::now();
    let mut clients = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (request, next, errors, first_error) = (request.clone(), next.clone(), errors.clone(), first_error.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(4096);
            while started.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let sent = Instant::now();
                match request(i).await {
                    Ok(()) => latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32),
                    Err(error) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(error);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for client in clients {
        latencies_us.extend(client.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    let first_error = first_error.lock().unwrap().take();
    Outcome {
        done: latencies_us.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        seconds,
        latencies_us,
    }
}
