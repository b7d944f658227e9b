//! Several stateless `vbank serve` nodes on one PostgreSQL database, sharing one
//! external sandbox. Ignored by a plain `cargo test` (which lists them as ignored, with the
//! reason); `scripts/test.sh` runs them on PostgreSQL, as CI does.

mod common;

use common::{spawn_serve, spawn_vbank, VbankProcess, WebhookReceiver};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

fn postgres_enabled(test: &str) -> bool {
    let enabled = std::env::var("VBANK_TEST_DATABASE").as_deref() == Ok("postgres");
    if !enabled {
        eprintln!("{test}: skipped: set VBANK_TEST_DATABASE=postgres to run the multi-node suite");
    }
    enabled
}

async fn add_merchant(database_url: &str, webhook_url: &str) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbank"))
        .args(["merchant", "add", "--imp-key", "multi", "--imp-secret", "multi-secret"])
        .env("VBANK_SECRETS_KEY", common::TEST_SECRETS_KEY)
        .args(["--webhook-url", webhook_url, "--database-url", database_url])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

async fn json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.expect("answer").json().await.expect("JSON")
}

async fn token(http: &reqwest::Client, node: &VbankProcess) -> String {
    let answer = json(
        http.post(format!("{}/users/getToken", node.url))
            .json(&json!({"imp_key": "multi", "imp_secret": "multi-secret"})),
    )
    .await;
    answer["response"]["access_token"].as_str().expect("token").to_owned()
}

struct Cluster {
    database_url: String,
    sandbox: VbankProcess,
    nodes: Vec<VbankProcess>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.start_kill();
        }
        let _ = self.sandbox.child.start_kill();
        common::drop_postgres_database(&self.database_url);
    }
}

const NODE_FLAGS: [&str; 6] = [
    "--reconcile-interval",
    "1s",
    "--webhook-retry-schedule",
    "1s,1s,1s,1s,1s",
    "--job-lease",
    "3s",
];

/// A sandbox that notifies node A, and `count` nodes on one fresh database.
async fn cluster(count: usize, webhook_url: &str) -> Cluster {
    let database_url = common::fresh_postgres_database().await;
    add_merchant(&database_url, webhook_url).await;
    let ports: Vec<u16> = (0..count).map(|_| common::free_port()).collect();
    let sandbox_port = common::free_port();
    let sandbox_addr = format!("127.0.0.1:{sandbox_port}");
    let notify_url = format!("http://127.0.0.1:{}", ports[0]);
    let sandbox = spawn_vbank(
        &["sandbox", "--addr", &sandbox_addr, "--notify-url", &notify_url],
        "vbank sandbox listening on",
    )
    .await;
    let sandbox_url = format!("http://{sandbox_addr}");
    let mut nodes = Vec::new();
    for port in ports {
        let mut flags = vec!["--sandbox-url", sandbox_url.as_str()];
        flags.extend_from_slice(&NODE_FLAGS);
        nodes.push(spawn_serve(port, &database_url, &flags).await);
    }
    Cluster {
        database_url,
        sandbox,
        nodes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: VBANK_TEST_DATABASE=postgres cargo test -- --include-ignored (scripts/test.sh does)"]
async fn two_nodes_race_revokes_and_deposits_on_one_database_without_both_winning() {
    if !postgres_enabled("two_nodes_race") {
        return;
    }
    let receiver = WebhookReceiver::start(0).await;
    let cluster = cluster(2, &receiver.url).await;
    let http = reqwest::Client::new();
    let token = token(&http, &cluster.nodes[0]).await;
    // A token issued on one node works on the other.
    let on_b = json(
        http.get(format!("{}/payments/status/all", cluster.nodes[1].url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(on_b["code"], 0, "{on_b}");

    let mut payments = Vec::new();
    for index in 0..24 {
        let node = &cluster.nodes[index % 2];
        let issued = json(
            http.post(format!("{}/vbanks", node.url))
                .bearer_auth(&token)
                .json(&json!({
                    "merchant_uid": format!("multi-{index}"), "amount": 1000, "vbank_code": "088",
                    "vbank_due": common::now() + 3600, "buyer_name": "홍길동",
                })),
        )
        .await;
        assert_eq!(issued["code"], 0, "{issued}");
        payments.push(issued["response"].clone());
    }
    let mut races = Vec::new();
    for (index, payment) in payments.iter().enumerate() {
        let revoke_url = format!(
            "{}/vbanks/{}",
            cluster.nodes[(index / 2) % 2].url,
            payment["imp_uid"].as_str().unwrap()
        );
        let deposit_url = format!("{}/sandbox/bank/deposits", cluster.sandbox.url);
        let (http_a, http_b, token) = (http.clone(), http.clone(), token.clone());
        let account = json!({"bank_code": "088", "account_number": payment["vbank_num"], "amount": 1000});
        // Offsets from -20 ms (the revoke waits) to +1 s (the deposit waits), so that both
        // orders happen whatever the machine's load, and the interleavings in between.
        let offset: i64 = [-20, 0, 5, 20, 100, 1000][index % 6];
        let revoke_delay = Duration::from_millis((-offset).max(0) as u64);
        let deposit_delay = Duration::from_millis(offset.max(0) as u64);
        races.push(tokio::spawn(async move {
            let revoke = async {
                tokio::time::sleep(revoke_delay).await;
                json(http_a.delete(revoke_url).bearer_auth(token)).await
            };
            let deposit = async {
                tokio::time::sleep(deposit_delay).await;
                json(http_b.post(deposit_url).json(&account)).await
            };
            tokio::join!(revoke, deposit)
        }));
    }
    for race in races {
        let (revoke, deposit) = race.await.unwrap();
        // Each side either won or was refused in the PG's own words; nothing else.
        let revoked = revoke["code"] == 0;
        let deposited = deposit["accepted"] == true;
        assert!(
            revoked != deposited,
            "exactly one wins: revoke {revoke}, deposit {deposit}"
        );
    }
    let store = common::open_store(&cluster.database_url).await;
    let mut expected_webhooks = HashMap::new();
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for payment in &payments {
        let imp_uid = payment["imp_uid"].as_str().unwrap();
        let pg: Value = json(http.get(format!(
            "{}/sandbox/accounts/{}",
            cluster.sandbox.url,
            payment["vbank_num"].as_str().unwrap()
        )))
        .await;
        let expected = match pg["state"].as_str().unwrap() {
            "deposited" => "paid",
            "cancelled" => "cancelled",
            other => panic!("{imp_uid}: the PG left it {other}"),
        };
        *outcomes.entry(expected).or_default() += 1;
        common::eventually(15, "vbank shows what the PG has", || async {
            let answer = json(
                http.get(format!("{}/payments/{imp_uid}", cluster.nodes[1].url))
                    .bearer_auth(&token),
            )
            .await;
            answer["response"]["status"] == expected
        })
        .await;
        let recorded = json(
            http.get(format!("{}/payments/{imp_uid}", cluster.nodes[0].url))
                .bearer_auth(&token),
        )
        .await;
        let recorded = &recorded["response"];
        assert!(
            !(recorded["paid_at"].as_i64().unwrap() > 0 && recorded["status"] == "cancelled"),
            "{imp_uid} both paid and cancelled"
        );
        let events: Vec<String> = store
            .outbox_events(&vbank_core::ImpUid::parse(imp_uid).unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|(status, _)| status)
            .collect();
        assert_eq!(
            events,
            ["ready", expected],
            "{imp_uid}: one outbox event per state change"
        );
        expected_webhooks.insert((imp_uid.to_owned(), "ready".to_owned()), 1);
        expected_webhooks.insert((imp_uid.to_owned(), expected.to_owned()), 1);
    }
    assert!(
        outcomes.len() == 2,
        "both revokes and deposits won some races: {outcomes:?}"
    );
    let count = |all: &[common::ReceivedWebhook]| {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for webhook in all {
            let body = webhook.json();
            let key = (
                body["imp_uid"].as_str().unwrap().to_owned(),
                body["status"].as_str().unwrap().to_owned(),
            );
            *counts.entry(key).or_default() += 1;
        }
        counts
    };
    receiver
        .wait_for(30, |all| count(all).len() == expected_webhooks.len())
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&receiver.all()),
        expected_webhooks,
        "exactly one delivered webhook per state change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: VBANK_TEST_DATABASE=postgres cargo test -- --include-ignored (scripts/test.sh does)"]
async fn a_webhook_held_by_a_killed_node_is_delivered_by_another_after_its_lease() {
    if !postgres_enabled("killed_node_lease") {
        return;
    }
    // The endpoint hangs on the first delivery, so node A holds the job when it dies.
    let receiver = WebhookReceiver::start_hanging_first(Duration::from_secs(20)).await;
    let mut cluster = cluster(1, &receiver.url).await;
    let http = reqwest::Client::new();
    let token = token(&http, &cluster.nodes[0]).await;
    let issued = json(
        http.post(format!("{}/vbanks", cluster.nodes[0].url))
            .bearer_auth(&token)
            .json(&json!({
                "merchant_uid": "lease-1", "amount": 1000, "vbank_code": "088",
                "vbank_due": common::now() + 3600, "buyer_name": "홍길동",
            })),
    )
    .await;
    let imp_uid = issued["response"]["imp_uid"].as_str().expect("issued").to_owned();
    receiver.wait_for(10, |all| !all.is_empty()).await;
    cluster.nodes[0].child.kill().await.unwrap();

    let sandbox_url = cluster.sandbox.url.clone();
    let mut flags = vec!["--sandbox-url", sandbox_url.as_str()];
    flags.extend_from_slice(&NODE_FLAGS);
    let node_b = spawn_serve(common::free_port(), &cluster.database_url, &flags).await;
    cluster.nodes.push(node_b);
    let node_b = &cluster.nodes[1];
    common::eventually(20, "node B delivers the webhook node A held", || async {
        let answer = json(
            http.get(format!("{}/webhooks?imp_uid={imp_uid}", node_b.url))
                .bearer_auth(&token),
        )
        .await;
        answer["response"][0]["state"] == "delivered"
    })
    .await;
    assert!(
        receiver.all().len() >= 2,
        "the first attempt died with node A; B sent it again"
    );
}
