//! Identifiers, parsed once at the edge and trusted after.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// i'mport's payment id: `imp_` followed by 12 digits, drawn at random so that ids
/// cannot be guessed in sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImpUid(String);

impl ImpUid {
    pub fn generate(rng: &mut impl Rng) -> ImpUid {
        ImpUid(format!("imp_{:012}", rng.gen_range(0..1_000_000_000_000u64)))
    }

    /// Accepts only the exact `imp_` + 12 digits form.
    pub fn parse(text: &str) -> Option<ImpUid> {
        let digits = text.strip_prefix("imp_")?;
        (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| ImpUid(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImpUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The merchant's own order id: 1 to 40 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MerchantUid(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MerchantUidError {
    #[error("is empty")]
    Empty,
    #[error("is longer than 40 characters")]
    TooLong,
    #[error("contains control characters")]
    ControlCharacter,
}

impl MerchantUid {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(text: &str) -> Result<MerchantUid, MerchantUidError> {
        if text.is_empty() {
            Err(MerchantUidError::Empty)
        } else if text.chars().count() > Self::MAX_CHARS {
            Err(MerchantUidError::TooLong)
        } else if text.chars().any(char::is_control) {
            Err(MerchantUidError::ControlCharacter)
        } else {
            Ok(MerchantUid(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MerchantUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one entry of a payment's `cancel_history`, sent in cancel webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CancellationId(String);

impl CancellationId {
    pub fn generate(rng: &mut impl Rng) -> CancellationId {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let suffix: String = (0..20)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        CancellationId(format!("cancel_{suffix}"))
    }

    pub fn from_stored(text: String) -> CancellationId {
        CancellationId(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_imp_uids_parse_back_and_differ() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let first = ImpUid::generate(&mut rng);
        let second = ImpUid::generate(&mut rng);
        assert_eq!(ImpUid::parse(first.as_str()), Some(first.clone()));
        assert_ne!(first, second);
        assert_eq!(first.as_str().len(), 16);
    }

    #[test]
    fn imp_uid_parse_refuses_other_shapes() {
        for bad in [
            "",
            "imp_",
            "imp_12345678901",
            "imp_1234567890123",
            "imp_12345678901a",
            "xmp_123456789012",
        ] {
            assert_eq!(ImpUid::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn merchant_uid_limits() {
        assert!(MerchantUid::parse("order-1").is_ok());
        assert!(MerchantUid::parse("주문-1").is_ok());
        assert_eq!(MerchantUid::parse(""), Err(MerchantUidError::Empty));
        assert_eq!(MerchantUid::parse(&"x".repeat(41)), Err(MerchantUidError::TooLong));
        assert_eq!(MerchantUid::parse("a\nb"), Err(MerchantUidError::ControlCharacter));
    }
}
