//! KICC EasyPay (`kicc`): JSON calls authenticated by `msgAuthValue`, an HMAC-SHA256
//! keyed by the mall's secret key, each with a fresh `shopTransactionId`; deposit
//! notifications are unsigned JSON (or the legacy EP8 form).

pub mod wire;

use crate::{
    classify_send_error, form, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice,
    NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome,
    SignedContent, Target,
};
use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Kicc {
    http: reqwest::Client,
    /// KICC wants the merchant server's IP (`clientIp`) in revise requests.
    client_ip: String,
}

const SECRET_KEY: &str = "kicc secret key";

impl Kicc {
    pub fn new(http: reqwest::Client, client_ip: String) -> Kicc {
        Kicc { http, client_ip }
    }

    fn secret_key<'a>(target: &'a Target<'_>) -> Result<&'a str, PgError> {
        target
            .channel
            .secrets
            .secret_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .ok_or(PgError::MissingCredential(SECRET_KEY))
    }

    async fn post<T: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, PgError> {
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/json; charset=utf-8")
            .json(body)
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        if status.is_server_error() {
            return Err(PgError::Unknown(format!("KICC answered HTTP {status}")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")))
    }
}

/// A fresh `shopTransactionId`: unique per request (the copies say per day) [C3].
pub fn shop_transaction_id(now: UnixSeconds) -> String {
    format!(
        "VB{}{:012x}",
        to_kst(now).format("%Y%m%d%H%M%S"),
        rand::thread_rng().gen::<u64>() & 0xffff_ffff_ffff
    )
}

/// `yyyyMMddHHmmss` in KST.
pub fn timestamp(seconds: UnixSeconds) -> String {
    to_kst(seconds).format("%Y%m%d%H%M%S").to_string()
}

/// `yyyyMMdd` in KST.
pub fn date(seconds: UnixSeconds) -> String {
    to_kst(seconds).format("%Y%m%d").to_string()
}

/// A KST `yyyyMMdd[HH[mm[ss]]]` as UNIX seconds; a bare date means its last second.
pub fn parse_time(text: &str) -> Option<UnixSeconds> {
    let text = text.trim();
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let full = match text.len() {
        8 => format!("{text}235959"),
        10 | 12 | 14 => format!("{text:0<14}"),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

fn refusal(code: String, message: String) -> PgError {
    PgError::Refused(PgRefusal { code, message })
}

fn unreadable(field: &str) -> PgError {
    PgError::Unknown(format!("KICC answered without a readable {field}"))
}

/// A JSON amount given as a number or as text.
fn amount_of(value: &serde_json::Value) -> Option<Won> {
    match value {
        serde_json::Value::Number(number) => number
            .as_i64()
            .and_then(|amount| Won::new(amount).ok())
            .or_else(|| number.as_f64().and_then(|amount| Won::from_f64(amount).ok())),
        serde_json::Value::String(text) => Won::parse(text).ok(),
        _ => None,
    }
}

impl Kicc {
    fn parse_json_notice(body: &[u8]) -> Result<Notice, NoticeError> {
        let notification: wire::Notification =
            serde_json::from_slice(body).map_err(|error| NoticeError(error.to_string()))?;
        if notification.res_cd != wire::RES_OK {
            return Err(NoticeError(format!("resCd {} is not a success", notification.res_cd)));
        }
        if notification.noti_type != wire::NOTI_TYPE_DEPOSIT {
            return Err(NoticeError(format!(
                "notiType {} is not a deposit",
                notification.noti_type
            )));
        }
        if notification.pg_cno.is_empty() {
            return Err(NoticeError("missing pgCno".into()));
        }
        let amount = notification
            .amount
            .as_ref()
            .map(|value| amount_of(value).ok_or_else(|| NoticeError("unreadable amount".into())))
            .transpose()?
            .ok_or_else(|| NoticeError("missing amount".into()))?;
        let at = notification
            .deposit_date
            .as_deref()
            .or(notification.approval_date.as_deref())
            .ok_or_else(|| NoticeError("missing depositDate".into()))?;
        let at = parse_time(at).ok_or_else(|| NoticeError("unreadable depositDate".into()))?;
        Ok(Notice {
            reference: NoticeReference::PgTid(notification.pg_cno),
            event: NoticeEvent::Deposited {
                amount: Some(amount),
                at,
            },
            secret: None,
            account_number: notification.account_no.filter(|number| !number.is_empty()),
            signed: SignedContent::None,
        })
    }

    /// The legacy EP8 form flavour [C3]; EUC-KR unless the content type says otherwise [I].
    fn parse_legacy_notice(content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        let encoding = match content_type {
            Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
            _ => encoding_rs::EUC_KR,
        };
        let pairs = form::parse(body, encoding);
        let field = |name: &str| {
            form::field(&pairs, name)
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| field(name).ok_or_else(|| NoticeError(format!("missing {name}")));
        let res_cd = required(wire::legacy::RES_CD)?;
        if res_cd != wire::RES_OK {
            return Err(NoticeError(format!("res_cd {res_cd} is not a success")));
        }
        let noti_type = required(wire::legacy::NOTI_TYPE)?;
        if noti_type != wire::NOTI_TYPE_DEPOSIT {
            return Err(NoticeError(format!("noti_type {noti_type} is not a deposit")));
        }
        let cno = required(wire::legacy::CNO)?;
        let amount = Won::parse(required(wire::legacy::AMOUNT)?)
            .map_err(|error| NoticeError(format!("{} {error}", wire::legacy::AMOUNT)))?;
        let at =
            parse_time(required(wire::legacy::TRAN_DATE)?).ok_or_else(|| NoticeError("unreadable tran_date".into()))?;
        Ok(Notice {
            reference: NoticeReference::PgTid(cno.to_owned()),
            event: NoticeEvent::Deposited {
                amount: Some(amount),
                at,
            },
            secret: None,
            account_number: field(wire::legacy::ACCOUNT).map(str::to_owned),
            signed: SignedContent::None,
        })
    }
}

#[async_trait]
impl Connector for Kicc {
    fn provider(&self) -> PgProvider {
        PgProvider::Kicc
    }

    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str> {
        Self::secret_key(target).is_err().then_some(SECRET_KEY)
    }

    fn live_base_url(&self) -> &'static str {
        "https://pgapi.easypay.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        wire::VA_BANKS.contains(&bank.kftc())
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        [
            ("vbank_holder", request.holder.is_some()),
            ("buyer_name", request.buyer.name.is_some()),
        ]
        .into_iter()
        .find_map(|(field, present)| (!present).then_some(field))
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let secret_key = Self::secret_key(&target)?;
        let mall_id = target.channel.mid.as_str();
        let transaction_id = shop_transaction_id(request.now);
        // KICC does not require unique order numbers; shopTransactionId is the unique one.
        let order_no = request.merchant_uid.as_str();
        let amount = request.amount.get();
        let body = wire::IssueRequest {
            mall_id: mall_id.to_owned(),
            shop_transaction_id: transaction_id.clone(),
            shop_order_no: order_no.to_owned(),
            amount,
            pay_method_type_code: wire::PAY_METHOD_VACCT.into(),
            approval_req_date: date(request.now),
            client_ip: self.client_ip.clone(),
            order_info: wire::OrderInfo {
                goods_name: request.order_name.to_owned(),
                customer_info: wire::CustomerInfo {
                    customer_name: request.buyer.name.clone().unwrap_or_default(),
                    customer_mail: request.buyer.email.clone(),
                    customer_contact_no: request.buyer.tel.clone(),
                },
            },
            payment_info: wire::PaymentInfo {
                pay_method_type_code: Some(wire::PAY_METHOD_VACCT.into()),
                bank_code: request.bank.kftc().to_owned(),
                bank_name: None,
                account_no: None,
                deposit_name: request.holder.unwrap_or_default().to_owned(),
                expiry_date: timestamp(request.due),
            },
            msg_auth_value: wire::issue_auth_value(secret_key, &transaction_id, order_no, amount),
        };
        let answer: wire::IssueResponse = self.post(&target, wire::ISSUE_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        let pg_cno = answer
            .pg_cno
            .clone()
            .filter(|pg_cno| !pg_cno.is_empty())
            .ok_or_else(|| unreadable("pgCno"))?;
        if let (Some(mac), Some(date)) = (answer.msg_auth_value.as_deref(), answer.transaction_date.as_deref()) {
            let expected = wire::approval_auth_value(secret_key, &pg_cno, answer.amount.unwrap_or(amount), date);
            if mac != expected {
                return Err(PgError::Unknown(
                    "KICC's answer carries a msgAuthValue that does not verify".into(),
                ));
            }
        }
        let info = answer.payment_info.ok_or_else(|| unreadable("paymentInfo"))?;
        let bank = BankCode::from_kftc(&info.bank_code).ok_or_else(|| unreadable("paymentInfo.bankCode"))?;
        let due = if info.expiry_date.is_empty() {
            request.due
        } else {
            parse_time(&info.expiry_date).ok_or_else(|| unreadable("paymentInfo.expiryDate"))?
        };
        Ok(IssuedAccount {
            pg_tid: pg_cno,
            account_number: info
                .account_no
                .filter(|number| !number.is_empty())
                .ok_or_else(|| unreadable("paymentInfo.accountNo"))?,
            bank,
            holder: Some(info.deposit_name).filter(|name| !name.is_empty()),
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let secret_key = match Self::secret_key(&target) {
            Ok(key) => key,
            Err(error) => return RevokeOutcome::NotSent(error.to_string()),
        };
        let transaction_id = shop_transaction_id(now);
        let body = wire::ReviseRequest {
            mall_id: target.channel.mid.clone(),
            shop_transaction_id: transaction_id.clone(),
            pg_cno: pg_tid.to_owned(),
            revise_type_code: wire::REVISE_CANCEL.into(),
            revise_message: reason.to_owned(),
            client_ip: self.client_ip.clone(),
            cancel_req_date: date(now),
            msg_auth_value: wire::msg_auth_value(secret_key, pg_tid, &transaction_id),
            ..Default::default()
        };
        match self
            .post::<wire::ReviseResponse>(&target, wire::REVISE_PATH, &body)
            .await
        {
            Ok(answer) => match answer.res_cd.as_str() {
                wire::RES_OK => {
                    let info = answer.revise_info.unwrap_or_default();
                    RevokeOutcome::Revoked {
                        cancel_tid: Some(info.pg_cno)
                            .filter(|pg_cno| !pg_cno.is_empty())
                            .unwrap_or_else(|| pg_tid.to_owned()),
                        at: info.cancel_date.as_deref().and_then(parse_time).unwrap_or(now),
                        receipt_url: String::new(),
                    }
                }
                wire::RES_ALREADY_CANCELLED => RevokeOutcome::AlreadyCancelled,
                wire::RES_ALREADY_DEPOSITED => RevokeOutcome::AlreadyDeposited,
                _ => RevokeOutcome::Refused(PgRefusal {
                    code: answer.res_cd,
                    message: answer.res_msg,
                }),
            },
            Err(PgError::NotSent(reason)) => RevokeOutcome::NotSent(reason),
            Err(PgError::Refused(refusal)) => RevokeOutcome::Refused(refusal),
            Err(PgError::Unknown(reason)) => RevokeOutcome::Unknown(reason),
            Err(PgError::MissingCredential(name)) => RevokeOutcome::NotSent(format!("missing {name}")),
        }
    }

    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let secret_key = Self::secret_key(&target)?;
        let transaction_id = shop_transaction_id(now);
        let body = wire::RetrieveRequest {
            mall_id: target.channel.mid.clone(),
            shop_transaction_id: transaction_id.clone(),
            pg_cno: pg_tid.to_owned(),
            shop_order_no: Some(merchant_uid.to_owned()),
            transaction_date: date(now),
            msg_auth_value: wire::msg_auth_value(secret_key, pg_tid, &transaction_id),
        };
        let answer: wire::RetrieveResponse = self.post(&target, wire::RETRIEVE_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        let status = answer.status_code.clone().unwrap_or_default();
        match status.as_str() {
            wire::STATUS_WAITING => Ok(PgState::AwaitingDeposit),
            // A refunded account was deposited first: the refund is a later fact.
            wire::STATUS_DEPOSITED | wire::STATUS_REFUNDED => Ok(PgState::Deposited {
                amount: answer
                    .amount
                    .and_then(|amount| Won::new(amount).ok())
                    .ok_or_else(|| unreadable("amount"))?,
                at: answer.deposit_date.as_deref().and_then(parse_time).unwrap_or(now),
            }),
            wire::STATUS_CANCELLED => Ok(PgState::Cancelled {
                cancel_tid: pg_tid.to_owned(),
                at: answer.cancel_date.as_deref().and_then(parse_time).unwrap_or(now),
            }),
            _ => Err(PgError::Unknown(format!(
                "KICC statusCode {status:?} is not one vbank knows"
            ))),
        }
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // KICC uses KFTC 3-digit codes (banks.md).
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let secret_key = Self::secret_key(&target)?;
        let transaction_id = shop_transaction_id(request.now);
        let (revise_type, amount, remain_amount) = if request.full {
            (wire::REVISE_REFUND, None, None)
        } else {
            (
                wire::REVISE_PARTIAL_REFUND,
                Some(request.amount.get()),
                Some(request.remaining_after.get()),
            )
        };
        let body = wire::ReviseRequest {
            mall_id: target.channel.mid.clone(),
            shop_transaction_id: transaction_id.clone(),
            pg_cno: request.pg_tid.to_owned(),
            revise_type_code: revise_type.into(),
            revise_sub_type_code: Some(wire::REVISE_SUB_REFUND.into()),
            amount,
            remain_amount,
            revise_message: request.reason.to_owned(),
            client_ip: self.client_ip.clone(),
            client_id: None,
            cancel_req_date: date(request.now),
            refund_info: Some(wire::RefundInfo {
                refund_bank_code: request.account.bank.kftc().to_owned(),
                refund_account_no: request.account.number.to_owned(),
                refund_deposit_name: request.account.holder.to_owned(),
            }),
            msg_auth_value: wire::msg_auth_value(secret_key, request.pg_tid, &transaction_id),
        };
        let answer: wire::ReviseResponse = self.post(&target, wire::REVISE_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        let info = answer
            .revise_info
            .filter(|info| !info.pg_cno.is_empty())
            .ok_or_else(|| unreadable("reviseInfo.pgCno"))?;
        Ok(Refunded {
            cancel_tid: info.pg_cno,
            at: info.cancel_date.as_deref().and_then(parse_time).unwrap_or(request.now),
            receipt_url: String::new(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        let is_form =
            content_type.is_some_and(|value| value.to_ascii_lowercase().contains("application/x-www-form-urlencoded"));
        let looks_like_json = body
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|byte| *byte == b'{');
        if is_form || !looks_like_json {
            Self::parse_legacy_notice(content_type, body)
        } else {
            Self::parse_json_notice(body)
        }
    }

    fn authenticate(&self, _notice: &Notice, _channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // KICC signs no notification; only its source IPs are known. Ask KICC before acting.
        Authenticity::NeedsConfirmation
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        // The JSON flavour's answer. A legacy EP8 notifier expects `wire::LEGACY_NOTI_ACK`
        // instead; which flavour PortOne's endpoint receives is unknown (pg.md §3.7) and the
        // answer cannot depend on the request here, so the current (JSON) one is given.
        Acknowledgement {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: if accepted { wire::NOTI_ACK } else { wire::NOTI_NACK }.to_owned(),
        }
    }
}
