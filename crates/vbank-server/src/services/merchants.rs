//! Creating merchants with sandbox channels for every PG vbank has.

use crate::services::tokens::hash_secret;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use vbank_core::{Channel, Merchant, PgProvider, WebhookSettings};
use vbank_store::{NewChannel, NewMerchant, Store};

pub fn random_text(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

/// A new merchant's sandbox channels, one per PG, the default (Toss, which needs no
/// per-call key) first. `inicis_api_key` goes on the INICIS channel.
pub fn sandbox_channels(inicis_api_key: Option<String>) -> Vec<NewChannel> {
    let mut providers = PgProvider::ALL.to_vec();
    providers.sort_by_key(|provider| *provider != PgProvider::Tosspayments);
    providers
        .into_iter()
        .map(|provider| {
            let (mid, mut secrets) = vbank_sandbox::test_channel(provider);
            if provider == PgProvider::Html5Inicis {
                secrets.api_key = inicis_api_key.clone();
            }
            NewChannel {
                provider,
                mid,
                sandbox: true,
                secrets,
            }
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
