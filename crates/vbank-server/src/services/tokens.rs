//! Access tokens (api.md A8): opaque, 160 bits, 30 minutes by default, the same token
//! on a repeat getToken, extended by 5 minutes when asked for in its last minute.
//!
//! Only a hash of each token is stored. The token itself is an HMAC of a random
//! `token_id` under a server key kept in the database, so any node can re-derive it
//! for a repeat getToken, and a stolen database does not yield live tokens' values
//! without that key... except that the key sits in the same database; issue 8's
//! encryption at rest covers that.

use crate::edge::{ApiError, ApiResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, RwLock};
use vbank_core::time::Clock;
use vbank_core::UnixSeconds;
use vbank_store::{Store, TokenRecord};

/// The last stretch of a token's life in which a repeat getToken extends it.
const EXTENSION_WINDOW: i64 = 60;
const EXTENSION: i64 = 300;
/// How many failed getToken attempts are allowed per minute, per imp_key and per client
/// address, before getToken answers 429 (0: no limit). Counted in the database, so the
/// limits hold across nodes. Only failures count: a merchant that asks for its token
/// often is never slowed down.
#[derive(Debug, Clone, Copy)]
pub struct FailureLimits {
    pub per_key: u32,
    pub per_address: u32,
}

impl Default for FailureLimits {
    fn default() -> FailureLimits {
        FailureLimits {
            per_key: 10,
            per_address: 30,
        }
    }
}

const LIMIT_WINDOW: i64 = 60;

/// Tokens remembered as verified; past this many, the expired ones are forgotten.
const VERIFIED_CACHE_SIZE: usize = 4096;

/// i'mport's `AuthAnnotation`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// Send it as `Authorization: Bearer TOKEN` (or bare, or in `X-ImpTokenHeader`).
    pub access_token: String,
    /// The server's time, Unix seconds.
    pub now: UnixSeconds,
    /// When the token expires, Unix seconds.
    pub expired_at: UnixSeconds,
}

pub struct TokenService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    key: Vec<u8>,
    ttl_seconds: i64,
    limits: FailureLimits,
    /// Token hash -> (merchant, expiry) of tokens found valid in the store. A token's
    /// expiry only ever moves later, so a remembered one is never wrong, only short:
    /// past it, the store is asked again (another node may have extended it).
    verified: RwLock<HashMap<Vec<u8>, (i64, UnixSeconds)>>,
}

/// Hashes an imp_secret for storage (argon2id, a fresh salt).
pub fn hash_secret(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("cannot hash the imp_secret: {error}"))
}

fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the imp_key is unknown, so that an unknown key
/// costs as much time as a wrong secret and keys cannot be probed by timing.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy").unwrap_or_default())
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl TokenService {
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ttl_seconds: i64,
        limits: FailureLimits,
    ) -> anyhow::Result<TokenService> {
        let mut candidate = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut candidate);
        let key = store.server_key("token-hmac", &candidate).await?;
        Ok(TokenService {
            store,
            clock,
            key,
            ttl_seconds,
            limits,
            verified: RwLock::new(HashMap::new()),
        })
    }

    fn derive(&self, token_id: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(token_id);
        // 40 hex characters, 160 bits, as i'mport's tokens.
        hex::encode(&mac.finalize().into_bytes()[..20])
    }

    /// The counters a getToken attempt is held to: its imp_key's and its client's.
    fn limit_keys(&self, imp_key: &str, client: Option<IpAddr>) -> Vec<(String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.limits.per_key > 0 {
            keys.push((format!("imp_key:{imp_key}"), self.limits.per_key));
        }
        if let (Some(client), true) = (client, self.limits.per_address > 0) {
            keys.push((format!("address:{client}"), self.limits.per_address));
        }
        keys
    }

    /// `POST /users/getToken`. `client` is the caller's address, for the failure limit.
    pub async fn get_token(&self, imp_key: &str, imp_secret: &str, client: Option<IpAddr>) -> ApiResult<IssuedToken> {
        let now = self.clock.now();
        let window_start = now - now.rem_euclid(LIMIT_WINDOW);
        let limit_keys = self.limit_keys(imp_key, client);
        // Refused before the (deliberately slow) secret check, so a flood costs little.
        for (key, limit) in &limit_keys {
            if self.store.rate_hits(key, window_start).await? >= *limit {
                return Err(ApiError::TooManyRequests {
                    retry_after: (window_start + LIMIT_WINDOW - now).max(1) as u64,
                });
            }
        }
        let issued = self.check_and_issue(imp_key, imp_secret).await;
        if matches!(issued, Err(ApiError::Unauthorized)) {
            for (key, _) in &limit_keys {
                self.store
                    .record_rate_hit(key, window_start, window_start - LIMIT_WINDOW)
                    .await?;
            }
        }
        issued
    }

    async fn check_and_issue(&self, imp_key: &str, imp_secret: &str) -> ApiResult<IssuedToken> {
        let merchant = self.store.merchant_by_imp_key(imp_key).await?;
        let stored_hash = merchant
            .as_ref()
            .map_or_else(|| decoy_hash().to_owned(), |merchant| merchant.imp_secret_hash.clone());
        let secret = imp_secret.to_owned();
        let verified = tokio::task::spawn_blocking(move || verify_secret(&secret, &stored_hash))
            .await
            .map_err(ApiError::internal)?;
        let merchant = match merchant {
            Some(merchant) if verified => merchant,
            _ => return Err(ApiError::Unauthorized),
        };
        let now = self.clock.now();
        if let Some(live) = self.store.live_token(merchant.id, now).await? {
            let mut expired_at = live.expires_at;
            if expired_at - now <= EXTENSION_WINDOW {
                expired_at += EXTENSION;
                self.store.extend_token(&live.token_hash, expired_at).await?;
            }
            return Ok(IssuedToken {
                access_token: self.derive(&live.token_id),
                now,
                expired_at,
            });
        }
        let mut token_id = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut token_id);
        let access_token = self.derive(&token_id);
        let record = TokenRecord {
            token_hash: token_hash(&access_token),
            token_id,
            merchant_id: merchant.id,
            issued_at: now,
            expires_at: now + self.ttl_seconds,
        };
        self.store.insert_token(&record).await?;
        Ok(IssuedToken {
            access_token,
            now,
            expired_at: record.expires_at,
        })
    }

    /// The merchant a token belongs to, if it is known and unexpired.
    pub async fn verify(&self, token: &str) -> ApiResult<Option<i64>> {
        if token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = self.clock.now();
        let remembered = self
            .verified
            .read()
            .ok()
            .and_then(|verified| verified.get(&hash).copied());
        if let Some((merchant_id, expires_at)) = remembered {
            if expires_at > now {
                return Ok(Some(merchant_id));
            }
        }
        let Some(record) = self.store.token_by_hash(&hash).await? else {
            return Ok(None);
        };
        if record.expires_at <= now {
            return Ok(None);
        }
        if let Ok(mut verified) = self.verified.write() {
            if verified.len() >= VERIFIED_CACHE_SIZE {
                verified.retain(|_, (_, expires_at)| *expires_at > now);
                if verified.len() >= VERIFIED_CACHE_SIZE {
                    verified.clear();
                }
            }
            verified.insert(hash, (record.merchant_id, record.expires_at));
        }
        Ok(Some(record.merchant_id))
    }
}
