//! The gaps where payments fail: PG timeouts, lost notifications, merchant endpoints
//! that are down, expiry (api.md A3-A5, A7).

mod common;

use base64::Engine;
use common::{eventually, TestApp, WebhookReceiver, INICIS_PG, TOSS_PG};
use hmac::{Hmac, Mac};
use reqwest::Method;
use sha2::Sha256;
use std::time::Duration;
use vbank_core::WebhookSettings;

const SECRET_BYTES: &[u8] = b"0123456789abcdef0123456789abcdef";

fn secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(SECRET_BYTES)
    )
}

/// Standard Webhooks verification, written here from the specification.
fn verify(webhook: &common::ReceivedWebhook) -> bool {
    let header = |name: &str| webhook.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let signed = format!(
        "{}.{}.{}",
        header("webhook-id"),
        header("webhook-timestamp"),
        webhook.body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET_BYTES).unwrap();
    mac.update(signed.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature")
        .split(' ')
        .any(|signature| signature == format!("v1,{expected}"))
}

async fn fast_app() -> TestApp {
    TestApp::start_with(|config| {
        config.pg_timeout = Duration::from_secs(1);
        config.reconcile_interval = Duration::from_secs(1);
        config.webhook_retry_schedule = vec![Duration::from_secs(1); 4];
    })
    .await
}

#[tokio::test]
async fn a_failing_endpoint_gets_the_fourth_delivery_and_every_attempt_is_kept() {
    let app = fast_app().await;
    let receiver = WebhookReceiver::start(3).await;
    let shop = app
        .merchant_with(
            "shop",
            WebhookSettings {
                url: Some(receiver.url.clone()),
                secret: Some(secret()),
                ..Default::default()
            },
        )
        .await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let received = receiver.wait_for(15, |all| all.len() >= 4).await;
    assert_eq!(
        received.iter().map(|w| w.answered).collect::<Vec<_>>(),
        [500, 500, 500, 200]
    );
    for webhook in &received {
        assert!(verify(webhook), "signature verifies: {webhook:?}");
        assert_eq!(webhook.json()["imp_uid"], imp_uid);
        assert_eq!(webhook.json()["status"], "ready");
        assert_eq!(webhook.json()["merchant_uid"], payment["merchant_uid"]);
    }
    let ids: Vec<_> = received.iter().map(|w| w.headers["webhook-id"].clone()).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] == pair[1]),
        "one event, one id across retries"
    );

    let list = app
        .send(
            app.request(Method::GET, &format!("/webhooks?imp_uid={imp_uid}"))
                .bearer_auth(&shop.token),
        )
        .await;
    let deliveries = list.assert_ok().as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "delivered");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[3]["http_status"], 200);
    assert!(attempts.iter().all(|attempt| attempt["at"].as_i64().unwrap() > 0));

    // Re-sending by API delivers it once more, with the same id.
    let id = delivery["id"].as_i64().unwrap();
    app.send(
        app.request(Method::POST, &format!("/webhooks/{id}/resend"))
            .bearer_auth(&shop.token),
    )
    .await
    .assert_ok();
    let again = receiver.wait_for(10, |all| all.len() >= 5).await;
    assert_eq!(again[4].headers["webhook-id"], ids[0]);

    // Another merchant sees none of it.
    let rival = app.merchant("rival").await;
    app.send(
        app.request(Method::GET, &format!("/webhooks?imp_uid={imp_uid}"))
            .bearer_auth(&rival.token),
    )
    .await
    .assert_error(404, -1);
    app.send(
        app.request(Method::POST, &format!("/webhooks/{id}/resend"))
            .bearer_auth(&rival.token),
    )
    .await
    .assert_error(404, -1);
}

#[tokio::test]
async fn every_state_change_sends_its_webhook_in_the_merchants_format() {
    let app = fast_app().await;
    let receiver = WebhookReceiver::start(0).await;
    let shop = app
        .merchant_with(
            "shop",
            WebhookSettings {
                url: Some("http://127.0.0.1:9/never-used".into()),
                format: vbank_core::WebhookFormat::Form,
                secret: Some(secret()),
            },
        )
        .await;
    // notice_url on the payment wins over the merchant's default.
    let payment = app
        .issue(&shop, TOSS_PG, serde_json::json!({"notice_url": receiver.url}))
        .await
        .assert_ok()
        .clone();
    app.revoke_payment(&shop, &payment).await.assert_ok();
    let received = receiver.wait_for(10, |all| all.len() >= 2).await;
    let statuses: Vec<String> = received
        .iter()
        .map(|webhook| {
            assert_eq!(webhook.headers["content-type"], "application/x-www-form-urlencoded");
            assert!(verify(webhook));
            let fields: std::collections::HashMap<String, String> =
                form_urlencoded::parse(webhook.body.as_bytes()).into_owned().collect();
            if fields["status"] == "cancelled" {
                assert!(fields["cancellation_id"].starts_with("cancel_"));
            }
            fields["status"].clone()
        })
        .collect();
    assert_eq!(statuses, ["ready", "cancelled"]);
}

#[tokio::test]
async fn a_revoke_that_timed_out_after_the_pg_committed_is_reconciled_to_cancelled() {
    let app = fast_app().await;
    let receiver = WebhookReceiver::start(0).await;
    let shop = app
        .merchant_with(
            "shop",
            WebhookSettings {
                url: Some(receiver.url.clone()),
                ..Default::default()
            },
        )
        .await;
    for (pg, provider) in [(INICIS_PG, "html5_inicis"), (TOSS_PG, "tosspayments")] {
        let payment = app.issued(&shop, pg).await;
        let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
        app.arm_fault(provider, "revoke", "timeout_after_commit").await;
        let answer = app.revoke_payment(&shop, &payment).await;
        answer.assert_error(200, -1);
        assert_eq!(answer.message(), "PG 응답 지연: 말소 결과를 확인 중입니다");
        assert_eq!(app.pg_state(&payment).await, "cancelled", "the PG did cancel");
        eventually(15, "the reconciler records the cancel", || async {
            app.status_of(&shop, &imp_uid).await == "cancelled"
        })
        .await;
        let after = app.payment(&shop, &imp_uid).await.assert_ok().clone();
        assert_eq!(after["cancel_history"].as_array().unwrap().len(), 1);
        receiver
            .wait_for(10, |all| {
                all.iter()
                    .any(|w| w.json()["imp_uid"] == imp_uid.as_str() && w.json()["status"] == "cancelled")
            })
            .await;
    }
}

#[tokio::test]
async fn a_revoke_that_timed_out_before_the_pg_committed_returns_to_plain_ready() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    for (pg, provider) in [(INICIS_PG, "html5_inicis"), (TOSS_PG, "tosspayments")] {
        let payment = app.issued(&shop, pg).await;
        let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
        app.arm_fault(provider, "revoke", "timeout_before_commit").await;
        app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
        assert_eq!(
            app.status_of(&shop, &imp_uid).await,
            "ready",
            "in doubt is ready on the wire"
        );
        assert_eq!(app.internal_status(&shop, &imp_uid).await, "revoke_in_doubt");
        eventually(15, "the reconciler clears the doubt", || async {
            app.internal_status(&shop, &imp_uid).await == "ready"
        })
        .await;
        assert_eq!(app.pg_state(&payment).await, "issued");
        // The account can still be revoked, for real this time.
        assert_eq!(
            app.revoke_payment(&shop, &payment).await.assert_ok()["status"],
            "cancelled"
        );
    }
}

#[tokio::test]
async fn garbage_and_500_from_the_pg_leave_the_payment_revocable() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
    app.arm_fault("tosspayments", "revoke", "http_500").await;
    app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
    assert_eq!(app.pg_state(&payment).await, "issued");
    app.arm_fault("tosspayments", "revoke", "garbage").await;
    app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
    assert_eq!(
        app.pg_state(&payment).await,
        "cancelled",
        "garbage came after the PG acted"
    );
    eventually(15, "the reconciler records the cancel", || async {
        app.status_of(&shop, &imp_uid).await == "cancelled"
    })
    .await;
}

#[tokio::test]
async fn a_dropped_deposit_notification_is_found_by_the_reconciler() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    for (pg, provider) in [(INICIS_PG, "html5_inicis"), (TOSS_PG, "tosspayments")] {
        let payment = app.issued(&shop, pg).await;
        let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
        app.arm_fault(provider, "notify", "drop").await;
        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], true);
        assert_eq!(bank["notified"], false);
        assert_eq!(app.status_of(&shop, &imp_uid).await, "ready");
        eventually(15, "the reconciler finds the deposit", || async {
            app.status_of(&shop, &imp_uid).await == "paid"
        })
        .await;
        let paid = app.payment(&shop, &imp_uid).await.assert_ok().clone();
        assert!(paid["paid_at"].as_i64().unwrap() > 0);
    }
}

#[tokio::test]
async fn an_expired_account_refuses_deposits_stays_ready_and_can_be_revoked() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let mut payments = Vec::new();
    for pg in [INICIS_PG, TOSS_PG] {
        let due = serde_json::json!({"vbank_due": common::now() + 600});
        payments.push(app.issue(&shop, pg, due).await.assert_ok().clone());
    }
    let clock: serde_json::Value = app
        .http
        .post(format!("{}/sandbox/clock", app.url))
        .json(&serde_json::json!({"advance_seconds": 86_400}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for payment in &payments {
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        assert!(clock["now"].as_i64().unwrap() > payment["vbank_date"].as_i64().unwrap());
        let bank = app.deposit(payment).await;
        assert_eq!(bank["accepted"], false, "{bank}");
        assert_eq!(bank["reason"], "account expired");
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "no expired status in V1");
        assert_eq!(
            app.revoke_payment(&shop, payment).await.assert_ok()["status"],
            "cancelled"
        );
    }
}
