//! The sandbox's clock: the machine's, moved forward on request so that tests and
//! operators can make accounts expire without waiting.

use crate::Sandbox;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
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
        SystemClock
            .now()
            .saturating_add(self.offset_seconds.load(Ordering::SeqCst))
    }
}

#[derive(Debug, Deserialize)]
pub struct AdvanceClock {
    advance_seconds: i64,
}

pub async fn get_clock(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({ "now": sandbox.clock.now() }))
}

/// The furthest one request moves the clock: about a hundred years, far past any due date.
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

pub async fn advance_clock(
    State(sandbox): State<Arc<Sandbox>>,
    body: Result<Json<AdvanceClock>, JsonRejection>,
) -> (StatusCode, Json<Value>) {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => {
            return crate::bad_request(format!(
                "{}; send {{\"advance_seconds\": SECONDS}}",
                rejection.body_text()
            ))
        }
    };
    if !(0..=MAX_ADVANCE_SECONDS).contains(&request.advance_seconds) {
        // Time only moves forward (a PG's clock never runs back), and not past the year 2100.
        return crate::bad_request(format!("advance_seconds must be between 0 and {MAX_ADVANCE_SECONDS}"));
    }
    sandbox.clock.advance(request.advance_seconds);
    (StatusCode::OK, Json(json!({ "now": sandbox.clock.now() })))
}
