//! A typed client of vbank's HTTP API: the i'mport (PortOne V1) endpoints vbank serves, vbank's
//! own additions (payment history, webhook deliveries, operations) and the sandbox controls.
//! The `vbank` CLI and the tests use it.
//!
//! Architecture invariant: it speaks HTTP only, and knows nothing of vbank's crates, so it is
//! what any other program would use. Every error says what to do next.
//!
//! ```no_run
//! # async fn example() -> Result<(), vbank_client::Error> {
//! use vbank_client::{Client, IssueRequest};
//! let client = Client::new("http://127.0.0.1:8080").with_credentials("imp_key", "imp_secret");
//! let payment = client
//!     .issue(&IssueRequest::new("order-1", 1000, "004", 1_900_000_000).pg("tosspayments"), None)
//!     .await?;
//! println!("deposit {} won into {} {}", payment.amount, payment.vbank_name, payment.vbank_num);
//! # Ok(())
//! # }
//! ```

mod types;

pub use types::*;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::Mutex;

/// Everything that can go wrong, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot reach vbank at {url} ({reason}); is `vbank serve` running there? Point --server (or VBANK_URL) at it"
    )]
    Unreachable { url: String, reason: String },
    #[error("this needs the merchant's credentials: pass --imp-key and --imp-secret (or set VBANK_IMP_KEY and VBANK_IMP_SECRET)")]
    NoCredentials,
    #[error("vbank refused the imp_key/imp_secret: check --imp-key and --imp-secret (VBANK_IMP_KEY, VBANK_IMP_SECRET); `vbank serve` prints the demo merchant's on its first start")]
    Unauthorized,
    /// An answer in i'mport's envelope with a non-zero code.
    #[error("{}", describe_refusal(*.status, *.code, .message))]
    Refused { status: u16, code: i64, message: String },
    #[error("{what} is not available here (HTTP {status}): {hint}")]
    Unavailable { what: String, status: u16, hint: String },
    #[error("vbank answered something this client cannot read ({what}): {body}; is --server really a vbank?")]
    Unreadable { what: String, body: String },
}

fn describe_refusal(status: u16, code: i64, message: &str) -> String {
    let next = match (status, code) {
        (404, _) => "check the id (it may belong to another merchant)",
        (400, _) | (413, _) => "fix the request as the message says",
        (409, _) => "another request with this Idempotency-Key is still running; retry shortly",
        (200, -1) => {
            "the PG refused or did not answer; see the payment's history (`vbank vbank get --events`) and retry later"
        }
        (200, _) => "the payment's state does not allow this; look at it with `vbank vbank get`",
        (500..=599, _) => "a vbank fault: quote the request id above when you report it",
        _ => "see the message",
    };
    format!("vbank refused (HTTP {status}, code {code}): {message} ({next})")
}

pub type Result<T> = std::result::Result<T, Error>;

/// A connection to one vbank server, as one merchant (or none, for the sandbox and operations).
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    credentials: Option<(String, String)>,
    language: Option<String>,
    token: Mutex<Option<String>>,
}

impl Client {
    pub fn new(base_url: impl Into<String>) -> Client {
        Client {
            // A PG may take its time; vbank's own PG timeout (10 s by default) comes first.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            credentials: None,
            language: None,
            token: Mutex::new(None),
        }
    }

    /// Signs in as the merchant with these REST API credentials (a token is fetched when needed).
    pub fn with_credentials(mut self, imp_key: impl Into<String>, imp_secret: impl Into<String>) -> Client {
        self.credentials = Some((imp_key.into(), imp_secret.into()));
        self
    }

    /// Messages in English (`Accept-Language: en`) instead of Korean.
    pub fn in_english(mut self) -> Client {
        self.language = Some("en".into());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base_url));
        match &self.language {
            Some(language) => request.header("accept-language", language),
            None => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<(StatusCode, String)> {
        let response = request.send().await.map_err(|error| Error::Unreachable {
            url: self.base_url.clone(),
            reason: error.to_string(),
        })?;
        let status = response.status();
        let body = response.text().await.map_err(|error| Error::Unreachable {
            url: self.base_url.clone(),
            reason: error.to_string(),
        })?;
        Ok((status, body))
    }

    /// Reads i'mport's envelope: `response` on code 0, [`Error::Refused`] otherwise.
    fn envelope<T: DeserializeOwned>(what: &str, status: StatusCode, body: &str) -> Result<T> {
        let envelope: Value = serde_json::from_str(body).map_err(|_| Error::Unreadable {
            what: what.to_owned(),
            body: body.chars().take(200).collect(),
        })?;
        let code = envelope["code"].as_i64().ok_or_else(|| Error::Unreadable {
            what: what.to_owned(),
            body: body.chars().take(200).collect(),
        })?;
        if code != 0 || !status.is_success() {
            if status == StatusCode::UNAUTHORIZED {
                return Err(Error::Unauthorized);
            }
            return Err(Error::Refused {
                status: status.as_u16(),
                code,
                message: envelope["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        serde_json::from_value(envelope["response"].clone()).map_err(|error| Error::Unreadable {
            what: format!("{what}: {error}"),
            body: body.chars().take(200).collect(),
        })
    }

    /// `POST /users/getToken`.
    pub async fn get_token(&self) -> Result<Token> {
        let (imp_key, imp_secret) = self.credentials.as_ref().ok_or(Error::NoCredentials)?;
        let request = self
            .request(Method::POST, "/users/getToken")
            .json(&serde_json::json!({"imp_key": imp_key, "imp_secret": imp_secret}));
        let (status, body) = self.send(request).await?;
        Self::envelope("the token", status, &body)
    }

    async fn token(&self, renew: bool) -> Result<String> {
        let mut token = self.token.lock().await;
        if renew || token.is_none() {
            *token = Some(self.get_token().await?.access_token);
        }
        Ok(token.clone().unwrap_or_default())
    }

    /// A merchant's call: with the token, fetched again once if it expired.
    async fn call<T: DeserializeOwned>(&self, what: &str, build: impl Fn(&Client) -> RequestBuilder) -> Result<T> {
        let token = self.token(false).await?;
        let (status, body) = self.send(build(self).bearer_auth(&token)).await?;
        if status == StatusCode::UNAUTHORIZED {
            let token = self.token(true).await?;
            let (status, body) = self.send(build(self).bearer_auth(&token)).await?;
            return Self::envelope(what, status, &body);
        }
        Self::envelope(what, status, &body)
    }

    /// `POST /vbanks`: issues a virtual account. `idempotency_key` replays the first answer.
    pub async fn issue(&self, request: &IssueRequest, idempotency_key: Option<&str>) -> Result<Payment> {
        self.call("the issued payment", |client| {
            let mut builder = client.request(Method::POST, "/vbanks").json(request);
            if let Some(key) = &request.pg_api_key {
                builder = builder.query(&[("pg_api_key", key)]);
            }
            if let Some(key) = idempotency_key {
                builder = builder.header("idempotency-key", key);
            }
            builder
        })
        .await
    }

    /// `DELETE /vbanks/{imp_uid}`: revokes an unpaid account (KG INICIS needs `pg_api_key`).
    pub async fn revoke(&self, imp_uid: &str, pg_api_key: Option<&str>, reason: Option<&str>) -> Result<Payment> {
        let mut query = Vec::new();
        if let Some(key) = pg_api_key {
            query.push(("pg_api_key", key));
        }
        if let Some(reason) = reason {
            query.push(("reason", reason));
        }
        self.call("the revoked payment", |client| {
            client
                .request(Method::DELETE, &format!("/vbanks/{}", segment(imp_uid)))
                .query(&query)
        })
        .await
    }

    /// `PUT /vbanks/{imp_uid}`: a new amount or due time (Settle Bank only).
    pub async fn modify(&self, imp_uid: &str, amount: Option<i64>, vbank_due: Option<i64>) -> Result<Payment> {
        let body = serde_json::json!({"amount": amount, "vbank_due": vbank_due});
        self.call("the changed payment", |client| {
            client
                .request(Method::PUT, &format!("/vbanks/{}", segment(imp_uid)))
                .json(&body)
        })
        .await
    }

    /// `GET /vbanks/holder`.
    pub async fn holder(&self, bank_code: &str, bank_num: &str) -> Result<String> {
        let holder: Value = self
            .call("the holder", |client| {
                client
                    .request(Method::GET, "/vbanks/holder")
                    .query(&[("bank_code", bank_code), ("bank_num", bank_num)])
            })
            .await?;
        Ok(holder["bank_holder"].as_str().unwrap_or_default().to_owned())
    }

    /// `GET /payments/{imp_uid}`.
    pub async fn payment(&self, imp_uid: &str) -> Result<Payment> {
        self.call("the payment", |client| {
            client.request(Method::GET, &format!("/payments/{}", segment(imp_uid)))
        })
        .await
    }

    /// `GET /payments?imp_uid[]=..&merchant_uid[]=..` (what was found; a 207 is not an error).
    pub async fn payments(&self, imp_uids: &[&str], merchant_uids: &[&str]) -> Result<Vec<Payment>> {
        let mut query: Vec<(&str, &str)> = imp_uids.iter().map(|uid| ("imp_uid[]", *uid)).collect();
        query.extend(merchant_uids.iter().map(|uid| ("merchant_uid[]", *uid)));
        self.call("the payments", |client| {
            client.request(Method::GET, "/payments").query(&query)
        })
        .await
    }

    /// `GET /payments/find/{merchant_uid}[/{status}]`: the order's latest payment.
    pub async fn find(&self, merchant_uid: &str, status: Option<&str>) -> Result<Payment> {
        let path = match status {
            Some(status) => format!("/payments/find/{}/{}", segment(merchant_uid), segment(status)),
            None => format!("/payments/find/{}", segment(merchant_uid)),
        };
        self.call("the payment", |client| client.request(Method::GET, &path))
            .await
    }

    /// `GET /payments/findAll/{merchant_uid}[/{status}]`.
    pub async fn find_all(&self, merchant_uid: &str, status: Option<&str>, page: u32) -> Result<Page> {
        let path = match status {
            Some(status) => format!("/payments/findAll/{}/{}", segment(merchant_uid), segment(status)),
            None => format!("/payments/findAll/{}", segment(merchant_uid)),
        };
        self.call("the payments", |client| {
            client.request(Method::GET, &path).query(&[("page", page.to_string())])
        })
        .await
    }

    /// `GET /payments/status/{status}` (`all` for any) within `[from, to]`, Unix seconds.
    pub async fn by_status(&self, query: &StatusQuery) -> Result<Page> {
        self.call("the payments", |client| {
            client
                .request(Method::GET, &format!("/payments/status/{}", segment(&query.status)))
                .query(&query.parameters())
        })
        .await
    }

    /// `POST /payments/cancel`: a refund after deposit.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Payment> {
        self.call("the refunded payment", |client| {
            client.request(Method::POST, "/payments/cancel").json(request)
        })
        .await
    }

    /// `GET /payments/{imp_uid}/events`: state changes, PG calls, refused notifications.
    pub async fn events(&self, imp_uid: &str) -> Result<Vec<PaymentEvent>> {
        self.call("the history", |client| {
            client.request(Method::GET, &format!("/payments/{}/events", segment(imp_uid)))
        })
        .await
    }

    /// `GET /webhooks?imp_uid=`: the payment's webhook deliveries and their attempts.
    pub async fn webhooks(&self, imp_uid: &str) -> Result<Vec<WebhookDelivery>> {
        self.call("the webhook deliveries", |client| {
            client.request(Method::GET, "/webhooks").query(&[("imp_uid", imp_uid)])
        })
        .await
    }

    /// `POST /webhooks/{id}/resend`.
    pub async fn resend_webhook(&self, delivery_id: i64) -> Result<ResentWebhook> {
        self.call("the resend", |client| {
            client.request(Method::POST, &format!("/webhooks/{delivery_id}/resend"))
        })
        .await
    }

    async fn sandbox<T: DeserializeOwned>(&self, what: &str, request: RequestBuilder) -> Result<T> {
        let (status, body) = self.send(request).await?;
        if status == StatusCode::NOT_FOUND && body.contains("\"code\":-1") {
            return Err(Error::Unavailable {
                what: "the sandbox".into(),
                status: status.as_u16(),
                hint: "this server runs without its in-process sandbox (--no-sandbox or --sandbox-url); point --server at the sandbox".into(),
            });
        }
        if !status.is_success() {
            return Err(Error::Unavailable {
                what: what.to_owned(),
                status: status.as_u16(),
                hint: body.chars().take(300).collect(),
            });
        }
        serde_json::from_str(&body).map_err(|error| Error::Unreadable {
            what: format!("{what}: {error}"),
            body: body.chars().take(200).collect(),
        })
    }

    /// `POST /sandbox/bank/deposits`: the buyer wires money at the sandbox bank.
    pub async fn sandbox_deposit(&self, deposit: &SandboxDeposit) -> Result<DepositOutcome> {
        self.sandbox(
            "the sandbox bank's answer",
            self.request(Method::POST, "/sandbox/bank/deposits").json(deposit),
        )
        .await
    }

    /// `POST /sandbox/clock`: moves the sandbox clock forward; returns its new time.
    pub async fn sandbox_advance_clock(&self, seconds: i64) -> Result<i64> {
        let answer: Value = self
            .sandbox(
                "the sandbox clock",
                self.request(Method::POST, "/sandbox/clock")
                    .json(&serde_json::json!({"advance_seconds": seconds})),
            )
            .await?;
        Ok(answer["now"].as_i64().unwrap_or_default())
    }

    /// `GET /sandbox/accounts/{account_number}`: what the PG simulator recorded.
    pub async fn sandbox_account(&self, account_number: &str) -> Result<SandboxAccount> {
        self.sandbox(
            "the PG's record",
            self.request(Method::GET, &format!("/sandbox/accounts/{}", segment(account_number))),
        )
        .await
    }

    /// `POST /sandbox/faults`.
    pub async fn sandbox_fault(&self, fault: &SandboxFault) -> Result<()> {
        let _: Value = self
            .sandbox("the fault", self.request(Method::POST, "/sandbox/faults").json(fault))
            .await?;
        Ok(())
    }

    /// `GET /readyz`: whether the server is ready, and if not, why.
    pub async fn readiness(&self) -> Result<Health> {
        let (_, body) = self.send(self.request(Method::GET, "/readyz")).await?;
        serde_json::from_str(&body).map_err(|_| Error::Unreadable {
            what: "/readyz".into(),
            body,
        })
    }

    /// `GET /metrics`, the Prometheus text.
    pub async fn metrics(&self) -> Result<String> {
        let (status, body) = self.send(self.request(Method::GET, "/metrics")).await?;
        if !status.is_success() {
            return Err(Error::Unavailable {
                what: "/metrics".into(),
                status: status.as_u16(),
                hint: body,
            });
        }
        Ok(body)
    }

    /// `GET /openapi.json`.
    pub async fn openapi(&self) -> Result<Value> {
        let (_, body) = self.send(self.request(Method::GET, "/openapi.json")).await?;
        serde_json::from_str(&body).map_err(|_| Error::Unreadable {
            what: "/openapi.json".into(),
            body: body.chars().take(200).collect(),
        })
    }
}

/// A path segment, percent-encoded.
fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
