//! NHN KCP end to end: issue, revoke and deposit through the KCP simulator (certificate
//! plus RSA-SHA256 `kcp_sign_data`), its common_return notices, and refunds.

mod common;

use common::TestApp;
use serde_json::{json, Value};
use vbank_core::{Channel, PgProvider, Won};
use vbank_pg::kcp::{wire, Kcp};
use vbank_pg::{Connector, PgState, RevokeOutcome, Target};

const PG: &str = "kcp";

fn rejection() -> String {
    Kcp::new(reqwest::Client::new()).acknowledge(false).body
}

async fn notify(app: &TestApp, fields: &[(&str, &str)]) -> (u16, String) {
    let body = vbank_pg::form::encode(fields.iter().copied(), encoding_rs::EUC_KR);
    let response = app
        .http
        .post(format!("{}/notifications/kcp", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn tx00<'a>(tno: &'a str, amount: &'a str, account: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("site_cd", "T0000"),
        ("tno", tno),
        ("order_no", "FAKE-ORDER-0001"),
        ("tx_cd", "TX00"),
        ("tx_tm", "20250102101500"),
        ("ipgm_name", "홍길동"),
        ("ipgm_mnyx", amount),
        ("totl_mnyx", amount),
        ("ipgm_time", "20250102101500"),
        ("bank_code", "BK04"),
        ("account", account),
        ("op_cd", "00"),
    ]
}

#[tokio::test]
async fn forged_kcp_notices_change_nothing_and_are_refused() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let tno = payment["pg_tid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();

    let forgeries = [
        ("an unknown tno", tx00("99999999999999", "1000", account)),
        ("a wrong amount", tx00(tno, "999", account)),
        ("another account", tx00(tno, "1000", "46490000000000")),
        ("a deposit KCP never saw", tx00(tno, "1000", account)),
    ];
    for (what, fields) in forgeries {
        let (status, body) = notify(&app, &fields).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(body, rejection(), "{what} is answered with KCP's rejection page");
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "{what}");
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    // The real deposit, through the bank and KCP's own notice, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
    // A repeat of KCP's notice is acknowledged and changes nothing more.
    let (_, body) = notify(&app, &tx00(tno, "1000", account)).await;
    assert!(body.contains(r#"name="result" value="0000""#), "{body}");
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
}

#[tokio::test]
async fn kcp_refunds_after_deposit_partial_then_full() {
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
    let (mid, secrets) = vbank_sandbox::test_channel(PgProvider::Kcp);
    Channel {
        id: 0,
        merchant_id: 0,
        provider: PgProvider::Kcp,
        mid,
        sandbox: true,
        secrets,
        notice_sources: Default::default(),
    }
}

#[tokio::test]
async fn the_connector_reads_every_kcp_answer() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let channel = sandbox_channel();
    let base_url = format!("{}/kcp", app.url);
    let target = || Target {
        channel: &channel,
        base_url: &base_url,
        api_key: None,
    };
    let kcp = Kcp::new(reqwest::Client::new());
    let now = common::now();

    let payment = app.issued(&shop, PG).await;
    let tno = payment["pg_tid"].as_str().unwrap();
    let uid = payment["merchant_uid"].as_str().unwrap();
    assert_eq!(kcp.query(target(), tno, uid, now).await, Ok(PgState::AwaitingDeposit));
    assert!(matches!(
        kcp.revoke(target(), tno, "test", now).await,
        RevokeOutcome::Revoked { .. }
    ));
    assert_eq!(
        kcp.revoke(target(), tno, "again", now).await,
        RevokeOutcome::AlreadyCancelled
    );
    assert!(matches!(
        kcp.query(target(), tno, uid, now).await,
        Ok(PgState::Cancelled { .. })
    ));

    let paid = app.issued(&shop, PG).await;
    let paid_tno = paid["pg_tid"].as_str().unwrap();
    assert_eq!(app.deposit(&paid).await["accepted"], true);
    assert_eq!(
        kcp.revoke(target(), paid_tno, "late", now).await,
        RevokeOutcome::AlreadyDeposited
    );
    assert!(matches!(
        kcp.query(target(), paid_tno, uid, now).await,
        Ok(PgState::Deposited { amount, .. }) if amount == Won::new(1000).unwrap()
    ));
    match kcp.revoke(target(), "00000000000000", "none", now).await {
        RevokeOutcome::Refused(refusal) => assert_eq!(refusal.code, wire::RES_NOT_FOUND),
        other => panic!("{other:?}"),
    }

    // Nothing listens on port 9 of loopback: never sent.
    let closed = Target {
        channel: &channel,
        base_url: "http://127.0.0.1:9/kcp",
        api_key: None,
    };
    assert!(matches!(
        kcp.revoke(closed, tno, "x", now).await,
        RevokeOutcome::NotSent(_)
    ));
    // A 500 from KCP leaves the outcome unknown.
    app.arm_fault("kcp", "revoke", "http_500").await;
    let fresh = app.issued(&shop, PG).await;
    assert!(matches!(
        kcp.revoke(target(), fresh["pg_tid"].as_str().unwrap(), "x", now).await,
        RevokeOutcome::Unknown(_)
    ));
}

#[tokio::test]
async fn the_kcp_simulator_checks_the_certificate_and_the_signature() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let tno = payment["pg_tid"].as_str().unwrap();
    let (_, secrets) = vbank_sandbox::test_channel(PgProvider::Kcp);
    let key = secrets.private_key.unwrap();
    let cert_info = wire::cert_info(&secrets.certificate.unwrap());
    let sign = |message: String| wire::sign(&key, &message).unwrap();
    let cancel = |cert_info: String, sign_data: String| {
        json!({
            "site_cd": "T0000", "tno": tno, "kcp_cert_info": cert_info, "kcp_sign_data": sign_data,
            "mod_type": "STSC", "mod_desc": "가상계좌 발급취소",
        })
    };
    let post = |body: Value| {
        let request = app.http.post(format!("{}/kcp/gw/mod/v1/cancel", app.url)).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // Signed over another mod_type: the signature does not verify.
    let wrong_signature = post(cancel(cert_info.clone(), sign(format!("T0000^{tno}^STPC")))).await;
    assert_eq!(wrong_signature["res_cd"], wire::RES_SIGN_MISMATCH, "{wrong_signature}");
    // Signed right, but with a certificate that is not the site's.
    let wrong_cert = post(cancel(
        "-----BEGIN CERTIFICATE-----FAKE-----END CERTIFICATE-----".into(),
        sign(format!("T0000^{tno}^STSC")),
    ))
    .await;
    assert_eq!(wrong_cert["res_cd"], wire::RES_CERT_MISMATCH, "{wrong_cert}");
    assert_eq!(app.pg_state(&payment).await, "issued");

    let right = post(cancel(cert_info, sign(format!("T0000^{tno}^STSC")))).await;
    assert_eq!(right["res_cd"], wire::RES_OK, "{right}");
    assert_eq!(app.pg_state(&payment).await, "cancelled");
}
