//! Bad input gets a 4xx envelope that names the field; never a 500, never a row.

mod common;

use common::{TestApp, TOSS_PG};
use reqwest::Method;
use serde_json::{json, Value};

fn valid_issue() -> Value {
    json!({
        "merchant_uid": "bad-input",
        "amount": 1000,
        "vbank_code": "004",
        "vbank_due": common::now() + 3600,
        "buyer_name": "홍길동",
        "pg": TOSS_PG,
    })
}

#[tokio::test]
async fn malformed_issue_requests_name_the_field_and_create_nothing() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let with = |key: &str, value: Value| {
        let mut body = valid_issue();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = valid_issue();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        ("amount", with("amount", json!(-1000))),
        ("amount", with("amount", json!(1000.5))),
        ("amount", with("amount", json!("12.5"))),
        ("amount", with("amount", json!("a lot"))),
        ("amount", with("amount", json!([1000]))),
        ("amount", with("amount", json!(0))),
        ("amount", without("amount")),
        ("vbank_code", with("vbank_code", json!("999"))),
        ("vbank_code", with("vbank_code", json!("KB"))),
        ("vbank_code", without("vbank_code")),
        ("vbank_due", with("vbank_due", json!(common::now() - 60))),
        ("vbank_due", with("vbank_due", json!("tomorrow"))),
        ("vbank_due", with("vbank_due", json!({"at": 1}))),
        ("vbank_due", without("vbank_due")),
        ("merchant_uid", without("merchant_uid")),
        ("merchant_uid", with("merchant_uid", json!("x".repeat(41)))),
        ("merchant_uid", with("merchant_uid", json!({"id": 1}))),
        ("buyer_name", without("buyer_name")),
        (
            "buyer_name",
            with("buyer_name", json!("이름이열여섯자를넘는아주아주긴구매자이름")),
        ),
        ("pg", with("pg", json!("paypal"))),
        ("pg", with("pg", json!("tosspayments.unknown-mid"))),
        ("notice_url", with("notice_url", json!({"url": "x"}))),
    ];
    for (field, body) in cases {
        let answer = app
            .send(
                app.request(Method::POST, "/vbanks")
                    .bearer_auth(&shop.token)
                    .json(&body),
            )
            .await;
        answer.assert_error(400, 1);
        assert!(
            answer.message().starts_with(&format!("{field}:")),
            "{field}: {} for {body}",
            answer.message()
        );
    }
    assert_eq!(app.payment_count(&shop).await, 0, "nothing was created");
}

#[tokio::test]
async fn malformed_bodies_are_refused_without_a_500() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    for (content_type, body) in [
        ("application/json", "{\"amount\": "),
        ("application/json", "[1, 2, 3]"),
        ("application/json", "\"just a string\""),
        ("application/json", "{\"amount\": 1e999}"),
        ("application/x-www-form-urlencoded", "amount=%FF%FE&merchant_uid=%ZZ"),
        ("text/plain", "hello"),
    ] {
        let answer = app
            .send(
                app.request(Method::POST, "/vbanks")
                    .bearer_auth(&shop.token)
                    .header("content-type", content_type)
                    .body(body),
            )
            .await;
        assert!(answer.status.is_client_error(), "{body}: {:?}", answer.body);
        assert_eq!(answer.code(), 1, "{body}: {:?}", answer.body);
        assert!(answer.response().is_null());
    }
    assert_eq!(app.payment_count(&shop).await, 0);
}

#[tokio::test]
async fn a_huge_body_is_refused_with_413() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let huge = format!("{{\"merchant_uid\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let answer = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    answer.assert_error(413, 1);
    assert_eq!(app.payment_count(&shop).await, 0);
}

#[tokio::test]
async fn numeric_strings_are_accepted_as_form_bodies_send_them() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let due = (common::now() + 3600).to_string();
    let form = format!(
        "merchant_uid=form-1&amount=1000&vbank_code=004&vbank_due={due}&buyer_name=%ED%99%8D&pg=tosspayments&notice_url=https%3A%2F%2Fshop.example.test%2Fhook"
    );
    let payment = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(payment["amount"], 1000);
    assert_eq!(payment["vbank_date"].to_string(), due);
    let json = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .json(&json!({"merchant_uid": "json-1", "amount": "2000", "vbank_code": "088",
                              "vbank_due": due, "buyer_name": "김", "pg": TOSS_PG})),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(json["amount"], 2000);
}

#[tokio::test]
async fn unknown_routes_ids_and_methods_answer_in_the_envelope() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    app.send(app.request(Method::GET, "/no/such/api").bearer_auth(&shop.token))
        .await
        .assert_error(404, -1);
    app.payment(&shop, "not-an-imp-uid").await.assert_error(404, -1);
    app.revoke(&shop, "imp_999999999999", "").await.assert_error(404, -1);
    app.revoke(&shop, "garbage%00", "").await.assert_error(404, -1);
    app.send(app.request(Method::PATCH, "/vbanks").bearer_auth(&shop.token))
        .await
        .assert_error(405, -1);
    let status = app
        .send(
            app.request(Method::GET, "/payments/status/unknown")
                .bearer_auth(&shop.token),
        )
        .await;
    status.assert_error(400, 1);
    assert!(status.message().starts_with("payment_status"));
    let notice = app
        .http
        .post(format!("{}/notifications/nopg", app.url))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(notice.status(), 404);
}
