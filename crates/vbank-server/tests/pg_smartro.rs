//! Smartro (`smartro_v2`; legacy `smartro`) end to end: issue (`vacct.do`), revoke
//! (`cancel.do`), deposits notified as UTF-8 신통보 forms and confirmed with Smartro's inquiry,
//! refunds, forged notices. Smartro's test server issues no accounts at 004, 037, 034, 031
//! or 089, so these tests use Shinhan (088).

mod common;

use common::{Merchant, TestApp};
use serde_json::{json, Value};

const PG: &str = "smartro_v2";
const BANK: &str = "088";
/// The sandbox's test MerchantKey.
const MERCHANT_KEY: &str = "vbankSandboxSmartroMerchantKey+/0123456789abcdefghijklmnopqrstuv";
const FAIL: &str = "<html><body>FAIL</body></html>";
const OK: &str = "<html><body>OK</body></html>";

async fn issued(app: &TestApp, merchant: &Merchant) -> Value {
    app.issue(merchant, PG, json!({"vbank_code": BANK}))
        .await
        .assert_ok()
        .clone()
}

/// A 4110 notice in Smartro's format, as anyone could post it.
fn notice(tid: &str, amount: &str, account: &str, merchant_key: &str) -> String {
    let sign = vbank_pg::smartro::wire::sign_value(
        vbank_pg::smartro::wire::SignDigest::Md5HexBase64,
        tid,
        "4110",
        merchant_key,
    )
    .unwrap_or_default();
    vbank_pg::form::encode(
        [
            ("PayMethod", "VBANK"),
            ("MID", "smartro01m"),
            ("Amt", amount),
            ("name", "홍길동"),
            ("TID", tid),
            ("OTID", tid),
            ("OID", "imp000000000000"),
            ("AuthDate", "250102101500"),
            ("ResultCode", "4110"),
            ("ResultMsg", "입금완료"),
            ("state_cd", "0"),
            ("FnCd", BANK),
            ("VbankNum", account),
            ("VbankName", "신한"),
            ("SignValue", sign.as_str()),
        ],
        encoding_rs::UTF_8,
    )
}

async fn post_notice(app: &TestApp, body: String) -> (u16, String) {
    let response = app
        .http
        .post(format!("{}/notifications/{PG}", app.url))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn forged_notices_change_nothing_and_are_not_acknowledged() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = issued(&app, &shop).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let tid = payment["pg_tid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();

    let forgeries = [
        (
            "a bad SignValue",
            notice(tid, "1000", account, "0123456789abcdef0123456789abcdef"),
        ),
        (
            "an unknown tid",
            notice("smartro01m0301250102101500", "1000", account, MERCHANT_KEY),
        ),
        ("a wrong amount", notice(tid, "2000", account, MERCHANT_KEY)),
        (
            "another account number",
            notice(tid, "1000", "99999900000001", MERCHANT_KEY),
        ),
        // Even a correctly signed notice counts only if Smartro confirms the deposit.
        (
            "an account Smartro never saw deposited",
            notice(tid, "1000", account, MERCHANT_KEY),
        ),
        ("garbage", "ResultCode=4110".to_owned()),
    ];
    for (what, body) in forgeries {
        let (status, ack) = post_notice(&app, body).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(ack, FAIL, "{what}");
        assert!(!ack.contains("OK"), "{what}: Smartro must resend, not stop");
        assert_eq!(
            app.payment(&shop, imp_uid).await.assert_ok()["status"],
            "ready",
            "{what}"
        );
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "paid");
    let (status, ack) = post_notice(&app, notice(tid, "1000", account, MERCHANT_KEY)).await;
    assert_eq!((status, ack.as_str()), (200, OK), "a resent notice is acknowledged");
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "paid");
}

#[tokio::test]
async fn refunds_go_through_cancel_partially_then_fully() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = issued(&app, &shop).await;
    assert_eq!(app.deposit(&payment).await["notified"], true);

    let first = app
        .refund(&shop, &payment, json!({"amount": 300, "checksum": 1000}))
        .await;
    assert_eq!(first.assert_ok()["status"], "paid");
    assert_eq!(first.response()["cancel_amount"], 300);
    let rest = app.refund(&shop, &payment, json!({"amount": 700})).await;
    let rest = rest.assert_ok().clone();
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["cancel_amount"], 1000);
    assert_eq!(rest["cancel_history"].as_array().unwrap().len(), 2);
    assert_eq!(app.pg_state(&payment).await, "refunded");

    // A full refund in one go.
    let other = issued(&app, &shop).await;
    assert_eq!(app.deposit(&other).await["notified"], true);
    let whole = app.refund(&shop, &other, json!({})).await;
    assert_eq!(whole.assert_ok()["status"], "cancelled");
    assert_eq!(app.pg_state(&other).await, "refunded");
}

#[tokio::test]
async fn issuing_needs_the_buyer_and_a_bank_the_test_server_offers() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for field in ["vbank_holder", "buyer_name", "buyer_tel", "buyer_email"] {
        let answer = app.issue(&shop, PG, json!({"vbank_code": BANK, field: null})).await;
        answer.assert_error(400, 1);
        assert!(answer.message().starts_with(field), "{}", answer.message());
    }
    // KB (004) exists at Smartro, but its test server issues no KB accounts.
    let kb = app.issue(&shop, PG, json!({})).await;
    kb.assert_error(200, -1);
    assert!(kb.message().starts_with("[3005]"), "{}", kb.message());
    assert_eq!(app.payment_count(&shop).await, 0);

    // The legacy pg code `smartro` goes through the same module.
    let legacy = app
        .issue(&shop, "smartro", json!({"vbank_code": "020"}))
        .await
        .assert_ok()
        .clone();
    assert_eq!(legacy["pg_provider"], "smartro_v2");
}

async fn fast_app() -> TestApp {
    TestApp::start_with(|config| {
        config.pg_timeout = std::time::Duration::from_secs(1);
        config.reconcile_interval = std::time::Duration::from_secs(1);
    })
    .await
}

#[tokio::test]
async fn a_cancel_whose_answer_was_lost_is_reconciled_by_inquiry() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    let payment = issued(&app, &shop).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
    app.arm_fault(PG, "revoke", "timeout_after_commit").await;
    app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
    assert_eq!(app.pg_state(&payment).await, "cancelled", "Smartro did cancel");
    common::eventually(15, "the reconciler records the cancel", || async {
        app.status_of(&shop, &imp_uid).await == "cancelled"
    })
    .await;
}

#[tokio::test]
async fn a_dropped_deposit_notice_is_found_by_inquiry() {
    let app = fast_app().await;
    let shop = app.merchant("shop").await;
    let payment = issued(&app, &shop).await;
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
