//! Creating merchants with sandbox channels for every PG vbank has.

use crate::services::tokens::hash_secret;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use vbank_core::{Channel, ChannelSecrets, Merchant, PgProvider, WebhookSettings};
use vbank_store::{NewChannel, NewMerchant, Store};

/// The public KG INICIS test MID; the simulator holds its INIAPI key.
pub const INICIS_TEST_MID: &str = "INIpayTest";
/// The MID shown for sandbox Toss channels.
pub const TOSS_SANDBOX_MID: &str = "tvivarepublica";

pub fn random_text(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

/// A new merchant's sandbox channels, the default (Toss, which needs no per-call key) first.
pub fn sandbox_channels(inicis_api_key: Option<String>) -> Vec<NewChannel> {
    PgProvider::ALL
        .into_iter()
        .rev()
        .map(|provider| match provider {
            PgProvider::Tosspayments => NewChannel {
                provider,
                mid: TOSS_SANDBOX_MID.to_owned(),
                sandbox: true,
                secrets: ChannelSecrets {
                    secret_key: Some(format!("test_sk_{}", random_text(24))),
                    ..ChannelSecrets::default()
                },
            },
            PgProvider::Html5Inicis => NewChannel {
                provider,
                mid: INICIS_TEST_MID.to_owned(),
                sandbox: true,
                secrets: ChannelSecrets {
                    api_key: inicis_api_key.clone(),
                    api_iv: Some(vbank_pg::inicis::wire::TEST_IV.to_owned()),
                    ..ChannelSecrets::default()
                },
            },
        })
        .collect()
}

/// A fresh Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes.
pub fn generate_webhook_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// What a new merchant is made of.
#[derive(Debug, Clone, Default)]
pub struct MerchantSpec {
    pub name: String,
    pub imp_key: String,
    pub imp_secret: String,
    pub inicis_api_key: Option<String>,
    /// When `webhook.secret` is `None`, one is generated.
    pub webhook: WebhookSettings,
}

/// Creates a merchant with sandbox channels for every PG.
pub async fn add_sandbox_merchant(store: &dyn Store, spec: MerchantSpec) -> anyhow::Result<(Merchant, Vec<Channel>)> {
    let mut webhook = spec.webhook;
    webhook.secret.get_or_insert_with(generate_webhook_secret);
    let merchant = NewMerchant {
        imp_key: spec.imp_key,
        imp_secret_hash: hash_secret(&spec.imp_secret)?,
        name: spec.name,
        webhook,
        channels: sandbox_channels(spec.inicis_api_key),
    };
    Ok(store.create_merchant(merchant).await?)
}
