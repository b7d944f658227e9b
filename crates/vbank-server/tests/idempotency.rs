//! `Idempotency-Key` with Stripe's semantics on `POST /vbanks` and `POST /payments/cancel`.

mod common;

use common::{TestApp, TOSS_PG};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn issue_body(merchant_uid: &str, amount: i64) -> serde_json::Value {
    json!({
        "merchant_uid": merchant_uid, "amount": amount, "vbank_code": "004",
        "vbank_due": common::now() + 3600, "buyer_name": "홍길동", "pg": TOSS_PG,
    })
}

#[tokio::test]
async fn the_same_key_replays_the_first_response_and_issues_once() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let rival = app.merchant("rival").await;
    let body = issue_body("idem-1", 1000);
    let send = |token: String, body: serde_json::Value| {
        let request = app
            .request(Method::POST, "/vbanks")
            .bearer_auth(token)
            .header("Idempotency-Key", "key-1")
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let first = send(shop.token.clone(), body.clone()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    let second = send(shop.token.clone(), body.clone()).await;
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(app.payment_count(&shop).await, 1, "issued once");

    let changed = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .header("Idempotency-Key", "key-1")
                .json(&issue_body("idem-1", 2000)),
        )
        .await;
    changed.assert_error(400, 1);
    assert!(changed.message().starts_with("Idempotency-Key"));

    // Keys are the merchant's own.
    let theirs: serde_json::Value = send(rival.token.clone(), body).await.json().await.unwrap();
    assert_eq!(theirs["code"], 0);
    assert_ne!(theirs["response"]["imp_uid"], first["response"]["imp_uid"]);
}

#[tokio::test]
async fn a_key_whose_first_request_is_in_flight_is_a_409() {
    let app = TestApp::start_with(|config| config.pg_timeout = Duration::from_secs(2)).await;
    let shop = app.merchant("shop").await;
    app.arm_fault("tosspayments", "issue", "timeout_before_commit").await;
    let body = issue_body("idem-slow", 1000);
    let slow = {
        let request = app
            .request(Method::POST, "/vbanks")
            .bearer_auth(&shop.token)
            .header("Idempotency-Key", "slow")
            .json(&body);
        tokio::spawn(async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let concurrent = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .header("Idempotency-Key", "slow")
                .json(&body),
        )
        .await;
    concurrent.assert_error(409, 1);
    let first = slow.await.unwrap();
    assert_eq!(first["code"], -1, "the PG timed out: {first}");
    // The first answer, once known, is what the key replays.
    let replay = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .header("Idempotency-Key", "slow")
                .json(&body),
        )
        .await;
    assert_eq!(replay.body, first);
    assert_eq!(app.payment_count(&shop).await, 0);
}

#[tokio::test]
async fn a_refund_with_a_key_is_made_once() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    app.deposit(&payment).await;
    let refund = || {
        app.request(Method::POST, "/payments/cancel")
            .bearer_auth(&shop.token)
            .header("Idempotency-Key", "refund-1")
            .json(
                &json!({"imp_uid": payment["imp_uid"], "amount": 400, "refund_holder": "홍길동",
                          "refund_bank": "088", "refund_account": "110123456789"}),
            )
    };
    let first = app.send(refund()).await.assert_ok().clone();
    let second = app.send(refund()).await.assert_ok().clone();
    assert_eq!(first, second);
    let now = app
        .payment(&shop, payment["imp_uid"].as_str().unwrap())
        .await
        .assert_ok()
        .clone();
    assert_eq!(now["cancel_amount"], 400, "refunded once, not twice");
    assert_eq!(now["cancel_history"].as_array().unwrap().len(), 1);
}
