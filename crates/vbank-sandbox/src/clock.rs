//! The sandbox's clock: the machine's, moved forward on request so that tests and
//! operators can make accounts expire without waiting.

use crate::Sandbox;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use vbank_core::time::{Clock, SystemClock};
use vbank_core::UnixSeconds;

#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_seconds: AtomicI64,
}

impl SandboxClock {
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> UnixSeconds {
        SystemClock.now() + self.offset_seconds.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Deserialize)]
pub struct AdvanceClock {
    advance_seconds: i64,
}

pub async fn get_clock(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "now": sandbox.clock.now() }))
}

pub async fn advance_clock(State(sandbox): State<Arc<Sandbox>>, Json(request): Json<AdvanceClock>) -> Json<Value> {
    // Time only moves forward: a PG's clock never runs back.
    sandbox.clock.advance(request.advance_seconds.max(0));
    Json(json!({ "now": sandbox.clock.now() }))
}
