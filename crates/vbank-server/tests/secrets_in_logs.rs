//! No secret reaches the logs (issue 8): a full sandbox round trip through the real
//! binary, logging JSON at `info` as in production, and not one of the secrets it
//! handled appears in what it printed: imp_secret (right or wrong), the access token,
//! the INICIS key (configured, or passed as `pg_api_key`), the channels' PG keys, the
//! webhook signing secret, the secrets key.

mod common;

use common::{free_port, TEST_SECRETS_KEY};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use vbank_core::PgProvider;

const IMP_SECRET: &str = "imp-secret-that-must-not-be-logged";
const WRONG_SECRET: &str = "a-wrong-guess-that-must-not-be-logged";
const INIAPI_KEY: &str = "ItEQKi3rY7uvDS8l";
const WEBHOOK_SECRET: &str = "whsec_bm90LWxvZ2dlZC1ub3QtbG9nZ2VkLW5vdC1sb2dnZWQ=";

/// Collects every line a child prints on stdout and stderr.
fn capture(child: &mut tokio::process::Child, into: Arc<Mutex<Vec<String>>>) {
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    for stream in [
        Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(stderr),
    ] {
        let into = into.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                into.lock().unwrap().push(line);
            }
        });
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_sandbox_round_trip_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("vbank.db").display());
    let logs = Arc::new(Mutex::new(Vec::new()));
    let bin = env!("CARGO_BIN_EXE_vbank");

    let mut added = tokio::process::Command::new(bin)
        .args([
            "merchant",
            "add",
            "--imp-key",
            "logged-shop",
            "--imp-secret",
            IMP_SECRET,
        ])
        .args([
            "--inicis-api-key",
            INIAPI_KEY,
            "--webhook-url",
            "https://example.invalid/hook",
        ])
        .args(["--webhook-secret", WEBHOOK_SECRET, "--database-url", &database_url])
        .env("VBANK_SECRETS_KEY", TEST_SECRETS_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    capture(&mut added, logs.clone());
    assert!(added.wait().await.unwrap().success());

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(bin)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &database_url,
        ])
        .args(["--log-format", "json"])
        .env("VBANK_SECRETS_KEY", TEST_SECRETS_KEY)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    capture(&mut server, logs.clone());
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{url}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A wrong secret first, then the right one.
    let refused = post(
        &http,
        format!("{url}/users/getToken"),
        None,
        json!({"imp_key": "logged-shop", "imp_secret": WRONG_SECRET}),
    )
    .await;
    assert_eq!(refused["code"], -1);
    let token = post(
        &http,
        format!("{url}/users/getToken"),
        None,
        json!({"imp_key": "logged-shop", "imp_secret": IMP_SECRET}),
    )
    .await["response"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let due = common::now() + 3600;

    // Toss: issue, deposit at the bank, refund.
    let toss = post(
        &http,
        format!("{url}/vbanks"),
        Some(&token),
        json!({
            "merchant_uid": "logged-1", "amount": 1000, "vbank_code": "004", "vbank_due": due,
            "buyer_name": "홍길동", "pg": "tosspayments",
        }),
    )
    .await["response"]
        .clone();
    let deposit = post(
        &http,
        format!("{url}/sandbox/bank/deposits"),
        None,
        json!({
            "bank_code": "004", "account_number": toss["vbank_num"], "amount": 1000, "depositor_name": "홍길동",
        }),
    )
    .await;
    assert!(deposit.is_object(), "{deposit}");
    for _ in 0..50 {
        let paid = http
            .get(format!("{url}/payments/{}", toss["imp_uid"].as_str().unwrap()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        if paid["response"]["status"] == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refunded = post(
        &http,
        format!("{url}/payments/cancel"),
        Some(&token),
        json!({
            "imp_uid": toss["imp_uid"], "reason": "refund", "refund_holder": "홍길동", "refund_bank": "088",
            "refund_account": "110123456789",
        }),
    )
    .await;
    assert_eq!(refunded["code"], 0, "{refunded}");

    // KG INICIS: issue with the channel's key, revoke with the key in the query as i'mport clients do.
    let inicis = post(
        &http,
        format!("{url}/vbanks"),
        Some(&token),
        json!({
            "merchant_uid": "logged-2", "amount": 5000, "vbank_code": "088", "vbank_due": due,
            "vbank_holder": "상점", "buyer_name": "김", "buyer_email": "a@example.com", "pg": "html5_inicis",
        }),
    )
    .await["response"]
        .clone();
    let revoked = http
        .delete(format!(
            "{url}/vbanks/{}?pg_api_key={INIAPI_KEY}",
            inicis["imp_uid"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(revoked["response"]["status"], "cancelled", "{revoked}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    server.start_kill().unwrap();
    let _ = server.wait().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let logs = logs.lock().unwrap().join("\n");
    assert!(logs.contains("PG call"), "the server logged its work: {logs}");
    let mut secrets: Vec<(String, String)> = vec![
        ("imp_secret".into(), IMP_SECRET.into()),
        ("a wrong imp_secret".into(), WRONG_SECRET.into()),
        ("the access token".into(), token.clone()),
        ("the INICIS key".into(), INIAPI_KEY.into()),
        ("the webhook secret".into(), WEBHOOK_SECRET.into()),
        ("the secrets key".into(), TEST_SECRETS_KEY.into()),
    ];
    for provider in PgProvider::ALL {
        let (_, channel_secrets) = vbank_sandbox::test_channel(provider);
        for (name, value) in serde_json::to_value(&channel_secrets).unwrap().as_object().unwrap() {
            if let Some(value) = value.as_str().filter(|value| value.len() >= 8) {
                secrets.push((format!("{provider} {name}"), value.to_owned()));
                // PEM keys: any line of their body.
                for line in value
                    .lines()
                    .filter(|line| line.len() >= 16 && !line.starts_with("-----"))
                {
                    secrets.push((format!("{provider} {name} (a line)"), line.to_owned()));
                }
            }
        }
    }
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{what} appears in the logs");
    }
}
