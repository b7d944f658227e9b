//! The NICE Payments (old web API) simulator: `webapi/get_vacount.jsp` (issue),
//! `webapi/cancel_process.jsp` (pre-deposit cancel, and refunds with a refund account) and
//! `webapi/inquery/trans_status.jsp` (status inquiry), taking EUC-KR forms (or the charset
//! the content type names), checking `SignData` with the MID's MerchantKey as NICE does,
//! and answering JSON in the charset `CharSet` asks for (EUC-KR by default).
//!
//! A deposit into a cancelled account, or a second deposit, is refused by the sandbox's
//! bank itself (the shared ledger), before any notice: NICE's codes for those refusals
//! are `wire::RESULT_DEPOSIT_INTO_CANCELLED` (4123) and `wire::RESULT_DEPOSIT_DUPLICATE` (4124).

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, ChannelSecrets, PgProvider, Won};
use vbank_pg::form;
use vbank_pg::nice::{parse_kst, wire};

/// The MerchantKey of each MID the simulator knows (pg.md §3.4).
const TEST_KEYS: &[(&str, &str)] = &[(wire::TEST_MID, wire::TEST_MERCHANT_KEY)];

type Fields = Vec<(String, String)>;
type Failure = (String, String);

/// The request's form: in the charset its content type names, else NICE's default EUC-KR.
fn fields(headers: &HeaderMap, body: &Bytes) -> Fields {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let encoding = match content_type {
        Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
        _ => encoding_rs::EUC_KR,
    };
    form::parse(body, encoding)
}

fn get<'a>(fields: &'a Fields, name: &str) -> &'a str {
    form::field(fields, name).map(str::trim).unwrap_or_default()
}

fn failure(code: &str, message: impl Into<String>) -> Failure {
    (code.to_owned(), message.into())
}

fn require<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, Failure> {
    let value = get(fields, name);
    if value.is_empty() {
        Err(failure(
            wire::RESULT_MISSING_FIELD,
            format!("{name} 필드값이 누락되었습니다."),
        ))
    } else {
        Ok(value)
    }
}

/// The MID of the request and its MerchantKey.
fn merchant(fields: &Fields) -> Result<(&str, &'static str), Failure> {
    let mid = require(fields, wire::field::MID)?;
    TEST_KEYS
        .iter()
        .find(|(test_mid, _)| *test_mid == mid)
        .map(|(_, key)| (mid, *key))
        .ok_or_else(|| failure(wire::RESULT_BAD_MID, "상점 MID가 유효하지 않습니다."))
}

fn check_sign(fields: &Fields, expected: &str) -> Result<(), Failure> {
    if get(fields, wire::field::SIGN_DATA).eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(failure(wire::RESULT_SIGN_FAILED, wire::MESSAGE_SIGN_FAILED))
    }
}

/// JSON in the charset `CharSet` names (NICE's default is EUC-KR).
fn answer(fields: &Fields, value: &impl Serialize) -> Response {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    if get(fields, wire::field::CHARSET).eq_ignore_ascii_case("utf-8") {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            json,
        )
            .into_response()
    } else {
        let bytes = encoding_rs::EUC_KR.encode(&json).0.into_owned();
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=euc-kr")],
            bytes,
        )
            .into_response()
    }
}

/// `VbankExpDate`: `YYYYMMDD` (the day's end) or `YYYYMMDDHHMI` (the minute's end) [C3].
fn parse_due(text: &str) -> Option<i64> {
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    match text.len() {
        8 => parse_kst(text, "235959"),
        12 => parse_kst(&text[..8], &text[8..]).map(|due| due + 59),
        _ => None,
    }
}

pub async fn get_vacount(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    let operation = async {
        let response = issue(&sandbox, &fields).unwrap_or_else(|(code, message)| wire::IssueResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        answer(&fields, &response)
    };
    sandbox.faulted(PgProvider::Nice, Operation::Issue, operation).await
}

fn issue(sandbox: &Sandbox, fields: &Fields) -> Result<wire::IssueResponse, Failure> {
    use wire::field as f;
    let (mid, key) = merchant(fields)?;
    for name in [
        f::TID,
        f::EDI_DATE,
        f::MOID,
        f::AMT,
        f::GOODS_NAME,
        f::BANK_CODE,
        f::VBANK_EXP_DATE,
        f::VBANK_ACCOUNT_NAME,
        f::SIGN_DATA,
    ] {
        require(fields, name)?;
    }
    let (tid, moid, amount_text) = (get(fields, f::TID), get(fields, f::MOID), get(fields, f::AMT));
    check_sign(
        fields,
        &wire::issue_sign_data(mid, amount_text, get(fields, f::EDI_DATE), moid, key),
    )?;
    let amount = Won::parse(amount_text)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RESULT_BAD_AMOUNT, "요청 금액이 올바르지 않습니다."))?;
    let bank = BankCode::from_kftc(get(fields, f::BANK_CODE))
        .filter(|bank| wire::VBANK_BANKS.contains(&bank.kftc()))
        .ok_or_else(|| failure(wire::RESULT_ISSUE_FAILED, "가상계좌 발급 실패 (발급 불가 은행)"))?;
    // [I] TID = MID + "03" + "01" + yyMMddHHmmss + 4 digits.
    if !(tid.starts_with(mid) && tid.len() == mid.len() + 20 && tid.is_ascii()) {
        return Err(failure(wire::RESULT_TID_INVALID, "TID가 유효하지 않습니다"));
    }
    let due = parse_due(get(fields, f::VBANK_EXP_DATE))
        .ok_or_else(|| failure(wire::RESULT_BAD_DUE, "가상계좌 입금예정일 오류"))?;
    let now = sandbox.clock.now();
    if due < now {
        return Err(failure(
            wire::RESULT_DUE_IN_PAST,
            "입금예정일을 오늘 이전 날짜로 설정할 수 없습니다",
        ));
    }
    let account = sandbox.ledger(|ledger| {
        if ledger.get(mid, tid).is_some() {
            return Err(failure(wire::RESULT_TID_DUPLICATE, "TID 중복 오류"));
        }
        let account = Account {
            pg: PgProvider::Nice,
            tid: tid.to_owned(),
            owner: mid.to_owned(),
            order_id: moid.to_owned(),
            order_name: get(fields, f::GOODS_NAME).to_owned(),
            amount,
            bank,
            number: ledger.new_account_number("5620"),
            holder: Some(get(fields, f::VBANK_ACCOUNT_NAME).to_owned()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        Ok(account)
    })?;
    let due = to_kst(account.due);
    Ok(wire::IssueResponse {
        result_code: wire::RESULT_ISSUED.into(),
        result_msg: "가상계좌 발급 성공".into(),
        tid: Some(account.tid),
        moid: Some(account.order_id),
        amount: Some(amount.to_string()),
        auth_date: Some(to_kst(now).format("%y%m%d%H%M%S").to_string()),
        vbank_bank_code: Some(bank.kftc().to_owned()),
        vbank_bank_name: Some(bank.name_ko().to_owned()),
        vbank_num: Some(account.number),
        vbank_exp_date: Some(due.format("%Y%m%d").to_string()),
        vbank_exp_time: Some(due.format("%H%M%S").to_string()),
    })
}

pub async fn cancel_process(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    // One endpoint voids unpaid accounts and refunds deposited ones (with a refund account).
    let is_refund = !get(&fields, wire::field::REFUND_ACCT_NO).is_empty();
    let kind = if is_refund {
        Operation::Refund
    } else {
        Operation::Revoke
    };
    let operation = async {
        let response = if is_refund {
            refund(&sandbox, &fields)
        } else {
            revoke(&sandbox, &fields)
        };
        let response = response.unwrap_or_else(|(code, message)| wire::CancelResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        answer(&fields, &response)
    };
    sandbox.faulted(PgProvider::Nice, kind, operation).await
}

/// Checks a cancel's MID and `SignData`; returns the MID, TID and `CancelAmt`.
fn verify_cancel(fields: &Fields) -> Result<(&str, &str, Won), Failure> {
    use wire::field as f;
    let (mid, key) = merchant(fields)?;
    for name in [f::TID, f::CANCEL_AMT, f::EDI_DATE, f::SIGN_DATA] {
        require(fields, name)?;
    }
    let cancel_amount = get(fields, f::CANCEL_AMT);
    check_sign(
        fields,
        &wire::cancel_sign_data(mid, cancel_amount, get(fields, f::EDI_DATE), key),
    )?;
    let amount = Won::parse(cancel_amount)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RESULT_CANCEL_AMOUNT_ZERO, "취소 요청금액 0원 이하"))?;
    Ok((mid, get(fields, f::TID), amount))
}

fn revoke(sandbox: &Sandbox, fields: &Fields) -> Result<wire::CancelResponse, Failure> {
    let (mid, tid, amount) = verify_cancel(fields)?;
    let partial_code = get(fields, wire::field::PARTIAL_CANCEL_CODE);
    let reason = get(fields, wire::field::CANCEL_MSG);
    let now = sandbox.clock.now();
    let account = sandbox.ledger(|ledger| {
        let account = ledger
            .get(mid, tid)
            .ok_or_else(|| failure(wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"))?;
        if matches!(account.state, AccountState::Issued) {
            if partial_code == wire::CANCEL_PARTIAL {
                return Err(failure(wire::RESULT_PARTIAL_NOT_ALLOWED, "해당결제수단 부분취소 불가"));
            }
            if amount != account.amount {
                return Err(failure(wire::RESULT_CANCEL_AMOUNT_MISMATCH, "취소 금액 불일치"));
            }
        }
        ledger.revoke(mid, tid, reason, now).map_err(|refusal| match refusal {
            RevokeRefusal::NotFound => failure(wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"),
            RevokeRefusal::AlreadyCancelled => failure(wire::RESULT_ALREADY_CANCELLED, "취소 완료 거래"),
            // [I] a deposited account is refunded (with a refund account), never voided.
            RevokeRefusal::AlreadyDeposited => failure(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래"),
        })
    })?;
    let (at, cancel_tid) = match &account.state {
        AccountState::Cancelled { at, cancel_tid, .. } => (*at, cancel_tid.clone()),
        AccountState::Issued | AccountState::Deposited { .. } => (now, account.tid.clone()),
    };
    let at = to_kst(at);
    Ok(wire::CancelResponse {
        result_code: wire::RESULT_CANCELLED.into(),
        result_msg: "취소 성공".into(),
        tid: Some(account.tid),
        moid: Some(account.order_id),
        cancel_amount: Some(amount.to_string()),
        cancel_date: Some(at.format("%Y%m%d").to_string()),
        cancel_time: Some(at.format("%H%M%S").to_string()),
        cancel_num: Some(cancel_tid),
        remain_amount: Some("0".into()),
    })
}

fn refund(sandbox: &Sandbox, fields: &Fields) -> Result<wire::CancelResponse, Failure> {
    use wire::field as f;
    let (mid, tid, amount) = verify_cancel(fields)?;
    BankCode::from_kftc(require(fields, f::REFUND_BANK_CD)?)
        .ok_or_else(|| failure(wire::RESULT_MISSING_FIELD, "RefundBankCd 값이 올바르지 않습니다."))?;
    let account_number: String = require(fields, f::REFUND_ACCT_NO)?
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if !(10..=16).contains(&account_number.len()) || !account_number.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(failure(
            wire::RESULT_MISSING_FIELD,
            "RefundAcctNo 값이 올바르지 않습니다.",
        ));
    }
    require(fields, f::REFUND_ACCT_NM)?;
    let full = match get(fields, f::PARTIAL_CANCEL_CODE) {
        wire::CANCEL_FULL | "" => true,
        wire::CANCEL_PARTIAL => false,
        _ => {
            return Err(failure(
                wire::RESULT_MISSING_FIELD,
                "PartialCancelCode 값이 올바르지 않습니다.",
            ))
        }
    };
    let reason = get(fields, f::CANCEL_MSG);
    let now = sandbox.clock.now();
    let (account, refund) = sandbox.ledger(|ledger| {
        let account = ledger
            .get(mid, tid)
            .ok_or_else(|| failure(wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"))?;
        match account.state {
            AccountState::Cancelled { .. } => {
                return Err(failure(wire::RESULT_ALREADY_CANCELLED, "취소 완료 거래"));
            }
            AccountState::Issued => return Err(failure(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래")),
            AccountState::Deposited { .. } => {}
        }
        let refundable = account.amount.get() - account.refunded().get();
        // [I] "0" cancels all that is left, and its CancelAmt must say how much that is.
        if full && amount.get() != refundable {
            return Err(failure(wire::RESULT_CANCEL_AMOUNT_MISMATCH, "취소 금액 불일치"));
        }
        ledger
            .refund(mid, tid, Some(amount), reason, now)
            .map_err(|refusal| match refusal {
                RefundRefusal::NotFound => failure(wire::RESULT_CANCEL_NOT_FOUND, "취소 해당거래 없음"),
                RefundRefusal::NotDeposited => failure(wire::RESULT_NOT_CANCELLABLE, "취소 불가능 거래"),
                RefundRefusal::Exceeds { .. } => failure(wire::RESULT_CANCEL_EXCEEDS, "취소금액이 취소가능금액보다 큼"),
            })
    })?;
    let at = to_kst(refund.at);
    Ok(wire::CancelResponse {
        result_code: wire::RESULT_REFUNDED.into(),
        result_msg: "환불 성공".into(),
        tid: Some(account.tid.clone()),
        moid: Some(account.order_id.clone()),
        cancel_amount: Some(refund.amount.to_string()),
        cancel_date: Some(at.format("%Y%m%d").to_string()),
        cancel_time: Some(at.format("%H%M%S").to_string()),
        cancel_num: Some(refund.tid),
        remain_amount: Some((account.amount.get() - account.refunded().get()).to_string()),
    })
}

pub async fn trans_status(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    let operation = async {
        let response = inquire(&sandbox, &fields).unwrap_or_else(|(code, message)| wire::InquiryResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        answer(&fields, &response)
    };
    sandbox.faulted(PgProvider::Nice, Operation::Query, operation).await
}

fn inquire(sandbox: &Sandbox, fields: &Fields) -> Result<wire::InquiryResponse, Failure> {
    use wire::field as f;
    let (mid, key) = merchant(fields)?;
    for name in [f::TID, f::EDI_DATE, f::SIGN_DATA] {
        require(fields, name)?;
    }
    let tid = get(fields, f::TID);
    check_sign(
        fields,
        &wire::inquiry_sign_data(tid, mid, get(fields, f::EDI_DATE), key),
    )?;
    let Some(account) = sandbox.ledger(|ledger| ledger.get(mid, tid).cloned()) else {
        return Ok(wire::InquiryResponse {
            result_code: wire::RESULT_INQUIRY_OK.into(),
            result_msg: "승인 거래 없음".into(),
            tid: Some(tid.to_owned()),
            status: Some(wire::STATUS_NONE.into()),
            ..Default::default()
        });
    };
    let mut response = wire::InquiryResponse {
        result_code: wire::RESULT_INQUIRY_OK.into(),
        result_msg: "정상 처리되었습니다.".into(),
        tid: Some(account.tid.clone()),
        moid: Some(account.order_id.clone()),
        amount: Some(account.amount.to_string()),
        ..Default::default()
    };
    let (status, vbank_state) = match &account.state {
        AccountState::Issued => (wire::STATUS_APPROVED, wire::VBANK_WAITING),
        AccountState::Deposited { at, .. } => {
            response.auth_date = Some(to_kst(*at).format("%y%m%d%H%M%S").to_string());
            if account.refunded() == account.amount {
                (wire::STATUS_CANCELLED, wire::VBANK_DEPOSITED)
            } else {
                (wire::STATUS_APPROVED, wire::VBANK_DEPOSITED)
            }
        }
        AccountState::Cancelled { at, .. } => {
            let at = to_kst(*at);
            response.cancel_date = Some(at.format("%Y%m%d").to_string());
            response.cancel_time = Some(at.format("%H%M%S").to_string());
            (wire::STATUS_CANCELLED, wire::VBANK_WAITING)
        }
    };
    response.status = Some(status.into());
    response.vbank_state = Some(vbank_state.into());
    Ok(response)
}

/// The NICE routes, under `/nice`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::PATH_ISSUE, axum::routing::post(get_vacount))
        .route(wire::PATH_CANCEL, axum::routing::post(cancel_process))
        .route(wire::PATH_INQUIRY, axum::routing::post(trans_status))
}

/// NICE's "결제데이터통보" of a deposit: an EUC-KR form, unsigned [C3]. The simulator
/// sends none for a cancel.
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    use wire::noti as n;
    let auth_date = to_kst(*at).format("%y%m%d%H%M%S").to_string();
    let amount = account.amount.to_string();
    let bank_name = account.bank.name_ko();
    let body = form::encode(
        [
            (n::PAY_METHOD, wire::PAY_METHOD_VBANK),
            (n::MID, account.owner.as_str()),
            (n::TID, account.tid.as_str()),
            (n::MOID, account.order_id.as_str()),
            (n::AMT, amount.as_str()),
            (n::GOODS_NAME, account.order_name.as_str()),
            (n::NAME, depositor.as_str()),
            (n::MALL_USER_ID, ""),
            (n::RESULT_CODE, wire::RESULT_DEPOSITED),
            (n::RESULT_MSG, "가상계좌 입금 성공"),
            (n::AUTH_CODE, ""),
            (n::AUTH_DATE, auth_date.as_str()),
            (n::STATE_CD, wire::STATE_APPROVED),
            (n::CANCEL_DATE, ""),
            (n::TRANS_TYPE, "0"),
            (n::VBANK_NUM, account.number.as_str()),
            (n::VBANK_NAME, bank_name),
            (n::VBANK_INPUT_NAME, depositor.as_str()),
            (n::FN_CD, account.bank.kftc()),
            (n::FN_NAME, bank_name),
            (n::BUYER_AUTH_NUM, ""),
            (n::BUYER_EMAIL, ""),
            (n::RCPT_AUTH_CODE, ""),
            (n::RCPT_TID, ""),
            (n::RCPT_TYPE, "0"),
        ],
        encoding_rs::EUC_KR,
    );
    Some(crate::notify::Message::new(
        PgProvider::Nice,
        "application/x-www-form-urlencoded; charset=euc-kr",
        body,
    ))
}

/// NICE resends until the body is `OK` [C3].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success() && body.trim() == wire::NOTI_ACK
}

/// NICE's public test MID `nicepay00m` and its MerchantKey.
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        wire::TEST_MID.to_owned(),
        ChannelSecrets {
            merchant_key: Some(wire::TEST_MERCHANT_KEY.to_owned()),
            ..Default::default()
        },
    )
}
