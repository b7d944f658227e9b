//! `POST /users/getToken`.

use crate::app::AppState;
use crate::edge::body::Fields;
use crate::edge::client_address::ClientAddress;
use crate::edge::{envelope, ApiResult, Envelope};
use crate::services::tokens::IssuedToken;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use utoipa::ToSchema;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/users/getToken", post(get_token))
}

/// `POST /users/getToken`'s body (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // documents what `edge::body::Fields` reads
pub struct GetTokenRequest {
    /// The merchant's REST API key.
    pub imp_key: String,
    /// The merchant's REST API secret.
    pub imp_secret: String,
}

/// An access token for the merchant. A repeat call returns the same token while it lives, and
/// extends it by 5 minutes when asked for in its last minute.
#[utoipa::path(post, path = "/users/getToken", tag = "i'mport",
    request_body(content((GetTokenRequest = "application/json"), (GetTokenRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token.", body = Envelope<IssuedToken>),
        (status = 429, description = "Too many failed attempts for this imp_key or address (code -1); see `Retry-After`.", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn get_token(
    State(state): State<Arc<AppState>>,
    ClientAddress(client): ClientAddress,
    fields: Fields,
) -> ApiResult<Response> {
    let imp_key = fields.required_text("imp_key")?;
    let imp_secret = fields.required_text("imp_secret")?;
    let token = state.tokens.get_token(&imp_key, &imp_secret, client).await?;
    Ok(envelope::ok(token))
}
