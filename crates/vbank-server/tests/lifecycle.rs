//! The life of a virtual account through each PG: issue, revoke, deposit, lookups.

mod common;

use common::{TestApp, INICIS_PG, TOSS_PG};
use serde_json::json;

const PGS: [&str; 2] = [INICIS_PG, TOSS_PG];

#[tokio::test]
async fn a_revoked_account_refuses_deposits_and_stays_cancelled() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in PGS {
        let payment = app.issued(&shop, pg).await;
        assert_eq!(payment["status"], "ready", "{pg}");
        assert_eq!(payment["pay_method"], "vbank");
        assert_eq!(app.pg_state(&payment).await, "issued");

        let revoked = app.revoke_payment(&shop, &payment).await.assert_ok().clone();
        assert_eq!(revoked["status"], "cancelled", "{pg}");
        assert!(revoked["cancelled_at"].as_i64().unwrap() > 0);
        assert_eq!(revoked["cancel_amount"], payment["amount"]);
        assert_eq!(revoked["cancel_reason"], "가상계좌 말소");
        let history = revoked["cancel_history"].as_array().unwrap();
        assert_eq!(history.len(), 1, "{pg}");
        assert_eq!(history[0]["amount"], payment["amount"]);
        assert!(history[0]["cancellation_id"].as_str().unwrap().starts_with("cancel_"));
        assert_eq!(app.pg_state(&payment).await, "cancelled");

        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], false, "{pg}: {bank}");

        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let after = app.payment(&shop, imp_uid).await.assert_ok().clone();
        assert_eq!(after["status"], "cancelled");
        assert_eq!(after["paid_at"], 0);
        assert_eq!(after["cancel_history"].as_array().unwrap().len(), 1);

        let again = app.revoke_payment(&shop, &payment).await;
        again.assert_error(400, 1);
        assert_eq!(again.message(), "이미 말소된 가상계좌입니다.");
    }
}

#[tokio::test]
async fn a_paid_account_cannot_be_revoked() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in PGS {
        let payment = app.issued(&shop, pg).await;
        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], true, "{pg}: {bank}");
        assert_eq!(bank["notified"], true, "{pg}: {bank}");

        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let paid = app.payment(&shop, imp_uid).await.assert_ok().clone();
        assert_eq!(paid["status"], "paid", "{pg}");
        assert!(paid["paid_at"].as_i64().unwrap() > 0);

        app.revoke_payment(&shop, &payment).await.assert_error(400, 1);
        let still = app.payment(&shop, imp_uid).await.assert_ok().clone();
        assert_eq!(still["status"], "paid");
        assert_eq!(still["cancelled_at"], 0);
        assert_eq!(app.pg_state(&payment).await, "deposited");
    }
}

#[tokio::test]
async fn a_second_deposit_is_refused_by_the_bank() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    assert_eq!(app.deposit(&payment).await["accepted"], true);
    assert_eq!(app.deposit(&payment).await["accepted"], false);
}

#[tokio::test]
async fn the_bank_refuses_another_amount_and_unknown_accounts() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, INICIS_PG).await;
    assert_eq!(app.deposit_amount(&payment, 999).await["accepted"], false);
    let mut unknown = payment.clone();
    unknown["vbank_num"] = json!("00000000000000");
    assert_eq!(app.deposit(&unknown).await["accepted"], false);
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "ready");
}

#[tokio::test]
async fn issuance_fills_the_payment_as_i_mport_does() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let due = common::now() + 3600;
    let toss = app
        .issue(
            &shop,
            TOSS_PG,
            json!({"vbank_due": due, "vbank_code": "004", "name": "티셔츠", "custom_data": {"a": 1}}),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(toss["pg_provider"], "tosspayments");
    assert_eq!(
        toss["vbank_code"], "004",
        "KFTC code on the wire, though Toss calls KB 06"
    );
    assert_eq!(toss["vbank_name"], "KB국민은행");
    assert_eq!(toss["vbank_holder"], serde_json::Value::Null, "Toss reports no holder");
    assert_eq!(toss["vbank_date"], due);
    assert_eq!(toss["custom_data"], r#"{"a":1}"#);
    assert_eq!(toss["name"], "티셔츠");
    assert_eq!(toss["channel"], "api");
    assert_eq!(toss["currency"], "KRW");
    for time in ["paid_at", "failed_at", "cancelled_at"] {
        assert_eq!(toss[time], 0, "{time}");
    }
    assert!(toss["vbank_issued_at"].as_i64().unwrap() > 0);

    let inicis = app.issued(&shop, INICIS_PG).await;
    assert_eq!(inicis["pg_provider"], "html5_inicis");
    assert_eq!(inicis["pg_id"], "INIpayTest");
    assert_eq!(inicis["vbank_holder"], "테스트상점");
    assert!(inicis["pg_tid"].as_str().unwrap().starts_with("StdpayVBNKINIpayTest"));
}

#[tokio::test]
async fn a_paid_merchant_uid_cannot_be_issued_again() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let first = app
        .issue(&shop, TOSS_PG, json!({"merchant_uid": "order-x"}))
        .await
        .assert_ok()
        .clone();
    // A second waiting account for the same order is allowed...
    app.issue(&shop, TOSS_PG, json!({"merchant_uid": "order-x"}))
        .await
        .assert_ok();
    assert_eq!(app.deposit(&first).await["accepted"], true);
    // ...but not once the order is paid.
    let answer = app.issue(&shop, TOSS_PG, json!({"merchant_uid": "order-x"})).await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("merchant_uid"), "{}", answer.message());
}

#[tokio::test]
async fn revoked_status_can_be_failed_as_portone_shows_it() {
    let app = TestApp::start_with(|config| {
        config.revoked_status = vbank_core::lifecycle::RevokedStatus::Failed;
    })
    .await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let revoked = app.revoke_payment(&shop, &payment).await.assert_ok().clone();
    assert_eq!(revoked["status"], "failed");
    assert!(revoked["failed_at"].as_i64().unwrap() > 0);
    assert_eq!(revoked["fail_reason"], "계좌말소");
    assert_eq!(revoked["cancelled_at"], 0);
    app.revoke_payment(&shop, &payment).await.assert_error(400, 1);
    assert_eq!(app.deposit(&payment).await["accepted"], false);
}

#[tokio::test]
async fn a_forged_toss_deposit_callback_changes_nothing() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let callback = |secret: &str, order_id: &str| {
        json!({
            "createdAt": "2025-01-02T10:15:00.000000",
            "secret": secret,
            "status": "DONE",
            "transactionKey": "FORGED0000000000000000000000000",
            "orderId": order_id,
        })
    };
    for (what, body) in [
        ("a wrong secret", callback("ps_forged", imp_uid)),
        ("an unknown order", callback("ps_forged", "imp_000000000000")),
        ("not a callback", json!({"hello": "world"})),
    ] {
        let response = app
            .http
            .post(format!("{}/notifications/tosspayments", app.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 200, "{what}: Toss resends on anything but 200");
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "{what}");
    }
    assert_eq!(app.pg_state(&payment).await, "issued");
}

#[tokio::test]
async fn a_revoke_keeps_the_merchants_reason_even_when_the_pgs_notice_comes_first() {
    // Toss notifies the cancel as it answers it; either may be recorded first.
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for n in 0..10 {
        let payment = app.issued(&shop, TOSS_PG).await;
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let reason = format!("customer-request-{n}");
        let query = format!("?reason={reason}");
        let revoked = app.revoke(&shop, imp_uid, &query).await;
        assert_eq!(revoked.assert_ok()["cancel_reason"], reason.as_str());
        let stored = app.payment(&shop, imp_uid).await;
        assert_eq!(stored.assert_ok()["cancel_reason"], reason.as_str(), "revoke {n}");
        assert_eq!(
            stored.assert_ok()["cancel_history"][0]["reason"],
            reason.as_str(),
            "revoke {n}"
        );
    }
}
