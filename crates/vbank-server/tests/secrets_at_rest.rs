//! PG credentials are sealed in the database (issue 8): a copy of the database does not
//! yield a merchant's INICIS key or any channel secret, and a server with another key
//! says so instead of using garbage. (That a sealed key still works for a revoke is
//! `inicis.rs::a_channel_configured_with_the_key_revokes_without_one_in_the_query`.)

mod common;

use common::{open_store, TestApp};
use vbank_server::services::merchants::{add_sandbox_merchant, MerchantSpec};

const INIAPI_KEY: &str = "ItEQKi3rY7uvDS8l";

/// Every channel's `secrets` column as stored, read around vbank.
async fn stored_secrets(database_url: &str) -> Vec<String> {
    use sqlx::Connection;
    let query = "SELECT secrets FROM channels ORDER BY id";
    if database_url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(query).fetch_all(&mut connection).await.unwrap()
    } else {
        let mut connection = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(query).fetch_all(&mut connection).await.unwrap()
    }
}

async fn add_keyed_merchant(app: &TestApp) -> Vec<vbank_core::Channel> {
    let store = open_store(&app.database_url).await;
    let spec = MerchantSpec {
        name: "keyed".into(),
        imp_key: "keyed".into(),
        imp_secret: "keyed-secret".into(),
        inicis_api_key: Some(INIAPI_KEY.to_owned()),
        ..Default::default()
    };
    add_sandbox_merchant(store.as_ref(), spec).await.unwrap().1
}

#[tokio::test]
async fn channel_secrets_are_sealed_in_the_database() {
    let app = TestApp::start().await;
    let channels = add_keyed_merchant(&app).await;
    let stored = stored_secrets(&app.database_url).await;
    assert!(stored.len() >= channels.len(), "{stored:?}");
    for (stored, channel) in stored.iter().zip(&channels) {
        assert!(stored.starts_with("sealed:v1:"), "{}: {stored}", channel.provider);
        assert!(!stored.contains(INIAPI_KEY), "{stored}");
        // Nothing of any secret's text shows through (the sandbox's test keys included).
        for secret in serde_json::to_value(&channel.secrets)
            .unwrap()
            .as_object()
            .unwrap()
            .values()
        {
            if let Some(secret) = secret.as_str().filter(|secret| secret.len() >= 8) {
                assert!(!stored.contains(secret), "{}: {secret} is readable", channel.provider);
            }
        }
    }
    // And vbank reads them back whole.
    let store = open_store(&app.database_url).await;
    let merchant = store.merchant_by_imp_key("keyed").await.unwrap().unwrap();
    let read = store.channels(merchant.id).await.unwrap();
    assert_eq!(read, channels);
}

#[tokio::test]
async fn another_key_is_refused_with_what_to_do() {
    let app = TestApp::start().await;
    let channels = add_keyed_merchant(&app).await;
    let (other_key, _) = vbank_store::SecretsKey::generate();
    let store = vbank_store::open_with_key(&app.database_url, Some(other_key))
        .await
        .unwrap();
    let error = store.channel(channels[0].id).await.unwrap_err().to_string();
    assert!(error.contains("do not open with this key"), "{error}");
    assert!(error.contains("VBANK_SECRETS_KEY"), "{error}");
}
