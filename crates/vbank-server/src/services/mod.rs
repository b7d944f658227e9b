//! What vbank does, between the edge and the store and connectors: load, ask the PG,
//! let the domain core decide, commit. Handlers call these and only translate.

pub mod holders;
pub mod lookups;
pub mod merchants;
pub mod notices;
pub mod payments;
pub mod refunds;
pub mod tokens;
pub mod vbanks;
