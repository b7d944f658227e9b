//! The NHN KCP simulator: the mod API `/gw/mod/v1/cancel` (STSC voids an unpaid
//! account, STHD refunds a deposited one), the inquiry `/std/inquery` and a [P]
//! approval-like issuance `/gw/hub/v1/payment`. Every call must carry the site's
//! registered certificate as `kcp_cert_info` and a `kcp_sign_data` that verifies under
//! it, as at KCP.

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
use vbank_core::{ChannelSecrets, PgProvider, Won};
use vbank_pg::form;
use vbank_pg::kcp::{bank_from_kcp, parse_time, timestamp, wire};

/// The sandbox site's private key (PKCS#8 PEM). KCP's real test key is encrypted with the
/// password `changeit`; this throw-away key is stored unencrypted [P].
pub const TEST_PRIVATE_KEY: &str = include_str!("kcp_test_key.pem");
/// The public half of [`TEST_PRIVATE_KEY`], standing in for the service certificate
/// KCP issues with it (SPKI PEM rather than X.509) [P].
pub const TEST_CERTIFICATE: &str = include_str!("kcp_test_cert.pem");
/// KCP's public test site [C].
pub const TEST_SITE_CD: &str = "T0000";

/// Each site the simulator knows, with the certificate registered for it.
const SITES: &[(&str, &str)] = &[(TEST_SITE_CD, TEST_CERTIFICATE)];

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

/// Checks the site, its certificate and the signature over `message`, as KCP does.
fn verify<'a>(site_cd: &'a str, cert_info: &str, sign_data: &str, message: &str) -> Result<&'a str, Failure> {
    let certificate = SITES
        .iter()
        .find(|(site, _)| *site == site_cd)
        .map(|(_, certificate)| *certificate)
        .ok_or_else(|| {
            failure(
                wire::RES_BAD_REQUEST,
                format!("등록되지 않은 사이트코드입니다. ({site_cd})"),
            )
        })?;
    if wire::cert_info(cert_info) != wire::cert_info(certificate) {
        return Err(failure(wire::RES_CERT_MISMATCH, "인증서 정보가 일치하지 않습니다."));
    }
    if !wire::verify(certificate, message, sign_data) {
        return Err(failure(wire::RES_SIGN_MISMATCH, "서명 데이터 검증에 실패하였습니다."));
    }
    Ok(site_cd)
}

/// A fresh 14-digit `tno`, unique in the ledger.
fn new_tno(ledger: &crate::ledger::Ledger, site_cd: &str, now: i64) -> String {
    let day = to_kst(now).format("%y%m%d").to_string();
    loop {
        let tno = format!("{day}{:08}", rand::thread_rng().gen_range(0..100_000_000u32));
        if ledger.get(site_cd, &tno).is_none() {
            return tno;
        }
    }
}

pub async fn payment(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = issue(&sandbox, &body).unwrap_or_else(|(code, message)| wire::IssueResponse {
            res_cd: code,
            res_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox.faulted(PgProvider::Kcp, Operation::Issue, operation).await
}

fn issue(sandbox: &Sandbox, body: &Bytes) -> Result<wire::IssueResponse, Failure> {
    let request: wire::IssueRequest = read(body)?;
    if request.pay_method != wire::PAY_METHOD_VCNT {
        return Err(failure(wire::RES_BAD_REQUEST, "pay_method 오류"));
    }
    let site_cd = verify(
        &request.site_cd,
        &request.kcp_cert_info,
        &request.kcp_sign_data,
        &wire::issue_sign_string(&request.site_cd, &request.ordr_idxx, &request.good_mny),
    )?;
    let order_id = require(&request.ordr_idxx, "ordr_idxx")?;
    let amount = Won::parse(require(&request.good_mny, "good_mny")?)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "good_mny 오류"))?;
    let bank = bank_from_kcp(require(&request.bankcode, "bankcode")?)
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "bankcode 오류"))?;
    let holder = require(&request.va_name, "va_name")?;
    require(&request.buyr_name, "buyr_name")?;
    require(&request.good_name, "good_name")?;
    let due = parse_time(require(&request.va_date, "va_date")?)
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "va_date 오류"))?;
    let now = sandbox.clock.now();
    if due <= now {
        return Err(failure(wire::RES_BAD_REQUEST, "입금기한이 지났습니다."));
    }
    let account = sandbox.ledger(|ledger| {
        let account = Account {
            pg: PgProvider::Kcp,
            tid: new_tno(ledger, site_cd, now),
            owner: site_cd.to_owned(),
            order_id: order_id.to_owned(),
            order_name: request.good_name.clone(),
            amount,
            bank,
            number: ledger.new_account_number("4649"),
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
    Ok(wire::IssueResponse {
        res_cd: wire::RES_OK.into(),
        res_msg: "정상처리".into(),
        tno: Some(account.tid),
        amount: Some(amount.to_string()),
        bankname: Some(bank.name_ko().to_owned()),
        bankcode: bank.bank().kcp.map(str::to_owned),
        account: Some(account.number),
        depositor: account.holder.clone(),
        va_name: account.holder,
        va_date: Some(timestamp(account.due)),
    })
}

pub async fn cancel(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    // One endpoint serves the pre-deposit cancel (STSC) and refunds (STHD).
    let request: Result<wire::ModRequest, Failure> = read(&body);
    let is_refund = request
        .as_ref()
        .is_ok_and(|request| request.mod_type == wire::MOD_TYPE_REFUND);
    let operation = async {
        let answer = request
            .and_then(|request| {
                if is_refund {
                    refund(&sandbox, &request)
                } else {
                    revoke(&sandbox, &request)
                }
            })
            .unwrap_or_else(|(code, message)| wire::ModResponse {
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
    sandbox.faulted(PgProvider::Kcp, kind, operation).await
}

fn revoke(sandbox: &Sandbox, request: &wire::ModRequest) -> Result<wire::ModResponse, Failure> {
    if request.mod_type != wire::MOD_TYPE_CANCEL && request.mod_type != wire::MOD_TYPE_ESCROW_CANCEL {
        return Err(failure(wire::RES_BAD_REQUEST, "mod_type 오류"));
    }
    let site_cd = verify(
        &request.site_cd,
        &request.kcp_cert_info,
        &request.kcp_sign_data,
        &wire::mod_sign_string(&request.site_cd, &request.tno, &request.mod_type),
    )?;
    let tno = require(&request.tno, "tno")?;
    let now = sandbox.clock.now();
    match sandbox.ledger(|ledger| ledger.revoke(site_cd, tno, &request.mod_desc, now)) {
        Ok(_) => Ok(wire::ModResponse {
            res_cd: wire::RES_OK.into(),
            res_msg: "정상처리".into(),
            tno: Some(tno.to_owned()),
            canc_time: Some(timestamp(now)),
            ..Default::default()
        }),
        Err(RevokeRefusal::NotFound) => Err(failure(wire::RES_NOT_FOUND, "거래정보가 존재하지 않습니다.")),
        Err(RevokeRefusal::AlreadyCancelled) => Err(failure(wire::RES_ALREADY_CANCELLED, "기 취소된 거래입니다")),
        Err(RevokeRefusal::AlreadyDeposited) => Err(failure(
            wire::RES_ALREADY_DEPOSITED,
            "입금완료된 가상계좌는 발급취소할 수 없습니다. 환불로 요청하세요.",
        )),
    }
}

fn refund(sandbox: &Sandbox, request: &wire::ModRequest) -> Result<wire::ModResponse, Failure> {
    let site_cd = verify(
        &request.site_cd,
        &request.kcp_cert_info,
        &request.kcp_sign_data,
        &wire::mod_sign_string(&request.site_cd, &request.tno, &request.mod_type),
    )?;
    let tno = require(&request.tno, "tno")?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    bank_from_kcp(require(&text(&request.mod_bankcode), "mod_bankcode")?)
        .ok_or_else(|| failure(wire::RES_BAD_REQUEST, "mod_bankcode 오류"))?;
    let account_number = text(&request.mod_account);
    if account_number.is_empty() || !account_number.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-') {
        return Err(failure(wire::RES_BAD_REQUEST, "mod_account 오류"));
    }
    require(&text(&request.mod_depositor), "mod_depositor")?;
    let amount = match request.mod_sub_type.as_deref() {
        Some(wire::MOD_SUB_TYPE_FULL_REFUND) => None,
        Some(wire::MOD_SUB_TYPE_PARTIAL_REFUND) => {
            let amount =
                Won::parse(&text(&request.mod_mny)).map_err(|_| failure(wire::RES_BAD_AMOUNT, "mod_mny 오류"))?;
            let remaining =
                Won::parse(&text(&request.rem_mny)).map_err(|_| failure(wire::RES_BAD_AMOUNT, "rem_mny 오류"))?;
            let refundable = sandbox
                .ledger(|ledger| {
                    ledger
                        .get(site_cd, tno)
                        .map(|account| account.amount.get() - account.refunded().get())
                })
                .unwrap_or_default();
            if refundable - amount.get() != remaining.get() {
                return Err(failure(
                    wire::RES_BAD_AMOUNT,
                    "환불 후 잔액(rem_mny)이 일치하지 않습니다.",
                ));
            }
            Some(amount)
        }
        _ => return Err(failure(wire::RES_BAD_REQUEST, "mod_sub_type 오류")),
    };
    let now = sandbox.clock.now();
    match sandbox.ledger(|ledger| ledger.refund(site_cd, tno, amount, &request.mod_desc, now)) {
        Ok((account, refund)) => {
            tracing::debug!(account = %account_number, tid = %refund.tid, "KCP sandbox refunded");
            Ok(wire::ModResponse {
                res_cd: wire::RES_OK.into(),
                res_msg: "정상처리".into(),
                tno: Some(tno.to_owned()),
                canc_time: Some(timestamp(refund.at)),
                mod_tno: Some(refund.tid),
                mod_mny: Some(refund.amount.to_string()),
                rem_mny: Some((account.amount.get() - account.refunded().get()).to_string()),
            })
        }
        Err(RefundRefusal::NotFound) => Err(failure(wire::RES_NOT_FOUND, "거래정보가 존재하지 않습니다.")),
        Err(RefundRefusal::NotDeposited) => Err(failure(wire::RES_NOT_DEPOSITED, "입금되지 않은 거래입니다.")),
        Err(RefundRefusal::Exceeds { refundable }) => Err(failure(
            wire::RES_BAD_AMOUNT,
            format!("환불 가능 금액({refundable}원)을 초과합니다."),
        )),
    }
}

pub async fn inquery(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        let answer = inquire(&sandbox, &body).unwrap_or_else(|(code, message)| wire::InquiryResponse {
            res_cd: code,
            res_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox.faulted(PgProvider::Kcp, Operation::Query, operation).await
}

fn inquire(sandbox: &Sandbox, body: &Bytes) -> Result<wire::InquiryResponse, Failure> {
    let request: wire::InquiryRequest = read(body)?;
    let site_cd = verify(
        &request.site_cd,
        &request.kcp_cert_info,
        &request.kcp_sign_data,
        &wire::inquiry_sign_string(&request.site_cd, &request.tno, &request.pay_type),
    )?;
    let tno = require(&request.tno, "tno")?;
    let account = sandbox
        .ledger(|ledger| ledger.get(site_cd, tno).cloned())
        .ok_or_else(|| failure(wire::RES_NOT_FOUND, "거래정보가 존재하지 않습니다."))?;
    let mut answer = wire::InquiryResponse {
        res_cd: wire::RES_OK.into(),
        res_msg: "정상처리".into(),
        tno: Some(account.tid.clone()),
        pay_type: Some(wire::PAY_TYPE_VACCT.into()),
        amount: Some(account.amount.to_string()),
        ..Default::default()
    };
    match &account.state {
        AccountState::Issued => answer.va_stat = Some(wire::VA_STAT_WAITING.into()),
        AccountState::Deposited { at, .. } => {
            let refunded = account.refunded() == account.amount;
            answer.va_stat = Some(
                if refunded {
                    wire::VA_STAT_REFUNDED
                } else {
                    wire::VA_STAT_DEPOSITED
                }
                .into(),
            );
            answer.ipgm_mnyx = Some(account.amount.to_string());
            answer.ipgm_time = Some(timestamp(*at));
        }
        AccountState::Cancelled { at, .. } => {
            answer.va_stat = Some(wire::VA_STAT_CANCELLED.into());
            answer.canc_time = Some(timestamp(*at));
        }
    }
    Ok(answer)
}

/// The KCP routes, under `/kcp`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::ISSUE_PATH, axum::routing::post(payment))
        .route(wire::CANCEL_PATH, axum::routing::post(cancel))
        .route(wire::INQUIRY_PATH, axum::routing::post(inquery))
}

/// common_return TX00, as KCP sends it by default: an EUC-KR form with no charset in its
/// content type [C]. KCP sends no TX00 for a voided account.
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    let time = timestamp(*at);
    let amount = account.amount.to_string();
    let body = form::encode(
        [
            (wire::noti::SITE_CD, account.owner.as_str()),
            (wire::noti::TNO, account.tid.as_str()),
            (wire::noti::ORDER_NO, account.order_id.as_str()),
            (wire::noti::TX_CD, wire::TX_DEPOSIT),
            (wire::noti::TX_TM, time.as_str()),
            (wire::noti::DEPOSITOR, depositor.as_str()),
            (wire::noti::REMITTER, depositor.as_str()),
            (wire::noti::AMOUNT, amount.as_str()),
            (wire::noti::TOTAL, amount.as_str()),
            (wire::noti::TIME, time.as_str()),
            (wire::noti::BANK_CODE, account.bank.bank().kcp.unwrap_or_default()),
            (wire::noti::ACCOUNT, account.number.as_str()),
            (wire::noti::OP_CD, "00"),
            (wire::noti::NOTI_ID, "0000000001"),
            ("cash_a_no", ""),
            ("cash_no", ""),
        ],
        encoding_rs::EUC_KR,
    );
    Some(crate::notify::Message::new(
        PgProvider::Kcp,
        "application/x-www-form-urlencoded",
        body,
    ))
}

/// KCP re-notifies unless the answer is a page whose `result` input holds `0000` [C].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success()
        && body.split('<').any(|tag| {
            let tag = tag.to_ascii_lowercase();
            let tag = tag.split('>').next().unwrap_or_default().replace('\'', "\"");
            tag.starts_with("input") && tag.contains(r#"name="result""#) && tag.contains(r#"value="0000""#)
        })
}

/// The public test site `T0000`, with the sandbox's certificate and private key.
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        TEST_SITE_CD.to_owned(),
        ChannelSecrets {
            certificate: Some(TEST_CERTIFICATE.to_owned()),
            private_key: Some(TEST_PRIVATE_KEY.to_owned()),
            ..Default::default()
        },
    )
}
