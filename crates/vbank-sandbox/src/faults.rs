//! Fault injection: make a PG's next N calls of one kind time out (before or after
//! the PG committed), answer 500, answer garbage, or drop a deposit notification.
//! `POST /sandbox/faults` with `{"pg":"tosspayments","operation":"revoke",
//! "fault":"timeout_after_commit","count":1}`.

use crate::Sandbox;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use vbank_core::PgProvider;

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
}

#[derive(Debug, Clone)]
pub(crate) struct Armed {
    pg: PgProvider,
    operation: Operation,
    fault: Fault,
    remaining: u32,
}

#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    pg: String,
    operation: Operation,
    fault: Fault,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

impl Sandbox {
    /// Arms a fault for the next `count` calls.
    pub fn arm_fault(&self, pg: PgProvider, operation: Operation, fault: Fault, count: u32) {
        let mut faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        faults.push(Armed {
            pg,
            operation,
            fault,
            remaining: count,
        });
    }

    /// Consumes one armed fault for this call, if any.
    pub(crate) fn take_fault(&self, pg: PgProvider, operation: Operation) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = faults
            .iter()
            .position(|armed| armed.pg == pg && armed.operation == operation && armed.remaining > 0)?;
        let fault = faults[index].fault;
        faults[index].remaining -= 1;
        if faults[index].remaining == 0 {
            faults.remove(index);
        }
        Some(fault)
    }

    /// Runs a PG operation under whatever fault is armed for it.
    pub(crate) async fn faulted<F>(&self, pg: PgProvider, operation: Operation, operation_future: F) -> Response
    where
        F: Future<Output = Response>,
    {
        match self.take_fault(pg, operation) {
            None | Some(Fault::Drop) => operation_future.await,
            Some(Fault::TimeoutBeforeCommit) => {
                tokio::time::sleep(self.fault_delay).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            Some(Fault::TimeoutAfterCommit) => {
                let _ = operation_future.await;
                tokio::time::sleep(self.fault_delay).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            Some(Fault::Http500) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
            Some(Fault::Garbage) => {
                let _ = operation_future.await;
                (StatusCode::OK, "<html><body>\u{fffd}\u{fffd} upstream garbage").into_response()
            }
        }
    }
}

/// `POST /sandbox/faults`.
pub async fn arm(State(sandbox): State<Arc<Sandbox>>, Json(request): Json<FaultRequest>) -> Response {
    let Ok(pg) = PgProvider::from_str(&request.pg) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("unknown pg {}", request.pg)})),
        )
            .into_response();
    };
    let fits = match request.operation {
        // On notify: drop the notice, or lose vbank's acknowledgement so the PG resends.
        Operation::Notify => matches!(request.fault, Fault::Drop | Fault::TimeoutAfterCommit),
        Operation::Issue | Operation::Revoke | Operation::Query | Operation::Refund => request.fault != Fault::Drop,
    };
    if !fits {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "notify takes drop or timeout_after_commit; drop goes with notify only"})),
        )
            .into_response();
    }
    sandbox.arm_fault(pg, request.operation, request.fault, request.count);
    Json(json!({"armed": true})).into_response()
}
