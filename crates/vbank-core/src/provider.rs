//! The PGs vbank speaks to, named as i'mport names them (`pg_provider`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A payment gateway, by its i'mport `pg_provider` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgProvider {
    /// KG INICIS, web-standard module (`html5_inicis`; `inicis` on API requests).
    Html5Inicis,
    /// Toss Payments, new module.
    Tosspayments,
}

impl PgProvider {
    pub const ALL: [PgProvider; 2] = [PgProvider::Html5Inicis, PgProvider::Tosspayments];

    /// The `pg_provider` value stored on payments and used in notification paths.
    pub fn code(self) -> &'static str {
        match self {
            PgProvider::Html5Inicis => "html5_inicis",
            PgProvider::Tosspayments => "tosspayments",
        }
    }

    /// Parses the `{pg}` part of i'mport's `pg` parameter, including legacy aliases.
    pub fn from_pg_param(pg: &str) -> Option<PgProvider> {
        match pg {
            "html5_inicis" | "inicis" => Some(PgProvider::Html5Inicis),
            "tosspayments" => Some(PgProvider::Tosspayments),
            _ => None,
        }
    }
}

impl fmt::Display for PgProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for PgProvider {
    type Err = ();
    fn from_str(code: &str) -> Result<Self, ()> {
        PgProvider::ALL
            .into_iter()
            .find(|provider| provider.code() == code)
            .ok_or(())
    }
}
