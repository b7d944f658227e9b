//! Merchants and their PG contracts (channels).

use crate::PgProvider;
use serde::{Deserialize, Serialize};

/// A shop using vbank. It authenticates with `imp_key` and `imp_secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: i64,
    pub imp_key: String,
    /// argon2 PHC string; the secret itself is never stored.
    pub imp_secret_hash: String,
    pub name: String,
    pub webhook: WebhookSettings,
}

/// Where and how the merchant's webhooks go (api.md A7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    /// The default URL, used when a payment has no `notice_url` of its own.
    pub url: Option<String>,
    pub format: WebhookFormat,
    /// The Standard Webhooks signing secret, `whsec_` + base64.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    #[default]
    Json,
    Form,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Form => "form",
        }
    }

    pub fn parse(text: &str) -> Option<WebhookFormat> {
        match text {
            "json" => Some(WebhookFormat::Json),
            "form" => Some(WebhookFormat::Form),
            _ => None,
        }
    }
}

/// A merchant's contract with one PG under one MID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: i64,
    pub merchant_id: i64,
    pub provider: PgProvider,
    /// The PG merchant id (INICIS MID, Toss mId, ...).
    pub mid: String,
    /// A sandbox channel talks to vbank's PG simulators, wherever they run.
    pub sandbox: bool,
    pub secrets: ChannelSecrets,
}

/// The credentials a connector signs with. Which fields a PG needs is its
/// connector's business; the rest stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSecrets {
    /// KG INICIS INIAPI key. When absent, callers pass i'mport's `pg_api_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// KG INICIS INIAPI IV, which encrypts refund account numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_iv: Option<String>,
    /// An INIAPI key a caller passed with a successful issuance, kept only to confirm
    /// INICIS deposit notices by inquiry (INICIS signs none). Never used to revoke:
    /// a revoke needs `api_key` or the caller's `pg_api_key`, as on i'mport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inquiry_api_key: Option<String>,
    /// Toss Payments secret key (`test_sk_...` / `live_sk_...`); NICE v2 and KICC secret keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// NICE v2 client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// NICE (old) and Smartro MerchantKey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_key: Option<String>,
    /// Settle Bank (Hecto) hash key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_key: Option<String>,
    /// Settle Bank (Hecto) AES key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes_key: Option<String>,
    /// Smartro cancel password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_password: Option<String>,
    /// NHN KCP service certificate (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// NHN KCP private key (PEM) that signs `kcp_sign_data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}
