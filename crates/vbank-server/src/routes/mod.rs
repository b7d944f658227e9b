//! The HTTP routes. Each resource module exposes its `router()`; handlers convert
//! from the wire, call a service, convert to the wire.

pub(crate) mod console;
pub(crate) mod notifications;
pub(crate) mod ops;
pub(crate) mod payments;
pub(crate) mod tokens;
pub(crate) mod vbanks;
pub(crate) mod webhooks;

use crate::app::AppState;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(tokens::router())
        .merge(vbanks::router())
        .merge(payments::router())
        .merge(notifications::router())
        .merge(webhooks::router())
        .merge(ops::router())
        .merge(console::router())
        .merge(crate::openapi::router())
}
