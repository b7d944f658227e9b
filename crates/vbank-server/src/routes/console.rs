//! `GET /console`: the operator console, one page of HTML and JavaScript compiled into the
//! binary (`console/index.html`), so it works with no network beyond this server.
//!
//! The console holds no privileges of its own: the operator signs in with the merchant's
//! imp_key and imp_secret, and the page calls the same API as any client (`/users/getToken`,
//! `/payments/...`, `/vbanks/...`, `/webhooks`, and in sandbox mode `/sandbox/...`). The
//! token lives in the tab's `sessionStorage` only.

use crate::app::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

const PAGE: &str = include_str!("../../console/index.html");

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/console", get(page))
}

/// The operator console (HTML): sign in with imp_key and imp_secret; search payments; a
/// payment's history, PG calls and webhook attempts; revoke, refund, resend a webhook; in
/// sandbox mode, deposit and advance the clock.
#[utoipa::path(get, path = "/console", tag = "operations",
    responses((status = 200, description = "The console page.", content_type = "text/html")))]
pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Everything the page needs is on this server.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        PAGE,
    )
        .into_response()
}
