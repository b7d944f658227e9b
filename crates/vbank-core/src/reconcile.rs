//! When the reconciler asks the PG about an account that awaits its deposit: first
//! one interval after issue, then at doubling gaps capped at an hour, and once more
//! just after the due time (a deposit notification may have been lost on the last day).

use crate::UnixSeconds;

/// The longest gap between two checks.
pub const MAX_GAP: i64 = 3600;

/// The time of check number `step` (0-based) for an account issued at `issued_at`
/// and due at `due`, or `None` when no check is left.
pub fn check_time(issued_at: UnixSeconds, due: UnixSeconds, step: u32, interval: i64) -> Option<UnixSeconds> {
    let interval = interval.max(1);
    let mut at = issued_at;
    for index in 0..=step {
        let gap = interval.saturating_mul(1i64 << index.min(40)).min(MAX_GAP);
        at = at.saturating_add(gap);
        if at > due {
            // The last check, once, just after the due time.
            return (index == step).then_some(due + 1);
        }
    }
    Some(at)
}

/// The next check after check number `done_step`, skipping checks whose time has
/// passed by `now`: the time and its step, or `None` when no check is left.
pub fn next_check(
    issued_at: UnixSeconds,
    due: UnixSeconds,
    done_step: u32,
    interval: i64,
    now: UnixSeconds,
) -> (Option<UnixSeconds>, u32) {
    let mut step = done_step + 1;
    loop {
        match check_time(issued_at, due, step, interval) {
            Some(at) if at <= now => step += 1,
            other => return (other, step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_interval_and_caps_at_an_hour() {
        let due = 1_000_000;
        let times: Vec<_> = (0..8).map(|step| check_time(0, due, step, 60)).collect();
        assert_eq!(
            times,
            vec![
                Some(60),
                Some(180),
                Some(420),
                Some(900),
                Some(1860),
                Some(3780),
                Some(7380),
                Some(10980)
            ]
        );
    }

    #[test]
    fn next_check_skips_the_checks_a_late_pass_missed() {
        assert_eq!(next_check(0, 1_000_000, 0, 60, 100), (Some(180), 1));
        assert_eq!(next_check(0, 1_000_000, 0, 60, 1000), (Some(1860), 4));
        assert_eq!(next_check(0, 100, 0, 10, 5000), (None, 4));
    }

    #[test]
    fn checks_once_more_just_after_the_due_time_and_then_stops() {
        // Checks at 10, 30, 70; the next (150) is past the due 100: check at 101, then none.
        assert_eq!(check_time(0, 100, 2, 10), Some(70));
        assert_eq!(check_time(0, 100, 3, 10), Some(101));
        assert_eq!(check_time(0, 100, 4, 10), None);
        assert_eq!(check_time(0, 100, 40, 10), None);
    }
}
