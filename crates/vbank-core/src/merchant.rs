//! Merchants and their PG contracts (channels).

use crate::PgProvider;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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
    /// Where this channel's PG notifications may come from.
    pub notice_sources: NoticeSources,
}

/// The address ranges a channel's PG notifies from (the PG publishes them); empty means
/// any address. A notification from elsewhere is refused before anything is read from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeSources(Vec<IpNet>);

impl NoticeSources {
    /// Any address: what a channel starts with.
    pub fn any() -> NoticeSources {
        NoticeSources(Vec::new())
    }

    /// Ranges (`203.0.113.0/24`) or single addresses (`203.0.113.7`), separated by commas
    /// or spaces; empty text means any address.
    pub fn parse(text: &str) -> Result<NoticeSources, String> {
        let mut ranges = Vec::new();
        for item in text.split([',', ' ']).map(str::trim).filter(|item| !item.is_empty()) {
            let range = match item.parse::<IpNet>() {
                Ok(range) => range,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(address) => IpNet::from(address),
                    Err(_) => {
                        return Err(format!(
                            "{item} is neither an address nor a range; write 203.0.113.7 or 203.0.113.0/24"
                        ))
                    }
                },
            };
            ranges.push(range.trunc());
        }
        Ok(NoticeSources(ranges))
    }

    pub fn allows_any(&self) -> bool {
        self.0.is_empty()
    }

    pub fn allows(&self, address: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let address = address.to_canonical();
        self.allows_any() || self.0.iter().any(|range| range.contains(&address))
    }
}

impl std::fmt::Display for NoticeSources {
    /// The stored form: ranges joined by commas; empty for any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, range) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{range}")?;
        }
        Ok(())
    }
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

#[cfg(test)]
mod notice_sources_tests {
    use super::NoticeSources;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn empty_allows_any_address() {
        let any = NoticeSources::parse(" ").unwrap();
        assert!(any.allows_any());
        assert!(any.allows(ip("198.51.100.1")));
        assert_eq!(any.to_string(), "");
    }

    #[test]
    fn ranges_and_single_addresses() {
        let sources = NoticeSources::parse("203.0.113.0/24, 198.51.100.7 2001:db8::/32").unwrap();
        assert!(sources.allows(ip("203.0.113.200")));
        assert!(sources.allows(ip("198.51.100.7")));
        assert!(sources.allows(ip("2001:db8::1")));
        assert!(!sources.allows(ip("198.51.100.8")));
        assert!(!sources.allows(ip("127.0.0.1")));
        // The same IPv4 client on a dual-stack socket.
        assert!(sources.allows(ip("::ffff:203.0.113.9")));
        assert_eq!(sources.to_string(), "203.0.113.0/24,198.51.100.7/32,2001:db8::/32");
        assert_eq!(NoticeSources::parse(&sources.to_string()).unwrap(), sources);
    }

    #[test]
    fn a_typo_is_refused_with_an_example() {
        let error = NoticeSources::parse("203.0.113.0/33").unwrap_err();
        assert!(error.contains("203.0.113.0/24"), "{error}");
        assert!(NoticeSources::parse("example.com").is_err());
    }
}
