//! PLACEHOLDER Kicc: to be replaced by the PG's connector.

use crate::{
    Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice, NoticeError, PgError, PgState,
    RefundRequest, Refunded, RevokeOutcome, Target,
};
use async_trait::async_trait;
use vbank_core::{BankCode, PgProvider, UnixSeconds};

pub struct Kicc {
    #[allow(dead_code)]
    http: reqwest::Client,
}

impl Kicc {
    pub fn new(http: reqwest::Client) -> Kicc {
        Kicc { http }
    }
}

#[async_trait]
impl Connector for Kicc {
    fn provider(&self) -> PgProvider {
        PgProvider::Kicc
    }
    fn missing_credential(&self, _target: &Target<'_>) -> Option<&'static str> {
        None
    }
    fn live_base_url(&self) -> &'static str {
        "https://pgapi.easypay.co.kr"
    }
    fn offers_bank(&self, _bank: BankCode) -> bool {
        false
    }
    fn missing_issue_field(&self, _request: &IssueRequest<'_>) -> Option<&'static str> {
        None
    }
    async fn issue(&self, _target: Target<'_>, _request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        Err(PgError::NotSent("PLACEHOLDER".into()))
    }
    async fn revoke(&self, _target: Target<'_>, _pg_tid: &str, _reason: &str, _now: UnixSeconds) -> RevokeOutcome {
        RevokeOutcome::NotSent("PLACEHOLDER".into())
    }
    async fn query(
        &self,
        _target: Target<'_>,
        _pg_tid: &str,
        _merchant_uid: &str,
        _now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        Err(PgError::NotSent("PLACEHOLDER".into()))
    }
    async fn refund(&self, _target: Target<'_>, _request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        Err(PgError::NotSent("PLACEHOLDER".into()))
    }
    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        BankCode::from_kftc(code)
    }
    fn parse_notice(&self, _content_type: Option<&str>, _body: &[u8]) -> Result<Notice, NoticeError> {
        Err(NoticeError("PLACEHOLDER".into()))
    }
    fn authenticate(&self, _notice: &Notice, _pg_secret: Option<&str>) -> Authenticity {
        Authenticity::Forged("PLACEHOLDER")
    }
    fn acknowledge(&self, _accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: 500,
            content_type: "text/plain",
            body: String::new(),
        }
    }
}
