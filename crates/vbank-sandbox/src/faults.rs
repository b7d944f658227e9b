//! Fault injection: make a PG's next N calls of one kind time out (before or after
//! the PG committed), answer 500, answer garbage, or drop a deposit notification.
//! `POST /sandbox/faults` with `{"pg":"tosspayments","operation":"revoke",
//! "fault":"timeout_after_commit","count":1}`.

use crate::Sandbox;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use vbank_core::PgProvider;

/// How long a `slow` PG takes unless told.
const DEFAULT_SLOW_DELAY: Duration = Duration::from_secs(2);
/// A slow PG is slow, not dead: at most ten minutes.
const MAX_SLOW_DELAY_MS: u64 = 600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Issue,
    Revoke,
    Query,
    Refund,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The PG does nothing and never answers (in time).
    TimeoutBeforeCommit,
    /// The PG acts, then never answers (in time).
    TimeoutAfterCommit,
    /// The PG answers 500 and does nothing.
    #[serde(rename = "http_500")]
    Http500,
    /// The PG acts, then answers something unreadable.
    Garbage,
    /// The PG never sends the deposit notification (operation `notify` only).
    Drop,
    /// The PG acts and answers as usual, but only after `delay_ms` (2 s unless given).
    Slow,
}

#[derive(Debug, Clone)]
pub(crate) struct Armed {
    pg: PgProvider,
    operation: Operation,
    fault: Fault,
    remaining: u32,
    delay: Option<Duration>,
}

#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    pg: String,
    operation: Operation,
    fault: Fault,
    #[serde(default = "one")]
    count: u32,
    /// How long a `slow` PG takes, in milliseconds.
    #[serde(default)]
    delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

impl Sandbox {
    /// Arms a fault for the next `count` calls.
    pub fn arm_fault(&self, pg: PgProvider, operation: Operation, fault: Fault, count: u32) {
        self.arm(Armed {
            pg,
            operation,
            fault,
            remaining: count,
            delay: None,
        });
    }

    fn arm(&self, armed: Armed) {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(armed);
    }

    /// Consumes one armed fault for this call, if any.
    pub(crate) fn take_fault(&self, pg: PgProvider, operation: Operation) -> Option<Fault> {
        self.take_armed(pg, operation).map(|(fault, _)| fault)
    }

    /// Consumes one armed fault for this call, with its delay if it has one.
    fn take_armed(&self, pg: PgProvider, operation: Operation) -> Option<(Fault, Option<Duration>)> {
        let mut faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = faults
            .iter()
            .position(|armed| armed.pg == pg && armed.operation == operation && armed.remaining > 0)?;
        let armed = (faults[index].fault, faults[index].delay);
        faults[index].remaining -= 1;
        if faults[index].remaining == 0 {
            faults.remove(index);
        }
        Some(armed)
    }

    /// Runs a PG operation under whatever fault is armed for it.
    pub(crate) async fn faulted<F>(&self, pg: PgProvider, operation: Operation, operation_future: F) -> Response
    where
        F: Future<Output = Response>,
    {
        match self.take_armed(pg, operation) {
            None | Some((Fault::Drop, _)) => operation_future.await,
            Some((Fault::Slow, delay)) => {
                let response = operation_future.await;
                tokio::time::sleep(delay.unwrap_or(DEFAULT_SLOW_DELAY)).await;
                response
            }
            Some((Fault::TimeoutBeforeCommit, _)) => {
                tokio::time::sleep(self.fault_delay).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            Some((Fault::TimeoutAfterCommit, _)) => {
                let _ = operation_future.await;
                tokio::time::sleep(self.fault_delay).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            Some((Fault::Http500, _)) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
            Some((Fault::Garbage, _)) => {
                let _ = operation_future.await;
                (StatusCode::OK, "<html><body>\u{fffd}\u{fffd} upstream garbage").into_response()
            }
        }
    }
}

/// `POST /sandbox/faults`.
pub async fn arm(State(sandbox): State<Arc<Sandbox>>, body: Result<Json<FaultRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => {
            return crate::bad_request(format!(
                "{}; send {{\"pg\": \"tosspayments\", \"operation\": \"revoke\", \"fault\": \"http_500\"}}",
                rejection.body_text()
            ))
            .into_response()
        }
    };
    let Ok(pg) = PgProvider::from_str(&request.pg) else {
        return crate::bad_request(format!("unknown pg {}", request.pg)).into_response();
    };
    let fits = match request.operation {
        // On notify: drop the notice, or lose vbank's acknowledgement so the PG resends.
        Operation::Notify => matches!(request.fault, Fault::Drop | Fault::TimeoutAfterCommit),
        Operation::Issue | Operation::Revoke | Operation::Query | Operation::Refund => request.fault != Fault::Drop,
    };
    if request.delay_ms.is_some_and(|delay| delay > MAX_SLOW_DELAY_MS) {
        return crate::bad_request(format!("delay_ms must be at most {MAX_SLOW_DELAY_MS}")).into_response();
    }
    if !fits {
        return crate::bad_request("notify takes drop or timeout_after_commit; drop goes with notify only")
            .into_response();
    }
    sandbox.arm(Armed {
        pg,
        operation: request.operation,
        fault: request.fault,
        remaining: request.count,
        delay: request.delay_ms.map(Duration::from_millis),
    });
    Json(json!({"armed": true})).into_response()
}
