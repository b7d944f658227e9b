//! Deposit notifications, sent to vbank in each PG's own format and resent, as the
//! PG does, until vbank acknowledges them the way that PG expects.

use crate::ledger::Account;
use crate::Sandbox;
use std::sync::Arc;
use vbank_core::PgProvider;

/// One notification, ready to send.
#[derive(Debug, Clone)]
pub struct Message {
    pub pg: PgProvider,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Headers the PG adds (Toss' transmission headers, say).
    pub headers: Vec<(&'static str, String)>,
    /// A header that carries how many times the message was resent, if the PG sends one.
    pub retry_count_header: Option<&'static str>,
}

impl Message {
    pub fn new(pg: PgProvider, content_type: &'static str, body: impl Into<Vec<u8>>) -> Message {
        Message {
            pg,
            content_type,
            body: body.into(),
            headers: Vec::new(),
            retry_count_header: None,
        }
    }
}

/// The notification the account's PG sends about its current state, if it sends one.
pub fn message_for(account: &Account) -> Option<Message> {
    match account.pg {
        PgProvider::Html5Inicis => crate::inicis::deposit_notice(account),
        PgProvider::Tosspayments => crate::toss::deposit_notice(account),
        PgProvider::Kcp => crate::kcp::deposit_notice(account),
        PgProvider::Nice => crate::nice::deposit_notice(account),
        PgProvider::NiceV2 => crate::nice_v2::deposit_notice(account),
        PgProvider::Kicc => crate::kicc::deposit_notice(account),
        PgProvider::Settle => crate::settle::deposit_notice(account),
        PgProvider::SmartroV2 => crate::smartro::deposit_notice(account),
    }
}

/// Whether vbank's answer is the acknowledgement this PG waits for.
fn acknowledged(pg: PgProvider, status: reqwest::StatusCode, body: &str) -> bool {
    match pg {
        PgProvider::Html5Inicis => crate::inicis::acknowledged(status, body),
        PgProvider::Tosspayments => crate::toss::acknowledged(status, body),
        PgProvider::Kcp => crate::kcp::acknowledged(status, body),
        PgProvider::Nice => crate::nice::acknowledged(status, body),
        PgProvider::NiceV2 => crate::nice_v2::acknowledged(status, body),
        PgProvider::Kicc => crate::kicc::acknowledged(status, body),
        PgProvider::Settle => crate::settle::acknowledged(status, body),
        PgProvider::SmartroV2 => crate::smartro::acknowledged(status, body),
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
    for (name, value) in &message.headers {
        request = request.header(*name, value);
    }
    if let Some(name) = message.retry_count_header {
        request = request.header(name, attempt.to_string());
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
    let first = send_once(sandbox, &message, 0).await;
    resend_unless_acknowledged(sandbox, message, first)
}

/// As `deliver`, but the first acknowledgement is lost on its way back to the PG
/// (fault `timeout_after_commit` on `notify`): vbank got the notice, the PG resends it.
pub async fn deliver_losing_first_ack(sandbox: &Arc<Sandbox>, message: Message) -> Result<(), String> {
    let first = send_once(sandbox, &message, 0)
        .await
        .and(Err("the acknowledgement was lost (injected fault)".to_owned()));
    resend_unless_acknowledged(sandbox, message, first)
}

fn resend_unless_acknowledged(
    sandbox: &Arc<Sandbox>,
    message: Message,
    first: Result<(), String>,
) -> Result<(), String> {
    match first {
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
