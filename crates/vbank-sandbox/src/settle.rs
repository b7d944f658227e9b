//! The Settle Bank / Hecto simulator: `APIVBank.do` (bizType A0 issue, A2 cancel),
//! `APITrdcheck.do` (status query) and `APIRefund.do` (C0), checking `pktHash` with the
//! merchant's hash key (1901) and decrypting the AES fields with its AES key (1902) as Hecto
//! does. Deposits are notified as EUC-KR forms signed with `pktHash`.

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, ChannelSecrets, PgProvider, UnixSeconds, Won};
use vbank_pg::form;
use vbank_pg::settle::{format_dtm, parse_dtm, wire};

/// The merchants the simulator knows: (mchtId, hash key, AES key) [C test merchant].
pub const TEST_KEYS: &[(&str, &str, &str)] = &[(wire::TEST_MCHT_ID, wire::TEST_HASH_KEY, wire::TEST_AES_KEY)];

/// Hecto's default and longest validity of an account [C].
const DEFAULT_VALID_SECONDS: i64 = 10 * 86_400;
const MAX_VALID_SECONDS: i64 = 365 * 86_400;

/// A refusal: `outRsltCd` and its message.
type Failure = (&'static str, String);

fn failure(code: &'static str, message: impl Into<String>) -> Failure {
    (code, message.into())
}

fn keys(mcht_id: &str) -> Result<(&'static str, &'static str), Failure> {
    TEST_KEYS
        .iter()
        .find(|(id, _, _)| *id == mcht_id)
        .map(|(_, hash, aes)| (*hash, *aes))
        .ok_or_else(|| failure(wire::RSLT_UNKNOWN_MERCHANT, format!("미등록 상점 ({mcht_id})")))
}

fn decrypt(aes_key: &str, value: &str) -> Result<String, Failure> {
    wire::decrypt(aes_key, value).ok_or_else(|| failure(wire::RSLT_ENCRYPTION, "암호화 항목 미처리 오류"))
}

fn check_hash(expected: &str, given: &str) -> Result<(), Failure> {
    if expected.eq_ignore_ascii_case(given) {
        Ok(())
    } else {
        Err(failure(wire::RSLT_HASH_MISMATCH, "해쉬값 불일치 오류"))
    }
}

fn bad_request(message: impl Into<String>) -> Failure {
    failure(wire::RSLT_BAD_REQUEST, message)
}

fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(bad_request(format!("유효하지 않은 요청전문 (필수항목 누락: {name})")))
    } else {
        Ok(value)
    }
}

/// The request as sent: `params`, and `data` still as JSON.
fn read(body: &Bytes) -> Option<(wire::Params, serde_json::Value)> {
    let envelope: wire::Envelope<serde_json::Value> = serde_json::from_slice(body).ok()?;
    Some((envelope.params, envelope.data))
}

fn parse_data<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Failure> {
    serde_json::from_value(value).map_err(|error| bad_request(format!("유효하지 않은 요청전문 ({error})")))
}

/// The answer: the request's params echoed with the outcome, and `data` (`{}` on a failure).
fn respond<D: Serialize>(params: &wire::Params, outcome: Result<(&str, &str, D), Failure>) -> Response {
    match outcome {
        Ok((code, message, data)) => Json(wire::Envelope {
            params: wire::Params::answer(params, wire::STAT_OK, code, message),
            data: serde_json::to_value(data).unwrap_or_default(),
        })
        .into_response(),
        Err((code, message)) => Json(wire::Envelope {
            params: wire::Params::answer(params, wire::STAT_FAILED, code, &message),
            data: serde_json::json!({}),
        })
        .into_response(),
    }
}

/// A Hecto trade number: `STFP_PGVA` + mchtId + `0` + yyMMddHHmmss + `M` + 7 digits.
fn trade_number(mcht_id: &str, now: UnixSeconds) -> String {
    format!(
        "STFP_PGVA{mcht_id}0{}M{:07}",
        to_kst(now).format("%y%m%d%H%M%S"),
        rand::thread_rng().gen_range(0..10_000_000)
    )
}

/// `POST /spay/APIVBank.do`: bizType A0 issues, A1 changes, A2 cancels.
pub async fn vbank(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let Some((params, data)) = read(&body) else {
        return respond::<()>(&wire::Params::default(), Err(bad_request("유효하지 않은 요청전문")));
    };
    let kind = if params.biz_type == wire::BIZ_REVOKE {
        Operation::Revoke
    } else {
        Operation::Issue
    };
    let operation = async {
        match params.biz_type.as_str() {
            wire::BIZ_ISSUE => respond(&params, issue(&sandbox, &params, data)),
            wire::BIZ_REVOKE => respond(&params, revoke(&sandbox, &params, data)),
            wire::BIZ_CHANGE => respond(&params, change(&sandbox, &params, data)),
            other => respond::<()>(&params, Err(bad_request(format!("지원하지 않는 bizType ({other})")))),
        }
    };
    sandbox.faulted(PgProvider::Settle, kind, operation).await
}

fn check_common(params: &wire::Params, ver: &str) -> Result<(), Failure> {
    if params.ver != ver || params.method != wire::METHOD_VA {
        return Err(bad_request("유효하지 않은 요청전문 (ver/method)"));
    }
    required(&params.mcht_trd_no, "mchtTrdNo")?;
    required(&params.trd_dt, "trdDt")?;
    required(&params.trd_tm, "trdTm")?;
    Ok(())
}

fn issue(
    sandbox: &Sandbox,
    params: &wire::Params,
    data: serde_json::Value,
) -> Result<(&'static str, &'static str, wire::IssueAnswerData), Failure> {
    check_common(params, wire::VER)?;
    let mcht_id = params.mcht_id.as_str();
    let (hash_key, aes_key) = keys(mcht_id)?;
    let data: wire::IssueData = parse_data(data)?;
    let amount_text = decrypt(aes_key, required(&data.trd_amt, "trdAmt")?)?;
    check_hash(
        &wire::issue_hash(
            &params.trd_dt,
            &params.trd_tm,
            mcht_id,
            &params.mcht_trd_no,
            &amount_text,
            hash_key,
        ),
        &data.pkt_hash,
    )?;
    let amount = Won::parse(&amount_text)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| bad_request("거래금액 오류"))?;
    let bank = BankCode::from_kftc(&data.bank_cd)
        .filter(|bank| wire::offers(bank.kftc()))
        .ok_or_else(|| bad_request(format!("가상계좌 발급 불가 은행 ({})", data.bank_cd)))?;
    for (value, name) in [
        (&data.dpstr_nm, "dpstrNm"),
        (&data.ord_nm, "ordNm"),
        (&data.prdt_nm, "prdtNm"),
    ] {
        required(value, name)?;
    }
    let now = sandbox.clock.now();
    let due = if data.expire_date.is_empty() {
        now + DEFAULT_VALID_SECONDS
    } else {
        parse_dtm(&data.expire_date).ok_or_else(|| bad_request("expireDate 오류"))?
    };
    if due <= now || due > now + MAX_VALID_SECONDS {
        return Err(bad_request("입금기한(expireDate) 오류"));
    }
    let account = sandbox.ledger(|ledger| {
        if ledger.order_exists(mcht_id, &params.mcht_trd_no) {
            return Err(failure(wire::RSLT_DUPLICATE_REQUEST, "중복요청"));
        }
        let mut tid = trade_number(mcht_id, now);
        while ledger.get(mcht_id, &tid).is_some() {
            tid = trade_number(mcht_id, now);
        }
        let account = Account {
            pg: PgProvider::Settle,
            tid,
            owner: mcht_id.to_owned(),
            order_id: params.mcht_trd_no.clone(),
            order_name: data.prdt_nm.clone(),
            amount,
            bank,
            number: ledger.new_account_number("5620"),
            holder: Some(data.dpstr_nm.clone()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        Ok(account)
    })?;
    let encrypt = |plain: &str| wire::encrypt(aes_key, plain);
    Ok((
        wire::RSLT_OK,
        "정상처리",
        wire::IssueAnswerData {
            pkt_hash: Some(wire::issue_response_hash(
                wire::STAT_OK,
                &params.trd_dt,
                &params.trd_tm,
                mcht_id,
                &params.mcht_trd_no,
                &amount_text,
                hash_key,
            )),
            trd_no: Some(account.tid),
            bank_cd: Some(bank.kftc().to_owned()),
            v_acnt_no: encrypt(&account.number),
            expire_date: Some(format_dtm(account.due)),
            trd_amt: encrypt(&amount_text),
            acnt_type: Some(if data.acnt_type.is_empty() {
                "1".to_owned()
            } else {
                data.acnt_type
            }),
        },
    ))
}

fn change(
    sandbox: &Sandbox,
    params: &wire::Params,
    data: serde_json::Value,
) -> Result<(&'static str, &'static str, wire::ChangeAnswerData), Failure> {
    check_common(params, wire::VER)?;
    let mcht_id = params.mcht_id.as_str();
    let (hash_key, aes_key) = keys(mcht_id)?;
    let data: wire::ChangeData = parse_data(data)?;
    let account_number = decrypt(aes_key, required(&data.v_acnt_no, "vAcntNo")?)?;
    let amount_text = decrypt(aes_key, required(&data.trd_amt, "trdAmt")?)?;
    check_hash(
        &wire::issue_hash(
            &params.trd_dt,
            &params.trd_tm,
            mcht_id,
            &params.mcht_trd_no,
            &amount_text,
            hash_key,
        ),
        &data.pkt_hash,
    )?;
    let amount = Won::parse(&amount_text)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| bad_request("trdAmt 오류"))?;
    let due = vbank_pg::settle::parse_dtm(required(&data.expire_date, "expireDate")?)
        .ok_or_else(|| bad_request("expireDate 오류"))?;
    let tid = required(&data.org_trd_no, "orgTrdNo")?;
    let changed = sandbox.ledger(|ledger| {
        match ledger.get(mcht_id, tid) {
            Some(account) if account.number != account_number => {
                return Err(failure(wire::RSLT_CANCEL_INFO, "변경 정보 오류 (vAcntNo)"))
            }
            Some(_) => {}
            None => return Err(failure(wire::RSLT_NOT_FOUND, "거래정보 없음")),
        }
        ledger
            .modify(mcht_id, tid, amount, due)
            .map_err(|refusal| match refusal {
                RevokeRefusal::NotFound => failure(wire::RSLT_NOT_FOUND, "거래정보 없음"),
                RevokeRefusal::AlreadyCancelled => failure(wire::RSLT_DUPLICATE_CANCEL, "취소된 거래"),
                RevokeRefusal::AlreadyDeposited => failure(wire::RSLT_ALREADY_PAID, "기 결제건"),
            })
    })?;
    Ok((
        wire::RSLT_OK,
        "정상처리",
        wire::ChangeAnswerData {
            trd_no: Some(changed.tid),
            expire_date: Some(vbank_pg::settle::format_dtm(changed.due)),
        },
    ))
}

fn revoke(
    sandbox: &Sandbox,
    params: &wire::Params,
    data: serde_json::Value,
) -> Result<(&'static str, &'static str, wire::RevokeAnswerData), Failure> {
    check_common(params, wire::VER)?;
    let mcht_id = params.mcht_id.as_str();
    let (hash_key, aes_key) = keys(mcht_id)?;
    let data: wire::RevokeData = parse_data(data)?;
    let account_number = decrypt(aes_key, required(&data.v_acnt_no, "vAcntNo")?)?;
    let input = wire::RevokeHashInput {
        trd_dt: &params.trd_dt,
        trd_tm: &params.trd_tm,
        mcht_id,
        mcht_trd_no: &params.mcht_trd_no,
        account: &account_number,
        bank_cd: data.bank_cd.as_deref().unwrap_or_default(),
    };
    check_hash(
        &wire::revoke_hash(wire::Options::default().revoke_hash, &input, hash_key),
        &data.pkt_hash,
    )?;
    let tid = required(&data.org_trd_no, "orgTrdNo")?;
    let now = sandbox.clock.now();
    let outcome = sandbox.ledger(|ledger| {
        match ledger.get(mcht_id, tid) {
            Some(account) if account.number != account_number => {
                return Err(failure(wire::RSLT_CANCEL_INFO, "취소 정보 오류 (vAcntNo)"))
            }
            Some(_) => {}
            None => return Err(failure(wire::RSLT_NOT_FOUND, "거래정보 없음")),
        }
        ledger
            .revoke(mcht_id, tid, "채번취소", now)
            .map_err(|refusal| match refusal {
                RevokeRefusal::NotFound => failure(wire::RSLT_NOT_FOUND, "거래정보 없음"),
                RevokeRefusal::AlreadyCancelled => failure(wire::RSLT_DUPLICATE_CANCEL, "중복 취소 요청"),
                RevokeRefusal::AlreadyDeposited => failure(wire::RSLT_ALREADY_PAID, "기 결제건"),
            })
    })?;
    let cancel_tid = match &outcome.state {
        AccountState::Cancelled { cancel_tid, .. } => cancel_tid.clone(),
        AccountState::Issued | AccountState::Deposited { .. } => outcome.tid.clone(),
    };
    Ok((
        wire::RSLT_OK,
        "정상처리",
        wire::RevokeAnswerData {
            trd_no: Some(cancel_tid),
            org_trd_no: Some(outcome.tid),
            v_acnt_no: Some(data.v_acnt_no),
        },
    ))
}

/// `POST /spay/APITrdcheck.do` [P fields].
pub async fn trdcheck(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        match read(&body) {
            Some((params, data)) => respond(&params, query(&sandbox, &params, data)),
            None => respond::<()>(&wire::Params::default(), Err(bad_request("유효하지 않은 요청전문"))),
        }
    };
    sandbox.faulted(PgProvider::Settle, Operation::Query, operation).await
}

fn query(
    sandbox: &Sandbox,
    params: &wire::Params,
    data: serde_json::Value,
) -> Result<(&'static str, &'static str, wire::QueryAnswerData), Failure> {
    check_common(params, wire::VER_QUERY)?;
    let mcht_id = params.mcht_id.as_str();
    let (hash_key, aes_key) = keys(mcht_id)?;
    let data: wire::QueryData = parse_data(data)?;
    check_hash(
        &wire::query_hash(&params.trd_dt, &params.trd_tm, mcht_id, &params.mcht_trd_no, hash_key),
        &data.pkt_hash,
    )?;
    let tid = required(&data.org_trd_no, "orgTrdNo")?;
    let account = sandbox
        .ledger(|ledger| ledger.get(mcht_id, tid).cloned())
        .ok_or_else(|| failure(wire::RSLT_NOT_FOUND, "거래정보 없음"))?;
    let last_refund = account.refunds.last();
    let (code, message, deposited_at, cancelled) = match &account.state {
        AccountState::Issued => (wire::QUERY_WAITING, "입금대기", None, None),
        AccountState::Deposited { at, .. } if account.refunded() == account.amount => (
            wire::QUERY_CANCELLED,
            "취소상태",
            Some(*at),
            last_refund.map(|refund| (refund.at, refund.tid.clone())),
        ),
        AccountState::Deposited { at, .. } => (wire::QUERY_DEPOSITED, "정상거래", Some(*at), None),
        AccountState::Cancelled { at, cancel_tid, .. } => {
            (wire::QUERY_CANCELLED, "취소상태", None, Some((*at, cancel_tid.clone())))
        }
    };
    Ok((
        code,
        message,
        wire::QueryAnswerData {
            org_trd_no: Some(account.tid.clone()),
            org_mcht_trd_no: Some(account.order_id.clone()),
            trd_amt: Some(account.amount.to_string()),
            cncl_amt: Some(account.refunded().to_string()),
            cncl_cnt: Some(account.refunds.len().to_string()),
            bank_cd: Some(account.bank.kftc().to_owned()),
            v_acnt_no: wire::encrypt(aes_key, &account.number),
            expire_date: Some(format_dtm(account.due)),
            dpst_dtm: deposited_at.map(format_dtm),
            cncl_dtm: cancelled.as_ref().map(|(at, _)| format_dtm(*at)),
            cncl_trd_no: cancelled.map(|(_, tid)| tid),
        },
    ))
}

/// `POST /spay/APIRefund.do`: bizType C0, a refund of a deposited account.
pub async fn refund(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let operation = async {
        match read(&body) {
            Some((params, data)) if params.biz_type == wire::BIZ_REFUND => {
                respond(&params, refund_deposit(&sandbox, &params, data))
            }
            Some((params, _)) => respond::<()>(&params, Err(bad_request("지원하지 않는 bizType"))),
            None => respond::<()>(&wire::Params::default(), Err(bad_request("유효하지 않은 요청전문"))),
        }
    };
    sandbox.faulted(PgProvider::Settle, Operation::Refund, operation).await
}

fn refund_deposit(
    sandbox: &Sandbox,
    params: &wire::Params,
    data: serde_json::Value,
) -> Result<(&'static str, &'static str, wire::RefundAnswerData), Failure> {
    check_common(params, wire::VER)?;
    let mcht_id = params.mcht_id.as_str();
    let (hash_key, aes_key) = keys(mcht_id)?;
    let data: wire::RefundData = parse_data(data)?;
    let amount_text = decrypt(aes_key, required(&data.cncl_amt, "cnclAmt")?)?;
    let refund_account = decrypt(aes_key, required(&data.refund_acnt_no, "refundAcntNo")?)?;
    let tid = required(&data.org_trd_no, "orgTrdNo")?;
    let account = sandbox
        .ledger(|ledger| ledger.get(mcht_id, tid).cloned())
        .ok_or_else(|| failure(wire::RSLT_NOT_FOUND, "거래정보 없음"))?;
    let input = wire::RefundHashInput {
        trd_dt: &params.trd_dt,
        trd_tm: &params.trd_tm,
        mcht_id,
        mcht_trd_no: &params.mcht_trd_no,
        amount: &amount_text,
        account: &account.number,
        bank_cd: account.bank.kftc(),
        refund_account: &refund_account,
        refund_bank_cd: &data.refund_bank_cd,
    };
    check_hash(
        &wire::refund_hash(wire::Options::default().refund_hash, &input, hash_key),
        &data.pkt_hash,
    )?;
    if refund_account.is_empty() || !refund_account.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-') {
        return Err(bad_request("환불계좌번호 오류"));
    }
    BankCode::from_kftc(&data.refund_bank_cd).ok_or_else(|| bad_request("환불은행코드 오류"))?;
    required(&data.refund_dpstr_nm, "refundDpstrNm")?;
    let amount = Won::parse(&amount_text)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| bad_request("취소금액 오류"))?;
    if data.cncl_ord != (account.refunds.len() + 1).to_string() {
        return Err(failure(wire::RSLT_CANCEL_INFO, "취소 정보 오류 (cnclOrd)"));
    }
    let now = sandbox.clock.now();
    let reason = data.cncl_rsn.as_deref().unwrap_or("환불");
    let (account, refund) = sandbox
        .ledger(|ledger| ledger.refund(mcht_id, tid, Some(amount), reason, now))
        .map_err(|refusal| match refusal {
            RefundRefusal::NotFound => failure(wire::RSLT_NOT_FOUND, "거래정보 없음"),
            RefundRefusal::NotDeposited => failure(wire::RSLT_CANCEL_INFO, "취소 정보 오류 (입금 전 거래)"),
            RefundRefusal::Exceeds { refundable } => failure(
                wire::RSLT_CANCEL_INFO,
                format!("취소 정보 오류 (환불 가능 금액 {refundable}원 초과)"),
            ),
        })?;
    tracing::debug!(account = %refund_account, tid = %refund.tid, "Hecto sandbox refunded");
    Ok((
        wire::RSLT_OK,
        "정상처리",
        wire::RefundAnswerData {
            trd_no: Some(refund.tid),
            org_trd_no: Some(account.tid.clone()),
            cncl_amt: Some(refund.amount.to_string()),
            blc_amt: Some((account.amount.get() - account.refunded().get()).to_string()),
        },
    ))
}

/// The Hecto routes, under `/settle`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route(wire::PATH_VBANK, axum::routing::post(vbank))
        .route(wire::PATH_TRDCHECK, axum::routing::post(trdcheck))
        .route(wire::PATH_REFUND, axum::routing::post(refund))
}

/// Hecto's deposit notification (bizType B1): an EUC-KR form signed with `pktHash` [C §14.5].
/// The cancel notification (A2) goes only to merchants who asked for it; the sandbox sends none.
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    let (hash_key, _) = keys(&account.owner).ok()?;
    let trd_dtm = format_dtm(*at);
    let amount = account.amount.to_string();
    let pkt_hash = wire::notice_hash(
        wire::STAT_OK,
        &trd_dtm,
        &account.owner,
        &account.order_id,
        &amount,
        hash_key,
    );
    let trd_no = trade_number(&account.owner, *at);
    let expire = format_dtm(account.due);
    let holder = account.holder.clone().unwrap_or_default();
    let body = form::encode(
        [
            (wire::noti::OUT_STAT_CD, wire::STAT_OK),
            (wire::noti::TRD_NO, trd_no.as_str()),
            (wire::noti::METHOD, wire::METHOD_VA),
            (wire::noti::BIZ_TYPE, wire::BIZ_DEPOSIT),
            (wire::noti::MCHT_ID, account.owner.as_str()),
            (wire::noti::MCHT_TRD_NO, account.order_id.as_str()),
            ("mchtCustNm", ""),
            ("mchtName", ""),
            ("pmtprdNm", account.order_name.as_str()),
            (wire::noti::TRD_DTM, trd_dtm.as_str()),
            (wire::noti::TRD_AMT, amount.as_str()),
            (wire::noti::BANK_CD, account.bank.kftc()),
            (wire::noti::BANK_NM, account.bank.name_ko()),
            (wire::noti::ACNT_TYPE, "1"),
            (wire::noti::V_ACNT_NO, account.number.as_str()),
            (wire::noti::EXPIRE_DT, expire.as_str()),
            ("AcntPrintNm", holder.as_str()),
            (wire::noti::DPSTR_NM, depositor.as_str()),
            (wire::noti::ORG_TRD_NO, account.tid.as_str()),
            (wire::noti::CNCL_TYPE, ""),
            (wire::noti::MCHT_PARAM, ""),
            (wire::noti::PKT_HASH, pkt_hash.as_str()),
        ],
        encoding_rs::EUC_KR,
    );
    Some(crate::notify::Message::new(
        PgProvider::Settle,
        "application/x-www-form-urlencoded; charset=euc-kr",
        body,
    ))
}

/// Hecto resends unless the body is `OK` [C].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success() && body.trim() == wire::NOTI_ACK
}

/// Hecto's public test merchant `nx_mid_il` and its keys [C].
pub fn test_channel() -> (String, ChannelSecrets) {
    (
        wire::TEST_MCHT_ID.to_owned(),
        ChannelSecrets {
            hash_key: Some(wire::TEST_HASH_KEY.to_owned()),
            aes_key: Some(wire::TEST_AES_KEY.to_owned()),
            ..Default::default()
        },
    )
}
