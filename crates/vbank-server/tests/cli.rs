//! The `vbank` CLI against a running server: the real binary, the real server over HTTP.

mod common;

use common::{eventually, TestApp, WebhookReceiver, TOSS_PG};
use serde_json::Value;
use vbank_core::WebhookSettings;

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|_| panic!("not JSON: {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `vbank <args>` with the server and credentials in the environment.
async fn vbank(app: &TestApp, imp_key: &str, imp_secret: &str, args: &[&str]) -> Output {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args(args)
        .env("VBANK_URL", &app.url)
        .env("VBANK_IMP_KEY", imp_key)
        .env("VBANK_IMP_SECRET", imp_secret)
        .output()
        .await
        .expect("vbank runs");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn cli_round_trip_issue_deposit_get_revoke() {
    let app = TestApp::start().await;
    let shop = app.merchant("cli-shop").await;
    let (key, secret) = (shop.imp_key.as_str(), shop.imp_secret.as_str());

    let issued = vbank(
        &app,
        key,
        secret,
        &[
            "vbank",
            "issue",
            "--amount",
            "1500",
            "--pg",
            TOSS_PG,
            "--buyer-name",
            "홍길동",
            "--json",
        ],
    )
    .await;
    assert!(issued.success, "{}", issued.stderr);
    let paid_uid = issued.json()["imp_uid"].as_str().unwrap().to_owned();
    assert_eq!(issued.json()["status"], "ready");

    let deposit = vbank(&app, key, secret, &["sandbox", "deposit", &paid_uid]).await;
    assert!(deposit.success, "{}", deposit.stderr);
    assert!(deposit.stdout.contains("Deposited 1500 KRW"), "{}", deposit.stdout);

    let got = vbank(&app, key, secret, &["vbank", "get", &paid_uid]).await;
    assert!(got.success, "{}", got.stderr);
    let status_line = got.stdout.lines().find(|line| line.starts_with("status")).unwrap();
    assert!(status_line.ends_with("paid"), "a readable table: {}", got.stdout);
    assert_eq!(app.status_of(&shop, &paid_uid).await, "paid");

    let issued = vbank(
        &app,
        key,
        secret,
        &["vbank", "issue", "--amount", "2000", "--buyer-name", "홍길동", "--json"],
    )
    .await;
    let ready_uid = issued.json()["imp_uid"].as_str().unwrap().to_owned();
    let revoked = vbank(&app, key, secret, &["vbank", "revoke", &ready_uid, "--json"]).await;
    assert!(revoked.success, "{}", revoked.stderr);
    assert_eq!(revoked.json()["status"], "cancelled");
    // Checked through the API, not the CLI's own word.
    assert_eq!(app.status_of(&shop, &ready_uid).await, "cancelled");
    let history = vbank(&app, key, secret, &["vbank", "get", &ready_uid, "--history", "--json"]).await;
    let events = history.json()["events"].as_array().unwrap().clone();
    assert!(
        events.iter().any(|event| event["kind"] == "pg_call"
            && event["detail"].as_str().unwrap().starts_with("tosspayments revoke: ok")),
        "{events:?}"
    );
}

#[tokio::test]
async fn cli_errors_say_what_to_do_next() {
    let app = TestApp::start().await;
    let shop = app.merchant("cli-shop").await;

    let wrong = vbank(
        &app,
        &shop.imp_key,
        "not-the-secret",
        &["vbank", "get", "imp_000000000000"],
    )
    .await;
    assert!(!wrong.success);
    assert!(wrong.stderr.contains("--imp-secret"), "{}", wrong.stderr);

    let unknown = vbank(
        &app,
        &shop.imp_key,
        &shop.imp_secret,
        &["vbank", "get", "imp_000000000000"],
    )
    .await;
    assert!(!unknown.success);
    assert!(
        unknown.stderr.contains("존재하지 않는 결제정보입니다."),
        "{}",
        unknown.stderr
    );

    let paid = app.issued(&shop, TOSS_PG).await;
    app.deposit(&paid).await;
    let refused = vbank(
        &app,
        &shop.imp_key,
        &shop.imp_secret,
        &["vbank", "revoke", paid["imp_uid"].as_str().unwrap()],
    )
    .await;
    assert!(!refused.success);
    assert!(refused.stderr.contains("POST /payments/cancel"), "{}", refused.stderr);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args(["vbank", "get", "imp_000000000000", "--server", "http://127.0.0.1:1"])
        .env("VBANK_IMP_KEY", "k")
        .env("VBANK_IMP_SECRET", "s")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("VBANK_URL") && stderr.contains("vbank serve"),
        "{stderr}"
    );
}

#[tokio::test]
async fn cli_lists_and_resends_webhooks() {
    let app = TestApp::start().await;
    let receiver = WebhookReceiver::start(0).await;
    let shop = app
        .merchant_with(
            "cli-shop",
            WebhookSettings {
                url: Some(receiver.url.clone()),
                ..WebhookSettings::default()
            },
        )
        .await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    receiver.wait_for(10, |all| !all.is_empty()).await;
    let list_args = ["webhooks", "list", imp_uid, "--json"];
    let list = || vbank(&app, &shop.imp_key, &shop.imp_secret, &list_args);
    eventually(10, "the delivery is recorded as delivered", || async {
        list().await.json()[0]["state"] == "delivered"
    })
    .await;
    let listed = list().await.json();
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let table = vbank(&app, &shop.imp_key, &shop.imp_secret, &["webhooks", "list", imp_uid]).await;
    assert!(table.stdout.starts_with("id"), "{}", table.stdout);
    assert!(table.stdout.contains("delivered"), "{}", table.stdout);

    let resent = vbank(&app, &shop.imp_key, &shop.imp_secret, &["webhooks", "resend", &id]).await;
    assert!(resent.success, "{}", resent.stderr);
    receiver.wait_for(10, |all| all.len() >= 2).await;
}
