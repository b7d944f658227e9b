//! What each fuzz target runs: a PG notification parser (then the signature check and
//! the acknowledgement, with the sandbox's test channel), or i'mport's body parser (then
//! every typed read the routes make). A panic anywhere is a finding; errors are fine.

use std::sync::OnceLock;
use std::time::Duration;
use vbank_core::{Channel, PgProvider};
use vbank_pg::Connectors;
use vbank_server::edge::body::Fields;

/// The content types PGs send notices with; the input's first byte picks one.
const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=euc-kr"),
    Some("application/json"),
    Some("text/plain; charset=utf-8"),
    None,
];

fn connectors() -> &'static Connectors {
    static CONNECTORS: OnceLock<Connectors> = OnceLock::new();
    CONNECTORS.get_or_init(|| Connectors::new(Duration::from_secs(1), "127.0.0.1".into()))
}

/// A notice for `provider`: parsed, authenticated against the sandbox's test channel
/// (and a per-payment secret), acknowledged.
pub fn notice(provider: PgProvider, data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let connector = connectors().get(provider);
    let accepted = match connector.parse_notice(content_type, body) {
        Ok(notice) => {
            let (mid, secrets) = vbank_sandbox::test_channel(provider);
            let channel = Channel {
                id: 1,
                merchant_id: 1,
                provider,
                mid,
                sandbox: true,
                secrets,
                notice_sources: Default::default(),
            };
            let _ = connector.authenticate(&notice, &channel, Some("pg-secret"));
            true
        }
        Err(_) => false,
    };
    let _ = connector.acknowledge(accepted);
}

/// An i'mport request body of `content_type`, then every kind of field read.
pub fn body(content_type: &str, data: &[u8]) {
    let Ok(fields) = Fields::parse(content_type, data) else {
        return;
    };
    let _ = fields.canonical();
    for name in [
        "merchant_uid",
        "imp_uid",
        "buyer_name",
        "vbank_holder",
        "custom_data",
        "pg",
    ] {
        let _ = fields.text(name);
        let _ = fields.short_text(name, 40);
        let _ = fields.json_text(name);
        let _ = fields.text_list(name);
    }
    let _ = fields.required_text("imp_key");
    for name in ["amount", "checksum", "vbank_due", "vbank_code"] {
        let _ = fields.won(name);
        let _ = fields.integer(name);
    }
}
