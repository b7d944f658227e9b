//! The HTTP routes. Each resource module exposes its `router()`; handlers convert
//! from the wire, call a service, convert to the wire.

mod notifications;
mod payments;
mod tokens;
mod vbanks;
mod webhooks;

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
}
