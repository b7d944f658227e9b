//! The Toss Payments simulator: `POST /v1/virtual-accounts`, `GET /v1/payments/{key}`
//! and `POST /v1/payments/{key}/cancel`, with Basic auth on the secret key and Toss'
//! own error codes and HTTP statuses.

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::{notify, Sandbox};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::sync::Arc;
use vbank_core::time::Clock;
use vbank_core::{BankCode, PgProvider, UnixSeconds, Won};
use vbank_pg::toss::{format_time, parse_time, wire};

const MAX_VALID_SECONDS: i64 = 720 * 3600;
const DEFAULT_VALID_SECONDS: i64 = 168 * 3600;

fn failure(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(wire::Failure {
            code: code.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

fn unauthorized() -> Response {
    failure(
        StatusCode::UNAUTHORIZED,
        wire::UNAUTHORIZED_KEY,
        "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
    )
}

/// The secret key of the caller. Test keys (`test_sk_...`) are all accepted; each
/// key sees only its own payments, as each Toss merchant does.
fn secret_key(headers: &HeaderMap) -> Option<String> {
    let encoded = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())?;
    match decoded.strip_suffix(':') {
        Some(key) if key.starts_with("test_sk_") && key.len() > "test_sk_".len() => Some(key.to_owned()),
        _ => None,
    }
}

fn payment_of(account: &Account) -> wire::Payment {
    let refunds: Vec<wire::Cancel> = account
        .refunds
        .iter()
        .map(|refund| wire::Cancel {
            transaction_key: refund.tid.clone(),
            cancel_reason: refund.reason.clone(),
            canceled_at: format_time(refund.at),
            cancel_amount: refund.amount.get(),
        })
        .collect();
    let (status, approved_at, cancels) = match &account.state {
        AccountState::Issued => (wire::PaymentStatus::WaitingForDeposit, None, None),
        AccountState::Deposited { at, .. } if refunds.is_empty() => {
            (wire::PaymentStatus::Done, Some(format_time(*at)), None)
        }
        AccountState::Deposited { at, .. } => {
            let status = if account.refunded() == account.amount {
                wire::PaymentStatus::Canceled
            } else {
                wire::PaymentStatus::PartialCanceled
            };
            (status, Some(format_time(*at)), Some(refunds))
        }
        AccountState::Cancelled { at, cancel_tid, reason } => (
            wire::PaymentStatus::Canceled,
            None,
            Some(vec![wire::Cancel {
                transaction_key: cancel_tid.clone(),
                cancel_reason: reason.clone(),
                canceled_at: format_time(*at),
                cancel_amount: account.amount.get(),
            }]),
        ),
    };
    wire::Payment {
        payment_key: account.tid.clone(),
        order_id: account.order_id.clone(),
        status,
        total_amount: account.amount.get(),
        method: Some("가상계좌".into()),
        requested_at: Some(format_time(account.issued_at)),
        approved_at,
        secret: account.secret.clone(),
        virtual_account: Some(wire::VirtualAccount {
            account_number: account.number.clone(),
            account_type: Some("일반".into()),
            bank_code: account.bank.bank().toss.map(str::to_owned),
            bank: None,
            customer_name: account.holder.clone(),
            due_date: format_time(account.due),
            expired: false,
        }),
        cancels,
        receipt: Some(wire::Receipt {
            url: format!("https://sandbox.vbank.invalid/toss/receipt/{}", account.tid),
        }),
    }
}

fn random_text(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

fn valid_order_id(order_id: &str) -> bool {
    (6..=64).contains(&order_id.len())
        && order_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

pub async fn issue(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = issue_account(&sandbox, &headers, &body);
    sandbox
        .faulted(PgProvider::Tosspayments, Operation::Issue, operation)
        .await
}

async fn issue_account(sandbox: &Arc<Sandbox>, headers: &HeaderMap, body: &Bytes) -> Response {
    let Some(key) = secret_key(headers) else {
        return unauthorized();
    };
    let request: wire::IssueRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return failure(StatusCode::BAD_REQUEST, wire::INVALID_REQUEST, &error.to_string()),
    };
    let invalid = |message: &str| failure(StatusCode::BAD_REQUEST, wire::INVALID_REQUEST, message);
    let Some(amount) = Won::new(request.amount).ok().filter(|amount| !amount.is_zero()) else {
        return invalid("amount는 0보다 커야 합니다.");
    };
    if !valid_order_id(&request.order_id) {
        return invalid("orderId는 6자 이상 64자 이하의 영문 대소문자, 숫자, -, _ 로 이루어져야 합니다.");
    }
    if request.order_name.is_empty() || request.customer_name.is_empty() {
        return invalid("orderName과 customerName은 필수입니다.");
    }
    let Some(bank) = BankCode::from_toss(&request.bank) else {
        return failure(StatusCode::BAD_REQUEST, wire::INVALID_BANK, "유효하지 않은 은행입니다.");
    };
    let now = sandbox.clock.now();
    let due: UnixSeconds = match (&request.due_date, request.valid_hours) {
        (Some(due_date), _) => match parse_time(due_date) {
            Some(due) => due,
            None => return invalid("dueDate 형식이 올바르지 않습니다."),
        },
        (None, Some(hours)) => now + hours * 3600,
        (None, None) => now + DEFAULT_VALID_SECONDS,
    };
    if due > now + MAX_VALID_SECONDS {
        return failure(
            StatusCode::BAD_REQUEST,
            wire::EXCEED_MAX_DUE_DATE,
            "가상 계좌의 최대 유효만료 기간을 초과했습니다.",
        );
    }
    if due <= now {
        return invalid("dueDate는 현재 시각 이후여야 합니다.");
    }
    let issued = sandbox.ledger(|ledger| {
        if ledger.order_exists(&key, &request.order_id) {
            return None;
        }
        let account = Account {
            pg: PgProvider::Tosspayments,
            tid: format!("tviva{}", random_text(20)),
            owner: key.clone(),
            order_id: request.order_id.clone(),
            order_name: request.order_name.clone(),
            amount,
            bank,
            number: ledger.new_account_number("X65"),
            holder: Some(request.customer_name.clone()),
            due,
            issued_at: now,
            secret: Some(format!("ps_{}", random_text(24))),
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        Some(account)
    });
    match issued {
        Some(account) => Json(payment_of(&account)).into_response(),
        None => failure(
            StatusCode::BAD_REQUEST,
            wire::DUPLICATED_ORDER_ID,
            "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.",
        ),
    }
}

pub async fn get_payment(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(payment_key): Path<String>,
) -> Response {
    let operation = find_payment(&sandbox, &headers, &payment_key);
    sandbox
        .faulted(PgProvider::Tosspayments, Operation::Query, operation)
        .await
}

async fn find_payment(sandbox: &Arc<Sandbox>, headers: &HeaderMap, payment_key: &str) -> Response {
    let Some(key) = secret_key(headers) else {
        return unauthorized();
    };
    match sandbox.ledger(|ledger| ledger.get(&key, payment_key).cloned()) {
        Some(account) => Json(payment_of(&account)).into_response(),
        None => failure(
            StatusCode::NOT_FOUND,
            wire::NOT_FOUND_PAYMENT,
            "존재하지 않는 결제 정보 입니다.",
        ),
    }
}

pub async fn cancel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(payment_key): Path<String>,
    body: Bytes,
) -> Response {
    // One endpoint serves the pre-deposit cancel and refunds (with a refund account).
    let is_refund = serde_json::from_slice::<wire::CancelRequest>(&body)
        .is_ok_and(|request| request.refund_receive_account.is_some());
    let kind = if is_refund {
        Operation::Refund
    } else {
        Operation::Revoke
    };
    let operation = cancel_payment(&sandbox, &headers, &payment_key, &body);
    sandbox.faulted(PgProvider::Tosspayments, kind, operation).await
}

async fn cancel_payment(sandbox: &Arc<Sandbox>, headers: &HeaderMap, payment_key: &str, body: &Bytes) -> Response {
    let Some(key) = secret_key(headers) else {
        return unauthorized();
    };
    let request: wire::CancelRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return failure(StatusCode::BAD_REQUEST, wire::INVALID_REQUEST, &error.to_string()),
    };
    let now = sandbox.clock.now();
    let deposited = sandbox.ledger(|ledger| {
        ledger
            .get(&key, payment_key)
            .is_some_and(|account| matches!(account.state, AccountState::Deposited { .. }))
    });
    if deposited {
        return refund(sandbox, &key, payment_key, &request, now);
    }
    match sandbox.ledger(|ledger| ledger.revoke(&key, payment_key, &request.cancel_reason, now)) {
        Ok(account) => {
            // Toss also fires DEPOSIT_CALLBACK with CANCELED for a pre-deposit cancel.
            if let Some(message) = notify::message_for(&account) {
                let sandbox = sandbox.clone();
                tokio::spawn(async move {
                    let _ = notify::deliver(&sandbox, message).await;
                });
            }
            Json(payment_of(&account)).into_response()
        }
        Err(RevokeRefusal::NotFound) => failure(
            StatusCode::NOT_FOUND,
            wire::NOT_FOUND_PAYMENT,
            "존재하지 않는 결제 정보 입니다.",
        ),
        Err(RevokeRefusal::AlreadyCancelled) => failure(
            StatusCode::BAD_REQUEST,
            wire::ALREADY_CANCELED_PAYMENT,
            "이미 취소된 결제 입니다.",
        ),
        Err(RevokeRefusal::AlreadyDeposited) => failure(
            StatusCode::FORBIDDEN,
            wire::NOT_CANCELABLE_PAYMENT,
            "취소 할 수 없는 결제 입니다.",
        ),
    }
}

/// A cancel of a deposited account: a refund to `refundReceiveAccount`.
fn refund(
    sandbox: &Sandbox,
    key: &str,
    payment_key: &str,
    request: &wire::CancelRequest,
    now: UnixSeconds,
) -> Response {
    let Some(account) = &request.refund_receive_account else {
        return failure(
            StatusCode::FORBIDDEN,
            wire::NOT_CANCELABLE_PAYMENT,
            "취소 할 수 없는 결제 입니다.",
        );
    };
    if BankCode::from_toss(&account.bank).is_none()
        || account.account_number.is_empty()
        || account.holder_name.is_empty()
    {
        return failure(
            StatusCode::BAD_REQUEST,
            wire::INVALID_REQUEST,
            "환불 계좌 정보가 올바르지 않습니다.",
        );
    }
    let amount = match request.cancel_amount.map(Won::new) {
        Some(Ok(amount)) => Some(amount),
        Some(Err(_)) => return failure(StatusCode::BAD_REQUEST, wire::INVALID_REQUEST, "cancelAmount 오류"),
        None => None,
    };
    match sandbox.ledger(|ledger| ledger.refund(key, payment_key, amount, &request.cancel_reason, now)) {
        Ok((account, _)) => Json(payment_of(&account)).into_response(),
        Err(RefundRefusal::NotFound) => failure(
            StatusCode::NOT_FOUND,
            wire::NOT_FOUND_PAYMENT,
            "존재하지 않는 결제 정보 입니다.",
        ),
        Err(RefundRefusal::NotDeposited) => failure(
            StatusCode::FORBIDDEN,
            wire::NOT_CANCELABLE_PAYMENT,
            "취소 할 수 없는 결제 입니다.",
        ),
        Err(RefundRefusal::Exceeds { .. }) => failure(
            StatusCode::FORBIDDEN,
            wire::NOT_CANCELABLE_AMOUNT,
            "취소 할 수 없는 금액 입니다.",
        ),
    }
}

/// The Toss routes, under `/toss`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route("/v1/virtual-accounts", axum::routing::post(issue))
        .route("/v1/payments/{payment_key}", axum::routing::get(get_payment))
        .route("/v1/payments/{payment_key}/cancel", axum::routing::post(cancel))
}

/// DEPOSIT_CALLBACK: `DONE` on a deposit, `CANCELED` after a pre-deposit cancel [C].
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let (status, at) = match &account.state {
        AccountState::Deposited { at, .. } => ("DONE", *at),
        AccountState::Cancelled { at, .. } => ("CANCELED", *at),
        AccountState::Issued => return None,
    };
    let body = serde_json::json!({
        "createdAt": vbank_core::time::to_kst(at).format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "secret": account.secret.clone().unwrap_or_default(),
        "status": status,
        "transactionKey": format!("{:032X}", rand::thread_rng().gen::<u128>()),
        "orderId": account.order_id,
    });
    let mut message = crate::notify::Message::new(PgProvider::Tosspayments, "application/json", body.to_string());
    message.headers = vec![
        ("tosspayments-webhook-transmission-time", format_time(at)),
        (
            "tosspayments-webhook-transmission-id",
            format!("sandbox-{:016x}", rand::thread_rng().gen::<u64>()),
        ),
    ];
    message.retry_count_header = Some("tosspayments-webhook-transmission-retried-count");
    Some(message)
}

/// Toss counts any HTTP 200 as delivered [C].
pub fn acknowledged(status: reqwest::StatusCode, _body: &str) -> bool {
    status == reqwest::StatusCode::OK
}

/// Toss test keys (`test_sk_...`) are all accepted by the simulator; each merchant gets
/// its own, so each sees only its own payments, as at Toss.
pub fn test_channel() -> (String, vbank_core::ChannelSecrets) {
    (
        "tvivarepublica".to_owned(),
        vbank_core::ChannelSecrets {
            secret_key: Some(format!("test_sk_{}", random_text(24))),
            ..Default::default()
        },
    )
}
