//! PG credentials at rest: a channel's secrets (INICIS API key, Toss secret key, KCP
//! certificate and private key, the merchant keys of NICE, KICC, Hecto and Smartro) are
//! stored sealed with AES-256-GCM under a key that is not in the database, so a copy of
//! the database (a backup, a dump, a stolen disk) does not yield them.
//!
//! Where the key comes from, in order: the one the caller gives; `VBANK_SECRETS_KEY`
//! (base64 of 32 bytes); the file `VBANK_SECRETS_KEY_FILE` names; for SQLite, the file
//! `<database>.key` beside the database, created on first use (readable by its owner
//! only). PostgreSQL nodes must share one key, so there it must be given.

use crate::{StoreError, StoreResult};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use std::path::{Path, PathBuf};
use vbank_core::ChannelSecrets;

const SEALED_PREFIX: &str = "sealed:v1:";
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key channel secrets are sealed with.
#[derive(Clone)]
pub struct SecretsKey(Aes256Gcm);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKey {
    pub fn from_bytes(bytes: &[u8]) -> StoreResult<SecretsKey> {
        Aes256Gcm::new_from_slice(bytes)
            .map(SecretsKey)
            .map_err(|_| key_error("a secrets key is 32 bytes (base64 of 32 random bytes)"))
    }

    /// A key from its base64 text, as in `VBANK_SECRETS_KEY` or a key file.
    pub fn from_base64(text: &str) -> StoreResult<SecretsKey> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| key_error("the secrets key is not base64; make one with `openssl rand -base64 32`"))?;
        SecretsKey::from_bytes(&bytes)
    }

    /// A fresh random key and its base64 text.
    pub fn generate() -> (SecretsKey, String) {
        let bytes: [u8; 32] = rand_bytes();
        let text = BASE64.encode(bytes);
        (SecretsKey::from_bytes(&bytes).expect("32 bytes"), text)
    }

    /// The key for `database_url`, from `explicit`, the environment, or (SQLite) the key
    /// file beside the database.
    pub fn resolve(database_url: &str, explicit: Option<SecretsKey>) -> StoreResult<SecretsKey> {
        if let Some(key) = explicit {
            return Ok(key);
        }
        if let Ok(text) = std::env::var("VBANK_SECRETS_KEY") {
            return SecretsKey::from_base64(&text);
        }
        if let Ok(path) = std::env::var("VBANK_SECRETS_KEY_FILE") {
            return SecretsKey::from_file(Path::new(&path));
        }
        match sqlite_key_file(database_url) {
            Some(path) => SecretsKey::load_or_create(&path),
            None => Err(key_error(
                "PostgreSQL needs the key PG credentials are sealed with, the same on every node: set \
                 VBANK_SECRETS_KEY (base64 of 32 bytes: `openssl rand -base64 32`) or VBANK_SECRETS_KEY_FILE",
            )),
        }
    }

    pub fn from_file(path: &Path) -> StoreResult<SecretsKey> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| key_error(&format!("cannot read the secrets key file {}: {error}", path.display())))?;
        SecretsKey::from_base64(&text)
    }

    fn load_or_create(path: &Path) -> StoreResult<SecretsKey> {
        if path.exists() {
            return SecretsKey::from_file(path);
        }
        let (key, text) = SecretsKey::generate();
        write_private(path, &text).map_err(|error| {
            key_error(&format!(
                "cannot create the secrets key file {}: {error}",
                path.display()
            ))
        })?;
        tracing::info!(path = %path.display(), "created the key PG credentials are sealed with; back it up with the database");
        Ok(key)
    }

    /// Channel secrets as stored: sealed, base64.
    pub(crate) fn seal(&self, secrets: &ChannelSecrets) -> StoreResult<String> {
        let plain = serde_json::to_vec(secrets).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let nonce_bytes: [u8; 12] = rand_bytes();
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce_bytes), plain.as_slice())
            .map_err(|_| StoreError::Corrupt("sealing channel secrets failed".into()))?;
        let mut stored = nonce_bytes.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", BASE64.encode(stored)))
    }

    /// Channel secrets from their stored form. Rows written before sealing existed hold
    /// plain JSON; they are read as such (and sealed at the next start).
    pub(crate) fn open(&self, stored: &str) -> StoreResult<ChannelSecrets> {
        let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
            return serde_json::from_str(stored).map_err(|error| StoreError::Corrupt(error.to_string()));
        };
        let bytes = BASE64
            .decode(sealed)
            .map_err(|_| StoreError::Corrupt("sealed channel secrets are not base64".into()))?;
        if bytes.len() < 12 {
            return Err(StoreError::Corrupt("sealed channel secrets are too short".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self.0.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| {
            key_error(
                "channel secrets do not open with this key: start vbank with the key they were sealed with \
                 (VBANK_SECRETS_KEY, VBANK_SECRETS_KEY_FILE or the .key file beside the database)",
            )
        })?;
        serde_json::from_slice(&plain).map_err(|error| StoreError::Corrupt(error.to_string()))
    }

    pub(crate) fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }
}

fn key_error(message: &str) -> StoreError {
    StoreError::SecretsKey(message.to_owned())
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use aes_gcm::aead::rand_core::RngCore;
    let mut bytes = [0u8; N];
    aes_gcm::aead::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `<database>.key` for a `sqlite://PATH` URL; `None` for other databases.
fn sqlite_key_file(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    Some(PathBuf::from(format!("{path}.key")))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> ChannelSecrets {
        ChannelSecrets {
            api_key: Some("ItEQKi3rY7uvDS8l".into()),
            private_key: Some("-----BEGIN PRIVATE KEY-----".into()),
            ..ChannelSecrets::default()
        }
    }

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let (key, _) = SecretsKey::generate();
        let sealed = key.seal(&secrets()).unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("ItEQKi3rY7uvDS8l"), "{sealed}");
        assert_eq!(key.open(&sealed).unwrap(), secrets());
        // Two seals of the same secrets differ (fresh nonce).
        assert_ne!(key.seal(&secrets()).unwrap(), sealed);
        let (other, _) = SecretsKey::generate();
        assert!(matches!(other.open(&sealed), Err(StoreError::SecretsKey(_))));
    }

    #[test]
    fn plain_json_from_before_sealing_still_reads() {
        let (key, _) = SecretsKey::generate();
        let plain = serde_json::to_string(&secrets()).unwrap();
        assert_eq!(key.open(&plain).unwrap(), secrets());
    }

    #[test]
    fn a_sqlite_database_gets_a_private_key_file_that_is_reused() {
        let folder = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", folder.path().join("shop.db").display());
        let first = SecretsKey::load_or_create(&sqlite_key_file(&url).unwrap()).unwrap();
        let sealed = first.seal(&secrets()).unwrap();
        let again = SecretsKey::load_or_create(&sqlite_key_file(&url).unwrap()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), secrets());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(folder.path().join("shop.db.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_keys_say_what_to_do() {
        let error = SecretsKey::from_base64("not base64!").unwrap_err().to_string();
        assert!(error.contains("openssl rand -base64 32"), "{error}");
        assert!(SecretsKey::from_base64(&BASE64.encode([0u8; 16])).is_err());
    }
}
