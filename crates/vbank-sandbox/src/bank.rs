//! The buyer's bank: takes a deposit by account number, which the issuing PG accepts
//! or refuses, and then notifies vbank.

use crate::faults::{Fault, Operation};
use crate::{notify, Sandbox};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use vbank_core::time::Clock;
use vbank_core::{BankCode, Won};

#[derive(Debug, Deserialize)]
pub struct DepositRequest {
    bank_code: String,
    account_number: String,
    amount: i64,
    #[serde(default)]
    depositor_name: Option<String>,
}

fn refused(reason: impl Into<String>) -> Json<Value> {
    Json(json!({ "accepted": false, "reason": reason.into() }))
}

/// `POST /sandbox/bank/deposits`: answers after the PG's notification was processed,
/// so that a lookup right after shows the result.
pub async fn deposit(
    State(sandbox): State<Arc<Sandbox>>,
    body: Result<Json<DepositRequest>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<Value>) {
    let Json(request) = match body {
        Ok(request) => request,
        Err(rejection) => return (StatusCode::BAD_REQUEST, refused(rejection.body_text())),
    };
    let Some(bank) = BankCode::from_kftc(&request.bank_code) else {
        return (
            StatusCode::OK,
            refused(format!("unknown bank_code {}", request.bank_code)),
        );
    };
    let Ok(amount) = Won::new(request.amount) else {
        return (StatusCode::OK, refused("amount must be a positive number of won"));
    };
    let depositor = request.depositor_name.unwrap_or_else(|| "홍길동".to_owned());
    let now = sandbox.clock.now();
    let outcome = sandbox.ledger(|ledger| ledger.deposit(bank, &request.account_number, amount, &depositor, now));
    let account = match outcome {
        Ok(account) => account,
        Err(refusal) => return (StatusCode::OK, refused(refusal.reason())),
    };
    let fault = sandbox.take_fault(account.pg, Operation::Notify);
    let notified = match (notify::message_for(&account), fault) {
        (Some(_), Some(Fault::Drop)) => Err("the PG dropped its notification (injected fault)".to_owned()),
        (Some(message), Some(Fault::TimeoutAfterCommit)) => notify::deliver_losing_first_ack(&sandbox, message).await,
        (Some(message), _) => notify::deliver(&sandbox, message).await,
        (None, _) => Ok(()),
    };
    let body = match notified {
        Ok(()) => json!({ "accepted": true, "reason": "deposited", "notified": true }),
        Err(error) => json!({
            "accepted": true,
            "reason": format!("deposited; the PG's notification was not acknowledged ({error}) and will be resent"),
            "notified": false,
        }),
    };
    (StatusCode::OK, Json(body))
}

/// `GET /sandbox/accounts/{account_number}`: the PG's own record of an account.
pub async fn account(
    State(sandbox): State<Arc<Sandbox>>,
    Path(account_number): Path<String>,
) -> (StatusCode, Json<Value>) {
    let found = sandbox.ledger(|ledger| ledger.by_number(&account_number).cloned());
    match found {
        Some(account) => (
            StatusCode::OK,
            Json(json!({
                "pg": account.pg.code(),
                "tid": account.tid,
                "order_id": account.order_id,
                "state": account.state_name(),
                "refunded": account.refunded().get(),
                "amount": account.amount.get(),
                "bank_code": account.bank.kftc(),
                "account_number": account.number,
                "due": account.due,
            })),
        ),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "unknown account" }))),
    }
}

#[derive(Debug, Deserialize)]
pub struct HolderQuery {
    bank_code: Option<String>,
    bank_num: Option<String>,
}

/// `GET /sandbox/bank/holder?bank_code=004&bank_num=...`: the account holder's name.
/// The sandbox bank knows the virtual accounts the PGs issued, and treats every other
/// well-formed account number (10 to 16 digits, dashes allowed) as its customer 홍길동.
pub async fn holder(
    State(sandbox): State<Arc<Sandbox>>,
    query: Result<axum::extract::Query<HolderQuery>, axum::extract::rejection::QueryRejection>,
) -> (StatusCode, Json<Value>) {
    let Ok(axum::extract::Query(query)) = query else {
        return crate::bad_request("send ?bank_code=004&bank_num=ACCOUNT_NUMBER");
    };
    let Some(bank) = query.bank_code.as_deref().and_then(BankCode::from_kftc) else {
        return crate::bad_request("unknown bank_code: give a 3-digit KFTC code, such as 004");
    };
    let number: String = query
        .bank_num
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if let Some(account) = sandbox.ledger(|ledger| ledger.by_number(&number).cloned()) {
        if account.bank == bank {
            let holder = account.holder.unwrap_or_else(|| "(주)토스페이먼츠".to_owned());
            return (StatusCode::OK, Json(json!({ "bank_holder": holder })));
        }
    }
    if (10..=16).contains(&number.len()) && number.bytes().all(|byte| byte.is_ascii_digit()) {
        (StatusCode::OK, Json(json!({ "bank_holder": "홍길동" })))
    } else {
        (StatusCode::NOT_FOUND, Json(json!({ "error": "no such account" })))
    }
}
