//! Time on the wire is UNIX seconds, as i'mport does; 0 means "never".

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// Seconds since the UNIX epoch.
pub type UnixSeconds = i64;

/// Korea Standard Time: every PG date and time string is KST wall-clock time.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

/// The KST wall-clock time of a UNIX second, for PG fields such as `YYYYMMDDhhmmss`.
pub fn to_kst(seconds: UnixSeconds) -> DateTime<FixedOffset> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .unwrap_or_default()
        .with_timezone(&kst())
}

/// Where "now" comes from. The server reads the system clock; tests and the
/// simulation move time by hand.
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixSeconds;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixSeconds {
        Utc::now().timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kst_is_nine_hours_ahead_of_utc() {
        // 2025-01-01 03:00:00 UTC is noon in Seoul.
        assert_eq!(
            to_kst(1_735_700_400).format("%Y%m%d%H%M%S").to_string(),
            "20250101120000"
        );
    }
}
