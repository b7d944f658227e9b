//! The test harness: a real vbank server on loopback with a real SQLite file and the
//! in-process sandbox PGs, driven over HTTP like any i'mport client.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tempfile::TempDir;
use vbank_server::server::{self, RunningServer, ServeConfig};
use vbank_server::services::merchants::{add_sandbox_merchant, MerchantSpec};

pub const INIAPI_KEY: &str = "ItEQKi3rY7uvDS8l";
pub const INICIS_PG: &str = "html5_inicis.INIpayTest";
pub const TOSS_PG: &str = "tosspayments";

pub struct TestApp {
    pub server: RunningServer,
    pub url: String,
    pub database_url: String,
    pub http: reqwest::Client,
    _dir: TempDir,
}

/// One merchant's credentials and token.
#[derive(Clone)]
pub struct Merchant {
    pub imp_key: String,
    pub imp_secret: String,
    pub token: String,
}

/// An answer: HTTP status and the JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().expect("envelope code")
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
    pub fn response(&self) -> &Value {
        &self.body["response"]
    }
    /// Asserts an error envelope: status, code, null response.
    pub fn assert_error(&self, status: u16, code: i64) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.code(), code, "{:?}", self.body);
        assert!(self.body["response"].is_null(), "{:?}", self.body);
        assert!(!self.message().is_empty(), "{:?}", self.body);
        self
    }
    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.code(), 0, "{:?}", self.body);
        self.response()
    }
}

/// The PostgreSQL server tests use: `VBANK_TEST_POSTGRES_URL`, else the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("VBANK_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A new, empty database for one test.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin_url = postgres_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("VBANK_TEST_DATABASE=postgres but {admin_url} refuses: {error}"));
    let name = format!("vbank_test_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .expect("a database URL");
    format!("{base}/{name}")
}

/// Drops a test's PostgreSQL database (on a thread of its own: `Drop` cannot await).
pub fn drop_postgres_database(database_url: &str) {
    let Some((_, name)) = database_url.rsplit_once('/') else {
        return;
    };
    let name = name.to_owned();
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.ok()?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .ok()
        })
    })
    .join();
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.database_url.starts_with("postgres") {
            drop_postgres_database(&self.database_url);
        }
    }
}

/// The key the suite seals PG credentials with (base64 of 32 bytes), given to in-process
/// servers, to the test's own store handles and to spawned `vbank` processes alike.
pub const TEST_SECRETS_KEY: &str = "dmJhbmstdGVzdC1zZWNyZXRzLWtleS0zMi1ieXRlcyE=";

pub fn test_secrets_key() -> vbank_store::SecretsKey {
    vbank_store::SecretsKey::from_base64(TEST_SECRETS_KEY).expect("the test key is valid")
}

/// The store behind a test's server, opened with the suite's secrets key.
pub async fn open_store(database_url: &str) -> std::sync::Arc<dyn vbank_store::Store> {
    vbank_store::open_with_key(database_url, Some(test_secrets_key()))
        .await
        .expect("store opens")
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match std::env::var("VBANK_TEST_DATABASE").as_deref() {
            Ok("postgres") => fresh_postgres_database().await,
            _ => format!("sqlite://{}", dir.path().join("vbank.db").display()),
        };
        let mut config = ServeConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), database_url.clone());
        config.pg_timeout = Duration::from_secs(5);
        config.secrets_key = Some(test_secrets_key());
        configure(&mut config);
        let server = server::start(config).await.expect("server starts");
        TestApp {
            url: server.url(),
            server,
            database_url,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// A new merchant with sandbox channels, and its token.
    pub async fn merchant(&self, imp_key: &str) -> Merchant {
        self.merchant_with(imp_key, Default::default()).await
    }

    /// A new merchant with these webhook settings, and its token.
    pub async fn merchant_with(&self, imp_key: &str, webhook: vbank_core::WebhookSettings) -> Merchant {
        let store = open_store(&self.database_url).await;
        let imp_secret = format!("secret-of-{imp_key}");
        let spec = MerchantSpec {
            name: imp_key.to_owned(),
            imp_key: imp_key.to_owned(),
            imp_secret: imp_secret.clone(),
            inicis_api_key: None,
            webhook,
        };
        add_sandbox_merchant(store.as_ref(), spec)
            .await
            .expect("merchant is added");
        let token = self.get_token(imp_key, &imp_secret).await.assert_ok()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        Merchant {
            imp_key: imp_key.to_owned(),
            imp_secret,
            token,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("server answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        assert_eq!(
            content_type.as_deref(),
            Some("application/json; charset=utf-8"),
            "every answer is i'mport's JSON"
        );
        Answer { status, body }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    pub async fn get_token(&self, imp_key: &str, imp_secret: &str) -> Answer {
        self.send(
            self.request(Method::POST, "/users/getToken")
                .json(&json!({"imp_key": imp_key, "imp_secret": imp_secret})),
        )
        .await
    }

    pub async fn issue(&self, merchant: &Merchant, pg: &str, body: Value) -> Answer {
        let mut request = json!({
            "merchant_uid": format!("order-{}", rand_suffix()),
            "amount": 1000,
            "vbank_code": "004",
            "vbank_due": now() + 86_400,
            "vbank_holder": "테스트상점",
            "buyer_name": "홍길동",
            "buyer_email": "buyer@example.test",
            "buyer_tel": "01012345678",
            "pg": pg,
        });
        for (key, value) in body.as_object().expect("object").iter() {
            request[key] = value.clone();
        }
        let path = if pg.contains("inicis") {
            format!("/vbanks?pg_api_key={INIAPI_KEY}")
        } else {
            "/vbanks".to_owned()
        };
        self.send(
            self.request(Method::POST, &path)
                .bearer_auth(&merchant.token)
                .json(&request),
        )
        .await
    }

    /// Issues through `pg` and returns the payment JSON.
    pub async fn issued(&self, merchant: &Merchant, pg: &str) -> Value {
        self.issue(merchant, pg, json!({})).await.assert_ok().clone()
    }

    pub async fn revoke(&self, merchant: &Merchant, imp_uid: &str, query: &str) -> Answer {
        self.send(
            self.request(Method::DELETE, &format!("/vbanks/{imp_uid}{query}"))
                .bearer_auth(&merchant.token),
        )
        .await
    }

    /// Revokes with the right INIAPI key where the PG needs one.
    pub async fn revoke_payment(&self, merchant: &Merchant, payment: &Value) -> Answer {
        let query = if payment["pg_provider"] == "html5_inicis" {
            format!("?pg_api_key={INIAPI_KEY}")
        } else {
            String::new()
        };
        self.revoke(merchant, payment["imp_uid"].as_str().unwrap(), &query)
            .await
    }

    pub async fn payment(&self, merchant: &Merchant, imp_uid: &str) -> Answer {
        self.send(
            self.request(Method::GET, &format!("/payments/{imp_uid}"))
                .bearer_auth(&merchant.token),
        )
        .await
    }

    /// The sandbox bank's answer to a deposit into the payment's account.
    pub async fn deposit(&self, payment: &Value) -> Value {
        self.deposit_amount(payment, payment["amount"].as_i64().unwrap()).await
    }

    pub async fn deposit_amount(&self, payment: &Value, amount: i64) -> Value {
        self.http
            .post(format!("{}/sandbox/bank/deposits", self.url))
            .json(&json!({
                "bank_code": payment["vbank_code"],
                "account_number": payment["vbank_num"],
                "amount": amount,
                "depositor_name": "홍길동",
            }))
            .send()
            .await
            .expect("bank answers")
            .json()
            .await
            .expect("bank JSON")
    }

    /// `POST /payments/cancel` (a refund) for the payment, to 110123456789 at Shinhan in the
    /// PG's own bank-code system, with `extra` fields added or replaced.
    pub async fn refund(&self, merchant: &Merchant, payment: &Value, extra: Value) -> Answer {
        let refund_bank = match payment["pg_provider"].as_str().unwrap_or_default() {
            "html5_inicis" => "88",
            "kcp" => "BK88",
            _ => "088",
        };
        let mut body = json!({
            "imp_uid": payment["imp_uid"],
            "reason": "고객 변심",
            "refund_holder": "홍길동",
            "refund_bank": refund_bank,
            "refund_account": "110123456789",
        });
        if payment["pg_provider"] == "html5_inicis" {
            body["pg_api_key"] = json!(INIAPI_KEY);
        }
        for (key, value) in extra.as_object().expect("an object").iter() {
            body[key] = value.clone();
        }
        self.send(
            self.request(Method::POST, "/payments/cancel")
                .bearer_auth(&merchant.token)
                .json(&body),
        )
        .await
    }

    /// What the PG simulator recorded for the payment's account.
    pub async fn pg_state(&self, payment: &Value) -> String {
        let account: Value = self
            .http
            .get(format!(
                "{}/sandbox/accounts/{}",
                self.url,
                payment["vbank_num"].as_str().unwrap()
            ))
            .send()
            .await
            .expect("sandbox answers")
            .json()
            .await
            .expect("sandbox JSON");
        account["state"].as_str().expect("state").to_owned()
    }

    /// How many payments the merchant has, by any status.
    pub async fn payment_count(&self, merchant: &Merchant) -> u64 {
        let answer = self
            .send(
                self.request(Method::GET, "/payments/status/all")
                    .bearer_auth(&merchant.token),
            )
            .await;
        answer.assert_ok()["total"].as_u64().expect("total")
    }
}

pub fn rand_suffix() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// A merchant's webhook endpoint: records every request, and fails the first
/// `fail_first` with HTTP 500.
pub struct WebhookReceiver {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<ReceivedWebhook>>>,
}

#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub answered: u16,
}

impl WebhookReceiver {
    pub async fn start(fail_first: usize) -> WebhookReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, fail_first)
    }

    /// Answers 200 to every request, but holds the first one for `hold` first.
    pub async fn start_hanging_first(hold: Duration) -> WebhookReceiver {
        use axum::http::{HeaderMap, StatusCode};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<ReceivedWebhook>::new()));
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let first = {
                        let mut log = log.lock().unwrap();
                        log.push(ReceivedWebhook {
                            headers,
                            body,
                            answered: 200,
                        });
                        log.len() == 1
                    };
                    if first {
                        tokio::time::sleep(hold).await;
                    }
                    StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver { url, received }
    }

    /// Listens on a given port (to come up after vbank has already tried it).
    pub async fn start_on(port: u16, fail_first: usize) -> WebhookReceiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        Self::serve(listener, fail_first)
    }

    fn serve(listener: tokio::net::TcpListener, fail_first: usize) -> WebhookReceiver {
        use axum::http::{HeaderMap, StatusCode};
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<ReceivedWebhook>::new()));
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let mut log = log.lock().unwrap();
                    let status = if log.len() < fail_first { 500 } else { 200 };
                    log.push(ReceivedWebhook {
                        headers,
                        body,
                        answered: status,
                    });
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver { url, received }
    }

    pub fn all(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `predicate` holds for what was received, or panics after `seconds`.
    pub async fn wait_for(&self, seconds: u64, predicate: impl Fn(&[ReceivedWebhook]) -> bool) -> Vec<ReceivedWebhook> {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let all = self.all();
            if predicate(&all) {
                return all;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "webhooks never arrived as expected: {all:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl ReceivedWebhook {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Polls `check` until it returns true, or panics after `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// Arms a fault in the in-process sandbox.
    pub async fn arm_fault(&self, pg: &str, operation: &str, fault: &str) {
        let response = self
            .http
            .post(format!("{}/sandbox/faults", self.url))
            .json(&json!({"pg": pg, "operation": operation, "fault": fault, "count": 1}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "fault armed");
    }

    pub async fn status_of(&self, merchant: &Merchant, imp_uid: &str) -> String {
        self.payment(merchant, imp_uid).await.assert_ok()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// vbank's internal status, `revoke_in_doubt` included.
    pub async fn internal_status(&self, merchant: &Merchant, imp_uid: &str) -> String {
        let _ = merchant;
        let store = open_store(&self.database_url).await;
        let imp_uid = vbank_core::ImpUid::parse(imp_uid).unwrap();
        let payment = store.payment_for_pg(&imp_uid).await.unwrap().unwrap();
        payment.status.as_str().to_owned()
    }
}

/// A `vbank` process (the real binary).
pub struct VbankProcess {
    pub child: tokio::process::Child,
    pub url: String,
    /// The demo merchant's credentials, when this start created one.
    pub credentials: Option<(String, String)>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `vbank <args>` and waits for the line starting with `ready_line`, reading the
/// demo merchant's credentials on the way.
pub async fn spawn_vbank(args: &[&str], ready_line: &str) -> VbankProcess {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args(args)
        .env("VBANK_SECRETS_KEY", TEST_SECRETS_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("vbank starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut imp_key, mut credentials, mut url) = (None, None, None);
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(key) = line.trim().strip_prefix("imp_key:") {
                imp_key = Some(key.trim().to_owned());
            }
            if let Some(secret) = line.trim().strip_prefix("imp_secret:") {
                credentials = Some((imp_key.clone().unwrap(), secret.trim().to_owned()));
            }
            if line.starts_with(ready_line) {
                url = line.rsplit(' ').next().map(str::to_owned);
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("vbank prints its address");
    // Keep reading: a closed pipe would kill the process at its next line of output.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    VbankProcess {
        child,
        url: url.expect("vbank said where it listens"),
        credentials,
    }
}

/// `vbank serve` on `port` with this database and extra flags.
pub async fn spawn_serve(port: u16, database_url: &str, extra: &[&str]) -> VbankProcess {
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--addr", addr.as_str(), "--database-url", database_url];
    args.extend_from_slice(extra);
    spawn_vbank(&args, "vbank listening on").await
}
