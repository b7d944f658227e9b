//! KG INICIS' `pg_api_key` (api.md A3): the INIAPI key, from the query or the channel.

mod common;

use common::{TestApp, INIAPI_KEY, INICIS_PG};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn revoke_without_pg_api_key_is_400_and_never_reaches_the_pg() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, INICIS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let answer = app.revoke(&shop, imp_uid, "").await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("pg_api_key"), "{}", answer.message());
    assert_eq!(app.pg_state(&payment).await, "issued", "no call reached INICIS");
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "ready");
}

#[tokio::test]
async fn a_wrong_pg_api_key_comes_back_as_the_hash_data_error() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, INICIS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let answer = app.revoke(&shop, imp_uid, "?pg_api_key=not-the-key").await;
    answer.assert_error(200, -1);
    assert_eq!(answer.message(), "[01] [V808]해시데이터 불일치");
    assert_eq!(app.pg_state(&payment).await, "issued");
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "ready");

    let revoked = app.revoke(&shop, imp_uid, &format!("?pg_api_key={INIAPI_KEY}")).await;
    assert_eq!(revoked.assert_ok()["status"], "cancelled");
    assert_eq!(app.pg_state(&payment).await, "cancelled");
}

#[tokio::test]
async fn a_channel_configured_with_the_key_revokes_without_one_in_the_query() {
    let app = TestApp::start().await;
    let store = common::open_store(&app.database_url).await;
    let spec = vbank_server::services::merchants::MerchantSpec {
        name: "keyed".into(),
        imp_key: "keyed".into(),
        imp_secret: "keyed-secret".into(),
        inicis_api_key: Some(INIAPI_KEY.to_owned()),
        ..Default::default()
    };
    vbank_server::services::merchants::add_sandbox_merchant(store.as_ref(), spec)
        .await
        .unwrap();
    let token = app.get_token("keyed", "keyed-secret").await.assert_ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let issued = app
        .send(app.request(Method::POST, "/vbanks").bearer_auth(&token).json(&json!({
            "merchant_uid": "keyed-1", "amount": 5000, "vbank_code": "088",
            "vbank_due": common::now() + 3600, "vbank_holder": "상점", "buyer_name": "김",
            "buyer_email": "k@example.test", "pg": "inicis.INIpayTest",
        })))
        .await
        .assert_ok()
        .clone();
    let revoked = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/vbanks/{}", issued["imp_uid"].as_str().unwrap()),
            )
            .bearer_auth(&token),
        )
        .await;
    assert_eq!(revoked.assert_ok()["status"], "cancelled");
}

#[tokio::test]
async fn issuing_through_inicis_needs_the_key_and_its_required_fields() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let request = json!({
        "merchant_uid": "no-key", "amount": 1000, "vbank_code": "004",
        "vbank_due": common::now() + 3600, "vbank_holder": "상점", "buyer_name": "김",
        "buyer_email": "k@example.test", "pg": INICIS_PG,
    });
    let answer = app
        .send(
            app.request(Method::POST, "/vbanks")
                .bearer_auth(&shop.token)
                .json(&request),
        )
        .await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("pg_api_key"));

    let mut without_email = request.clone();
    without_email.as_object_mut().unwrap().remove("buyer_email");
    let answer = app
        .send(
            app.request(Method::POST, &format!("/vbanks?pg_api_key={INIAPI_KEY}"))
                .bearer_auth(&shop.token)
                .json(&without_email),
        )
        .await;
    answer.assert_error(400, 1);
    assert!(answer.message().starts_with("buyer_email"), "{}", answer.message());

    let wrong_key = app
        .send(
            app.request(Method::POST, "/vbanks?pg_api_key=wrong")
                .bearer_auth(&shop.token)
                .json(&request),
        )
        .await;
    wrong_key.assert_error(200, -1);
    assert_eq!(wrong_key.message(), "[01] [V808]해시데이터 불일치");
    assert_eq!(app.payment_count(&shop).await, 0);
}

#[tokio::test]
async fn an_inicis_deposit_is_confirmed_with_the_pg_before_it_counts() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, INICIS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // A notice in INICIS' format that INICIS never sent: the account is not deposited there.
    let forged = vbank_pg::form::encode(
        [
            ("no_tid", payment["pg_tid"].as_str().unwrap()),
            ("no_oid", payment["merchant_uid"].as_str().unwrap()),
            ("no_vacct", payment["vbank_num"].as_str().unwrap()),
            ("amt_input", "1000"),
            ("type_msg", "0200"),
            ("dt_trans", "20250102"),
            ("tm_trans", "101500"),
            ("nm_input", "홍길동"),
        ],
        encoding_rs::EUC_KR,
    );
    let response = app
        .http
        .post(format!("{}/notifications/html5_inicis", app.url))
        .header("content-type", "application/x-www-form-urlencoded; charset=euc-kr")
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_ne!(
        response.text().await.unwrap(),
        "OK",
        "a refused notice is not acknowledged"
    );
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "ready");

    // The real deposit, through the bank and the PG's own notice, counts.
    assert_eq!(app.deposit(&payment).await["notified"], true);
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "paid");
}

#[tokio::test]
async fn an_account_the_pg_already_voided_is_recorded_cancelled_on_revoke() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, INICIS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // Voided at INICIS behind vbank's back (its console, say): INICIS sends no notice of it.
    let timestamp = vbank_pg::inicis::timestamp(common::now());
    let tid = payment["pg_tid"].as_str().unwrap();
    let hash = vbank_pg::inicis::wire::revoke_hash(INIAPI_KEY, &timestamp, "127.0.0.1", "INIpayTest", tid);
    let body = vbank_pg::form::encode(
        [
            ("type", "Refund"),
            ("paymethod", "GVacct"),
            ("timestamp", timestamp.as_str()),
            ("clientIp", "127.0.0.1"),
            ("mid", "INIpayTest"),
            ("tid", tid),
            ("msg", "console"),
            ("hashData", hash.as_str()),
        ],
        encoding_rs::UTF_8,
    );
    let voided: serde_json::Value = app
        .http
        .post(format!("{}/inicis/api/v1/refund", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(voided["resultCode"], "00", "{voided}");
    assert_eq!(app.status_of(&shop, imp_uid).await, "ready");

    // The revoke hears "already cancelled" from INICIS and records what INICIS has.
    let revoked = app.revoke(&shop, imp_uid, &format!("?pg_api_key={INIAPI_KEY}")).await;
    let revoked = revoked.assert_ok();
    assert_eq!(revoked["status"], "cancelled");
    assert_eq!(revoked["cancel_history"].as_array().unwrap().len(), 1);
    app.revoke(&shop, imp_uid, &format!("?pg_api_key={INIAPI_KEY}"))
        .await
        .assert_error(400, 1);
}
