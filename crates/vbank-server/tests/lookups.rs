//! Payment lookups as i'mport clients call them (api.md B4, B8).

mod common;

use common::{TestApp, TOSS_PG};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn multi_lookup_answers_207_on_partial_hits_and_404_on_none() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let first = app.issued(&shop, TOSS_PG).await;
    let second = app.issued(&shop, TOSS_PG).await;
    let (a, b) = (first["imp_uid"].as_str().unwrap(), second["imp_uid"].as_str().unwrap());

    let all = app
        .send(
            app.request(Method::GET, &format!("/payments?imp_uid%5B%5D={a}&imp_uid%5B%5D={b}"))
                .bearer_auth(&shop.token),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.response().as_array().unwrap().len(), 2);

    let partial = app
        .send(
            app.request(
                Method::GET,
                &format!("/payments?imp_uid[]={a}&imp_uid[]=imp_000000000000"),
            )
            .bearer_auth(&shop.token),
        )
        .await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS);
    assert_eq!(partial.code(), 0);
    assert_eq!(partial.response().as_array().unwrap().len(), 1);
    assert_eq!(partial.response()[0]["imp_uid"], a);

    let by_merchant_uid = app
        .send(
            app.request(
                Method::GET,
                &format!("/payments?merchant_uid[]={}", second["merchant_uid"].as_str().unwrap()),
            )
            .bearer_auth(&shop.token),
        )
        .await;
    assert_eq!(by_merchant_uid.assert_ok()[0]["imp_uid"], b);

    app.send(
        app.request(Method::GET, "/payments?imp_uid[]=imp_000000000000")
            .bearer_auth(&shop.token),
    )
    .await
    .assert_error(404, -1);
    app.send(app.request(Method::GET, "/payments").bearer_auth(&shop.token))
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn find_and_find_all_by_merchant_uid_with_status_and_trailing_slashes() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let older = app
        .issue(&shop, TOSS_PG, json!({"merchant_uid": "order/1?"}))
        .await
        .assert_ok()
        .clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let newer = app
        .issue(&shop, TOSS_PG, json!({"merchant_uid": "order/1?"}))
        .await
        .assert_ok()
        .clone();
    app.revoke_payment(&shop, &older).await.assert_ok();
    let encoded = "order%2F1%3F";

    let get = |path: String| app.send(app.request(Method::GET, &path).bearer_auth(&shop.token));
    assert_eq!(
        get(format!("/payments/find/{encoded}")).await.assert_ok()["imp_uid"],
        newer["imp_uid"]
    );
    assert_eq!(
        get(format!("/payments/find/{encoded}/")).await.assert_ok()["imp_uid"],
        newer["imp_uid"]
    );
    assert_eq!(
        get(format!("/payments/find/{encoded}/undefined")).await.assert_ok()["imp_uid"],
        newer["imp_uid"],
        "iamport-rest-client-nodejs sends /undefined for no status"
    );
    assert_eq!(
        get(format!("/payments/find/{encoded}?sorting=started"))
            .await
            .assert_ok()["imp_uid"],
        older["imp_uid"]
    );
    assert_eq!(
        get(format!("/payments/find/{encoded}/cancelled")).await.assert_ok()["imp_uid"],
        older["imp_uid"]
    );
    get(format!("/payments/find/{encoded}/paid"))
        .await
        .assert_error(404, -1);

    let all = get(format!("/payments/findAll/{encoded}/")).await.assert_ok().clone();
    assert_eq!(all["total"], 2);
    assert_eq!(all["previous"], 0);
    assert_eq!(all["next"], 0);
    assert_eq!(all["list"][0]["imp_uid"], newer["imp_uid"]);
    let ready = get(format!("/payments/findAll/{encoded}/ready"))
        .await
        .assert_ok()
        .clone();
    assert_eq!(ready["total"], 1);
    let paged = get(format!("/payments/findAll/{encoded}?limit=1&page=1"))
        .await
        .assert_ok()
        .clone();
    assert_eq!(paged["next"], 2);
    assert_eq!(paged["list"].as_array().unwrap().len(), 1);
    get(format!("/payments/findAll/{encoded}?limit=1&page=3"))
        .await
        .assert_error(400, 1);
    get(format!("/payments/findAll/{encoded}?limit=5000"))
        .await
        .assert_error(400, 1);
    get("/payments/findAll/unknown-order".to_owned())
        .await
        .assert_error(404, -1);
}

#[tokio::test]
async fn payments_by_status_page_on_the_status_time_axis() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let mut issued = Vec::new();
    for _ in 0..3 {
        issued.push(app.issued(&shop, TOSS_PG).await);
    }
    app.revoke_payment(&shop, &issued[0]).await.assert_ok();
    assert_eq!(app.deposit(&issued[1]).await["accepted"], true);

    let get = |path: &str| app.send(app.request(Method::GET, path).bearer_auth(&shop.token));
    assert_eq!(get("/payments/status/all").await.assert_ok()["total"], 3);
    assert_eq!(get("/payments/status/ready").await.assert_ok()["total"], 1);
    assert_eq!(
        get("/payments/status/paid").await.assert_ok()["list"][0]["imp_uid"],
        issued[1]["imp_uid"]
    );
    assert_eq!(
        get("/payments/status/cancelled").await.assert_ok()["list"][0]["imp_uid"],
        issued[0]["imp_uid"]
    );
    assert_eq!(get("/payments/status/failed").await.assert_ok()["total"], 0);
    let page = get("/payments/status/all?limit=2&page=2").await.assert_ok().clone();
    assert_eq!(page["previous"], 1);
    assert_eq!(page["next"], 0);
    assert_eq!(page["list"].as_array().unwrap().len(), 1);

    let past = common::now() - 10 * 86_400;
    assert_eq!(
        get(&format!("/payments/status/all?from={}&to={}", past - 86_400, past))
            .await
            .assert_ok()["total"],
        0
    );
    get(&format!(
        "/payments/status/all?from={}&to={}",
        past - 100 * 86_400,
        past
    ))
    .await
    .assert_error(400, 1);
    get("/payments/status/all?sorting=sideways").await.assert_error(400, 1);
    get("/payments/status/all?page=zero").await.assert_error(400, 1);
}

#[tokio::test]
async fn the_sandbox_bank_answers_holder_lookups() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, common::INICIS_PG).await;
    let get = |path: String| app.send(app.request(Method::GET, &path).bearer_auth(&shop.token));
    let own = get(format!(
        "/vbanks/holder?bank_code=004&bank_num={}",
        payment["vbank_num"].as_str().unwrap()
    ))
    .await;
    assert_eq!(own.assert_ok()["bank_holder"], "테스트상점");
    let customer = get("/vbanks/holder?bank_code=088&bank_num=110-123-456789".to_owned()).await;
    assert_eq!(customer.assert_ok()["bank_holder"], "홍길동");
    get("/vbanks/holder?bank_code=088&bank_num=12".to_owned())
        .await
        .assert_error(404, -1);
    let missing = get("/vbanks/holder?bank_code=088".to_owned()).await;
    missing.assert_error(400, 1);
    assert!(missing.message().starts_with("bank_num"));
    get("/vbanks/holder?bank_code=999&bank_num=1101234567".to_owned())
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn modifying_a_vbank_is_refused_outside_settle_bank() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    let answer = app
        .send(
            app.request(Method::PUT, &format!("/vbanks/{imp_uid}"))
                .bearer_auth(&shop.token)
                .json(&json!({"amount": 2000})),
        )
        .await;
    answer.assert_error(400, 1);
    assert!(answer.message().contains("settle"), "{}", answer.message());
    let bad = app
        .send(
            app.request(Method::PUT, &format!("/vbanks/{imp_uid}"))
                .bearer_auth(&shop.token)
                .json(&json!({"amount": -5})),
        )
        .await;
    bad.assert_error(400, 1);
    assert!(bad.message().starts_with("amount"));
    app.send(
        app.request(Method::PUT, "/vbanks/imp_000000000000")
            .bearer_auth(&shop.token)
            .json(&json!({})),
    )
    .await
    .assert_error(404, -1);
}
