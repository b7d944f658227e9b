//! Tokens and merchant isolation (api.md A2, A8, B2).

mod common;

use common::{TestApp, TOSS_PG};
use reqwest::Method;
use std::time::Duration;

#[tokio::test]
async fn get_token_answers_the_same_token_as_json_and_as_form() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let json = app.get_token(&shop.imp_key, &shop.imp_secret).await.assert_ok().clone();
    let form = app
        .send(
            app.request(Method::POST, "/users/getToken")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("imp_key={}&imp_secret={}", shop.imp_key, shop.imp_secret)),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(json["access_token"], form["access_token"]);
    assert_eq!(json["access_token"], shop.token.as_str());
    assert_eq!(json["expired_at"], form["expired_at"]);
    let token = json["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 40, "160 bits of hex, as i'mport's");
    let now = json["now"].as_i64().unwrap();
    assert!((1790..=1800).contains(&(json["expired_at"].as_i64().unwrap() - now)));
}

#[tokio::test]
async fn get_token_refuses_wrong_credentials_with_401() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let wrong_secret = app.get_token(&shop.imp_key, "wrong").await;
    wrong_secret.assert_error(401, -1);
    assert_eq!(wrong_secret.message(), "Unauthorized");
    app.get_token("nobody", "wrong").await.assert_error(401, -1);
    let missing = app
        .send(
            app.request(Method::POST, "/users/getToken")
                .json(&serde_json::json!({"imp_key": "shop"})),
        )
        .await;
    missing.assert_error(400, 1);
    assert!(missing.message().starts_with("imp_secret"));
}

#[tokio::test]
async fn all_three_token_header_forms_work() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let path = format!("/payments/{}", payment["imp_uid"].as_str().unwrap());
    for request in [
        app.request(Method::GET, &path)
            .header("Authorization", format!("Bearer {}", shop.token)),
        app.request(Method::GET, &path)
            .header("Authorization", shop.token.clone()),
        app.request(Method::GET, &path)
            .header("X-ImpTokenHeader", shop.token.clone()),
    ] {
        app.send(request).await.assert_ok();
    }
}

#[tokio::test]
async fn missing_and_unknown_tokens_get_401() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let path = format!("/payments/{}", payment["imp_uid"].as_str().unwrap());
    let missing = app.send(app.request(Method::GET, &path)).await;
    missing.assert_error(401, -1);
    assert_eq!(missing.message(), "Unauthorized");
    app.send(app.request(Method::GET, &path).bearer_auth("0".repeat(40)))
        .await
        .assert_error(401, -1);
    app.send(app.request(
        Method::DELETE,
        &format!("/vbanks/{}", payment["imp_uid"].as_str().unwrap()),
    ))
    .await
    .assert_error(401, -1);
    app.send(app.request(Method::POST, "/vbanks").json(&serde_json::json!({})))
        .await
        .assert_error(401, -1);
}

#[tokio::test]
async fn an_expired_token_gets_401_and_a_new_token_is_issued() {
    let app = TestApp::start_with(|config| config.token_ttl = Duration::from_secs(2)).await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    app.payment(&shop, imp_uid).await.assert_error(401, -1);
    let fresh = app.get_token(&shop.imp_key, &shop.imp_secret).await.assert_ok().clone();
    assert_ne!(fresh["access_token"], shop.token.as_str());
}

#[tokio::test]
async fn a_token_in_its_last_minute_is_extended_by_five_minutes() {
    let app = TestApp::start_with(|config| config.token_ttl = Duration::from_secs(30)).await;
    let shop = app.merchant("shop").await;
    // `merchant()` got a token living 30 s: the next getToken is in its last minute.
    let extended = app.get_token(&shop.imp_key, &shop.imp_secret).await.assert_ok().clone();
    assert_eq!(extended["access_token"], shop.token.as_str());
    let remaining = extended["expired_at"].as_i64().unwrap() - extended["now"].as_i64().unwrap();
    assert!((320..=330).contains(&remaining), "30 s + 300 s, left {remaining}s");
    // Out of its last minute now, a repeat call extends nothing.
    let again = app.get_token(&shop.imp_key, &shop.imp_secret).await.assert_ok().clone();
    assert_eq!(again["access_token"], shop.token.as_str());
    assert_eq!(again["expired_at"], extended["expired_at"]);
}

#[tokio::test]
async fn another_merchants_payment_is_answered_as_unknown() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let rival = app.merchant("rival").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();

    let unknown = app.payment(&rival, "imp_000000000000").await;
    unknown.assert_error(404, -1);
    let foreign = app.payment(&rival, imp_uid).await;
    foreign.assert_error(404, -1);
    assert_eq!(
        foreign.body, unknown.body,
        "another merchant's payment looks exactly unknown"
    );
    assert_eq!(foreign.message(), "존재하지 않는 결제정보입니다.");

    let revoke = app.revoke(&rival, imp_uid, "").await;
    revoke.assert_error(404, -1);
    let merchant_uid = payment["merchant_uid"].as_str().unwrap();
    for path in [
        format!("/payments/find/{merchant_uid}"),
        format!("/payments/findAll/{merchant_uid}"),
    ] {
        app.send(app.request(Method::GET, &path).bearer_auth(&rival.token))
            .await
            .assert_error(404, -1);
    }
    app.send(
        app.request(Method::GET, &format!("/payments?imp_uid[]={imp_uid}"))
            .bearer_auth(&rival.token),
    )
    .await
    .assert_error(404, -1);
    assert_eq!(app.payment_count(&rival).await, 0);
    // The owner still sees it untouched.
    assert_eq!(app.payment(&shop, imp_uid).await.assert_ok()["status"], "ready");
}

#[tokio::test]
async fn english_messages_on_accept_language_en() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let answer = app
        .send(
            app.request(Method::GET, "/payments/imp_000000000000")
                .bearer_auth(&shop.token)
                .header("accept-language", "en-US,en;q=0.9"),
        )
        .await;
    answer.assert_error(404, -1);
    assert_eq!(answer.message(), "The payment does not exist.");
}
