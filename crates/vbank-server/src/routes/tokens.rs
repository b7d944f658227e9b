//! `POST /users/getToken`.

use crate::app::AppState;
use crate::edge::body::Fields;
use crate::edge::{envelope, ApiResult};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Extension;
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/users/getToken", post(get_token))
}

async fn get_token(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult<Response> {
    let imp_key = fields.required_text("imp_key")?;
    let imp_secret = fields.required_text("imp_secret")?;
    let client = client_address(
        &headers,
        peer.map(|Extension(ConnectInfo(peer))| peer),
        state.settings.trust_forwarded_for,
    );
    let token = state.tokens.get_token(&imp_key, &imp_secret, client).await?;
    Ok(envelope::ok(token))
}

/// The caller's address: the TCP peer, or behind a trusted load balancer the address it
/// appended last to `X-Forwarded-For` (earlier entries are the client's to forge).
fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|peer| peer.ip())
}
