//! The KICC EasyPay simulator: `/api/trades/revise` (40 voids an unpaid account, 60/62
//! refund a deposited one), a [P] `/api/trades/retrieveTransaction` and a [P]
//! approval-like issuance `/api/trades/approval`, each checking `msgAuthValue` with the
//! mall's secret key as KICC does.

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, ChannelSecrets, PgProvider, Won};
use vbank_pg::kicc::{parse_time, timestamp, wire};

/// KICC's test mall and the secret key its samples use [C3].
pub const TEST_MALL_ID: &str = "T5102001";
pub const TEST_SECRET_KEY: &str = "easypay!KICCTEST";

/// Each mall the simulator knows, with its secret key.
const MALLS: &[(&str, &str)] = &[(TEST_MALL_ID, TEST_SECRET_KEY)];

type Failure = (String, String);

fn failure(code: &str, message: impl Into<String>) -> Failure {
    (code.to_owned(), message.into())
}

fn read<T: DeserializeOwned>(body: &Bytes) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|error| failure(wire::RES_BAD_REQUEST, format!("요청 전문 오류: {error}")))
}

fn require<'a>(value: &'a str, name: &str) -> Result<&'a str, Failure> {
    if value.trim().is_empty() {
        Err(failure(wire::RES_BAD_REQUEST, format!("필수항목 누락: {name}")))
    } else {
        Ok(value)
    }
}

/// The secret key of a mall the simulator knows.
fn secret_key(mall_id: &str) -> Result<&'static str, Failure> {
    MALLS
        .iter()
        .find(|(mall, _)| *mall == mall_id)
        .map(|(_, key)| *key)
        .ok_or_else(|| {
            failure(
                wire::RES_BAD_REQUEST,
                format!("등록되지 않은 가맹점입니다. ({mall_id})"),
            )
        })
}

fn check_mac(expected: String, given: &str) -> Result<(), Failure> {
    if expected.eq_ignore_ascii_case(given.trim()) {
        Ok(())
    } else {
        Err(failure(wire::RES_MAC_MISMATCH, wire::MESSAGE_MAC_MISMATCH))
    }
}

/// A fresh 20-digit `pgCno`, unique in the ledger.
fn new_pg_cno(ledger: &crate::ledger::Ledger, mall_id: &str, now: i64) -> String {
    let moment = to_kst(now).format("%Y%m%d%H%M%S").to_string();
    loop {
        let pg_cno = format!("{moment}{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        if ledger.get(mall_id, &pg_cno).is_none() {
            return pg_cno;
        }
    }
}

pub async fn approval(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = issue(&sandbox, &body).unwrap_or_else(|(code, message)| wire::IssueResponse {
            res_cd: code,
            res_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox.faulted(PgProvider::Kicc, Operation::Issue, operation).await
}

fn issue(sandbox: &Sandbox, body: &Bytes) -> Result<wire::IssueResponse, Failure> {
    let request: wire::IssueRequest = read(body)?;
    let key = secret_key(&request.mall_id)?;
    check_mac(
        wire::issue_auth_value(
            key,
            &request.shop_transaction_id,
            &request.shop_order_no,
            request.amount,
        ),
        &request.msg_auth_value,
    )?;
    require(&request.shop_transaction_id, "shopTransactionId")?;
    let order_no = require(&request.shop_order_no, "shopOrderNo")?;
    if request.pay_method_type_code != wire::PAY_METHOD_VACCT {
        return Err(failure(wire::RES_BAD_REQUEST, "payMethodTypeCode 오류"));
    }
    let amount = Won::new(request.amount)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "amount 오류"))?;
    let info = &request.payment_info;
    let bank = BankCode::from_kftc(&info.bank_code)
        .filter(|bank| wire::VA_BANKS.contains(&bank.kftc()))
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "bankCode 오류"))?;
    let holder = require(&info.deposit_name, "depositName")?;
    require(&request.order_info.goods_name, "goodsName")?;
    require(&request.order_info.customer_info.customer_name, "customerName")?;
    let due = parse_time(require(&info.expiry_date, "expiryDate")?)
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "expiryDate 오류"))?;
    let now = sandbox.clock.now();
    if due <= now {
        return Err(failure(wire::RES_BAD_REQUEST, "입금기한이 지났습니다."));
    }
    let mall_id = request.mall_id.as_str();
    let account = sandbox.ledger(|ledger| {
        let account = Account {
            pg: PgProvider::Kicc,
            tid: new_pg_cno(ledger, mall_id, now),
            owner: mall_id.to_owned(),
            order_id: order_no.to_owned(),
            order_name: request.order_info.goods_name.clone(),
            amount,
            bank,
            number: ledger.new_account_number("5102"),
            holder: Some(holder.to_owned()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        account
    });
    let transaction_date = timestamp(now);
    Ok(wire::IssueResponse {
        res_cd: wire::RES_OK.into(),
        res_msg: "정상승인".into(),
        mall_id: Some(mall_id.to_owned()),
        msg_auth_value: Some(wire::approval_auth_value(
            key,
            &account.tid,
            amount.get(),
            &transaction_date,
        )),
        pg_cno: Some(account.tid),
        shop_transaction_id: Some(request.shop_transaction_id.clone()),
        shop_order_no: Some(account.order_id),
        amount: Some(amount.get()),
        transaction_date: Some(transaction_date),
        payment_info: Some(wire::PaymentInfo {
            pay_method_type_code: Some(wire::PAY_METHOD_VACCT.into()),
            bank_code: bank.kftc().to_owned(),
            bank_name: Some(bank.name_ko().to_owned()),
            account_no: Some(account.number),
            deposit_name: account.holder.unwrap_or_default(),
            expiry_date: timestamp(account.due),
        }),
    })
}

pub async fn revise(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    // One endpoint serves the pre-deposit cancel (40) and refunds (60, 62).
    let request: Result<wire::ReviseRequest, Failure> = read(&body);
    let is_refund = request.as_ref().is_ok_and(|request| {
        request.revise_type_code == wire::REVISE_REFUND || request.revise_type_code == wire::REVISE_PARTIAL_REFUND
    });
    let operation = async {
        let answer = request
            .and_then(|request| {
                if is_refund {
                    refund(&sandbox, &request)
                } else {
                    revoke(&sandbox, &request)
                }
            })
            .unwrap_or_else(|(code, message)| wire::ReviseResponse {
                res_cd: code,
                res_msg: message,
                ..Default::default()
            });
        Json(answer).into_response()
    };
    let kind = if is_refund {
        Operation::Refund
    } else {
        Operation::Revoke
    };
    sandbox.faulted(PgProvider::Kicc, kind, operation).await
}

/// Checks the mall and `msgAuthValue` of a revise or retrieve; returns the mall id.
fn verify_revise<'a>(mall_id: &'a str, pg_cno: &str, transaction_id: &str, mac: &str) -> Result<&'a str, Failure> {
    let key = secret_key(mall_id)?;
    check_mac(wire::msg_auth_value(key, pg_cno, transaction_id), mac)?;
    require(transaction_id, "shopTransactionId")?;
    require(pg_cno, "pgCno")?;
    Ok(mall_id)
}

fn revoke(sandbox: &Sandbox, request: &wire::ReviseRequest) -> Result<wire::ReviseResponse, Failure> {
    if request.revise_type_code != wire::REVISE_CANCEL {
        return Err(failure(wire::RES_BAD_REQUEST, "reviseTypeCode 오류"));
    }
    let mall_id = verify_revise(
        &request.mall_id,
        &request.pg_cno,
        &request.shop_transaction_id,
        &request.msg_auth_value,
    )?;
    let now = sandbox.clock.now();
    match sandbox.ledger(|ledger| ledger.revoke(mall_id, &request.pg_cno, &request.revise_message, now)) {
        Ok(account) => Ok(wire::ReviseResponse {
            res_cd: wire::RES_OK.into(),
            res_msg: "정상취소".into(),
            mall_id: Some(mall_id.to_owned()),
            shop_transaction_id: Some(request.shop_transaction_id.clone()),
            pg_cno: Some(request.pg_cno.clone()),
            revise_info: Some(wire::ReviseInfo {
                pg_cno: match &account.state {
                    AccountState::Cancelled { cancel_tid, .. } => cancel_tid.clone(),
                    _ => request.pg_cno.clone(),
                },
                amount: account.amount.get(),
                cancel_date: Some(timestamp(now)),
            }),
        }),
        Err(RevokeRefusal::NotFound) => Err(failure(wire::RES_NOT_FOUND, "거래내역이 존재하지 않습니다.")),
        Err(RevokeRefusal::AlreadyCancelled) => Err(failure(wire::RES_ALREADY_CANCELLED, "기취소 거래")),
        Err(RevokeRefusal::AlreadyDeposited) => Err(failure(
            wire::RES_ALREADY_DEPOSITED,
            "입금완료된 거래는 취소할 수 없습니다. 환불(60)로 요청하세요.",
        )),
    }
}

fn refund(sandbox: &Sandbox, request: &wire::ReviseRequest) -> Result<wire::ReviseResponse, Failure> {
    let mall_id = verify_revise(
        &request.mall_id,
        &request.pg_cno,
        &request.shop_transaction_id,
        &request.msg_auth_value,
    )?;
    let info = request
        .refund_info
        .as_ref()
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "필수항목 누락: refundInfo"))?;
    BankCode::from_kftc(&info.refund_bank_code).ok_or_else(|| failure(wire::RES_BAD_REQUEST, "refundBankCode 오류"))?;
    let account_number = info.refund_account_no.as_str();
    if account_number.is_empty() || !account_number.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-') {
        return Err(failure(wire::RES_BAD_REQUEST, "refundAccountNo 오류"));
    }
    require(&info.refund_deposit_name, "refundDepositName")?;
    let amount = if request.revise_type_code == wire::REVISE_PARTIAL_REFUND {
        let amount = request
            .amount
            .and_then(|amount| Won::new(amount).ok())
            .ok_or_else(|| failure(wire::RES_BAD_AMOUNT, "amount 오류"))?;
        let remaining = request
            .remain_amount
            .ok_or_else(|| failure(wire::RES_BAD_AMOUNT, "remainAmount 오류"))?;
        let refundable = sandbox
            .ledger(|ledger| {
                ledger
                    .get(mall_id, &request.pg_cno)
                    .map(|account| account.amount.get() - account.refunded().get())
            })
            .unwrap_or_default();
        if refundable - amount.get() != remaining {
            return Err(failure(
                wire::RES_BAD_AMOUNT,
                "취소 후 잔액(remainAmount)이 일치하지 않습니다.",
            ));
        }
        Some(amount)
    } else {
        None
    };
    let now = sandbox.clock.now();
    match sandbox.ledger(|ledger| ledger.refund(mall_id, &request.pg_cno, amount, &request.revise_message, now)) {
        Ok((_, refund)) => {
            tracing::debug!(account = %account_number, tid = %refund.tid, "KICC sandbox refunded");
            Ok(wire::ReviseResponse {
                res_cd: wire::RES_OK.into(),
                res_msg: "정상처리".into(),
                mall_id: Some(mall_id.to_owned()),
                shop_transaction_id: Some(request.shop_transaction_id.clone()),
                pg_cno: Some(request.pg_cno.clone()),
                revise_info: Some(wire::ReviseInfo {
                    pg_cno: refund.tid,
                    amount: refund.amount.get(),
                    cancel_date: Some(timestamp(refund.at)),
                }),
            })
        }
        Err(RefundRefusal::NotFound) => Err(failure(wire::RES_NOT_FOUND, "거래내역이 존재하지 않습니다.")),
        Err(RefundRefusal::NotDeposited) => Err(failure(wire::RES_NOT_DEPOSITED, "입금되지 않은 거래입니다.")),
        Err(RefundRefusal::Exceeds { refundable }) => Err(failure(
            wire::RES_BAD_AMOUNT,
            format!("환불 가능 금액({refundable}원)을 초과합니다."),
        )),
    }
}

pub async fn retrieve(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = inquire(&sandbox, &body).unwrap_or_else(|(code, message)| wire::RetrieveResponse {
            res_cd: code,
            res_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox.faulted(PgProvider::Kicc, Operation::Query, operation).await
}

fn inquire(sandbox: &Sandbox, body: &Bytes) -> Result<wire::RetrieveResponse, Failure> {
    let request: wire::RetrieveRequest = read(body)?;
    let mall_id = verify_revise(
        &request.mall_id,
        &request.pg_cno,
        &request.shop_transaction_id,
        &request.msg_auth_value,
    )?;
    let account = sandbox
        .ledger(|ledger| ledger.get(mall_id, &request.pg_cno).cloned())
        .ok_or_else(|| failure(wire::RES_NOT_FOUND, "거래내역이 존재하지 않습니다."))?;
    let mut answer = wire::RetrieveResponse {
        res_cd: wire::RES_OK.into(),
        res_msg: "정상".into(),
        pg_cno: Some(account.tid.clone()),
        shop_order_no: Some(account.order_id.clone()),
        amount: Some(account.amount.get()),
        ..Default::default()
    };
    let (status, message) = match &account.state {
        AccountState::Issued => (wire::STATUS_WAITING, "입금대기"),
        AccountState::Deposited { at, .. } => {
            answer.deposit_date = Some(timestamp(*at));
            if account.refunded() == account.amount {
                (wire::STATUS_REFUNDED, "환불완료")
            } else {
                (wire::STATUS_DEPOSITED, "입금완료")
            }
        }
        AccountState::Cancelled { at, .. } => {
            answer.cancel_date = Some(timestamp(*at));
            (wire::STATUS_CANCELLED, "승인취소")
        }
    };
    answer.status_code = Some(status.into());
    answer.status_message = Some(message.into());
    Ok(answer)
}

/// The KICC routes, under `/kicc`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::ISSUE_PATH, axum::routing::post(approval))
        .route(wire::REVISE_PATH, axum::routing::post(revise))
        .route(wire::RETRIEVE_PATH, axum::routing::post(retrieve))
}

/// KICC's new JSON notification of a deposit [C common fields; P the rest]. KICC
/// notifies only successful transactions, so nothing is sent for a voided account.
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    let body = serde_json::json!({
        "resCd": wire::RES_OK,
        "resMsg": "정상",
        "mallId": account.owner,
        "notiType": wire::NOTI_TYPE_DEPOSIT,
        "pgCno": account.tid,
        "shopOrderNo": account.order_id,
        "amount": account.amount.get(),
        "accountNo": account.number,
        "bankCode": account.bank.kftc(),
        "depositName": depositor,
        "depositDate": timestamp(*at),
    });
    Some(crate::notify::Message::new(
        PgProvider::Kicc,
        "application/json; charset=utf-8",
        body.to_string(),
    ))
}

/// KICC resends (every 3 minutes, 10 times) unless the answer is JSON `resCd` 0000 [C].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success()
        && serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|answer| answer.get("resCd").and_then(|code| code.as_str()) == Some(wire::RES_OK))
}

/// The public test mall `T5102001` with the secret key KICC's samples use.
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        TEST_MALL_ID.to_owned(),
        ChannelSecrets {
            secret_key: Some(TEST_SECRET_KEY.to_owned()),
            ..Default::default()
        },
    )
}
