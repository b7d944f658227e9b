//! The i'mport compatibility edge: everything that makes vbank look like
//! api.iamport.kr to an unmodified client lives here, and only here.
//!
//! - [`envelope`]: `{code, message, response}` on every answer, the error mapping of
//!   api.md A2, Korean or English messages, `application/json; charset=utf-8`.
//! - [`body`]: JSON and form bodies alike, numeric strings as numbers, a size limit.
//! - [`auth`]: the three token header forms.
//! - [`client_address`]: the caller's address (TCP peer, or a trusted `X-Forwarded-For`).
//! - [`query`]: `imp_uid[]`-style repeated query keys.
//! - [`payment_json`]: the payment object exactly as i'mport's schema has it.
//!
//! Trailing slashes are trimmed before routing (see `server.rs`).

pub mod auth;
pub mod body;
pub mod client_address;
pub mod envelope;
pub mod idempotency;
pub mod payment_json;
pub mod query;

pub use envelope::{ApiError, ApiResult, Envelope};
