//! The access token, in any of the three header forms i'mport clients use:
//! `Authorization: Bearer <t>`, `Authorization: <t>` and `X-ImpTokenHeader: <t>`
//! (`Authorization` wins when both are present).

use super::envelope::{ApiError, ApiResult};
use crate::app::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::sync::Arc;

/// The merchant a valid token belongs to. Every merchant-scoped handler takes one.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    pub merchant_id: i64,
}

/// The token a request carries, if any.
pub fn token_of(headers: &HeaderMap) -> Option<&str> {
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let from_authorization = header_text("authorization").map(|value| match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    });
    from_authorization.or_else(|| header_text("x-imptokenheader"))
}

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Authenticated> {
        let token = token_of(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let merchant_id = state.tokens.verify(token).await?.ok_or(ApiError::Unauthorized)?;
        Ok(Authenticated { merchant_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn reads_all_three_forms() {
        assert_eq!(token_of(&headers(&[("authorization", "Bearer abc")])), Some("abc"));
        assert_eq!(token_of(&headers(&[("authorization", "bearer abc")])), Some("abc"));
        assert_eq!(token_of(&headers(&[("authorization", "abc")])), Some("abc"));
        assert_eq!(token_of(&headers(&[("x-imptokenheader", "abc")])), Some("abc"));
        assert_eq!(
            token_of(&headers(&[("authorization", "first"), ("x-imptokenheader", "second")])),
            Some("first")
        );
        assert_eq!(token_of(&headers(&[])), None);
    }
}
