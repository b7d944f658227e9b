//! Settle Bank / Hecto Financial (`settle`): `APIVBank.do` JSON `{params, data}` messages signed
//! with a SHA-256 `pktHash` over the hash key, amounts and account numbers AES-256-ECB encrypted
//! with the AES key (pg.md §3.6). Deposit notifications are EUC-KR forms answered `OK`.

pub mod wire;

use crate::{
    classify_send_error, form, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Modified,
    ModifyRequest, Notice, NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest,
    Refunded, RevokeOutcome, SignedContent, Target,
};
use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Settle {
    http: reqwest::Client,
    options: wire::Options,
}

/// The channel's two keys.
struct Keys<'a> {
    hash: &'a str,
    aes: &'a str,
}

impl Settle {
    pub fn new(http: reqwest::Client) -> Settle {
        Settle::with_options(http, wire::Options::default())
    }

    /// A connector with other choices for the protocol's unconfirmed parts (see `wire`).
    pub fn with_options(http: reqwest::Client, options: wire::Options) -> Settle {
        Settle { http, options }
    }

    fn keys<'a>(target: &'a Target<'_>) -> Result<Keys<'a>, PgError> {
        let secrets = &target.channel.secrets;
        let hash = secrets
            .hash_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .ok_or(PgError::MissingCredential("hash_key"))?;
        let aes = secrets
            .aes_key
            .as_deref()
            .filter(|key| key.len() == 32)
            .ok_or(PgError::MissingCredential("aes_key"))?;
        Ok(Keys { hash, aes })
    }

    async fn post<D: Serialize + Sync, A: DeserializeOwned + Default>(
        &self,
        target: &Target<'_>,
        path: &str,
        body: &wire::Envelope<D>,
    ) -> Result<wire::Envelope<A>, PgError> {
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/json; charset=UTF-8")
            .json(body)
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")))?;
        // A failure's `data` is `{}`: read what is there, leniently.
        let params: wire::Params = serde_json::from_value(value.get("params").cloned().unwrap_or_default())
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with unreadable params ({error})")))?;
        if params.out_stat_cd.is_none() {
            return Err(PgError::Unknown(format!("HTTP {status} without outStatCd")));
        }
        let data = match value.get("data") {
            Some(data) if !data.is_null() => serde_json::from_value(data.clone())
                .map_err(|error| PgError::Unknown(format!("HTTP {status} with unreadable data ({error})")))?,
            _ => A::default(),
        };
        Ok(wire::Envelope { params, data })
    }

    /// Hecto's record of a trade (status query).
    async fn lookup(
        &self,
        target: &Target<'_>,
        keys: &Keys<'_>,
        pg_tid: &str,
        now: UnixSeconds,
    ) -> Result<wire::Envelope<wire::QueryAnswerData>, PgError> {
        let (trd_dt, trd_tm) = date_time(now);
        let mcht_id = target.channel.mid.as_str();
        let mcht_trd_no = fresh_order_no("Q", now);
        let body = wire::Envelope {
            params: wire::Params::request(
                wire::VER_QUERY,
                mcht_id,
                wire::BIZ_QUERY,
                &mcht_trd_no,
                &trd_dt,
                &trd_tm,
            ),
            data: wire::QueryData {
                pkt_hash: wire::query_hash(&trd_dt, &trd_tm, mcht_id, &mcht_trd_no, keys.hash),
                org_trd_no: pg_tid.to_owned(),
            },
        };
        let answer: wire::Envelope<wire::QueryAnswerData> = self.post(target, wire::PATH_TRDCHECK, &body).await?;
        if !answer.params.succeeded() {
            return Err(refusal(&answer.params));
        }
        Ok(answer)
    }
}

/// `trdDt` (YYYYMMDD) and `trdTm` (hhmmss), KST.
pub fn date_time(now: UnixSeconds) -> (String, String) {
    let kst = to_kst(now);
    (kst.format("%Y%m%d").to_string(), kst.format("%H%M%S").to_string())
}

/// `YYYYMMDDhhmmss` KST.
pub fn format_dtm(seconds: UnixSeconds) -> String {
    to_kst(seconds).format("%Y%m%d%H%M%S").to_string()
}

/// A KST `YYYYMMDDhhmmss` (or `YYYYMMDD`, read as the day's last second) as UNIX seconds.
pub fn parse_dtm(text: &str) -> Option<UnixSeconds> {
    let text = match text.len() {
        8 => format!("{text}235959"),
        14 => text.to_owned(),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(&text, "%Y%m%d%H%M%S").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

/// A new `mchtTrdNo` for a request that is not an issuance.
fn fresh_order_no(prefix: &str, now: UnixSeconds) -> String {
    format!(
        "{prefix}{}{:06}",
        format_dtm(now),
        rand::thread_rng().gen_range(0..1_000_000)
    )
}

fn refusal(params: &wire::Params) -> PgError {
    PgError::Refused(PgRefusal {
        code: params.result_code().to_owned(),
        message: params.result_message(),
    })
}

fn unreadable(what: &str) -> PgError {
    PgError::Unknown(format!("Hecto answered without a readable {what}"))
}

/// The one mapping of a status query's answer to what vbank records.
fn state_of(
    answer: &wire::Envelope<wire::QueryAnswerData>,
    pg_tid: &str,
    now: UnixSeconds,
) -> Result<PgState, PgError> {
    let data = &answer.data;
    match answer.params.result_code() {
        wire::QUERY_DEPOSITED => Ok(PgState::Deposited {
            amount: data
                .trd_amt
                .as_deref()
                .and_then(|amount| Won::parse(amount).ok())
                .ok_or_else(|| unreadable("trdAmt"))?,
            at: data.dpst_dtm.as_deref().and_then(parse_dtm).unwrap_or(now),
        }),
        wire::QUERY_CANCELLED => Ok(PgState::Cancelled {
            cancel_tid: data.cncl_trd_no.clone().unwrap_or_else(|| pg_tid.to_owned()),
            at: data.cncl_dtm.as_deref().and_then(parse_dtm).unwrap_or(now),
        }),
        // 0009 (failed) and whatever else: not paid [I].
        _ => Ok(PgState::AwaitingDeposit),
    }
}

#[async_trait]
impl Connector for Settle {
    fn provider(&self) -> PgProvider {
        PgProvider::Settle
    }

    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str> {
        match Self::keys(target) {
            Ok(_) => None,
            Err(PgError::MissingCredential(name)) => Some(name),
            Err(_) => None,
        }
    }

    fn live_base_url(&self) -> &'static str {
        "https://gw.settlebank.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        wire::offers(bank.kftc())
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        // i'mport requires the holder for settle (pg.md §1.2); Hecto's `ordNm` is the buyer.
        [
            ("vbank_holder", request.holder.is_some()),
            ("buyer_name", request.buyer.name.is_some()),
        ]
        .into_iter()
        .find_map(|(field, present)| (!present).then_some(field))
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let keys = Self::keys(&target)?;
        if !wire::offers(request.bank.kftc()) {
            return Err(PgError::Refused(PgRefusal {
                code: wire::RSLT_BAD_REQUEST.into(),
                message: format!("bank {} is not available at Hecto", request.bank),
            }));
        }
        let (trd_dt, trd_tm) = date_time(request.now);
        let mcht_id = target.channel.mid.as_str();
        let mcht_trd_no = request.imp_uid.as_str();
        let amount = request.amount.to_string();
        let holder = request.holder.unwrap_or_default();
        let body = wire::Envelope {
            params: wire::Params::request(wire::VER, mcht_id, wire::BIZ_ISSUE, mcht_trd_no, &trd_dt, &trd_tm),
            data: wire::IssueData {
                pkt_hash: wire::issue_hash(&trd_dt, &trd_tm, mcht_id, mcht_trd_no, &amount, keys.hash),
                bank_cd: request.bank.kftc().to_owned(),
                acnt_type: "1".into(),
                v_acnt_no: None,
                expire_date: format_dtm(request.due),
                prdt_nm: request.order_name.to_owned(),
                seller_nm: holder.to_owned(),
                ord_nm: request.buyer.name.clone().unwrap_or_default(),
                trd_amt: wire::encrypt(keys.aes, &amount).ok_or(PgError::MissingCredential("aes_key"))?,
                dpstr_nm: holder.to_owned(),
                noti_url: None,
                mcht_param: None,
            },
        };
        let answer: wire::Envelope<wire::IssueAnswerData> = self.post(&target, wire::PATH_VBANK, &body).await?;
        if !answer.params.succeeded() {
            return Err(refusal(&answer.params));
        }
        let params = &answer.params;
        let data = answer.data;
        let pick = |echoed: &str, sent: &str| {
            if echoed.is_empty() {
                sent.to_owned()
            } else {
                echoed.to_owned()
            }
        };
        let expected = wire::issue_response_hash(
            wire::STAT_OK,
            &pick(&params.trd_dt, &trd_dt),
            &pick(&params.trd_tm, &trd_tm),
            mcht_id,
            &pick(&params.mcht_trd_no, mcht_trd_no),
            &amount,
            keys.hash,
        );
        if data.pkt_hash.as_deref().map(str::to_ascii_lowercase) != Some(expected) {
            // The account may exist, but this answer cannot be trusted.
            return Err(PgError::Unknown("Hecto's answer failed its pktHash check".into()));
        }
        let account_number = data
            .v_acnt_no
            .as_deref()
            .and_then(|encrypted| wire::decrypt(keys.aes, encrypted))
            .filter(|number| !number.is_empty())
            .ok_or_else(|| unreadable("vAcntNo"))?;
        let bank = match data.bank_cd.as_deref() {
            Some(code) => BankCode::from_kftc(code).ok_or_else(|| unreadable("bankCd"))?,
            None => request.bank,
        };
        let due = data.expire_date.as_deref().and_then(parse_dtm).unwrap_or(request.due);
        Ok(IssuedAccount {
            pg_tid: data
                .trd_no
                .filter(|tid| !tid.is_empty())
                .ok_or_else(|| unreadable("trdNo"))?,
            account_number,
            bank,
            holder: Some(holder.to_owned()),
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, _reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let keys = match Self::keys(&target) {
            Ok(keys) => keys,
            Err(error) => return RevokeOutcome::NotSent(error.to_string()),
        };
        // A2 needs the account number and (by default) the order number, which the interface
        // does not pass: read them from Hecto's own record first. Nothing is cancelled yet.
        let record = match self.lookup(&target, &keys, pg_tid, now).await {
            Ok(record) => record,
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(error) => return RevokeOutcome::NotSent(format!("the account could not be read first: {error}")),
        };
        match state_of(&record, pg_tid, now) {
            Ok(PgState::Deposited { .. }) => return RevokeOutcome::AlreadyDeposited,
            Ok(PgState::Cancelled { .. }) => return RevokeOutcome::AlreadyCancelled,
            Ok(PgState::AwaitingDeposit) => {}
            Err(error) => return RevokeOutcome::NotSent(format!("the account could not be read first: {error}")),
        }
        let data = record.data;
        let (Some(encrypted_account), Some(account)) = (
            data.v_acnt_no.clone(),
            data.v_acnt_no
                .as_deref()
                .and_then(|value| wire::decrypt(keys.aes, value)),
        ) else {
            return RevokeOutcome::NotSent("Hecto's record has no readable vAcntNo".into());
        };
        let bank_cd = data.bank_cd.clone().unwrap_or_default();
        let mcht_trd_no = match (self.options.revoke_order_no, data.org_mcht_trd_no) {
            (wire::RevokeOrderNo::Original, Some(original)) if !original.is_empty() => original,
            (wire::RevokeOrderNo::Original, _) => {
                return RevokeOutcome::NotSent("Hecto's record has no order number".into())
            }
            (wire::RevokeOrderNo::Fresh, _) => fresh_order_no("C", now),
        };
        let (trd_dt, trd_tm) = date_time(now);
        let mcht_id = target.channel.mid.as_str();
        let hash_input = wire::RevokeHashInput {
            trd_dt: &trd_dt,
            trd_tm: &trd_tm,
            mcht_id,
            mcht_trd_no: &mcht_trd_no,
            account: &account,
            bank_cd: &bank_cd,
        };
        let body = wire::Envelope {
            params: wire::Params::request(wire::VER, mcht_id, wire::BIZ_REVOKE, &mcht_trd_no, &trd_dt, &trd_tm),
            data: wire::RevokeData {
                pkt_hash: wire::revoke_hash(self.options.revoke_hash, &hash_input, keys.hash),
                org_trd_no: pg_tid.to_owned(),
                v_acnt_no: encrypted_account,
                bank_cd: (self.options.revoke_hash == wire::RevokeHash::AccountAndBank).then_some(bank_cd.clone()),
            },
        };
        match self
            .post::<_, wire::RevokeAnswerData>(&target, wire::PATH_VBANK, &body)
            .await
        {
            Ok(answer) if answer.params.succeeded() => RevokeOutcome::Revoked {
                cancel_tid: answer
                    .data
                    .trd_no
                    .filter(|tid| !tid.is_empty())
                    .unwrap_or_else(|| pg_tid.to_owned()),
                at: now,
                receipt_url: String::new(),
            },
            Ok(answer) => match answer.params.result_code() {
                wire::RSLT_DUPLICATE_CANCEL => RevokeOutcome::AlreadyCancelled,
                wire::RSLT_ALREADY_PAID => RevokeOutcome::AlreadyDeposited,
                _ => RevokeOutcome::Refused(PgRefusal {
                    code: answer.params.result_code().to_owned(),
                    message: answer.params.result_message(),
                }),
            },
            Err(PgError::NotSent(reason)) => RevokeOutcome::NotSent(reason),
            Err(PgError::Refused(refusal)) => RevokeOutcome::Refused(refusal),
            Err(PgError::Unknown(reason)) => RevokeOutcome::Unknown(reason),
            Err(PgError::MissingCredential(name)) => RevokeOutcome::NotSent(format!("missing {name}")),
        }
    }

    fn modifies_accounts(&self) -> bool {
        true
    }

    async fn modify(&self, target: Target<'_>, request: &ModifyRequest<'_>) -> Result<Modified, PgError> {
        let keys = Self::keys(&target)?;
        // A1 names the account by its number, which only Hecto's record has.
        let record = self.lookup(&target, &keys, request.pg_tid, request.now).await?;
        match state_of(&record, request.pg_tid, request.now)? {
            PgState::AwaitingDeposit => {}
            PgState::Deposited { .. } | PgState::Cancelled { .. } => {
                return Err(PgError::Refused(PgRefusal {
                    code: wire::RSLT_ALREADY_PAID.into(),
                    message: "입금대기 상태가 아닌 가상계좌는 변경할 수 없습니다.".into(),
                }))
            }
        }
        let encrypted_account = record
            .data
            .v_acnt_no
            .ok_or_else(|| unreadable("vAcntNo in Hecto's record"))?;
        let (trd_dt, trd_tm) = date_time(request.now);
        let mcht_id = target.channel.mid.as_str();
        let mcht_trd_no = fresh_order_no("M", request.now);
        let amount = request.amount.to_string();
        let body = wire::Envelope {
            params: wire::Params::request(wire::VER, mcht_id, wire::BIZ_CHANGE, &mcht_trd_no, &trd_dt, &trd_tm),
            data: wire::ChangeData {
                pkt_hash: wire::issue_hash(&trd_dt, &trd_tm, mcht_id, &mcht_trd_no, &amount, keys.hash),
                org_trd_no: request.pg_tid.to_owned(),
                v_acnt_no: encrypted_account,
                trd_amt: wire::encrypt(keys.aes, &amount).ok_or(PgError::MissingCredential("aes_key"))?,
                expire_date: format_dtm(request.due),
            },
        };
        let answer = self
            .post::<_, wire::ChangeAnswerData>(&target, wire::PATH_VBANK, &body)
            .await?;
        if !answer.params.succeeded() {
            return Err(refusal(&answer.params));
        }
        Ok(Modified {
            amount: request.amount,
            due: answer
                .data
                .expire_date
                .as_deref()
                .and_then(parse_dtm)
                .unwrap_or(request.due),
        })
    }

    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        _merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let keys = Self::keys(&target)?;
        let record = self.lookup(&target, &keys, pg_tid, now).await?;
        state_of(&record, pg_tid, now)
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // Hecto's bank codes are the KFTC ones (banks.md).
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let keys = Self::keys(&target)?;
        // C0 needs the refund's sequence number (and, in the mirror's hash, the account):
        // read Hecto's record first. Nothing is refunded yet, so a failure here was not sent.
        let record = match self.lookup(&target, &keys, request.pg_tid, request.now).await {
            Ok(record) => record,
            Err(PgError::Refused(refusal)) => return Err(PgError::Refused(refusal)),
            Err(error) => {
                return Err(PgError::NotSent(format!(
                    "the account could not be read first: {error}"
                )))
            }
        };
        let refunds_so_far = record
            .data
            .cncl_cnt
            .as_deref()
            .and_then(|count| count.parse::<u32>().ok())
            .unwrap_or(0);
        let account = record
            .data
            .v_acnt_no
            .as_deref()
            .and_then(|value| wire::decrypt(keys.aes, value))
            .unwrap_or_default();
        let bank_cd = record.data.bank_cd.clone().unwrap_or_default();
        let (trd_dt, trd_tm) = date_time(request.now);
        let mcht_id = target.channel.mid.as_str();
        let mcht_trd_no = fresh_order_no("R", request.now);
        let amount = request.amount.to_string();
        let refund_bank_cd = request.account.bank.kftc();
        let hash_input = wire::RefundHashInput {
            trd_dt: &trd_dt,
            trd_tm: &trd_tm,
            mcht_id,
            mcht_trd_no: &mcht_trd_no,
            amount: &amount,
            account: &account,
            bank_cd: &bank_cd,
            refund_account: request.account.number,
            refund_bank_cd,
        };
        let encrypt = |plain: &str| wire::encrypt(keys.aes, plain).ok_or(PgError::MissingCredential("aes_key"));
        let body = wire::Envelope {
            params: wire::Params::request(wire::VER, mcht_id, wire::BIZ_REFUND, &mcht_trd_no, &trd_dt, &trd_tm),
            data: wire::RefundData {
                pkt_hash: wire::refund_hash(self.options.refund_hash, &hash_input, keys.hash),
                org_trd_no: request.pg_tid.to_owned(),
                cncl_ord: (refunds_so_far + 1).to_string(),
                cncl_amt: encrypt(&amount)?,
                refund_bank_cd: refund_bank_cd.to_owned(),
                refund_acnt_no: encrypt(request.account.number)?,
                refund_dpstr_nm: request.account.holder.to_owned(),
                cncl_rsn: Some(request.reason.to_owned()),
            },
        };
        let answer: wire::Envelope<wire::RefundAnswerData> = self.post(&target, wire::PATH_REFUND, &body).await?;
        if !answer.params.succeeded() {
            return Err(refusal(&answer.params));
        }
        Ok(Refunded {
            cancel_tid: answer
                .data
                .trd_no
                .filter(|tid| !tid.is_empty())
                .ok_or_else(|| unreadable("trdNo"))?,
            at: request.now,
            receipt_url: String::new(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        // Hecto sends EUC-KR unless the merchant asked for UTF-8 [C].
        let encoding = match content_type {
            Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
            _ => encoding_rs::EUC_KR,
        };
        let pairs = form::parse(body, encoding);
        let field = |name: &str| form::field(&pairs, name).filter(|value| !value.is_empty());
        let required = |name: &'static str| field(name).ok_or_else(|| NoticeError(format!("missing {name}")));
        let out_stat_cd = required(wire::noti::OUT_STAT_CD)?;
        let biz_type = required(wire::noti::BIZ_TYPE)?;
        // The issuance's number is `orgTrdNo` when the notice has its own `trdNo` [I].
        let tid = field(wire::noti::ORG_TRD_NO)
            .or(field(wire::noti::TRD_NO))
            .ok_or_else(|| NoticeError("missing trdNo".into()))?;
        let at = || parse_dtm(required(wire::noti::TRD_DTM)?).ok_or_else(|| NoticeError("unreadable trdDtm".into()));
        let event = match (out_stat_cd, biz_type) {
            (wire::STAT_OK, wire::BIZ_DEPOSIT) => NoticeEvent::Deposited {
                amount: Some(
                    Won::parse(required(wire::noti::TRD_AMT)?)
                        .map_err(|error| NoticeError(format!("trdAmt {error}")))?,
                ),
                at: at()?,
            },
            (wire::STAT_OK, wire::BIZ_REVOKE) => NoticeEvent::Cancelled { at: at()? },
            (wire::STAT_ISSUED, _) => NoticeEvent::AwaitingDeposit,
            (status, kind) => {
                return Err(NoticeError(format!(
                    "outStatCd {status} bizType {kind} is not a notice vbank reads"
                )))
            }
        };
        Ok(Notice {
            reference: NoticeReference::PgTid(tid.to_owned()),
            event,
            secret: None,
            account_number: field(wire::noti::V_ACNT_NO).map(str::to_owned),
            signed: SignedContent::Form(pairs.clone()),
        })
    }

    fn authenticate(&self, notice: &Notice, channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // pktHash is keyed by the merchant's hash key [C].
        // A good signature proves the sender holds the merchant's key, not that the PG saw the
        // deposit: a leaked key must not mint payments, so deposits are still confirmed by query.
        match (&notice.signed, channel.secrets.hash_key.as_deref()) {
            (SignedContent::Form(fields), Some(key)) if wire::verify_notice(fields, key) => {
                Authenticity::NeedsConfirmation
            }
            (SignedContent::Form(_), Some(_)) => Authenticity::Forged("pktHash does not verify"),
            // Without the key, or a notice that carries no hash: ask Hecto before acting.
            _ => Authenticity::NeedsConfirmation,
        }
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: if accepted { wire::NOTI_ACK } else { wire::NOTI_NACK }.to_owned(),
        }
    }
}
