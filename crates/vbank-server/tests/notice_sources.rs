//! A channel's notice sources: PG notifications from an address the channel does not
//! allow change nothing and are counted as forged; set with `vbank merchant
//! notice-sources` (the real binary) on the server's own database.

mod common;

use common::*;
use reqwest::Method;
use serde_json::Value;

/// Runs `vbank merchant notice-sources` on the test server's database.
async fn set_notice_sources(app: &TestApp, imp_key: &str, pg: &str, allow: &[&str]) -> (bool, String) {
    let mut args = vec![
        "merchant",
        "notice-sources",
        "--imp-key",
        imp_key,
        "--pg",
        pg,
        "--database-url",
        &app.database_url,
    ];
    for range in allow {
        args.extend(["--allow", range]);
    }
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args(&args)
        .env("VBANK_SECRETS_KEY", TEST_SECRETS_KEY)
        .output()
        .await
        .expect("vbank runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The value of `vbank_pg_notices_total{pg, outcome}` (0 when not yet counted).
async fn notices_counted(app: &TestApp, pg: &str, outcome: &str) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("vbank_pg_notices_total{{outcome=\"{outcome}\",pg=\"{pg}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

async fn events_of(app: &TestApp, merchant: &Merchant, imp_uid: &str) -> Vec<Value> {
    app.send(
        app.request(Method::GET, &format!("/payments/{imp_uid}/events"))
            .bearer_auth(&merchant.token),
    )
    .await
    .assert_ok()
    .as_array()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn a_notification_from_an_address_the_channel_does_not_allow_changes_nothing() {
    let app = TestApp::start().await;
    let shop = app.merchant("imp_sources").await;

    // Toss notifies from its own ranges; the sandbox notifies from loopback.
    let (ok, said) = set_notice_sources(&app, &shop.imp_key, TOSS_PG, &["203.0.113.0/24", "198.51.100.7"]).await;
    assert!(ok, "{said}");
    assert!(said.contains("203.0.113.0/24,198.51.100.7/32"), "{said}");

    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let forged_before = notices_counted(&app, "tosspayments", "forged").await;
    app.deposit(&payment).await;
    assert_eq!(
        app.status_of(&shop, imp_uid).await,
        "ready",
        "not paid on a notice from elsewhere"
    );
    assert_eq!(notices_counted(&app, "tosspayments", "forged").await, forged_before + 1);
    let events = events_of(&app, &shop, imp_uid).await;
    assert!(
        events
            .iter()
            .any(|event| event["kind"] == "notice_refused" && event["detail"].as_str().unwrap().contains("address")),
        "{events:?}"
    );

    // Another PG's channel of the same merchant is unaffected.
    let kicc = app.issued(&shop, "kicc").await;
    app.deposit(&kicc).await;
    assert_eq!(app.status_of(&shop, kicc["imp_uid"].as_str().unwrap()).await, "paid");

    // Allow loopback: the next notice is applied.
    let (ok, said) = set_notice_sources(&app, &shop.imp_key, TOSS_PG, &["127.0.0.0/8"]).await;
    assert!(ok, "{said}");
    let applied_before = notices_counted(&app, "tosspayments", "applied").await;
    let second = app.issued(&shop, TOSS_PG).await;
    app.deposit(&second).await;
    assert_eq!(app.status_of(&shop, second["imp_uid"].as_str().unwrap()).await, "paid");
    assert!(notices_counted(&app, "tosspayments", "applied").await > applied_before);

    // No --allow: any address again.
    let (ok, said) = set_notice_sources(&app, &shop.imp_key, TOSS_PG, &[]).await;
    assert!(ok, "{said}");
    assert!(said.contains("any address"), "{said}");
}

#[tokio::test]
async fn unauthenticated_notices_are_counted_by_outcome() {
    let app = TestApp::start().await;
    let unreadable_before = notices_counted(&app, "kicc", "unreadable").await;
    let unknown_before = notices_counted(&app, "tosspayments", "unknown_payment").await;
    let forged_before = notices_counted(&app, "tosspayments", "forged").await;
    app.http
        .post(format!("{}/notifications/kicc", app.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let callback = |secret: &str, order_id: &str| {
        serde_json::json!({
            "createdAt": "2025-01-02T10:15:00.000000",
            "secret": secret,
            "status": "DONE",
            "transactionKey": "FORGED0000000000000000000000000",
            "orderId": order_id,
        })
    };
    let shop = app.merchant("imp_counted").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    for body in [
        callback("ps_forged", "imp_000000000000"),
        callback("ps_forged", payment["imp_uid"].as_str().unwrap()),
    ] {
        app.http
            .post(format!("{}/notifications/tosspayments", app.url))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(notices_counted(&app, "kicc", "unreadable").await, unreadable_before + 1);
    assert_eq!(
        notices_counted(&app, "tosspayments", "unknown_payment").await,
        unknown_before + 1
    );
    assert_eq!(notices_counted(&app, "tosspayments", "forged").await, forged_before + 1);
}

#[tokio::test]
async fn a_mistyped_range_is_refused_with_an_example_and_nothing_changes() {
    let app = TestApp::start().await;
    let shop = app.merchant("imp_typo").await;
    let (ok, said) = set_notice_sources(&app, &shop.imp_key, TOSS_PG, &["203.0.113.0/33"]).await;
    assert!(!ok);
    assert!(said.contains("203.0.113.0/24"), "the error shows a valid range: {said}");
    let (ok, said) = set_notice_sources(&app, "imp_nobody", TOSS_PG, &["203.0.113.0/24"]).await;
    assert!(!ok);
    assert!(said.contains("--imp-key"), "{said}");

    // The channel still takes notices from anywhere.
    let payment = app.issued(&shop, TOSS_PG).await;
    app.deposit(&payment).await;
    assert_eq!(app.status_of(&shop, payment["imp_uid"].as_str().unwrap()).await, "paid");
}
