//! Money is an integer number of won. Nothing else is money.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in Korean won: a non-negative whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Won(i64);

/// Why a value is not an amount of won.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WonError {
    #[error("is negative")]
    Negative,
    #[error("is not a whole number of won")]
    Fractional,
    #[error("is not a number")]
    NotANumber,
    #[error("is too large")]
    TooLarge,
}

impl Won {
    pub const ZERO: Won = Won(0);
    /// The largest amount vbank accepts: beyond any virtual account a bank issues,
    /// and far from overflowing when amounts are summed.
    pub const MAX: Won = Won(100_000_000_000);

    pub fn new(amount: i64) -> Result<Won, WonError> {
        if amount < 0 {
            Err(WonError::Negative)
        } else if amount > Self::MAX.0 {
            Err(WonError::TooLarge)
        } else {
            Ok(Won(amount))
        }
    }

    /// Parses the decimal text clients send ("1000", form bodies always send text).
    pub fn parse(text: &str) -> Result<Won, WonError> {
        let text = text.trim();
        if let Ok(whole) = text.parse::<i64>() {
            return Won::new(whole);
        }
        match text.parse::<f64>() {
            Ok(number) if number.is_finite() => Won::from_f64(number),
            _ => Err(WonError::NotANumber),
        }
    }

    /// A JSON number that is not an integer literal (`1000.0` is accepted, `1000.5` is not).
    pub fn from_f64(number: f64) -> Result<Won, WonError> {
        if number < 0.0 {
            Err(WonError::Negative)
        } else if number.fract() != 0.0 {
            Err(WonError::Fractional)
        } else if number > Self::MAX.0 as f64 {
            Err(WonError::TooLarge)
        } else {
            Ok(Won(number as i64))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Won {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numeric_text_and_whole_floats() {
        assert_eq!(Won::parse("1000"), Ok(Won(1000)));
        assert_eq!(Won::parse(" 42 "), Ok(Won(42)));
        assert_eq!(Won::parse("1000.0"), Ok(Won(1000)));
    }

    #[test]
    fn refuses_negative_fractional_and_garbage() {
        assert_eq!(Won::parse("-1"), Err(WonError::Negative));
        assert_eq!(Won::parse("10.5"), Err(WonError::Fractional));
        assert_eq!(Won::parse("ten"), Err(WonError::NotANumber));
        assert_eq!(Won::parse("NaN"), Err(WonError::NotANumber));
        assert_eq!(Won::parse("1e300"), Err(WonError::TooLarge));
        assert_eq!(Won::new(i64::MAX), Err(WonError::TooLarge));
    }
}
