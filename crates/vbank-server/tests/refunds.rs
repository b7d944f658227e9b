//! Refunds after deposit: `POST /payments/cancel` (api.md B4.6).

mod common;

use common::{Merchant, TestApp, INICIS_PG, TOSS_PG};
use reqwest::Method;
use serde_json::{json, Value};

async fn paid(app: &TestApp, merchant: &Merchant, pg: &str) -> Value {
    let payment = app.issued(merchant, pg).await;
    assert_eq!(app.deposit(&payment).await["notified"], true);
    payment
}

#[tokio::test]
async fn a_full_refund_cancels_the_payment_once() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in [INICIS_PG, TOSS_PG] {
        let payment = paid(&app, &shop, pg).await;
        let refunded = app.refund(&shop, &payment, json!({})).await.assert_ok().clone();
        assert_eq!(refunded["status"], "cancelled", "{pg}");
        assert_eq!(refunded["cancel_amount"], 1000);
        assert!(refunded["paid_at"].as_i64().unwrap() > 0, "it was paid before");
        assert!(refunded["cancelled_at"].as_i64().unwrap() > 0);
        assert_eq!(refunded["cancel_reason"], "고객 변심");
        assert_eq!(refunded["cancel_history"].as_array().unwrap().len(), 1);
        assert_eq!(app.pg_state(&payment).await, "refunded");

        let again = app.refund(&shop, &payment, json!({})).await;
        again.assert_error(200, 1);
        assert_eq!(again.message(), "이미 전액취소된 주문입니다.");
    }
}

#[tokio::test]
async fn partial_refunds_grow_the_history_and_checksum_guards_the_balance() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in [INICIS_PG, TOSS_PG] {
        let payment = paid(&app, &shop, pg).await;
        let first = app
            .refund(&shop, &payment, json!({"amount": 300, "checksum": 1000}))
            .await;
        assert_eq!(
            first.assert_ok()["status"],
            "paid",
            "{pg}: a partial refund keeps it paid"
        );
        assert_eq!(first.response()["cancel_amount"], 300);

        let stale = app
            .refund(&shop, &payment, json!({"amount": 100, "checksum": 1000}))
            .await;
        stale.assert_error(200, 1);
        assert!(stale.message().contains("checksum"), "{}", stale.message());
        let too_much = app.refund(&shop, &payment, json!({"amount": 701})).await;
        too_much.assert_error(200, 1);

        let rest = app
            .refund(&shop, &payment, json!({"amount": "700", "checksum": "700"}))
            .await;
        let rest = rest.assert_ok().clone();
        assert_eq!(rest["status"], "cancelled", "{pg}");
        assert_eq!(rest["cancel_amount"], 1000);
        let history = rest["cancel_history"].as_array().unwrap();
        assert_eq!(
            history
                .iter()
                .map(|entry| entry["amount"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [300, 700]
        );
        assert_ne!(history[0]["cancellation_id"], history[1]["cancellation_id"]);
    }
}

#[tokio::test]
async fn a_ready_account_is_not_refunded_but_revoked() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let answer = app.refund(&shop, &payment, json!({})).await;
    answer.assert_error(400, 1);
    assert!(answer.message().contains("DELETE /vbanks"), "{}", answer.message());
    assert_eq!(app.pg_state(&payment).await, "issued");
}

#[tokio::test]
async fn refunds_need_the_account_and_an_existing_payment_of_ones_own() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let rival = app.merchant("rival").await;
    let payment = paid(&app, &shop, TOSS_PG).await;

    let without_account = app
        .send(
            app.request(Method::POST, "/payments/cancel")
                .bearer_auth(&shop.token)
                .json(&json!({"imp_uid": payment["imp_uid"], "refund_holder": "홍길동", "refund_bank": "088"})),
        )
        .await;
    without_account.assert_error(400, 1);
    assert!(without_account.message().starts_with("refund_account"));

    let inicis_code_at_toss = app.refund(&shop, &payment, json!({"refund_bank": "88"})).await;
    inicis_code_at_toss.assert_error(400, 1);
    assert!(inicis_code_at_toss.message().starts_with("refund_bank"));

    for (merchant, imp_uid) in [(&shop, json!("imp_000000000000")), (&rival, payment["imp_uid"].clone())] {
        let answer = app
            .refund(
                merchant,
                &json!({"imp_uid": imp_uid, "pg_provider": "tosspayments"}),
                json!({}),
            )
            .await;
        answer.assert_error(200, 1);
        assert_eq!(answer.message(), "취소할 결제건이 존재하지 않습니다.");
    }
    assert_eq!(app.status_of(&shop, payment["imp_uid"].as_str().unwrap()).await, "paid");

    // By merchant_uid, as a form body.
    let form = format!(
        "merchant_uid={}&refund_holder=%ED%99%8D&refund_bank=088&refund_account=110123456789",
        payment["merchant_uid"].as_str().unwrap()
    );
    let refunded = app
        .send(
            app.request(Method::POST, "/payments/cancel")
                .bearer_auth(&shop.token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
    assert_eq!(refunded.assert_ok()["status"], "cancelled");
}
