//! A revoke acknowledged to the client survives the server being killed (SIGKILL)
//! right after: the commit is durable before the answer leaves (WAL, synchronous=FULL).

mod common;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::process::Command;

/// A fresh database: a SQLite file, or with VBANK_TEST_DATABASE=postgres a PostgreSQL one.
async fn database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("VBANK_TEST_DATABASE").as_deref() {
        Ok("postgres") => common::fresh_postgres_database().await,
        _ => format!("sqlite://{}", dir.path().join("vbank.db").display()),
    }
}

async fn serve(database_url: &str) -> common::VbankProcess {
    serve_with(database_url, &[]).await
}

async fn serve_with(database_url: &str, extra: &[&str]) -> common::VbankProcess {
    common::spawn_serve(common::free_port(), database_url, extra).await
}

async fn call(http: &reqwest::Client, request: reqwest::RequestBuilder) -> Value {
    let _ = http;
    request.send().await.expect("answer").json().await.expect("JSON")
}

#[tokio::test]
async fn an_acknowledged_revoke_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(&dir).await;
    let http = reqwest::Client::new();

    let mut first = serve(&database_url).await;
    let (imp_key, imp_secret) = first.credentials.clone().expect("a demo merchant on the first start");
    let credentials = json!({"imp_key": imp_key, "imp_secret": imp_secret});
    let token = call(
        &http,
        http.post(format!("{}/users/getToken", first.url)).json(&credentials),
    )
    .await["response"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut revoked = Vec::new();
    for index in 0..5 {
        let issued = call(
            &http,
            http.post(format!("{}/vbanks", first.url))
                .bearer_auth(&token)
                .json(&json!({
                    "merchant_uid": format!("crash-{index}"), "amount": 1000, "vbank_code": "004",
                    "vbank_due": common::now() + 3600, "buyer_name": "홍길동", "pg": "tosspayments",
                })),
        )
        .await;
        let imp_uid = issued["response"]["imp_uid"].as_str().expect("issued").to_owned();
        let answer = call(
            &http,
            http.request(Method::DELETE, format!("{}/vbanks/{imp_uid}", first.url))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!(answer["response"]["status"], "cancelled", "{answer}");
        revoked.push(imp_uid);
    }
    // SIGKILL right after the last acknowledgement: no shutdown, no flush.
    first.child.kill().await.unwrap();

    let second = serve(&database_url).await;
    assert!(
        second.credentials.is_none(),
        "the merchant survived; no new demo merchant"
    );
    let token = call(
        &http,
        http.post(format!("{}/users/getToken", second.url)).json(&credentials),
    )
    .await["response"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for imp_uid in &revoked {
        let payment = call(
            &http,
            http.get(format!("{}/payments/{imp_uid}", second.url))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!(payment["response"]["status"], "cancelled", "{imp_uid}: {payment}");
        assert_eq!(payment["response"]["cancel_history"].as_array().unwrap().len(), 1);
    }
    // Each state change kept its outbox event for the merchant's webhook.
    let store = common::open_store(&database_url).await;
    for imp_uid in &revoked {
        let events = store
            .outbox_events(&vbank_core::ImpUid::parse(imp_uid).unwrap())
            .await
            .unwrap();
        let statuses: Vec<&str> = events.iter().map(|(status, _)| status.as_str()).collect();
        assert_eq!(statuses, ["ready", "cancelled"], "{imp_uid}");
        assert!(events[1].1.is_some(), "the cancel event carries its cancellation_id");
    }
}

#[tokio::test]
async fn a_webhook_pending_when_the_server_is_killed_is_sent_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(&dir).await;
    let http = reqwest::Client::new();
    // The merchant's endpoint is down for now: nothing listens on this port yet.
    let hook_port = common::free_port();
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let added = Command::new(env!("CARGO_BIN_EXE_vbank"))
        .env("VBANK_SECRETS_KEY", common::TEST_SECRETS_KEY)
        .args([
            "merchant",
            "add",
            "--imp-key",
            "hooked",
            "--imp-secret",
            "hooked-secret",
        ])
        .args(["--webhook-url", &hook_url, "--database-url", &database_url])
        .output()
        .await
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert!(
        String::from_utf8_lossy(&added.stdout).contains("whsec_"),
        "the generated secret is printed"
    );

    // On PostgreSQL a delivery the killed process held stays leased until the lease ends
    // (other nodes may be alive); keep the lease short here.
    let schedule = [
        "--webhook-retry-schedule",
        "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
        "--job-lease",
        "2s",
    ];
    let mut first = serve_with(&database_url, &schedule).await;
    let credentials = json!({"imp_key": "hooked", "imp_secret": "hooked-secret"});
    let token = call(
        &http,
        http.post(format!("{}/users/getToken", first.url)).json(&credentials),
    )
    .await["response"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let issued = call(
        &http,
        http.post(format!("{}/vbanks", first.url))
            .bearer_auth(&token)
            .json(&json!({
                "merchant_uid": "hooked-1", "amount": 1000, "vbank_code": "004",
                "vbank_due": common::now() + 3600, "buyer_name": "홍길동",
            })),
    )
    .await;
    let imp_uid = issued["response"]["imp_uid"].as_str().expect("issued").to_owned();
    let revoked = call(
        &http,
        http.request(Method::DELETE, format!("{}/vbanks/{imp_uid}", first.url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(revoked["response"]["status"], "cancelled");
    first.child.kill().await.unwrap();

    // The endpoint comes up, then vbank: the pending webhooks go out.
    let receiver = common::WebhookReceiver::start_on(hook_port, 0).await;
    let _second = serve_with(&database_url, &schedule).await;
    let received = receiver
        .wait_for(20, |all| {
            all.iter().any(|w| w.json()["status"] == "cancelled") && all.iter().any(|w| w.json()["status"] == "ready")
        })
        .await;
    assert!(received.iter().all(|w| w.json()["imp_uid"] == imp_uid.as_str()));
    assert!(received.iter().all(|w| w.headers.contains_key("webhook-signature")));
}
