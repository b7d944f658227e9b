//! What operators see: `/metrics`, `X-Request-Id`, `/healthz`, `/readyz`, and JSON logs.

mod common;

use common::{eventually, TestApp, WebhookReceiver, TOSS_PG};
use reqwest::Method;
use serde_json::json;
use vbank_core::WebhookSettings;

async fn metrics(app: &TestApp) -> String {
    let response = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the first series whose line starts with `name{` and has all `labels`.
fn series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_show_pg_calls_and_webhooks_after_a_sandbox_round_trip() {
    let app = TestApp::start_with(|config| {
        config.webhook_retry_schedule = vec![std::time::Duration::from_secs(1)];
    })
    .await;
    let receiver = WebhookReceiver::start(0).await;
    let shop = app
        .merchant_with(
            "shop",
            WebhookSettings {
                url: Some(receiver.url.clone()),
                ..WebhookSettings::default()
            },
        )
        .await;
    let before = metrics(&app).await;
    assert_eq!(series(&before, "vbank_pg_call_duration_seconds_count", &[]), None);

    let paid = app.issued(&shop, TOSS_PG).await;
    assert_eq!(app.deposit(&paid).await["accepted"], true);
    let revoked = app.issued(&shop, TOSS_PG).await;
    app.revoke_payment(&shop, &revoked).await.assert_ok();
    // ready, paid for one; ready, cancelled for the other.
    receiver.wait_for(15, |all| all.len() >= 4).await;

    let text = metrics(&app).await;
    let pg = "pg=\"tosspayments\"";
    assert_eq!(
        series(
            &text,
            "vbank_pg_call_duration_seconds_count",
            &[pg, "operation=\"issue\"", "outcome=\"ok\""]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            "vbank_pg_call_duration_seconds_count",
            &[pg, "operation=\"revoke\"", "outcome=\"ok\""]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(series(&text, "vbank_pg_call_duration_seconds_bucket", &[pg, "le=\"0.5\""]).is_some());
    eventually(10, "four webhooks counted as delivered", || {
        let app = &app;
        async move {
            let text = metrics(app).await;
            series(&text, "vbank_webhook_attempts_total", &["outcome=\"delivered\""]) == Some(4.0)
        }
    })
    .await;
    let text = metrics(&app).await;
    assert_eq!(series(&text, "vbank_webhook_backlog", &[]), Some(0.0), "{text}");
    assert_eq!(series(&text, "vbank_revokes_in_doubt", &[]), Some(0.0), "{text}");
    assert_eq!(
        series(
            &text,
            "vbank_http_requests_total",
            &["method=\"DELETE\"", "route=\"/vbanks/{imp_uid}\"", "status=\"200\""]
        ),
        Some(1.0),
        "requests are counted by route template: {text}"
    );
}

#[tokio::test]
async fn a_revoke_whose_answer_was_lost_shows_as_in_doubt() {
    let app = TestApp::start_with(|config| config.pg_timeout = std::time::Duration::from_secs(1)).await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    // The PG never got it, but vbank cannot know that.
    app.arm_fault(TOSS_PG, "revoke", "timeout_before_commit").await;
    // The reconciler's questions fail too, so the doubt stays while we look.
    let armed = app
        .http
        .post(format!("{}/sandbox/faults", app.url))
        .json(&json!({"pg": TOSS_PG, "operation": "query", "fault": "http_500", "count": 1000}))
        .send()
        .await
        .unwrap();
    assert!(armed.status().is_success());
    let answer = app.revoke_payment(&shop, &payment).await;
    assert_eq!(answer.code(), -1, "{:?}", answer.body);
    assert_eq!(
        app.internal_status(&shop, payment["imp_uid"].as_str().unwrap()).await,
        "revoke_in_doubt"
    );
    let text = metrics(&app).await;
    assert_eq!(series(&text, "vbank_revokes_in_doubt", &[]), Some(1.0), "{text}");
    assert_eq!(
        series(
            &text,
            "vbank_pg_call_duration_seconds_count",
            &["operation=\"revoke\"", "outcome=\"unknown\""]
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_only_a_500_says_it() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let response = app
        .request(Method::GET, "/payments/imp_000000000000")
        .bearer_auth(&shop.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"], "존재하지 않는 결제정보입니다.",
        "i'mport's messages stay exact"
    );

    // A proxy's id is kept.
    let response = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "edge-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "edge-1234");

    // An internal failure (a table gone from under the server) names the request.
    let payment = app.issued(&shop, TOSS_PG).await;
    drop_table(&app.database_url, "payment_events").await;
    let response = app
        .request(
            Method::GET,
            &format!("/payments/{}/events", payment["imp_uid"].as_str().unwrap()),
        )
        .bearer_auth(&shop.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], -1);
    assert!(body["message"].as_str().unwrap().contains(&id), "{body}");
}

async fn execute(database_url: &str, sql: &str) {
    use sqlx::Connection;
    if database_url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query(sql).execute(&mut connection).await.unwrap();
    } else {
        let mut connection = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query(sql).execute(&mut connection).await.unwrap();
    }
}

async fn drop_table(database_url: &str, table: &str) {
    execute(database_url, &format!("DROP TABLE {table}")).await;
}

#[tokio::test]
async fn payment_history_lists_state_changes_and_pg_calls() {
    let app = TestApp::start().await;
    let shop = app.merchant("shop").await;
    let payment = app.issued(&shop, TOSS_PG).await;
    app.revoke_payment(&shop, &payment).await.assert_ok();
    let events = app
        .send(
            app.request(
                Method::GET,
                &format!("/payments/{}/events", payment["imp_uid"].as_str().unwrap()),
            )
            .bearer_auth(&shop.token),
        )
        .await;
    let events = events.assert_ok().as_array().unwrap().clone();
    let kinds: Vec<&str> = events.iter().map(|event| event["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"pg_call"), "{events:?}");
    assert!(
        events
            .iter()
            .any(|event| event["detail"].as_str().unwrap().starts_with("tosspayments revoke: ok")),
        "{events:?}"
    );
    // Another merchant's payment is unknown here as everywhere.
    let other = app.merchant("other").await;
    app.send(
        app.request(
            Method::GET,
            &format!("/payments/{}/events", payment["imp_uid"].as_str().unwrap()),
        )
        .bearer_auth(&other.token),
    )
    .await
    .assert_error(404, -1);
}

#[tokio::test]
async fn readyz_checks_the_database_and_its_migrations() {
    let app = TestApp::start().await;
    let health = app.send(app.request(Method::GET, "/healthz")).await;
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = app.send(app.request(Method::GET, "/readyz")).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);

    // A migration that is not recorded as applied: the database is behind this binary.
    execute(
        &app.database_url,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let ready = app.send(app.request(Method::GET, "/readyz")).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "unavailable");
    assert!(
        ready.body["problem"].as_str().unwrap().contains("migrations"),
        "{:?}",
        ready.body
    );
    // The process itself is still alive.
    let health = app.send(app.request(Method::GET, "/healthz")).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn log_format_json_writes_one_object_a_line_with_the_request_id() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("vbank.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    while let Some(line) = stdout.next_line().await.unwrap() {
        if let Some(address) = line.strip_prefix("vbank listening on ") {
            url = Some(address.to_owned());
            break;
        }
    }
    let url = url.expect("the server starts");
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    let response = reqwest::get(format!("{url}/healthz")).await.unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            let object: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
            if object["span"]["id"] == request_id.as_str() {
                return object;
            }
        }
        panic!("the log ended");
    })
    .await
    .expect("a log line with the request id");
    assert_eq!(found["fields"]["message"], "answered");
    assert_eq!(found["fields"]["status"], 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn with_a_metrics_token_only_the_scraper_that_bears_it_reads_metrics() {
    let app = TestApp::start_with(|config| config.metrics_token = Some("scrape-7f3a".into())).await;
    let url = format!("{}/metrics", app.url);
    for (what, authorization) in [
        ("no token", None),
        ("a wrong token", Some("Bearer scrape-0000")),
        ("the token without Bearer", Some("scrape-7f3a")),
    ] {
        let mut request = app.http.get(&url);
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["problem"].as_str().unwrap().contains("--metrics-token"),
            "{what}: {body}"
        );
    }
    let response = app.http.get(&url).bearer_auth("scrape-7f3a").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("vbank_http_requests_total"));
    // Health checks stay open for the orchestrator.
    let health = app.http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
