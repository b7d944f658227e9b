//! `POST /users/getToken`.

use crate::app::AppState;
use crate::edge::body::Fields;
use crate::edge::{envelope, ApiResult};
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/users/getToken", post(get_token))
}

async fn get_token(State(state): State<Arc<AppState>>, fields: Fields) -> ApiResult<Response> {
    let imp_key = fields.required_text("imp_key")?;
    let imp_secret = fields.required_text("imp_secret")?;
    let token = state.tokens.get_token(&imp_key, &imp_secret).await?;
    Ok(envelope::ok(token))
}
