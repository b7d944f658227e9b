//! NICE Payments, new module (`nice_v2`), through vbank and its sandbox simulator: revoke,
//! deposit, refunds, and webhooks NICE never sent.

mod common;

use common::TestApp;
use serde_json::json;
use vbank_pg::nice_v2::wire;
use vbank_pg::Connector;

const PG: &str = "nice_v2";
const EDI_DATE: &str = "2025-01-02T10:15:00.000+0900";

fn rejection() -> vbank_pg::Acknowledgement {
    vbank_pg::nice_v2::NiceV2::new(reqwest::Client::new()).acknowledge(false)
}

/// A deposit webhook in NICE's format, with a given signature.
fn webhook(tid: &str, amount: i64, account: &str, signature: &str) -> String {
    json!({
        "resultCode": "0000",
        "resultMsg": "정상 처리되었습니다.",
        "tid": tid,
        "orderId": "whatever",
        "ediDate": EDI_DATE,
        "signature": signature,
        "status": "paid",
        "paidAt": EDI_DATE,
        "failedAt": "0",
        "cancelledAt": "0",
        "payMethod": "vbank",
        "amount": amount,
        "balanceAmt": amount,
        "goodsName": "가상계좌 결제",
        "useEscrow": false,
        "currency": "KRW",
        "vbank": {
            "vbankCode": "004",
            "vbankName": "국민",
            "vbankNumber": account,
            "vbankExpDate": "2030-01-08T23:59:59.000+0900",
            "vbankHolder": "테스트상점",
        },
    })
    .to_string()
}

/// Signed as NICE signs, with the sandbox channel's secretKey.
fn signed(tid: &str, amount: i64, account: &str) -> String {
    webhook(
        tid,
        amount,
        account,
        &wire::signature(tid, amount, EDI_DATE, wire::TEST_SECRET_KEY),
    )
}

async fn post_notice(app: &TestApp, content_type: &str, body: String) -> (u16, String, String) {
    let response = app
        .http
        .post(format!("{}/notifications/nice_v2", app.url))
        .header("content-type", content_type)
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
async fn forged_webhooks_change_nothing() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let tid = payment["pg_tid"].as_str().unwrap();
    let account = payment["vbank_num"].as_str().unwrap();
    let json_type = "application/json;charset=utf-8";
    let legacy = vbank_pg::form::encode(
        [
            ("PayMethod", "VBANK"),
            ("TID", tid),
            ("Amt", "1000"),
            ("ResultCode", "4110"),
            ("AuthDate", "250102101500"),
            ("VbankNum", account),
        ],
        encoding_rs::EUC_KR,
    );
    let expected = rejection();
    let forgeries = [
        (
            "a bad signature",
            json_type,
            webhook(tid, 1000, account, &wire::sha256_hex(&["not", "nice"])),
        ),
        (
            "a signature that is no digest",
            json_type,
            webhook(tid, 1000, account, "forged"),
        ),
        // Signed right, yet NICE never saw a deposit into the account: NICE is asked.
        (
            "an account NICE never saw deposited",
            json_type,
            signed(tid, 1000, account),
        ),
        (
            "an unknown tid",
            json_type,
            signed("nicev2test0301250102101500Z999", 1000, account),
        ),
        ("a wrong amount", json_type, signed(tid, 2000, account)),
        ("another account number", json_type, signed(tid, 1000, "56219999999999")),
        (
            "a legacy form notice",
            "application/x-www-form-urlencoded; charset=euc-kr",
            legacy,
        ),
    ];
    for (what, content_type, body) in forgeries {
        let (status, answered_type, text) = post_notice(&app, content_type, body).await;
        assert_eq!(status, expected.status, "{what}");
        assert_eq!(answered_type, expected.content_type, "{what}");
        assert_eq!(text, expected.body, "{what}: refused, so that NICE would resend");
        assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "{what}");
    }
    assert_eq!(app.pg_state(&payment).await, "issued");

    // The real deposit, through the bank and NICE's own webhook, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
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
async fn a_revoke_whose_answer_was_lost_stays_in_doubt_until_nice_confirms() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // NICE cancels, its answer is unreadable and its webhook is lost: vbank must not guess.
    app.arm_fault(PG, "revoke", "garbage").await;
    app.arm_fault(PG, "notify", "drop").await;
    app.revoke_payment(&shop, &payment).await.assert_error(200, -1);
    assert_eq!(app.pg_state(&payment).await, "cancelled");
    assert_eq!(app.internal_status(&shop, imp_uid).await, "revoke_in_doubt");
    assert_eq!(app.status_of(&shop, imp_uid).await, "ready", "nothing NICE did not say");
    // A webhook NICE never sent does not settle it either.
    let forged = webhook(
        payment["pg_tid"].as_str().unwrap(),
        1000,
        payment["vbank_num"].as_str().unwrap(),
        "forged",
    );
    let (status, _, _) = post_notice(&app, "application/json", forged).await;
    assert_eq!(status, rejection().status);
    assert_eq!(app.internal_status(&shop, imp_uid).await, "revoke_in_doubt");
}

#[tokio::test]
async fn a_revoke_whose_answer_was_garbled_is_confirmed_with_nice() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // NICE cancels, then its answer is unreadable: vbank must not guess.
    app.arm_fault(PG, "revoke", "garbage").await;
    let answer = app.revoke_payment(&shop, &payment).await;
    answer.assert_error(200, -1);
    assert_eq!(app.pg_state(&payment).await, "cancelled");
    // NICE's own cancel webhook, confirmed by a query, settles it.
    common::eventually(10, "the cancel is recorded", || async {
        app.status_of(&shop, imp_uid).await == "cancelled"
    })
    .await;
}
