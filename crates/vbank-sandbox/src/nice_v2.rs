//! The NICE Payments new-module (`nice_v2`) simulator: `POST /v1/vbank` (the [P] issue),
//! `GET /v1/payments/{tid}` and `POST /v1/payments/{tid}/cancel`, with Basic auth on
//! `clientKey:secretKey` (401 U304 otherwise), `signData` checked when sent (U312),
//! NICE's payment object signed with the secretKey on every answer and webhook.

use crate::faults::{Fault, Operation};
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::{notify, Sandbox};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use rand::Rng;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, ChannelSecrets, PgProvider, UnixSeconds, Won};
use vbank_pg::nice_v2::wire;

/// The key pairs the simulator knows, and the MID of each (pg.md §3.5).
const TEST_KEYS: &[(&str, &str, &str)] = &[(wire::TEST_CLIENT_KEY, wire::TEST_SECRET_KEY, wire::TEST_MID)];

const DEFAULT_VALID_SECONDS: i64 = 7 * 86_400;

/// A caller that passed Basic auth.
#[derive(Clone, Copy)]
struct Caller {
    client_key: &'static str,
    secret_key: &'static str,
    mid: &'static str,
}

fn caller(headers: &HeaderMap) -> Option<Caller> {
    let encoded = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())?;
    let (client_key, secret_key) = decoded.split_once(':')?;
    TEST_KEYS
        .iter()
        .find(|(client, secret, _)| *client == client_key && *secret == secret_key)
        .map(|(client_key, secret_key, mid)| Caller {
            client_key,
            secret_key,
            mid,
        })
}

fn secret_of(owner: &str) -> Option<&'static str> {
    TEST_KEYS
        .iter()
        .find(|(client, _, _)| *client == owner)
        .map(|(_, secret, _)| *secret)
}

fn failure(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(wire::Payment {
            result_code: code.into(),
            result_msg: message.into(),
            ..Default::default()
        }),
    )
        .into_response()
}

/// A refusal of one transaction, which names it.
fn refused(code: &str, message: &str, tid: &str, order_id: &str) -> Response {
    Json(wire::Payment {
        result_code: code.into(),
        result_msg: message.into(),
        tid: Some(tid.to_owned()),
        order_id: Some(order_id.to_owned()),
        ..Default::default()
    })
    .into_response()
}

fn unauthorized() -> Response {
    failure(
        StatusCode::UNAUTHORIZED,
        wire::RESULT_BASIC_AUTH_FAILED,
        "BASIC AUTHENTICATION 실패",
    )
}

fn missing(field: &str) -> Response {
    failure(
        StatusCode::OK,
        wire::RESULT_MISSING_FIELD,
        &format!("{field} 필수입력항목이 누락되었습니다."),
    )
}

fn sign_failed() -> Response {
    failure(StatusCode::OK, wire::RESULT_SIGN_FAILED, wire::MESSAGE_SIGN_FAILED)
}

fn receipt_url(tid: &str) -> String {
    format!("https://sandbox.vbank.invalid/nice_v2/receipt/{tid}")
}

/// NICE's payment object for an account, signed over `ediDate` = `at`.
fn payment_of(account: &Account, secret_key: &str, at: UnixSeconds) -> wire::Payment {
    let edi_date = wire::edi_date(at);
    let amount = account.amount.get();
    let refunds: Vec<wire::Cancel> = account
        .refunds
        .iter()
        .map(|refund| wire::Cancel {
            tid: refund.tid.clone(),
            amount: refund.amount.get(),
            cancelled_at: wire::edi_date(refund.at),
            reason: refund.reason.clone(),
            receipt_url: Some(receipt_url(&refund.tid)),
        })
        .collect();
    let mut payment = wire::Payment {
        result_code: wire::RESULT_OK.into(),
        result_msg: "정상 처리되었습니다.".into(),
        tid: Some(account.tid.clone()),
        order_id: Some(account.order_id.clone()),
        signature: Some(wire::signature(&account.tid, amount, &edi_date, secret_key)),
        edi_date: Some(edi_date),
        paid_at: Some("0".into()),
        failed_at: Some("0".into()),
        cancelled_at: Some("0".into()),
        pay_method: Some(wire::PAY_METHOD_VBANK.into()),
        amount: Some(amount),
        balance_amt: Some(amount - account.refunded().get()),
        goods_name: Some(account.order_name.clone()),
        use_escrow: Some(false),
        currency: Some("KRW".into()),
        channel: Some("pc".into()),
        receipt_url: Some(receipt_url(&account.tid)),
        vbank: Some(wire::Vbank {
            vbank_code: account.bank.kftc().to_owned(),
            vbank_name: account.bank.name_ko().to_owned(),
            vbank_number: account.number.clone(),
            vbank_exp_date: wire::edi_date(account.due),
            vbank_holder: account.holder.clone(),
        }),
        ..Default::default()
    };
    match &account.state {
        AccountState::Issued => {
            let expired = at > account.due;
            payment.status = Some(
                if expired {
                    wire::STATUS_EXPIRED
                } else {
                    wire::STATUS_READY
                }
                .into(),
            );
        }
        AccountState::Deposited { at: paid_at, .. } => {
            payment.paid_at = Some(wire::edi_date(*paid_at));
            payment.status = Some(
                if refunds.is_empty() {
                    wire::STATUS_PAID
                } else if account.refunded() == account.amount {
                    wire::STATUS_CANCELLED
                } else {
                    wire::STATUS_PARTIAL_CANCELLED
                }
                .into(),
            );
            if let Some(last) = refunds.last() {
                payment.cancelled_tid = Some(last.tid.clone());
                payment.cancelled_at = Some(last.cancelled_at.clone());
                payment.cancels = Some(refunds);
            }
        }
        AccountState::Cancelled {
            at: cancelled_at,
            cancel_tid,
            reason,
        } => {
            payment.status = Some(wire::STATUS_CANCELLED.into());
            payment.balance_amt = Some(0);
            payment.cancelled_tid = Some(cancel_tid.clone());
            payment.cancelled_at = Some(wire::edi_date(*cancelled_at));
            payment.cancels = Some(vec![wire::Cancel {
                tid: cancel_tid.clone(),
                amount,
                cancelled_at: wire::edi_date(*cancelled_at),
                reason: reason.clone(),
                receipt_url: Some(receipt_url(cancel_tid)),
            }]);
        }
    }
    payment
}

/// A tid in NICE's shape: MID + "03" (vbank) + "01" + yyMMddHHmmss + a letter and 3 digits.
fn new_tid(mid: &str, now: UnixSeconds) -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{mid}0301{}{}{:03}",
        to_kst(now).format("%y%m%d%H%M%S"),
        char::from(b'A' + rng.gen_range(0..26u8)),
        rng.gen_range(0..1000)
    )
}

pub async fn issue(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = issue_account(&sandbox, &headers, &body);
    sandbox.faulted(PgProvider::NiceV2, Operation::Issue, operation).await
}

async fn issue_account(sandbox: &Sandbox, headers: &HeaderMap, body: &Bytes) -> Response {
    let Some(caller) = caller(headers) else {
        return unauthorized();
    };
    let request: wire::IssueRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return failure(StatusCode::BAD_REQUEST, wire::RESULT_BAD_REQUEST, &error.to_string()),
    };
    if request.order_id.is_empty() {
        return missing("orderId");
    }
    if request.goods_name.is_empty() {
        return missing("goodsName");
    }
    if let Some(sign_data) = &request.sign_data {
        let Some(edi_date) = &request.edi_date else {
            return missing("ediDate");
        };
        let expected = wire::issue_sign_data(&request.order_id, request.amount, edi_date, caller.secret_key);
        if !wire::signatures_equal(sign_data, &expected) {
            return sign_failed();
        }
    }
    let Some(amount) = Won::new(request.amount).ok().filter(|amount| !amount.is_zero()) else {
        return failure(
            StatusCode::OK,
            wire::RESULT_BAD_AMOUNT,
            "요청 금액이 올바르지 않습니다.",
        );
    };
    let Some(bank) = BankCode::from_kftc(&request.vbank_code).filter(|bank| wire::VBANK_BANKS.contains(&bank.kftc()))
    else {
        return failure(
            StatusCode::OK,
            wire::RESULT_ISSUE_FAILED,
            "가상계좌 발급 실패 (발급 불가 은행)",
        );
    };
    let now = sandbox.clock.now();
    let due = match (&request.vbank_exp_date, request.vbank_valid_hours) {
        (Some(text), _) => match wire::parse_time(text) {
            Some(due) => due,
            None => return failure(StatusCode::OK, wire::RESULT_BAD_DATE, "허용된 Date형식이 아닙니다."),
        },
        (None, Some(hours)) => now + hours * 3600,
        (None, None) => now + DEFAULT_VALID_SECONDS,
    };
    if due <= now {
        return failure(
            StatusCode::OK,
            wire::RESULT_BAD_VALIDITY,
            "가상계좌 유효시간 지정 오류 입니다.",
        );
    }
    let issued = sandbox.ledger(|ledger| {
        if ledger.order_exists(caller.client_key, &request.order_id) {
            return None;
        }
        let mut tid = new_tid(caller.mid, now);
        while ledger.get(caller.client_key, &tid).is_some() {
            tid = new_tid(caller.mid, now);
        }
        let account = Account {
            pg: PgProvider::NiceV2,
            tid,
            owner: caller.client_key.to_owned(),
            order_id: request.order_id.clone(),
            order_name: request.goods_name.clone(),
            amount,
            bank,
            number: ledger.new_account_number("5621"),
            holder: request.vbank_holder.clone().filter(|holder| !holder.is_empty()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        Some(account)
    });
    match issued {
        Some(account) => Json(payment_of(&account, caller.secret_key, now)).into_response(),
        None => failure(
            StatusCode::OK,
            wire::RESULT_ORDER_ID_USED,
            "이미 사용된 OrderId 입니다.",
        ),
    }
}

pub async fn get_payment(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, Path(tid): Path<String>) -> Response {
    let operation = find_payment(&sandbox, &headers, &tid);
    sandbox.faulted(PgProvider::NiceV2, Operation::Query, operation).await
}

async fn find_payment(sandbox: &Sandbox, headers: &HeaderMap, tid: &str) -> Response {
    let Some(caller) = caller(headers) else {
        return unauthorized();
    };
    match sandbox.ledger(|ledger| ledger.get(caller.client_key, tid).cloned()) {
        Some(account) => Json(payment_of(&account, caller.secret_key, sandbox.clock.now())).into_response(),
        None => failure(StatusCode::OK, wire::RESULT_NOT_FOUND, "거래내역이 존재 하지 않습니다."),
    }
}

pub async fn cancel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(tid): Path<String>,
    body: Bytes,
) -> Response {
    // One endpoint voids unpaid accounts and refunds deposited ones (with a refund account).
    let is_refund =
        serde_json::from_slice::<wire::CancelRequest>(&body).is_ok_and(|request| request.refund_account.is_some());
    let kind = if is_refund {
        Operation::Refund
    } else {
        Operation::Revoke
    };
    let operation = cancel_payment(&sandbox, &headers, &tid, &body);
    sandbox.faulted(PgProvider::NiceV2, kind, operation).await
}

async fn cancel_payment(sandbox: &Arc<Sandbox>, headers: &HeaderMap, tid: &str, body: &Bytes) -> Response {
    let Some(caller) = caller(headers) else {
        return unauthorized();
    };
    let request: wire::CancelRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return failure(StatusCode::BAD_REQUEST, wire::RESULT_BAD_REQUEST, &error.to_string()),
    };
    if request.reason.is_empty() {
        return missing("reason");
    }
    if request.order_id.is_empty() {
        return missing("orderId");
    }
    // signData is optional; when sent, it must verify [C].
    if let Some(sign_data) = &request.sign_data {
        let Some(edi_date) = &request.edi_date else {
            return missing("ediDate");
        };
        if !wire::signatures_equal(sign_data, &wire::cancel_sign_data(tid, edi_date, caller.secret_key)) {
            return sign_failed();
        }
    }
    let Some(account) = sandbox.ledger(|ledger| ledger.get(caller.client_key, tid).cloned()) else {
        return failure(StatusCode::OK, wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음");
    };
    if account.order_id != request.order_id {
        return refused(
            wire::RESULT_ORDER_ID_UNKNOWN,
            "orderId가 존재 하지 않습니다.",
            tid,
            &request.order_id,
        );
    }
    let now = sandbox.clock.now();
    if matches!(account.state, AccountState::Deposited { .. }) {
        return refund(sandbox, caller, tid, &request, now);
    }
    // After issuance only a full cancel is possible [C].
    if request.cancel_amt.is_some_and(|amount| amount != account.amount.get()) {
        return refused(
            wire::RESULT_CANCEL_AMOUNT_MISMATCH,
            "취소 금액 불일치",
            tid,
            &request.order_id,
        );
    }
    match sandbox.ledger(|ledger| ledger.revoke(caller.client_key, tid, &request.reason, now)) {
        Ok(account) => {
            // NICE fires its webhook on a cancel too [C api/hook.md], under the notify faults.
            let fault = sandbox.take_fault(PgProvider::NiceV2, Operation::Notify);
            if let Some(message) = notify::message_for(&account).filter(|_| fault != Some(Fault::Drop)) {
                let sandbox = sandbox.clone();
                tokio::spawn(async move {
                    let _ = if fault == Some(Fault::TimeoutAfterCommit) {
                        notify::deliver_losing_first_ack(&sandbox, message).await
                    } else {
                        notify::deliver(&sandbox, message).await
                    };
                });
            }
            Json(payment_of(&account, caller.secret_key, now)).into_response()
        }
        Err(RevokeRefusal::NotFound) => failure(StatusCode::OK, wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"),
        Err(RevokeRefusal::AlreadyCancelled) => {
            refused(wire::RESULT_ALREADY_CANCELLED, "취소 완료 거래", tid, &request.order_id)
        }
        // [I] a deposit that came in since: the account is refunded, never voided.
        Err(RevokeRefusal::AlreadyDeposited) => {
            refused(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래", tid, &request.order_id)
        }
    }
}

/// A cancel of a deposited account: a refund to `refundAccount`.
fn refund(sandbox: &Sandbox, caller: Caller, tid: &str, request: &wire::CancelRequest, now: UnixSeconds) -> Response {
    let (Some(number), Some(bank_code), Some(holder)) = (
        request.refund_account.as_deref(),
        request.refund_bank_code.as_deref(),
        request.refund_holder.as_deref(),
    ) else {
        // [I] a deposited account cannot be voided; without a refund account it is refused.
        return refused(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래", tid, &request.order_id);
    };
    let digits: String = number.chars().filter(|c| *c != '-').collect();
    if BankCode::from_kftc(bank_code).is_none()
        || holder.is_empty()
        || !(10..=16).contains(&digits.len())
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
    {
        return failure(
            StatusCode::OK,
            wire::RESULT_BAD_REQUEST,
            "잘못된 요청 입니다. (환불계좌 정보)",
        );
    }
    let amount = match request.cancel_amt.map(Won::new) {
        Some(Ok(amount)) if !amount.is_zero() => Some(amount),
        Some(_) => {
            return failure(
                StatusCode::OK,
                wire::RESULT_BAD_AMOUNT,
                "요청 금액이 올바르지 않습니다.",
            )
        }
        None => None,
    };
    match sandbox.ledger(|ledger| ledger.refund(caller.client_key, tid, amount, &request.reason, now)) {
        Ok((account, _)) => Json(payment_of(&account, caller.secret_key, now)).into_response(),
        Err(RefundRefusal::NotFound) => failure(StatusCode::OK, wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"),
        Err(RefundRefusal::NotDeposited) => {
            refused(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래", tid, &request.order_id)
        }
        Err(RefundRefusal::Exceeds { .. }) => refused(
            wire::RESULT_CANCEL_EXCEEDS,
            "취소금액이 취소가능금액보다 큼.",
            tid,
            &request.order_id,
        ),
    }
}

/// The nice_v2 routes, under `/nice_v2`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::PATH_ISSUE, axum::routing::post(issue))
        .route("/v1/payments/{tid}", axum::routing::get(get_payment))
        .route("/v1/payments/{tid}/cancel", axum::routing::post(cancel))
}

/// NICE's webhook: the payment object as JSON, signed over the event's time as `ediDate`,
/// on a deposit and on a cancel [C api/hook.md].
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let at = match &account.state {
        AccountState::Deposited { at, .. } => *at,
        AccountState::Cancelled { at, .. } => *at,
        AccountState::Issued => return None,
    };
    let secret_key = secret_of(&account.owner)?;
    let body = serde_json::to_vec(&payment_of(account, secret_key, at)).ok()?;
    Some(crate::notify::Message::new(
        PgProvider::NiceV2,
        "application/json;charset=utf-8",
        body,
    ))
}

/// NICE counts HTTP 200 with the body `OK` as delivered; anything else fails and is resent [C].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status == reqwest::StatusCode::OK && body.trim() == wire::NOTI_ACK
}

/// The documentation key pair, under the sandbox's MID.
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        wire::TEST_MID.to_owned(),
        ChannelSecrets {
            client_key: Some(wire::TEST_CLIENT_KEY.to_owned()),
            secret_key: Some(wire::TEST_SECRET_KEY.to_owned()),
            ..Default::default()
        },
    )
}
