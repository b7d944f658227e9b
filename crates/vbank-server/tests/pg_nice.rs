//! NICE Payments, old web API (`nice`), through vbank and its sandbox simulator: revoke,
//! deposit, refunds, and deposit notices NICE never sent.

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::json;
use vbank_pg::Connector;

const PG: &str = "nice";

/// What vbank answers to a notice it refuses, as the connector defines it.
fn rejection() -> vbank_pg::Acknowledgement {
    vbank_pg::nice::Nice::new(reqwest::Client::new()).acknowledge(false)
}

/// A "결제데이터통보" in NICE's format (EUC-KR form) with the given tid, amount and account.
fn notice(tid: &str, amount: &str, account: &str, pay_method: &str) -> String {
    vbank_pg::form::encode(
        [
            ("PayMethod", pay_method),
            ("MID", "nicepay00m"),
            ("TID", tid),
            ("MOID", "order"),
            ("Amt", amount),
            ("GoodsName", "가상계좌 결제"),
            ("name", "홍길동"),
            ("ResultCode", "4110"),
            ("ResultMsg", "가상계좌 입금 성공"),
            ("AuthDate", "250102101500"),
            ("StateCd", "0"),
            ("VbankNum", account),
            ("VbankName", "국민"),
            ("VbankInputName", "홍길동"),
            ("FnCd", "004"),
            ("FnName", "국민"),
        ],
        encoding_rs::EUC_KR,
    )
}

/// Posts a notification straight to vbank; returns status, content type and body.
async fn post_notice(app: &TestApp, body: String) -> (u16, String, String) {
    let response = app
        .http
        .post(format!("{}/notifications/nice", app.url))
        .header("content-type", "application/x-www-form-urlencoded; charset=euc-kr")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn forged_deposit_notices_change_nothing() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let tid = payment["pg_tid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();
    let expected = rejection();
    let forgeries = [
        // NICE signs nothing: a notice that names the payment exactly is still only a
        // claim, and NICE says the account was never deposited into.
        (
            "an account NICE never saw deposited",
            notice(tid, "1000", account, "VBANK"),
        ),
        (
            "an unknown tid",
            notice("nicepay00m03012501011200009999", "1000", account, "VBANK"),
        ),
        ("a wrong amount", notice(tid, "2000", account, "VBANK")),
        ("another account number", notice(tid, "1000", "56209999999999", "VBANK")),
        ("not a virtual account", notice(tid, "1000", account, "CARD")),
    ];
    for (what, body) in forgeries {
        let (status, content_type, text) = post_notice(&app, body).await;
        assert_eq!(status, expected.status, "{what}");
        assert_eq!(content_type, expected.content_type, "{what}");
        assert_eq!(text, expected.body, "{what}: refused, so that NICE would resend");
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "{what}");
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    // The real deposit, through the bank and NICE's own notice, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
    // And a replay of NICE's notice now agrees with NICE: acknowledged, nothing changes.
    let (_, _, text) = post_notice(&app, notice(tid, "1000", account, "VBANK")).await;
    assert_eq!(text, "OK");
    assert_eq!(app.status_of(&shop, imp_uid).await, "paid");
}

#[tokio::test]
async fn a_deposited_account_is_refunded_in_parts_then_in_full() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    assert_eq!(app.deposit(&payment).await["notified"], true);

    let first = app
        .refund(&shop, &payment, json!({"amount": 300, "checksum": 1000}))
        .await;
    let first = first.assert_ok().clone();
    assert_eq!(first["status"], "paid", "a partial refund keeps it paid");
    assert_eq!(first["cancel_amount"], 300);
    let too_much = app.refund(&shop, &payment, json!({"amount": 701})).await;
    too_much.assert_error(200, 1);

    let rest = app.refund(&shop, &payment, json!({})).await.assert_ok().clone();
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["cancel_amount"], 1000);
    assert_eq!(rest["cancel_history"].as_array().unwrap().len(), 2);
    assert_eq!(app.pg_state(&payment).await, "refunded");
}

#[tokio::test]
async fn a_revoke_whose_inquiry_failed_was_never_sent() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // The cancel needs the amount NICE has; the inquiry that gives it fails.
    app.arm_fault(PG, "query", "http_500").await;
    let answer = app.revoke_payment(&shop, &payment).await;
    answer.assert_error(200, -1);
    assert_eq!(app.status_of(&shop, imp_uid).await, "ready");
    assert_eq!(app.pg_state(&payment).await, "issued");

    let revoked = app.revoke_payment(&shop, &payment).await;
    assert_eq!(revoked.assert_ok()["status"], "cancelled");
}

#[tokio::test]
async fn nice_needs_the_holder_and_one_of_its_banks() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let request = json!({
        "merchant_uid": "no-holder", "amount": 1000, "vbank_code": "004",
        "vbank_due": common::now() + 3600, "buyer_name": "김", "pg": PG,
    });
    let answer = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .json(&request),
        )
        .await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("vbank_holder"), "{}", answer.message());

    let kakao = app.issue(&shop, PG, json!({"vbank_code": "090"})).await;
    kakao.assert_error(400, 1);
    assert!(kakao.message().starts_with("vbank_code"), "{}", kakao.message());
    assert_eq!(app.payment_count(&shop).await, 0);
}
