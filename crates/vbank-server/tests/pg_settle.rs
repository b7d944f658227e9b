//! Settle Bank / Hecto (`settle`) end to end: issue (A0), revoke (A2), deposits notified as
//! EUC-KR forms and confirmed with Hecto's status query, refunds (C0), forged notices.

mod common;

use common::TestApp;
use serde_json::{json, Value};

const PG: &str = "settle";
const HASH_KEY: &str = "ST1009281328226982205";

/// A B1 notice in Hecto's format, as anyone could post it.
fn notice(payment: &Value, amount: &str, account: &str, hash_key: &str) -> String {
    let tid = payment["pg_tid"].as_str().unwrap();
    let order = payment["imp_uid"].as_str().unwrap();
    let trd_dtm = "20250102101500";
    let pkt_hash = vbank_pg::settle::wire::notice_hash("0021", trd_dtm, "nx_mid_il", order, amount, hash_key);
    vbank_pg::form::encode(
        [
            ("outStatCd", "0021"),
            ("trdNo", "STFP_PGVAnx_mid_il0250102101500M0000003"),
            ("method", "VA"),
            ("bizType", "B1"),
            ("mchtId", "nx_mid_il"),
            ("mchtTrdNo", order),
            ("trdDtm", trd_dtm),
            ("trdAmt", amount),
            ("bankCd", "004"),
            ("bankNm", "국민"),
            ("vAcntNo", account),
            ("dpstrNm", "홍길동"),
            ("orgTrdNo", tid),
            ("pktHash", pkt_hash.as_str()),
        ],
        encoding_rs::EUC_KR,
    )
}

/// Posts a notice straight to vbank, as the PG would; returns the HTTP status and body.
async fn post_notice(app: &TestApp, body: String) -> (u16, String) {
    let response = app
        .http
        .post(format!("{}/notifications/{PG}", app.url))
        .header("content-type", "application/x-www-form-urlencoded; charset=euc-kr")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn forged_notices_change_nothing_and_are_answered_fail() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();

    let mut unknown = payment.clone();
    unknown["pg_tid"] = json!("STFP_PGVAnx_mid_il0250101120000M9999999");
    let forgeries = [
        ("a bad pktHash", notice(&payment, "1000", account, "not-the-hash-key")),
        ("an unknown tid", notice(&unknown, "1000", account, HASH_KEY)),
        ("a wrong amount", notice(&payment, "2000", account, HASH_KEY)),
        (
            "another account number",
            notice(&payment, "1000", "99999900000001", HASH_KEY),
        ),
        // Even a correctly signed notice counts only if Hecto confirms the deposit.
        (
            "an account Hecto never saw deposited",
            notice(&payment, "1000", account, HASH_KEY),
        ),
        ("garbage", "outStatCd=0021&bizType=B1".to_owned()),
    ];
    for (what, body) in forgeries {
        let (status, ack) = post_notice(&app, body).await;
        assert_eq!((status, ack.as_str()), (200, "FAIL"), "{what}");
        assert_eq!(
            app.payment(&shop, imp_uid).await.assert_ok()["status"],
            "ready",
            "{what}"
        );
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    // The real deposit, through the bank and Hecto's own notice, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "paid");
    // Hecto resends its notice; the repeat is acknowledged and changes nothing.
    let (status, ack) = post_notice(&app, notice(&payment, "1000", account, HASH_KEY)).await;
    assert_eq!((status, ack.as_str()), (200, "OK"));
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "paid");
}

#[tokio::test]
async fn refunds_go_through_c0_partially_then_fully() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    assert_eq!(app.deposit(&payment).await["notified"], true);

    let first = app
        .refund(&shop, &payment, json!({"amount": 300, "checksum": 1000}))
        .await;
    assert_eq!(first.assert_ok()["status"], "paid", "a partial refund keeps it paid");
    assert_eq!(first.response()["cancel_amount"], 300);
    let rest = app.refund(&shop, &payment, json!({"amount": 700})).await;
    let rest = rest.assert_ok().clone();
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["cancel_amount"], 1000);
    let history = rest["cancel_history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_ne!(history[0]["pg_tid"], history[1]["pg_tid"]);
    assert_eq!(app.pg_state(&payment).await, "refunded");
}

#[tokio::test]
async fn issuing_needs_the_holder_and_a_bank_hecto_offers() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let answer = app.issue(&shop, PG, json!({"vbank_holder": null})).await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("vbank_holder"), "{}", answer.message());
    let answer = app.issue(&shop, PG, json!({"vbank_code": "090"})).await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("vbank_code"), "{}", answer.message());
    assert_eq!(app.payment_count(&shop).await, 0);

    let shinhan = app.issue(&shop, PG, json!({"vbank_code": "088"})).await;
    assert_eq!(shinhan.assert_ok()["vbank_code"], "088");
}

async fn fast_app() -> TestApp {
    TestApp::start_with(|config| {
        config.pg_timeout = std::time::Duration::from_secs(1);
        config.reconcile_interval = std::time::Duration::from_secs(1);
    })
    .await
}

#[tokio::test]
async fn a_cancel_whose_answer_was_lost_is_reconciled_by_query() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
    app.arm_fault(PG, "revoke", "timeout_after_commit").await;
    app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
    assert_eq!(app.pg_state(&payment).await, "cancelled", "Hecto did cancel");
    common::eventually(15, "the reconciler records the cancel", || async {
        app.status_of(&shop, &imp_uid).await == "cancelled"
    })
    .await;
}

#[tokio::test]
async fn a_dropped_deposit_notice_is_found_by_query() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
    app.arm_fault(PG, "notify", "drop").await;
    let bank = app.deposit(&payment).await;
    assert_eq!(
        (bank["accepted"].clone(), bank["notified"].clone()),
        (json!(true), json!(false))
    );
    common::eventually(15, "the reconciler finds the deposit", || async {
        app.status_of(&shop, &imp_uid).await == "paid"
    })
    .await;
}

#[tokio::test]
async fn put_vbanks_changes_the_amount_and_due_through_hecto_a1() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app
        .issue(&shop, "settle", json!({"vbank_code": "088"}))
        .await
        .assert_ok()
        .clone();
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let due = common::now() + 7200;
    let changed = app
        .send(
            app.request(reqwest::Method::PUT, &format!("/vbanks/{imp_uid}"))
                .bearer_auth(&shop.token)
                .json(&json!({"amount": 2500, "vbank_due": due})),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(changed["amount"], 2500);
    assert_eq!(changed["vbank_date"], due);
    assert_eq!(changed["status"], "ready");
    // Hecto's record changed with it: the old amount is refused, the new one pays.
    assert_eq!(app.deposit_amount(&payment, 1000).await["accepted"], false);
    assert_eq!(app.deposit_amount(&payment, 2500).await["accepted"], true);
    let paid = app.payment(&shop, imp_uid).await.assert_ok().clone();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["amount"], 2500);

    // A paid account is no longer changed.
    app.send(
        app.request(reqwest::Method::PUT, &format!("/vbanks/{imp_uid}"))
            .bearer_auth(&shop.token)
            .json(&json!({"amount": 3000})),
    )
    .await
    .assert_error(400, 1);
}
