//! The KG INICIS simulator: INIAPI v1 `formpay` (Vacct), `refund` (GVacct) and
//! `extra` (Inquiry), checking `hashData` with each test MID's INIAPI key as INICIS does.

use crate::faults::Operation;
use crate::ledger::{Account, AccountState, RefundRefusal, RevokeRefusal};
use crate::{Sandbox, INICIS_TEST_KEYS};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use std::sync::Arc;
use vbank_core::time::{to_kst, Clock};
use vbank_core::{BankCode, PgProvider, Won};
use vbank_pg::form;
use vbank_pg::inicis::{parse_kst, wire};

type Fields = Vec<(String, String)>;

fn fields(headers: &HeaderMap, body: &Bytes) -> Fields {
    let content_type = headers.get("content-type").and_then(|value| value.to_str().ok());
    form::parse(body, form::charset_of(content_type))
}

fn get<'a>(fields: &'a Fields, name: &str) -> &'a str {
    form::field(fields, name).unwrap_or_default()
}

fn failure(code: &str, message: impl Into<String>) -> (String, String) {
    (code.to_owned(), message.into())
}

/// Checks the MID and `hashData` over `parts`; returns the MID on success.
fn verify(fields: &Fields, parts: impl Fn(&str) -> String) -> Result<&str, (String, String)> {
    let mid = get(fields, "mid");
    let key = INICIS_TEST_KEYS
        .iter()
        .find(|(test_mid, _, _)| *test_mid == mid)
        .map(|(_, key, _)| *key)
        .ok_or_else(|| {
            failure(
                wire::RESULT_BAD_REQUEST,
                format!("등록되지 않은 상점아이디입니다. ({mid})"),
            )
        })?;
    if parts(key) != get(fields, "hashData") {
        return Err(failure(wire::RESULT_HASH_MISMATCH, wire::MESSAGE_HASH_MISMATCH));
    }
    Ok(mid)
}

fn require<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, (String, String)> {
    let value = get(fields, name);
    if value.is_empty() {
        Err(failure(wire::RESULT_BAD_REQUEST, format!("필수항목 누락: {name}")))
    } else {
        Ok(value)
    }
}

pub async fn formpay(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    let operation = async {
        let answer = issue(&sandbox, &fields).unwrap_or_else(|(code, message)| wire::IssueResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox
        .faulted(PgProvider::Html5Inicis, Operation::Issue, operation)
        .await
}

fn issue(sandbox: &Sandbox, fields: &Fields) -> Result<wire::IssueResponse, (String, String)> {
    if get(fields, "type") != wire::TYPE_PAY || get(fields, "paymethod") != wire::PAYMETHOD_VACCT {
        return Err(failure(wire::RESULT_BAD_REQUEST, "type/paymethod 오류"));
    }
    let mid = verify(fields, |key| {
        wire::issue_hash(
            key,
            get(fields, "timestamp"),
            get(fields, "clientIp"),
            get(fields, "mid"),
            get(fields, "moid"),
            get(fields, "price"),
        )
    })?;
    let moid = require(fields, "moid")?;
    let amount = Won::parse(require(fields, "price")?)
        .ok()
        .filter(|amount| !amount.is_zero())
        .ok_or_else(|| failure(wire::RESULT_BAD_REQUEST, "price 오류"))?;
    let bank = BankCode::from_inicis(require(fields, "bankCode")?)
        .ok_or_else(|| failure(wire::RESULT_BAD_REQUEST, "bankCode 오류"))?;
    for name in ["buyerName", "buyerEmail", "nmInput", "goodName"] {
        require(fields, name)?;
    }
    // INICIS takes the due time to the minute: the account closes at its end.
    let due = parse_kst(require(fields, "dtInput")?, require(fields, "tmInput")?)
        .ok_or_else(|| failure(wire::RESULT_BAD_REQUEST, "dtInput/tmInput 오류"))?
        + 59;
    let now = sandbox.clock.now();
    if due < now {
        return Err(failure(wire::RESULT_BAD_REQUEST, "입금기한이 지났습니다."));
    }
    let account = sandbox.ledger(|ledger| {
        let tid = format!(
            "StdpayVBNK{mid}{}{:06}",
            to_kst(now).format("%Y%m%d%H%M%S"),
            rand::thread_rng().gen_range(0..1_000_000)
        );
        let account = Account {
            pg: PgProvider::Html5Inicis,
            tid,
            owner: mid.to_owned(),
            order_id: moid.to_owned(),
            order_name: get(fields, "goodName").to_owned(),
            amount,
            bank,
            number: ledger.new_account_number("9999"),
            holder: Some(get(fields, "nmInput").to_owned()),
            due,
            issued_at: now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        };
        ledger.insert(account.clone());
        account
    });
    let issued = to_kst(now);
    let due = to_kst(account.due);
    Ok(wire::IssueResponse {
        result_code: wire::RESULT_OK.into(),
        result_msg: "정상처리".into(),
        tid: Some(account.tid),
        auth_date: Some(issued.format("%Y%m%d").to_string()),
        auth_time: Some(issued.format("%H%M%S").to_string()),
        vacct: Some(account.number),
        vacct_name: account.holder,
        vacct_bank_code: bank.bank().inicis.map(str::to_owned),
        valid_date: Some(due.format("%Y%m%d").to_string()),
        valid_time: Some(due.format("%H%M%S").to_string()),
        price: Some(amount.to_string()),
    })
}

pub async fn refund(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    // One endpoint serves the pre-deposit revoke (GVacct) and refunds after deposit (Vacct).
    let is_revoke = get(&fields, "paymethod") == wire::PAYMETHOD_GVACCT;
    let operation = async {
        let answer = if is_revoke {
            revoke(&sandbox, &fields)
        } else {
            refund_deposit(&sandbox, &fields)
        };
        let answer = answer.unwrap_or_else(|(code, message)| wire::RefundResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    let kind = if is_revoke {
        Operation::Revoke
    } else {
        Operation::Refund
    };
    sandbox.faulted(PgProvider::Html5Inicis, kind, operation).await
}

fn refund_deposit(sandbox: &Sandbox, fields: &Fields) -> Result<wire::RefundResponse, (String, String)> {
    let kind = get(fields, "type");
    let partial = match kind {
        wire::TYPE_REFUND => false,
        wire::TYPE_PARTIAL_REFUND => true,
        _ => return Err(failure(wire::RESULT_BAD_REQUEST, "type 오류")),
    };
    if get(fields, "paymethod") != wire::PAYMETHOD_VACCT {
        return Err(failure(wire::RESULT_BAD_REQUEST, "paymethod 오류"));
    }
    let prices = partial.then(|| (get(fields, "price"), get(fields, "confirmPrice")));
    let mid = verify(fields, |key| {
        wire::refund_hash(
            key,
            kind,
            get(fields, "timestamp"),
            get(fields, "clientIp"),
            get(fields, "mid"),
            get(fields, "tid"),
            prices,
            get(fields, "refundAcctNum"),
        )
    })?;
    let (key, iv) = INICIS_TEST_KEYS
        .iter()
        .find(|(test_mid, _, _)| *test_mid == mid)
        .map(|(_, key, iv)| (*key, *iv))
        .unwrap_or_default();
    let account_number = iv
        .and_then(|iv| wire::decrypt_account(key, iv, get(fields, "refundAcctNum")))
        .filter(|number| !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-'))
        .ok_or_else(|| failure(wire::RESULT_BAD_REQUEST, "refundAcctNum 복호화 오류"))?;
    BankCode::from_inicis(require(fields, "refundBankCode")?)
        .ok_or_else(|| failure(wire::RESULT_BAD_REQUEST, "refundBankCode 오류"))?;
    require(fields, "refundAcctName")?;
    let tid = require(fields, "tid")?;
    let now = sandbox.clock.now();
    let amount = match prices {
        Some((price, confirm_price)) => {
            let price = Won::parse(price).map_err(|_| failure(wire::RESULT_BAD_AMOUNT, "price 오류"))?;
            let confirm =
                Won::parse(confirm_price).map_err(|_| failure(wire::RESULT_BAD_AMOUNT, "confirmPrice 오류"))?;
            let refundable = sandbox
                .ledger(|ledger| {
                    ledger
                        .get(mid, tid)
                        .map(|account| account.amount.get() - account.refunded().get())
                })
                .unwrap_or_default();
            if refundable - price.get() != confirm.get() {
                return Err(failure(
                    wire::RESULT_BAD_AMOUNT,
                    "재승인 금액(confirmPrice)이 일치하지 않습니다.",
                ));
            }
            Some(price)
        }
        None => None,
    };
    let reason = get(fields, "msg");
    match sandbox.ledger(|ledger| ledger.refund(mid, tid, amount, reason, now)) {
        Ok((_, refund)) => {
            tracing::debug!(account = %account_number, tid = %refund.tid, "INICIS sandbox refunded");
            let at = to_kst(refund.at);
            Ok(wire::RefundResponse {
                result_code: wire::RESULT_OK.into(),
                result_msg: "정상처리되었습니다.".into(),
                tid: Some(refund.tid),
                cancel_date: Some(at.format("%Y%m%d").to_string()),
                cancel_time: Some(at.format("%H%M%S").to_string()),
            })
        }
        Err(RefundRefusal::NotFound) => Err(failure(wire::RESULT_NOT_FOUND, "거래정보를 찾을 수 없습니다.")),
        Err(RefundRefusal::NotDeposited) => Err(failure(wire::RESULT_NOT_DEPOSITED, "입금되지 않은 거래입니다.")),
        Err(RefundRefusal::Exceeds { refundable }) => Err(failure(
            wire::RESULT_BAD_AMOUNT,
            format!("환불 가능 금액({refundable}원)을 초과합니다."),
        )),
    }
}

fn revoke(sandbox: &Sandbox, fields: &Fields) -> Result<wire::RefundResponse, (String, String)> {
    if get(fields, "type") != wire::TYPE_REFUND || get(fields, "paymethod") != wire::PAYMETHOD_GVACCT {
        return Err(failure(wire::RESULT_BAD_REQUEST, "type/paymethod 오류"));
    }
    let mid = verify(fields, |key| {
        wire::revoke_hash(
            key,
            get(fields, "timestamp"),
            get(fields, "clientIp"),
            get(fields, "mid"),
            get(fields, "tid"),
        )
    })?;
    let tid = require(fields, "tid")?;
    let now = sandbox.clock.now();
    match sandbox.ledger(|ledger| ledger.revoke(mid, tid, get(fields, "msg"), now)) {
        Ok(_) => {
            let at = to_kst(now);
            Ok(wire::RefundResponse {
                result_code: wire::RESULT_OK.into(),
                result_msg: "정상처리되었습니다.".into(),
                cancel_date: Some(at.format("%Y%m%d").to_string()),
                cancel_time: Some(at.format("%H%M%S").to_string()),
                tid: None,
            })
        }
        Err(RevokeRefusal::NotFound) => Err(failure(wire::RESULT_NOT_FOUND, "거래정보를 찾을 수 없습니다.")),
        Err(RevokeRefusal::AlreadyCancelled) => {
            Err(failure(wire::RESULT_ALREADY_CANCELLED, "이미 채번취소된 거래입니다."))
        }
        Err(RevokeRefusal::AlreadyDeposited) => Err(failure(
            wire::RESULT_ALREADY_DEPOSITED,
            "입금완료된 거래는 채번취소할 수 없습니다.",
        )),
    }
}

pub async fn extra(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = fields(&headers, &body);
    let operation = async {
        let answer = inquire(&sandbox, &fields).unwrap_or_else(|(code, message)| wire::InquiryResponse {
            result_code: code,
            result_msg: message,
            ..Default::default()
        });
        Json(answer).into_response()
    };
    sandbox
        .faulted(PgProvider::Html5Inicis, Operation::Query, operation)
        .await
}

fn inquire(sandbox: &Sandbox, fields: &Fields) -> Result<wire::InquiryResponse, (String, String)> {
    if get(fields, "type") != wire::TYPE_EXTRA || get(fields, "paymethod") != wire::PAYMETHOD_INQUIRY {
        return Err(failure(wire::RESULT_BAD_REQUEST, "type/paymethod 오류"));
    }
    let mid = verify(fields, |key| {
        wire::inquiry_hash(
            key,
            get(fields, "timestamp"),
            get(fields, "clientIp"),
            get(fields, "mid"),
        )
    })?;
    let tid = require(fields, "originalTid")?;
    let account = sandbox
        .ledger(|ledger| ledger.get(mid, tid).cloned())
        .ok_or_else(|| failure(wire::RESULT_NOT_FOUND, "거래정보를 찾을 수 없습니다."))?;
    let (status, deposited_at) = match &account.state {
        AccountState::Deposited { .. } if account.refunded() == account.amount => ("REFUND_COMPLETED", None),
        AccountState::Issued => (wire::STATUS_WAITING, None),
        AccountState::Deposited { at, .. } => (wire::STATUS_DEPOSITED, Some(to_kst(*at))),
        AccountState::Cancelled { .. } => ("9", None),
    };
    Ok(wire::InquiryResponse {
        result_code: wire::RESULT_OK.into(),
        result_msg: "정상처리".into(),
        status: Some(status.into()),
        price: Some(account.amount.to_string()),
        tid: Some(account.tid),
        deposit_date: deposited_at.map(|at| at.format("%Y%m%d").to_string()),
        deposit_time: deposited_at.map(|at| at.format("%H%M%S").to_string()),
    })
}

/// The INICIS routes, under `/inicis`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
        .route("/api/v1/formpay", axum::routing::post(formpay))
        .route("/api/v1/refund", axum::routing::post(refund))
        .route("/api/v1/extra", axum::routing::post(extra))
}

/// INICIS' deposit Noti: an EUC-KR form [C3]. INICIS sends no notice of a revoke.
pub fn deposit_notice(account: &Account) -> Option<crate::notify::Message> {
    let AccountState::Deposited { at, depositor } = &account.state else {
        return None;
    };
    let kst = to_kst(*at);
    let (date, time) = (kst.format("%Y%m%d").to_string(), kst.format("%H%M%S").to_string());
    let bank_code = format!("{:0>8}", account.bank.bank().inicis.unwrap_or_default());
    let amount = account.amount.to_string();
    let body = form::encode(
        [
            ("msg_id", wire::TYPE_MSG_DEPOSIT),
            ("no_tid", account.tid.as_str()),
            ("no_oid", account.order_id.as_str()),
            ("id_merchant", account.owner.as_str()),
            ("cd_bank", bank_code.as_str()),
            ("cd_deal", bank_code.as_str()),
            ("dt_trans", date.as_str()),
            ("tm_trans", time.as_str()),
            ("no_msgseq", "0000000001"),
            ("cd_joinorg", "00000000"),
            ("dt_transbase", date.as_str()),
            ("no_transeq", "000001"),
            ("type_msg", wire::TYPE_MSG_DEPOSIT),
            ("cl_close", "0"),
            ("cl_kor", "2"),
            ("no_msgmanage", "0000000001"),
            ("no_vacct", account.number.as_str()),
            ("amt_input", amount.as_str()),
            ("amt_check", "0"),
            ("nm_inputbank", account.bank.name_ko()),
            ("nm_input", depositor.as_str()),
            ("dt_inputstd", date.as_str()),
            ("dt_calculstd", date.as_str()),
            ("flg_close", "0"),
        ],
        encoding_rs::EUC_KR,
    );
    Some(crate::notify::Message::new(
        PgProvider::Html5Inicis,
        "application/x-www-form-urlencoded; charset=euc-kr",
        body,
    ))
}

/// INICIS resends until the body is exactly `OK` [C3].
pub fn acknowledged(status: reqwest::StatusCode, body: &str) -> bool {
    status.is_success() && body.trim() == wire::NOTI_ACK
}

/// The public test MID `INIpayTest`. Its INIAPI key is not put on the channel: as on
/// i'mport, callers pass `pg_api_key` unless the merchant was given one.
pub fn test_channel() -> (String, vbank_core::ChannelSecrets) {
    (
        "INIpayTest".to_owned(),
        vbank_core::ChannelSecrets {
            api_iv: Some(wire::TEST_IV.to_owned()),
            ..Default::default()
        },
    )
}
