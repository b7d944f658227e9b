//! `vbank-client` against the real server: every endpoint it has, typed both ways.

mod common;

use common::{TestApp, TOSS_PG};
use vbank_client::{Client, Error, IssueRequest, RefundRequest, SandboxDeposit, StatusQuery};

fn issue_request(merchant_uid: &str, pg: &str, vbank_code: &str) -> IssueRequest {
    IssueRequest::new(merchant_uid, 1000, vbank_code, common::now() + 86_400)
        .pg(pg)
        .buyer_name("홍길동")
        .holder("테스트상점")
}

#[tokio::test]
async fn the_client_covers_every_endpoint() {
    let app = TestApp::start().await;
    let shop = app.merchant("client-shop").await;
    let client = Client::new(&app.url).with_credentials(&shop.imp_key, &shop.imp_secret);

    let token = client.get_token().await.unwrap();
    assert_eq!(token.access_token.len(), 40, "{token:?}");

    // Issue (idempotently), look up, deposit, refund.
    let request = issue_request("client-1", TOSS_PG, "004");
    let payment = client.issue(&request, Some("key-1")).await.unwrap();
    assert_eq!(payment.status, "ready");
    let replayed = client.issue(&request, Some("key-1")).await.unwrap();
    assert_eq!(
        replayed.imp_uid, payment.imp_uid,
        "the same key replays the first answer"
    );
    assert_eq!(
        client.payment(&payment.imp_uid).await.unwrap().vbank_num,
        payment.vbank_num
    );
    assert_eq!(client.find("client-1", None).await.unwrap().imp_uid, payment.imp_uid);
    assert_eq!(client.find_all("client-1", Some("ready"), 1).await.unwrap().total, 1);
    assert_eq!(client.payments(&[&payment.imp_uid], &[]).await.unwrap().len(), 1);
    let outcome = client
        .sandbox_deposit(&SandboxDeposit::for_payment(&payment))
        .await
        .unwrap();
    assert!(outcome.accepted, "{outcome:?}");
    assert_eq!(client.payment(&payment.imp_uid).await.unwrap().status, "paid");
    assert_eq!(
        client.sandbox_account(&payment.vbank_num).await.unwrap().state,
        app.pg_state(&serde_json::to_value(&payment).unwrap()).await
    );
    let refunded = client
        .refund(&RefundRequest {
            imp_uid: payment.imp_uid.clone(),
            amount: Some(400),
            reason: Some("partial".into()),
            refund_holder: "홍길동".into(),
            refund_bank: "088".into(),
            refund_account: "110123456789".into(),
            ..RefundRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(refunded.cancel_amount, 400);
    assert_eq!(refunded.cancel_history.len(), 1);
    let page = client.by_status(&StatusQuery::new("paid")).await.unwrap();
    assert_eq!(page.total, 1);
    assert!(client
        .events(&payment.imp_uid)
        .await
        .unwrap()
        .iter()
        .any(|event| event.kind == "pg_call"));
    assert!(
        client.webhooks(&payment.imp_uid).await.unwrap().is_empty(),
        "no webhook URL"
    );

    // Revoke, change (Settle Bank), the holder, the clock.
    let ready = client
        .issue(&issue_request("client-2", TOSS_PG, "004"), None)
        .await
        .unwrap();
    assert_eq!(
        client.revoke(&ready.imp_uid, None, Some("test")).await.unwrap().status,
        "cancelled"
    );
    let settle = client
        .issue(&issue_request("client-3", "settle", "088"), None)
        .await
        .unwrap();
    let changed = client.modify(&settle.imp_uid, Some(2000), None).await.unwrap();
    assert_eq!(changed.amount, 2000);
    assert!(!client.holder("004", "123456789012").await.unwrap().is_empty());
    let before = client.sandbox_advance_clock(0).await.unwrap();
    assert_eq!(client.sandbox_advance_clock(3600).await.unwrap(), before + 3600);

    // Operations.
    assert_eq!(client.readiness().await.unwrap().status, "ok");
    assert!(client
        .metrics()
        .await
        .unwrap()
        .contains("vbank_pg_call_duration_seconds"));
    assert_eq!(client.openapi().await.unwrap()["openapi"], "3.1.0");
}

#[tokio::test]
async fn client_errors_are_typed() {
    let app = TestApp::start().await;
    let shop = app.merchant("client-shop").await;
    let client = Client::new(&app.url).with_credentials(&shop.imp_key, &shop.imp_secret);
    match client.payment("imp_000000000000").await {
        Err(Error::Refused {
            status: 404,
            code: -1,
            message,
        }) => {
            assert_eq!(message, "존재하지 않는 결제정보입니다.")
        }
        other => panic!("{other:?}"),
    }
    let english = Client::new(&app.url)
        .with_credentials(&shop.imp_key, &shop.imp_secret)
        .in_english();
    match english.resend_webhook(999).await {
        Err(Error::Refused {
            status: 404, message, ..
        }) => {
            assert_eq!(message, "The webhook delivery does not exist.")
        }
        other => panic!("{other:?}"),
    }
    let stranger = Client::new(&app.url).with_credentials(&shop.imp_key, "wrong");
    assert!(matches!(
        stranger.payment("imp_000000000000").await,
        Err(Error::Unauthorized)
    ));
    let anonymous = Client::new(&app.url);
    assert!(matches!(
        anonymous.payment("imp_000000000000").await,
        Err(Error::NoCredentials)
    ));
}
