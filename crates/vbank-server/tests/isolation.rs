//! A merchant never sees or touches another merchant's payment (issue 8): for every
//! endpoint that names a payment, another merchant's imp_uid is answered exactly as an
//! unknown one, and nothing changes. Also: a body too large for the limit is refused
//! while it is still arriving, without being read whole.

mod common;

use common::{TestApp, TOSS_PG};
use reqwest::Method;
use serde_json::{json, Value};

const UNKNOWN: &str = "imp_000000000000";

/// Every request that names a payment, for `imp_uid`.
fn requests(app: &TestApp, token: &str, imp_uid: &str, merchant_uid: &str) -> Vec<(String, reqwest::RequestBuilder)> {
    let with = |method: Method, path: String| app.request(method, &path).bearer_auth(token);
    vec![
        (
            "GET /payments/{imp_uid}".into(),
            with(Method::GET, format!("/payments/{imp_uid}")),
        ),
        (
            "GET /payments?imp_uid[]".into(),
            with(Method::GET, format!("/payments?imp_uid[]={imp_uid}")),
        ),
        (
            "DELETE /vbanks/{imp_uid}".into(),
            with(Method::DELETE, format!("/vbanks/{imp_uid}")),
        ),
        (
            "PUT /vbanks/{imp_uid}".into(),
            with(Method::PUT, format!("/vbanks/{imp_uid}")).json(&json!({"amount": 2000})),
        ),
        (
            "POST /payments/cancel".into(),
            with(Method::POST, "/payments/cancel".into()).json(&json!({
                "imp_uid": imp_uid, "reason": "x", "refund_holder": "홍길동", "refund_bank": "088",
                "refund_account": "110123456789",
            })),
        ),
        (
            "GET /webhooks?imp_uid".into(),
            with(Method::GET, format!("/webhooks?imp_uid={imp_uid}")),
        ),
        (
            "GET /payments/find/{merchant_uid}".into(),
            with(Method::GET, format!("/payments/find/{merchant_uid}")),
        ),
        (
            "GET /payments/findAll/{merchant_uid}".into(),
            with(Method::GET, format!("/payments/findAll/{merchant_uid}")),
        ),
    ]
}

#[tokio::test]
async fn another_merchants_payment_is_unknown_on_every_endpoint_and_untouched() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let rival = app.merchant("rival").await;
    let ready = app.issued(&shop, TOSS_PG).await;
    let paid = app.issued(&shop, TOSS_PG).await;
    app.deposit(&paid).await;
    let mut before: Vec<Value> = Vec::new();
    for payment in [&ready, &paid] {
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        before.push(app.payment(&shop, imp_uid).await.assert_ok().clone());
    }

    for payment in [&ready, &paid] {
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let merchant_uid = payment["merchant_uid"].as_str().unwrap();
        let foreign = requests(&app, &rival.token, imp_uid, merchant_uid);
        let unknown = requests(&app, &rival.token, UNKNOWN, "no-such-order");
        for ((name, foreign), (_, unknown)) in foreign.into_iter().zip(unknown) {
            let foreign = app.send(foreign).await;
            let unknown = app.send(unknown).await;
            // i'mport answers most with 404; a refund of an unknown payment is HTTP 200 code 1.
            assert_ne!(
                foreign.code(),
                0,
                "{name} served another merchant's payment: {:?}",
                foreign.body
            );
            assert_eq!(
                (foreign.status, &foreign.body),
                (unknown.status, &unknown.body),
                "{name}: another merchant's payment must look exactly unknown"
            );
        }
    }
    // A delivery id of the shop's webhooks is as unknown to the rival as any other.
    let resend = app
        .send(
            app.request(Method::POST, "/webhooks/1/resend")
                .bearer_auth(&rival.token),
        )
        .await;
    let unknown_resend = app
        .send(
            app.request(Method::POST, "/webhooks/999999/resend")
                .bearer_auth(&rival.token),
        )
        .await;
    assert_eq!(
        (resend.status, &resend.body),
        (unknown_resend.status, &unknown_resend.body)
    );

    // Nothing changed for the owner.
    for (payment, before) in [&ready, &paid].into_iter().zip(before) {
        let now = app.payment(&shop, payment["imp_uid"].as_str().unwrap()).await;
        assert_eq!(now.assert_ok(), &before);
    }
    assert_eq!(app.payment_count(&rival).await, 0);
}

#[tokio::test]
async fn a_streamed_body_past_the_limit_is_refused_before_it_ends() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let address = app.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /vbanks HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        shop.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A body announced as nothing, streamed in 16 KiB chunks: the server must answer
    // once it has seen more than its 64 KiB limit, long before 10 MB would have come.
    let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
    let mut sent = 0;
    let mut answer = Vec::new();
    while sent < 10 * 1024 * 1024 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server closed its side after answering
        }
        sent += 0x4000;
        if sent >= 256 * 1024 {
            let mut buffer = [0u8; 4096];
            if let Ok(Ok(read)) =
                tokio::time::timeout(std::time::Duration::from_millis(200), stream.read(&mut buffer)).await
            {
                answer.extend_from_slice(&buffer[..read]);
                break;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "answer: {answer}");
    assert!(
        sent < 10 * 1024 * 1024,
        "the server read the whole body before answering"
    );
    assert_eq!(app.payment_count(&shop).await, 0);
}
