//! getToken's failure limits (issue 8): too many failed attempts per imp_key or per
//! client address are answered 429 in the i'mport envelope, before the secret is
//! checked; successes are never limited. The counters live in the database, so every
//! node of a PostgreSQL cluster sees the same ones (this suite runs on both backends).

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::json;
use vbank_server::services::tokens::FailureLimits;

fn limits(per_key: u32, per_address: u32) -> FailureLimits {
    FailureLimits { per_key, per_address }
}

/// A getToken with the raw answer, to read its headers.
async fn get_token_raw(
    app: &TestApp,
    imp_key: &str,
    imp_secret: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .request(Method::POST, "/users/getToken")
        .json(&json!({"imp_key": imp_key, "imp_secret": imp_secret}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.expect("server answers")
}

#[tokio::test]
async fn a_key_with_too_many_failures_is_refused_even_with_its_right_secret() {
    let app = TestApp::start_with(|config| config.token_failure_limits = limits(3, 0)).await;
    let merchant = app.merchant("limited-key").await;
    let other = app.merchant("other-key").await;
    for _ in 0..3 {
        app.get_token(&merchant.imp_key, "a guess").await.assert_error(401, -1);
    }
    let refused = get_token_raw(&app, &merchant.imp_key, &merchant.imp_secret, None).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], -1);
    assert_eq!(body["response"], serde_json::Value::Null);
    assert!(
        body["message"].as_str().unwrap().contains("초 후에 다시 시도하세요"),
        "{body}"
    );
    // Another merchant's key is not held back by this one's failures.
    app.get_token(&other.imp_key, &other.imp_secret).await.assert_ok();
}

#[tokio::test]
async fn an_address_with_too_many_failures_is_refused_whatever_key_it_tries() {
    let app = TestApp::start_with(|config| config.token_failure_limits = limits(0, 4)).await;
    let merchant = app.merchant("victim").await;
    for n in 0..4 {
        app.get_token(&format!("imp_probe_{n}"), "a guess")
            .await
            .assert_error(401, -1);
    }
    let refused = app.get_token(&merchant.imp_key, &merchant.imp_secret).await;
    refused.assert_error(429, -1);
}

#[tokio::test]
async fn successes_are_never_limited() {
    let app = TestApp::start_with(|config| config.token_failure_limits = limits(2, 2)).await;
    let merchant = app.merchant("busy-shop").await;
    for _ in 0..12 {
        app.get_token(&merchant.imp_key, &merchant.imp_secret).await.assert_ok();
    }
    // One failure stays under both limits.
    app.get_token(&merchant.imp_key, "a typo").await.assert_error(401, -1);
    app.get_token(&merchant.imp_key, &merchant.imp_secret).await.assert_ok();
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_when_trusted() {
    let app = TestApp::start_with(|config| {
        config.token_failure_limits = limits(0, 2);
        config.trust_forwarded_for = true;
    })
    .await;
    let merchant = app.merchant("behind-a-balancer").await;
    for _ in 0..2 {
        let answer = get_token_raw(&app, "imp_probe", "a guess", Some("203.0.113.7, 10.0.0.9")).await;
        assert_eq!(answer.status(), 401);
    }
    // The balancer's last entry is the client: 10.0.0.9 is now limited...
    let limited = get_token_raw(&app, &merchant.imp_key, &merchant.imp_secret, Some("10.0.0.9")).await;
    assert_eq!(limited.status(), 429);
    // ...and another client behind the same balancer is not.
    let other = get_token_raw(&app, &merchant.imp_key, &merchant.imp_secret, Some("10.0.0.10")).await;
    assert_eq!(other.status(), 200);

    // Untrusted, the header is ignored: every request is the TCP peer (loopback).
    let untrusting = TestApp::start_with(|config| config.token_failure_limits = limits(0, 2)).await;
    let merchant = untrusting.merchant("direct").await;
    for n in 0..2 {
        let forged = format!("198.51.100.{n}");
        let answer = get_token_raw(&untrusting, "imp_probe", "a guess", Some(&forged)).await;
        assert_eq!(answer.status(), 401);
    }
    let limited = get_token_raw(
        &untrusting,
        &merchant.imp_key,
        &merchant.imp_secret,
        Some("198.51.100.99"),
    )
    .await;
    assert_eq!(limited.status(), 429);
}
