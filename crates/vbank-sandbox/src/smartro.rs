//! The Smartro (`smartro_v2`) simulator: `vacct.do` (issue), `cancel.do` (pre-deposit cancel,
//! and refunds with a refund account) and the [P] `inquiry.do`, each an `{EncData, Mid}`
//! envelope that must decrypt under the Mid's MerchantKey; cancels must carry the cancel
//! password and a matching `HashData`. Deposits are notified as UTF-8 forms (신통보) signed with
//! `SignValue`.

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, ChannelSecrets, PgProvider, UnixSeconds, Won};
use vbank_pg::form;
use vbank_pg::smartro::{end_of_day, parse_date_time, wire};

/// The sandbox's test merchant [P: Smartro issues test MIDs and keys per merchant].
pub const TEST_MID: &str = "smartro01m";
pub const TEST_MERCHANT_KEY: &str = "vbankSandboxSmartroMerchantKey+/0123456789abcdefghijklmnopqrstuv";
pub const TEST_CANCEL_PASSWORD: &str = "123456";

/// The merchants the simulator knows: (Mid, MerchantKey, cancel password).
pub const TEST_KEYS: &[(&str, &str, &str)] = &[(TEST_MID, TEST_MERCHANT_KEY, TEST_CANCEL_PASSWORD)];

struct Merchant {
    mid: &'static str,
    key: &'static str,
    cancel_password: &'static str,
}

/// A refusal: `ResultCode` and `ResultMsg`.
type Failure = (&'static str, String);

fn failure(code: &'static str, message: impl Into<String>) -> Failure {
    (code, message.into())
}

fn bad_request(message: impl Into<String>) -> Failure {
    failure(wire::RESULT_BAD_REQUEST, message)
}

fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(bad_request(format!("필수 파라미터 누락: {name}")))
    } else {
        Ok(value)
    }
}

fn merchant(mid: &str) -> Option<Merchant> {
    TEST_KEYS
        .iter()
        .find(|(id, _, _)| *id == mid)
        .map(|(mid, key, cancel_password)| Merchant {
            mid,
            key,
            cancel_password,
        })
}

/// Opens the envelope: the Mid must be known and `EncData` must decrypt under its key into
/// parameters naming the same Mid.
fn open<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    inner_mid: impl Fn(&T) -> &str,
) -> Result<(Merchant, T), Failure> {
    let envelope: wire::Envelope = serde_json::from_slice(body).map_err(|_| bad_request("요청 전문 오류"))?;
    let merchant = merchant(&envelope.mid)
        .ok_or_else(|| failure(wire::RESULT_BAD_ENVELOPE, format!("미등록 가맹점 ({})", envelope.mid)))?;
    let text = wire::decrypt(merchant.key, &envelope.enc_data)
        .ok_or_else(|| failure(wire::RESULT_BAD_ENVELOPE, "EncData 복호화 실패"))?;
    let params: T = serde_json::from_str(&text).map_err(|_| bad_request("EncData 전문 오류"))?;
    if inner_mid(&params) != merchant.mid {
        return Err(failure(wire::RESULT_BAD_ENVELOPE, "Mid 불일치"));
    }
    Ok((merchant, params))
}

fn check_cancel(merchant: &Merchant, params: &wire::CancelParams) -> Result<(), Failure> {
    if params.cancel_pwd.as_deref() != Some(merchant.cancel_password) {
        return Err(failure(wire::RESULT_WRONG_PASSWORD, "취소 비밀번호 불일치"));
    }
    let expected = wire::cancel_hash(
        &params.tid,
        merchant.key,
        &params.cancel_amt,
        &params.partial_cancel_code,
    );
    if params.hash_data.as_deref() != Some(expected.as_str()) {
        return Err(failure(wire::RESULT_HASH_MISMATCH, "HashData 불일치"));
    }
    Ok(())
}

/// A Smartro TID: Mid (10) + pay method "03" + medium "01" + yyMMddHHmmss + 4 digits [I, NICE-style].
fn transaction_id(mid: &str, now: UnixSeconds) -> String {
    format!(
        "{mid}0301{}{:04}",
        to_kst(now).format("%y%m%d%H%M%S"),
        rand::thread_rng().gen_range(0..10_000)
    )
}

fn yymmddhhmmss(at: UnixSeconds) -> String {
    to_kst(at).format("%y%m%d%H%M%S").to_string()
}

/// `POST /payment/approval/vacct.do`.
pub async fn vacct(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = issue(&sandbox, &body).unwrap_or_else(|(code, message)| wire::IssueAnswer {
            result_code: code.to_owned(),
            result_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox
        .faulted(PgProvider::SmartroV2, Operation::Issue, operation)
        .await
}

fn issue(sandbox: &Sandbox, body: &Bytes) -> Result<wire::IssueAnswer, Failure> {
    let (merchant, params) = open(body, |params: &wire::IssueParams| &params.mid)?;
    if params.pay_method != wire::PAY_METHOD_VBANK || params.trans_type != wire::TRANS_TYPE_NORMAL {
        return Err(bad_request("PayMethod/TransType 오류"));
    }
    let amount = Won::parse(required(&params.amt, "Amt")?)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| bad_request("Amt 오류"))?;
    for (value, name) in [
        (&params.goods_name, "GoodsName"),
        (&params.edi_date, "EdiDate"),
        (&params.buyer_name, "BuyerName"),
        (&params.buyer_email, "BuyerEmail"),
        (&params.vbank_account_name, "VBankAccountName"),
    ] {
        required(value, name)?;
    }
    let moid = required(&params.moid, "Moid")?;
    if !moid.chars().all(char::is_alphanumeric) {
        return Err(bad_request("Moid 에 특수문자를 사용할 수 없습니다."));
    }
    if !required(&params.buyer_tel, "BuyerTel")?
        .bytes()
        .all(|byte| byte.is_ascii_digit())
    {
        return Err(bad_request("BuyerTel 은 숫자만 입력하세요."));
    }
    let bank = BankCode::from_kftc(&params.vbank_bank_code)
        .filter(|bank| wire::offers(bank.kftc()))
        .ok_or_else(|| failure(wire::RESULT_BANK_UNAVAILABLE, "가상계좌 채번불가 은행"))?;
    if wire::TEST_UNAVAILABLE_BANKS.contains(&bank.kftc()) {
        return Err(failure(
            wire::RESULT_BANK_UNAVAILABLE,
            format!("테스트서버 가상계좌 채번불가 은행 ({})", bank.name_ko()),
        ));
    }
    let due = match params.vbank_exp_date.len() {
        8 => end_of_day(&params.vbank_exp_date),
        12 => parse_date_time(&format!("{}00", params.vbank_exp_date)).map(|minute| minute + 59),
        _ => None,
    }
    .ok_or_else(|| bad_request("VbankExpDate 오류"))?;
    let now = sandbox.clock.now();
    if due <= now {
        return Err(bad_request("입금만료일이 지났습니다."));
    }
    let account = sandbox.ledger(|ledger| {
        let mut tid = transaction_id(merchant.mid, now);
        while ledger.get(merchant.mid, &tid).is_some() {
            tid = transaction_id(merchant.mid, now);
        }
        let account = Account {
            pg: PgProvider::SmartroV2,
            tid,
            owner: merchant.mid.to_owned(),
            order_id: moid.to_owned(),
            order_name: params.goods_name.clone(),
            amount,
            bank,
            number: ledger.new_account_number("270"),
            holder: Some(params.vbank_account_name.clone()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        account
    });
    Ok(wire::IssueAnswer {
        result_code: wire::RESULT_ISSUED.into(),
        result_msg: "가상계좌 발급 성공".into(),
        tid: Some(account.tid),
        moid: Some(account.order_id),
        vbank_name: Some(bank.name_ko().to_owned()),
        vbank_num: Some(account.number),
        vbank_bank_code: Some(bank.kftc().to_owned()),
        vbank_exp_date: Some(to_kst(account.due).format("%Y%m%d").to_string()),
    })
}

/// `POST /payment/approval/cancel.do`: a pre-deposit cancel, or (with a refund account) a refund.
pub async fn cancel(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let opened = open(&body, |params: &wire::CancelParams| &params.mid);
    let is_refund = matches!(&opened, Ok((_, params)) if params.refund_acct_no.is_some());
    let kind = if is_refund {
        Operation::Refund
    } else {
        Operation::Revoke
    };
    let operation = async {
        let answer = opened
            .and_then(|(merchant, params)| {
                check_cancel(&merchant, &params)?;
                if is_refund {
                    refund_deposit(&sandbox, &merchant, &params)
                } else {
                    revoke(&sandbox, &merchant, &params)
                }
            })
            .unwrap_or_else(|(code, message)| wire::CancelAnswer {
                result_code: code.to_owned(),
                result_msg: message,
                ..Default::default()
            });
        Json(answer).into_response()
    };
    sandbox.faulted(PgProvider::SmartroV2, kind, operation).await
}

fn revoke(sandbox: &Sandbox, merchant: &Merchant, params: &wire::CancelParams) -> Result<wire::CancelAnswer, Failure> {
    let now = sandbox.clock.now();
    let account = sandbox.ledger(|ledger| {
        match ledger.get(merchant.mid, &params.tid) {
            None => return Err(failure(wire::RESULT_NOT_FOUND, "거래 없음")),
            Some(account) if matches!(account.state, AccountState::Issued) => {
                if params.partial_cancel_code != wire::PARTIAL_FULL || params.cancel_amt != account.amount.to_string() {
                    return Err(failure(
                        wire::RESULT_BAD_AMOUNT,
                        "입금 전 가상계좌는 전액 취소만 가능합니다.",
                    ));
                }
            }
            Some(_) => {}
        }
        ledger
            .revoke(merchant.mid, &params.tid, &params.cancel_msg, now)
            .map_err(|refusal| match refusal {
                RevokeRefusal::NotFound => failure(wire::RESULT_NOT_FOUND, "거래 없음"),
                RevokeRefusal::AlreadyCancelled => failure(wire::RESULT_ALREADY_CANCELLED, "취소 완료 거래임(기취소)"),
                RevokeRefusal::AlreadyDeposited => failure(
                    wire::RESULT_NOT_CANCELLABLE,
                    "입금 완료된 가상계좌는 취소할 수 없습니다. 환불을 요청하세요.",
                ),
            })
    })?;
    let at = to_kst(now);
    Ok(wire::CancelAnswer {
        result_code: wire::RESULT_CANCELLED.into(),
        result_msg: "취소 성공".into(),
        tid: Some(account.tid),
        mid: Some(merchant.mid.to_owned()),
        cancel_amt: Some(params.cancel_amt.clone()),
        remain_amt: Some("0".into()),
        cancel_num: None,
        cancel_date: Some(at.format("%Y%m%d").to_string()),
        cancel_time: Some(at.format("%H%M%S").to_string()),
    })
}

fn refund_deposit(
    sandbox: &Sandbox,
    merchant: &Merchant,
    params: &wire::CancelParams,
) -> Result<wire::CancelAnswer, Failure> {
    BankCode::from_kftc(params.refund_bank_cd.as_deref().unwrap_or_default())
        .ok_or_else(|| bad_request("RefundBankCd 오류"))?;
    let number = params.refund_acct_no.as_deref().unwrap_or_default();
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-') {
        return Err(bad_request("RefundAcctNo 오류"));
    }
    required(params.refund_acct_nm.as_deref().unwrap_or_default(), "RefundAcctNm")?;
    let amount = Won::parse(&params.cancel_amt)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RESULT_BAD_AMOUNT, "CancelAmt 오류"))?;
    let now = sandbox.clock.now();
    let (account, refund) = sandbox.ledger(|ledger| {
        let account = ledger
            .get(merchant.mid, &params.tid)
            .ok_or_else(|| failure(wire::RESULT_NOT_FOUND, "거래 없음"))?;
        match params.partial_cancel_code.as_str() {
            wire::PARTIAL_FULL if amount != account.amount || !account.refunds.is_empty() => {
                return Err(failure(wire::RESULT_BAD_AMOUNT, "전체취소 금액 불일치"));
            }
            wire::PARTIAL_FULL | wire::PARTIAL_PARTIAL => {}
            _ => return Err(bad_request("PartialCancelCode 오류")),
        }
        ledger
            .refund(merchant.mid, &params.tid, Some(amount), &params.cancel_msg, now)
            .map_err(|refusal| match refusal {
                RefundRefusal::NotFound => failure(wire::RESULT_NOT_FOUND, "거래 없음"),
                RefundRefusal::NotDeposited => {
                    failure(wire::RESULT_NOT_REFUNDABLE, "입금 전 거래는 환불할 수 없습니다.")
                }
                RefundRefusal::Exceeds { refundable } => failure(
                    wire::RESULT_BAD_AMOUNT,
                    format!("환불 가능 금액({refundable}원)을 초과합니다."),
                ),
            })
    })?;
    tracing::debug!(account = %number, tid = %refund.tid, "Smartro sandbox refunded");
    let at = to_kst(refund.at);
    Ok(wire::CancelAnswer {
        result_code: wire::RESULT_REFUNDED.into(),
        result_msg: "환불 성공".into(),
        tid: Some(account.tid.clone()),
        mid: Some(merchant.mid.to_owned()),
        cancel_amt: Some(refund.amount.to_string()),
        remain_amt: Some((account.amount.get() - account.refunded().get()).to_string()),
        cancel_num: Some(refund.tid),
        cancel_date: Some(at.format("%Y%m%d").to_string()),
        cancel_time: Some(at.format("%H%M%S").to_string()),
    })
}

/// `POST /payment/approval/inquiry.do` [P].
pub async fn inquiry(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = inquire(&sandbox, &body).unwrap_or_else(|(code, message)| wire::InquiryAnswer {
            result_code: code.to_owned(),
            result_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox
        .faulted(PgProvider::SmartroV2, Operation::Query, operation)
        .await
}

fn inquire(sandbox: &Sandbox, body: &Bytes) -> Result<wire::InquiryAnswer, Failure> {
    let (merchant, params) = open(body, |params: &wire::InquiryParams| &params.mid)?;
    let account = sandbox
        .ledger(|ledger| ledger.get(merchant.mid, &params.tid).cloned())
        .ok_or_else(|| failure(wire::RESULT_NOT_FOUND, "거래 없음"))?;
    let (state, deposited_at, cancelled_at) = match &account.state {
        AccountState::Issued => (wire::RESULT_ISSUED, None, None),
        AccountState::Deposited { at, .. } if !account.refunds.is_empty() => (
            wire::RESULT_REFUNDED,
            Some(*at),
            account.refunds.last().map(|refund| refund.at),
        ),
        AccountState::Deposited { at, .. } => (wire::RESULT_DEPOSITED, Some(*at), None),
        AccountState::Cancelled { at, .. } => (wire::RESULT_CANCELLED, None, Some(*at)),
    };
    Ok(wire::InquiryAnswer {
        result_code: wire::RESULT_INQUIRY_OK.into(),
        result_msg: "정상 조회".into(),
        tid: Some(account.tid.clone()),
        moid: Some(account.order_id.clone()),
        amt: Some(account.amount.to_string()),
        cancel_amt: Some(account.refunded().to_string()),
        cancel_cnt: Some(account.refunds.len().to_string()),
        state_code: Some(state.into()),
        vbank_num: Some(account.number.clone()),
        deposit_date: deposited_at.map(yymmddhhmmss),
        cancel_date: cancelled_at.map(yymmddhhmmss),
    })
}

/// The Smartro routes, under `/smartro`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::PATH_ISSUE, axum::routing::post(vacct))
        .route(wire::PATH_CANCEL, axum::routing::post(cancel))
        .route(wire::PATH_CANCEL_ALT, axum::routing::post(cancel))
        .route(wire::PATH_INQUIRY, axum::routing::post(inquiry))
}

/// Smartro's 신통보 of a deposit (ResultCode 4110): a UTF-8 form signed with `SignValue` [C].
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    let merchant = merchant(&account.owner)?;
    let sign = wire::sign_value(
        wire::SignDigest::default(),
        &account.tid,
        wire::RESULT_DEPOSITED,
        merchant.key,
    )?;
    let amount = account.amount.to_string();
    let auth_date = yymmddhhmmss(*at);
    let body = form::encode(
        [
            (wire::noti::PAY_METHOD, wire::PAY_METHOD_VBANK),
            (wire::noti::MID, account.owner.as_str()),
            (wire::noti::MALL_USER_ID, ""),
            (wire::noti::AMT, amount.as_str()),
            (wire::noti::NAME, depositor.as_str()),
            (wire::noti::GOODS_NAME, account.order_name.as_str()),
            (wire::noti::TID, account.tid.as_str()),
            (wire::noti::OTID, account.tid.as_str()),
            (wire::noti::OID, account.order_id.as_str()),
            (wire::noti::AUTH_DATE, auth_date.as_str()),
            (wire::noti::AUTH_CODE, ""),
            (wire::noti::RESULT_CODE, wire::RESULT_DEPOSITED),
            (wire::noti::RESULT_MSG, "입금완료"),
            (wire::noti::STATE_CD, "0"),
            (wire::noti::FN_CD, account.bank.kftc()),
            (wire::noti::FN_NAME, account.bank.name_ko()),
            ("pinNo", ""),
            ("CardQuota", ""),
            ("BuyerEmail", ""),
            ("BuyerTel", ""),
            ("BuyerAuthNum", ""),
            (wire::noti::VBANK_NUM, account.number.as_str()),
            (wire::noti::VBANK_NAME, account.bank.name_ko()),
            ("ReceiptType", ""),
            ("RcptAppNo", ""),
            ("RcptCcNo", ""),
            ("CardUsePoint", ""),
            (wire::noti::SIGN_VALUE, sign.as_str()),
        ],
        encoding_rs::UTF_8,
    );
    Some(crate::notify::Message::new(
        PgProvider::SmartroV2,
        "application/x-www-form-urlencoded; charset=utf-8",
        body,
    ))
}

/// Smartro resends unless the answer's body contains `OK` [C].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success() && body.contains("OK")
}

/// The sandbox's test Mid with its MerchantKey and cancel password [P].
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        TEST_MID.to_owned(),
        ChannelSecrets {
            merchant_key: Some(TEST_MERCHANT_KEY.to_owned()),
            cancel_password: Some(TEST_CANCEL_PASSWORD.to_owned()),
            ..Default::default()
        },
    )
}
