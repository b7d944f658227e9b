//! `GET /vbanks/holder`: the name on a bank account, to check a refund account before
//! a refund. Answered by the bank; vbank has a bank connection only in the sandbox.

use crate::app::AppState;
use crate::edge::envelope::Text;
use crate::edge::{ApiError, ApiResult};
use vbank_core::BankCode;

pub async fn holder(state: &AppState, bank: BankCode, bank_num: &str) -> ApiResult<String> {
    let Some(sandbox_url) = &state.settings.sandbox_url else {
        return Err(ApiError::PgFailure(Text::new(
            "[BANK] 예금주 조회는 샌드박스 은행으로만 가능합니다.",
            "[BANK] Holder lookups are answered by the sandbox bank only; this server runs without it.",
        )));
    };
    let response = reqwest::Client::new()
        .get(format!("{}/sandbox/bank/holder", sandbox_url.trim_end_matches('/')))
        .query(&[("bank_code", bank.kftc()), ("bank_num", bank_num)])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|error| ApiError::PgFailure(Text::same(format!("[BANK] {error}"))))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound(Text::new("계좌정보 조회 실패", "No such account.")));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|error| ApiError::PgFailure(Text::same(format!("[BANK] {error}"))))?;
    body["bank_holder"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::PgFailure(Text::same("[BANK] unreadable answer")))
}
