//! Deposit notifications, sent to vbank in each PG's own format and resent, as the
//! PG does, until vbank acknowledges them the way that PG expects.

use crate::ledger::{Account, AccountState};
use crate::Sandbox;
use rand::Rng;
use std::sync::Arc;
use vbank_core::time::to_kst;
use vbank_core::PgProvider;
use vbank_pg::{form, inicis::wire as inicis_wire, toss};

/// One notification, ready to send.
#[derive(Debug, Clone)]
pub struct Message {
    pub pg: PgProvider,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub transmission_id: String,
}

/// The notification a PG sends about the account's current state, if it sends one.
pub fn message_for(account: &Account) -> Option<Message> {
    let transmission_id = format!("sandbox-{:016x}", rand::thread_rng().gen::<u64>());
    match (account.pg, &account.state) {
        (PgProvider::Html5Inicis, AccountState::Deposited { at, depositor }) => {
            let kst = to_kst(*at);
            let (date, time) = (kst.format("%Y%m%d").to_string(), kst.format("%H%M%S").to_string());
            let bank_code = format!("{:0>8}", account.bank.bank().inicis.unwrap_or_default());
            let amount = account.amount.to_string();
            let body = form::encode(
                [
                    ("msg_id", inicis_wire::TYPE_MSG_DEPOSIT),
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
                    ("type_msg", inicis_wire::TYPE_MSG_DEPOSIT),
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
            Some(Message {
                pg: account.pg,
                content_type: "application/x-www-form-urlencoded; charset=euc-kr",
                body: body.into_bytes(),
                transmission_id,
            })
        }
        // INICIS sends no notice of a revoke the merchant asked for.
        (PgProvider::Html5Inicis, AccountState::Issued | AccountState::Cancelled { .. }) => None,
        (PgProvider::Tosspayments, state) => {
            let (status, at) = match state {
                AccountState::Deposited { at, .. } => ("DONE", *at),
                AccountState::Cancelled { at, .. } => ("CANCELED", *at),
                AccountState::Issued => return None,
            };
            let body = serde_json::json!({
                "createdAt": to_kst(at).format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                "secret": account.secret.clone().unwrap_or_default(),
                "status": status,
                "transactionKey": format!("{:032X}", rand::thread_rng().gen::<u128>()),
                "orderId": account.order_id,
            });
            Some(Message {
                pg: account.pg,
                content_type: "application/json",
                body: body.to_string().into_bytes(),
                transmission_id,
            })
        }
    }
}

/// Whether vbank's answer is the acknowledgement this PG waits for.
fn acknowledged(pg: PgProvider, status: reqwest::StatusCode, body: &str) -> bool {
    match pg {
        PgProvider::Html5Inicis => status.is_success() && body.trim() == inicis_wire::NOTI_ACK,
        PgProvider::Tosspayments => status == reqwest::StatusCode::OK,
    }
}

/// Sends once; `Err` says why it did not count as delivered.
async fn send_once(sandbox: &Sandbox, message: &Message, attempt: usize) -> Result<(), String> {
    let url = format!("{}/notifications/{}", sandbox.notify_url(), message.pg.code());
    let mut request = sandbox
        .http
        .post(url)
        .header("content-type", message.content_type)
        .body(message.body.clone());
    if message.pg == PgProvider::Tosspayments {
        request = request
            .header(
                "tosspayments-webhook-transmission-time",
                toss::format_time(vbank_core::time::Clock::now(&sandbox.clock)),
            )
            .header("tosspayments-webhook-transmission-retried-count", attempt.to_string())
            .header("tosspayments-webhook-transmission-id", &message.transmission_id);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if acknowledged(message.pg, status, &body) {
        Ok(())
    } else {
        Err(format!("vbank answered HTTP {status} {body:?}"))
    }
}

/// Sends the notification and waits for the first answer. If that was not the
/// expected acknowledgement, resends in the background on the PG's schedule.
pub async fn deliver(sandbox: &Arc<Sandbox>, message: Message) -> Result<(), String> {
    match send_once(sandbox, &message, 0).await {
        Ok(()) => Ok(()),
        Err(first_error) => {
            tracing::warn!(pg = %message.pg, error = %first_error, "notification not acknowledged; will resend");
            let sandbox = sandbox.clone();
            tokio::spawn(async move {
                for (attempt, delay) in sandbox.notify_retry_delays.clone().into_iter().enumerate() {
                    tokio::time::sleep(delay).await;
                    match send_once(&sandbox, &message, attempt + 1).await {
                        Ok(()) => return,
                        Err(error) => tracing::warn!(pg = %message.pg, attempt = attempt + 1, %error, "resend failed"),
                    }
                }
                tracing::error!(pg = %message.pg, "notification never acknowledged; giving up");
            });
            Err(first_error)
        }
    }
}
