//! Coarse deadlines for the timers of a run's hot path.
//!
//! A tokio timer whose deadline is earlier than the one the runtime last parked
//! for wakes the runtime's driver (an `eventfd` write, then an `epoll_wait` that
//! returns at once) even when the runtime is not parked. A run starts a timer a
//! task (how long its streams may stay open) and one for the records its journal
//! keeps for later: with exact deadlines each was such a wake, 743 on the
//! 1,000-task fan-out. Rounded up to a common grid, the timers of one stretch of
//! [`GRID`] share a deadline, and only the first of them wakes the driver.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The grid deadlines are rounded up to.
pub(crate) const GRID: Duration = Duration::from_millis(10);

/// `deadline`, rounded up to the grid (so at most [`GRID`] later).
pub(crate) fn coarse(deadline: Instant) -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let Some(since) = deadline.checked_duration_since(origin) else {
        return deadline;
    };
    let grid = GRID.as_nanos();
    let steps = since.as_nanos().div_ceil(grid);
    let rounded = u64::try_from(steps * grid).map_or(since, Duration::from_nanos);
    origin + rounded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_rounded_up_to_a_shared_grid() {
        let now = Instant::now();
        let a = coarse(now + Duration::from_millis(20));
        let b = coarse(now + Duration::from_millis(20) + Duration::from_micros(300));
        assert!(a >= now + Duration::from_millis(20) && a <= now + Duration::from_millis(20) + GRID);
        assert!(b >= now + Duration::from_millis(20) + Duration::from_micros(300));
        assert_eq!(coarse(a), a, "a deadline on the grid stays");
        // Two deadlines within one stretch of the grid share it, mostly: when the
        // first is on the grid's line the second is on the next.
        assert!(b == a || b == a + GRID, "{:?}", b.duration_since(a));
    }
}
