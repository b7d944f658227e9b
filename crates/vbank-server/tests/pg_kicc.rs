//! KICC EasyPay end to end: issue, revoke and deposit through the KICC simulator
//! (HMAC-SHA256 `msgAuthValue`), its JSON deposit notifications, and refunds.

mod common;

use common::TestApp;
use serde_json::{json, Value};
use vbank_core::{Channel, PgProvider, Won};
use vbank_pg::kicc::{wire, Kicc};
use vbank_pg::{Connector, PgState, RevokeOutcome, Target};

const PG: &str = "kicc";

fn connector() -> Kicc {
    Kicc::new(reqwest::Client::new(), "127.0.0.1".into())
}

async fn notify(app: &TestApp, body: &Value) -> (u16, String) {
    let response = app
        .http
        .post(format!("{}/notifications/kicc", app.url))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn deposit_notice(pg_cno: &str, amount: i64, account: &str) -> Value {
    json!({
        "resCd": "0000", "resMsg": "정상", "mallId": "T5102001", "notiType": "30",
        "pgCno": pg_cno, "shopOrderNo": "FAKE-ORDER-0001", "amount": amount,
        "accountNo": account, "bankCode": "004", "depositDate": "20250102101500",
    })
}

#[tokio::test]
async fn forged_kicc_notifications_change_nothing_and_are_refused() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let pg_cno = payment["pg_tid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();

    let forgeries = [
        (
            "an unknown pgCno",
            deposit_notice("20250101120000999999", 1000, account),
        ),
        ("a wrong amount", deposit_notice(pg_cno, 999, account)),
        ("another account", deposit_notice(pg_cno, 1000, "51020000000000")),
        ("a deposit KICC never saw", deposit_notice(pg_cno, 1000, account)),
    ];
    for (what, notice) in forgeries {
        let (status, body) = notify(&app, &notice).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(body, r#"{"resCd":"5001","resMsg":"FAIL"}"#, "{what}");
        assert_eq!(body, connector().acknowledge(false).body);
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "{what}");
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    // The real deposit, through the bank and KICC's own notification, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
    let (_, body) = notify(&app, &deposit_notice(pg_cno, 1000, account)).await;
    assert_eq!(
        body, r#"{"resCd":"0000","resMsg":"Success"}"#,
        "a repeat is acknowledged"
    );
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
}

#[tokio::test]
async fn kicc_refunds_after_deposit_partial_then_full() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    assert_eq!(app.deposit(&payment).await["notified"], true);

    let partial = app
        .refund(&shop, &payment, json!({"amount": 300, "checksum": 1000}))
        .await;
    assert_eq!(partial.assert_ok()["status"], "paid");
    assert_eq!(partial.response()["cancel_amount"], 300);

    let rest = app.refund(&shop, &payment, json!({})).await;
    let rest = rest.assert_ok();
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["cancel_amount"], 1000);
    assert_eq!(rest["cancel_history"].as_array().unwrap().len(), 2);
    assert_eq!(app.pg_state(&payment).await, "refunded");
}

fn sandbox_channel() -> Channel {
    let (mid, secrets) = vbank_sandbox::test_channel(PgProvider::Kicc);
    Channel {
        id: 0,
        merchant_id: 0,
        provider: PgProvider::Kicc,
        mid,
        sandbox: true,
        secrets,
        notice_sources: Default::default(),
    }
}

#[tokio::test]
async fn the_connector_reads_every_kicc_answer() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let channel = sandbox_channel();
    let base_url = format!("{}/kicc", app.url);
    let target = || Target {
        channel: &channel,
        base_url: &base_url,
        api_key: None,
    };
    let kicc = connector();
    let now = common::now();

    let payment = app.issued(&shop, PG).await;
    let pg_cno = payment["pg_tid"].as_str().unwrap();
    let uid = payment["merchant_uid"].as_str().unwrap();
    assert_eq!(
        kicc.query(target(), pg_cno, uid, now).await,
        Ok(PgState::AwaitingDeposit)
    );
    assert!(matches!(
        kicc.revoke(target(), pg_cno, "test", now).await,
        RevokeOutcome::Revoked { .. }
    ));
    assert_eq!(
        kicc.revoke(target(), pg_cno, "again", now).await,
        RevokeOutcome::AlreadyCancelled
    );
    assert!(matches!(
        kicc.query(target(), pg_cno, uid, now).await,
        Ok(PgState::Cancelled { .. })
    ));

    let paid = app.issued(&shop, PG).await;
    let paid_cno = paid["pg_tid"].as_str().unwrap();
    assert_eq!(app.deposit(&paid).await["accepted"], true);
    assert_eq!(
        kicc.revoke(target(), paid_cno, "late", now).await,
        RevokeOutcome::AlreadyDeposited
    );
    assert!(matches!(
        kicc.query(target(), paid_cno, uid, now).await,
        Ok(PgState::Deposited { amount, .. }) if amount == Won::new(1000).unwrap()
    ));
    match kicc.revoke(target(), "20000101000000000000", "none", now).await {
        RevokeOutcome::Refused(refusal) => assert_eq!(refusal.code, wire::RES_NOT_FOUND),
        other => panic!("{other:?}"),
    }

    // A mall whose secret key is not KICC's: the MAC does not verify.
    let mut wrong = sandbox_channel();
    wrong.secrets.secret_key = Some("not-the-key".into());
    let wrong_target = Target {
        channel: &wrong,
        base_url: &base_url,
        api_key: None,
    };
    let fresh = app.issued(&shop, PG).await;
    let fresh_cno = fresh["pg_tid"].as_str().unwrap();
    match kicc.revoke(wrong_target, fresh_cno, "x", now).await {
        RevokeOutcome::Refused(refusal) => {
            assert_eq!(refusal.code, wire::RES_MAC_MISMATCH);
            assert_eq!(refusal.message, wire::MESSAGE_MAC_MISMATCH);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.pg_state(&fresh).await, "issued");

    // Nothing listens on port 9 of loopback: never sent.
    let closed = Target {
        channel: &channel,
        base_url: "http://127.0.0.1:9/kicc",
        api_key: None,
    };
    assert!(matches!(
        kicc.revoke(closed, fresh_cno, "x", now).await,
        RevokeOutcome::NotSent(_)
    ));
    // KICC acts, then answers garbage: the outcome is unknown.
    app.arm_fault("kicc", "revoke", "garbage").await;
    assert!(matches!(
        kicc.revoke(target(), fresh_cno, "x", now).await,
        RevokeOutcome::Unknown(_)
    ));
    assert_eq!(app.pg_state(&fresh).await, "cancelled");
}

#[tokio::test]
async fn a_kicc_channel_without_its_secret_key_sends_nothing() {
    let mut channel = sandbox_channel();
    channel.secrets.secret_key = None;
    let target = Target {
        channel: &channel,
        base_url: "http://127.0.0.1:9/kicc",
        api_key: None,
    };
    assert_eq!(connector().missing_credential(&target), Some("kicc secret key"));
}
