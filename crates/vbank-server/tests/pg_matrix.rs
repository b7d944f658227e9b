//! Every PG, through its own protocol and its sandbox simulator: the life of a virtual
//! account, and a notification whose acknowledgement was lost (the PG resends it)
//! applied exactly once.

mod common;

use common::{eventually, TestApp, WebhookReceiver};
use reqwest::Method;
use vbank_core::WebhookSettings;

/// The `pg` values of `POST /vbanks`, one per PG.
const PGS: [&str; 8] = [
    "html5_inicis.INIpayTest",
    "tosspayments",
    "kcp",
    "nice",
    "nice_v2",
    "kicc",
    "settle",
    "smartro_v2",
];

fn provider_of(pg: &str) -> &str {
    pg.split('.').next().unwrap()
}

/// A bank every PG's sandbox issues at (Shinhan; KB is closed in Smartro's test bed).
const BANK: &str = "088";

#[tokio::test]
async fn every_pg_revokes_an_account_that_then_refuses_deposits() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in PGS {
        let payment = app
            .issue(&shop, pg, serde_json::json!({"vbank_code": BANK}))
            .await
            .assert_ok()
            .clone();
        assert_eq!(payment["pg_provider"], provider_of(pg), "{pg}");
        assert_eq!(payment["status"], "ready", "{pg}");
        assert_eq!(app.pg_state(&payment).await, "issued", "{pg}");
        let revoked = app.revoke_payment(&shop, &payment).await.assert_ok().clone();
        assert_eq!(revoked["status"], "cancelled", "{pg}");
        assert_eq!(app.pg_state(&payment).await, "cancelled", "{pg}");
        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], false, "{pg}: {bank}");
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        assert_eq!(app.status_of(&shop, imp_uid).await, "cancelled", "{pg}");
    }
}

#[tokio::test]
async fn every_pg_notifies_a_deposit_and_refuses_to_revoke_it() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for pg in PGS {
        let payment = app
            .issue(&shop, pg, serde_json::json!({"vbank_code": BANK}))
            .await
            .assert_ok()
            .clone();
        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], true, "{pg}: {bank}");
        assert_eq!(
            bank["notified"], true,
            "{pg}: the PG's notification was acknowledged as it expects: {bank}"
        );
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let paid = app.payment(&shop, imp_uid).await.assert_ok().clone();
        assert_eq!(paid["status"], "paid", "{pg}");
        assert!(paid["paid_at"].as_i64().unwrap() > 0, "{pg}");
        app.revoke_payment(&shop, &payment).await.assert_error(400, 1);
        assert_eq!(app.status_of(&shop, imp_uid).await, "paid", "{pg}");
        assert_eq!(app.pg_state(&payment).await, "deposited", "{pg}");
    }
}

#[tokio::test]
async fn a_notification_whose_acknowledgement_was_lost_is_applied_once() {
    let app = TestApp::start().await;
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
    for pg in PGS {
        let payment = app
            .issue(&shop, pg, serde_json::json!({"vbank_code": BANK}))
            .await
            .assert_ok()
            .clone();
        let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
        app.arm_fault(provider_of(pg), "notify", "timeout_after_commit").await;
        let bank = app.deposit(&payment).await;
        assert_eq!(bank["accepted"], true, "{pg}: {bank}");
        assert_eq!(bank["notified"], false, "{pg}: the PG did not see the acknowledgement");
        assert_eq!(app.status_of(&shop, &imp_uid).await, "paid", "{pg}: vbank did get it");
        // The PG resends a second later; vbank acknowledges it and changes nothing.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let list = app
            .send(
                app.request(Method::GET, &format!("/webhooks?imp_uid={imp_uid}"))
                    .bearer_auth(&shop.token),
            )
            .await;
        let statuses: Vec<String> = list
            .assert_ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|delivery| delivery["status"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(statuses, ["ready", "paid"], "{pg}: one event per state change");
        let after = app.payment(&shop, &imp_uid).await.assert_ok().clone();
        assert_eq!(
            after["paid_at"],
            app.payment(&shop, &imp_uid).await.assert_ok()["paid_at"]
        );
    }
    eventually(15, "every webhook arrives", || async {
        let all = receiver.all();
        all.iter().filter(|webhook| webhook.json()["status"] == "paid").count() == PGS.len()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let paid = receiver
        .all()
        .into_iter()
        .filter(|webhook| webhook.json()["status"] == "paid")
        .count();
    assert_eq!(paid, PGS.len(), "no second paid webhook for a resent notification");
}
