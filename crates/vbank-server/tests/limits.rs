//! The listener's limits, over real sockets: slow or oversized headers, a body that never
//! ends, a request that outlives its deadline (its work still finishes), the connection
//! limit, and a shutdown that lets in-flight requests finish.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host_of(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_owned()
}

/// Everything the server sends until it closes the connection (or `within` passes).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

/// The JSON body of a raw HTTP/1.1 answer.
fn body_of(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON body: {answer}"))
}

#[tokio::test]
async fn headers_that_do_not_arrive_in_time_close_the_connection() {
    let app = TestApp::start_with(|config| config.limits.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(host_of(&app)).await.unwrap();
    // A slowloris client: a request line, one header, then nothing.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: vbank\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("the server closes a connection whose headers never finish");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    assert!(
        !answer.contains("200 OK"),
        "no answer to an unfinished request: {answer}"
    );

    // A client that finishes its headers is served as usual.
    let answer = app.send(app.request(Method::GET, "/healthz")).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn headers_past_the_limit_get_431_before_any_handler() {
    let app = TestApp::start_with(|config| config.limits.max_header_bytes = 16 * 1024).await;
    let merchant = app.merchant("imp_headers").await;
    let filler = "x".repeat(32 * 1024);
    let mut stream = TcpStream::connect(host_of(&app)).await.unwrap();
    let request = format!(
        "GET /payments/imp_000000000000 HTTP/1.1\r\nHost: vbank\r\nAuthorization: Bearer {}\r\nX-Filler: {filler}\r\n\r\n",
        merchant.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("answered and closed");
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "431 for 32 KiB of headers: {answer}"
    );

    // Headers within the limit are served.
    let filler = "x".repeat(8 * 1024);
    let answer = app
        .send(
            app.request(Method::GET, "/payments/imp_000000000000")
                .bearer_auth(&merchant.token)
                .header("X-Filler", filler),
        )
        .await;
    answer.assert_error(404, -1);
}

#[tokio::test]
async fn a_body_that_never_ends_gets_503_in_the_envelope_at_the_deadline() {
    let app = TestApp::start_with(|config| config.limits.request_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(host_of(&app)).await.unwrap();
    stream
        .write_all(
            b"POST /users/getToken HTTP/1.1\r\nHost: vbank\r\nContent-Type: application/json\r\nContent-Length: 100\r\nAccept-Language: en\r\nConnection: close\r\n\r\n{\"imp_key\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("answered at the deadline");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the deadline"
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-request-id: "), "{answer}");
    let body = body_of(&answer);
    assert_eq!(body["code"], -1);
    assert_eq!(body["response"], Value::Null);
    assert!(body["message"].as_str().unwrap().contains("timed out"), "{body}");
}

#[tokio::test]
async fn a_revoke_past_its_deadline_answers_503_and_still_finishes() {
    let app = TestApp::start_with(|config| {
        config.limits.request_timeout = Duration::from_secs(1);
        config.pg_timeout = Duration::from_secs(10);
    })
    .await;
    let merchant = app.merchant("imp_deadline").await;
    let payment = app.issued(&merchant, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap();
    // The PG takes 2.5 s to revoke, well within the PG timeout but past the request's deadline.
    let armed = app
        .http
        .post(format!("{}/sandbox/faults", app.url))
        .json(&json!({"pg": "tosspayments", "operation": "revoke", "fault": "slow", "delay_ms": 2500}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 200);

    let started = Instant::now();
    let answer = app.revoke(&merchant, imp_uid, "").await;
    answer.assert_error(503, -1);
    assert!(
        started.elapsed() < Duration::from_millis(2400),
        "answered at the deadline, not after the PG"
    );

    // The revoke the PG took is recorded, not left in doubt until the reconciler runs.
    eventually(10, "the revoke is recorded", || async {
        app.status_of(&merchant, imp_uid).await == "cancelled"
    })
    .await;
    assert_eq!(app.pg_state(&payment).await, "cancelled", "the PG has it cancelled too");
    let cancelled = app.payment(&merchant, imp_uid).await;
    assert_eq!(
        cancelled.assert_ok()["cancel_reason"],
        vbank_core::lifecycle::DEFAULT_REVOKE_REASON
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_one() {
    let app = TestApp::start_with(|config| config.limits.max_connections = 2).await;
    let host = host_of(&app);
    let first = TcpStream::connect(&host).await.unwrap();
    let _second = TcpStream::connect(&host).await.unwrap();
    // Let the server take both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let third = reqwest::Client::new()
        .get(format!("{}/healthz", app.url))
        .timeout(Duration::from_millis(700))
        .send()
        .await;
    assert!(third.is_err(), "a third connection is not served while two are open");

    drop(first);
    let fourth = reqwest::Client::new()
        .get(format!("{}/healthz", app.url))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("served once a connection closed");
    assert_eq!(fourth.status(), 200);
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_revoke_finish_and_refuses_new_connections() {
    let mut app = TestApp::start().await;
    let merchant = app.merchant("imp_shutdown").await;
    let payment = app.issued(&merchant, TOSS_PG).await;
    let imp_uid = payment["imp_uid"].as_str().unwrap().to_owned();
    let armed = app
        .http
        .post(format!("{}/sandbox/faults", app.url))
        .json(&json!({"pg": "tosspayments", "operation": "revoke", "fault": "slow", "delay_ms": 1500}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 200);

    let revoke = tokio::spawn(
        reqwest::Client::new()
            .delete(format!("{}/vbanks/{imp_uid}", app.url))
            .bearer_auth(&merchant.token)
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.server.shutdown().await.expect("a clean shutdown");

    let answer = revoke.await.unwrap().expect("the in-flight revoke is answered");
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["response"]["status"], "cancelled");
    assert!(
        TcpStream::connect(host_of(&app)).await.is_err(),
        "no new connections after shutdown"
    );

    // And it is committed: the store has it after the server is gone.
    let store = open_store(&app.database_url).await;
    let stored = store
        .payment_for_pg(&vbank_core::ImpUid::parse(&imp_uid).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status.as_str(), "cancelled");
}
