//! Lock-free rate limiting: one GCRA cell per limit, on atomics, shareable across threads.
//!
//! A cell stores its theoretical arrival time (TAT) in ns. Taking `n` units moves the TAT
//! to `max(tat, now) + n * interval`; the take is refused when that would put the TAT more
//! than the cell's tolerance ahead of `now`. One compare-and-swap per cell, no lock.
//!
//! A request that needs several cells (Binance: orders per 10 s, orders per day, request
//! weight) takes them in order and, if one refuses, gives back what it took from the
//! others: giving back subtracts exactly what was added, so a refused request never eats
//! budget it did not use, and concurrent requests can only see less budget, never more.

use std::sync::atomic::{AtomicU64, Ordering};

/// The largest capacity (burst × interval) of a cell, in ns: far beyond any clock reading.
const MAX_CAPACITY_NS: u64 = 1 << 62;

/// One limit: at most `burst` units at once, refilled at one unit per `interval_ns`.
#[derive(Debug)]
pub struct Cell {
    tat: AtomicU64,
    interval_ns: u64,
    /// How far ahead of now the TAT may run: `burst * interval_ns`.
    capacity_ns: u64,
}

impl Cell {
    /// A leaky bucket: `burst` units at once, refilled at `refill_per_s` units per second
    /// (Kraken's decaying trading counter: threshold 180, decay 3.75/s).
    pub fn leaky_bucket(burst: u32, refill_per_s: f64) -> Cell {
        let interval_ns = (1e9 / refill_per_s).ceil().max(1.0) as u64;
        Cell::new(interval_ns, burst)
    }

    /// Never more than `limit` units in any interval of `period_ns`, so never over a venue's
    /// fixed-window limit however its windows align. `burst` of them may go at once
    /// (`0 < burst < limit`); the rest are spread at `(limit - burst)` per period.
    pub fn window(limit: u32, period_ns: u64, burst: u32) -> Cell {
        let burst = burst.clamp(1, limit.saturating_sub(1).max(1));
        let spread = u64::from(limit.saturating_sub(burst).max(1));
        Cell::new(period_ns.div_ceil(spread), burst)
    }

    /// Intervals are kept to at most `2^62 / burst` ns (146 years for a burst of 1), so the
    /// capacity and `now + capacity` never saturate: a rate slower than that is that rate
    /// rather than a cell whose arithmetic pins at `u64::MAX` and then grants everything.
    pub fn new(interval_ns: u64, burst: u32) -> Cell {
        let burst = burst.max(1);
        let interval_ns = interval_ns.clamp(1, MAX_CAPACITY_NS / u64::from(burst));
        Cell {
            tat: AtomicU64::new(0),
            interval_ns,
            capacity_ns: interval_ns * u64::from(burst),
        }
    }

    /// Takes `units` at `now_ns`, or returns how long to wait until they would fit.
    pub fn try_take(&self, units: u32, now_ns: u64) -> Result<(), u64> {
        let cost = self.interval_ns.saturating_mul(u64::from(units));
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let new_tat = tat.max(now_ns).saturating_add(cost);
            let limit = now_ns.saturating_add(self.capacity_ns);
            if new_tat > limit {
                return Err(new_tat - limit);
            }
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }

    /// Returns `units` taken by a request that was refused elsewhere.
    pub fn give_back(&self, units: u32) {
        let cost = self.interval_ns.saturating_mul(u64::from(units));
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                Some(tat.saturating_sub(cost))
            });
    }

    /// Aligns the cell with the venue's own count: `used` units already spent in a
    /// window that ends `window_left_ns` from now. Only ever tightens the cell (the venue
    /// may know of requests from other processes sharing the key).
    pub fn resync(&self, used: u32, now_ns: u64) {
        let spent = now_ns.saturating_add(self.interval_ns.saturating_mul(u64::from(used)));
        let _ = self.tat.fetch_max(spent, Ordering::AcqRel);
    }

    /// Units that could be taken at `now_ns`.
    pub fn available(&self, now_ns: u64) -> u64 {
        let tat = self.tat.load(Ordering::Acquire).max(now_ns);
        // Saturating where `now` itself is near u64::MAX (never a real clock reading).
        now_ns.saturating_add(self.capacity_ns).saturating_sub(tat) / self.interval_ns
    }

    /// Empties the cell's budget until `until_ns` (a venue's `Retry-After`).
    pub fn block_until(&self, until_ns: u64) {
        let _ = self
            .tat
            .fetch_max(until_ns.saturating_add(self.capacity_ns), Ordering::AcqRel);
    }
}

/// A set of cells that requests take from together.
#[derive(Debug)]
pub struct Limiter {
    cells: Vec<Cell>,
}

impl Limiter {
    pub fn new(cells: Vec<Cell>) -> Limiter {
        Limiter { cells }
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// Takes `(cell index, units)` from every listed cell, or none of them. On refusal
    /// returns the longest wait any refusing cell asked for. Panics on a bad index.
    pub fn try_acquire(&self, costs: &[(usize, u32)], now_ns: u64) -> Result<(), u64> {
        for (taken, &(cell, units)) in costs.iter().enumerate() {
            if let Err(wait) = self.cells[cell].try_take(units, now_ns) {
                for &(done, done_units) in &costs[..taken] {
                    self.cells[done].give_back(done_units);
                }
                return Err(wait);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn leaky_bucket_allows_the_burst_then_the_refill_rate() {
        let cell = Cell::leaky_bucket(10, 5.0); // 10 at once, then one per 200 ms
        let t0 = 1_000 * SECOND;
        for _ in 0..10 {
            assert!(cell.try_take(1, t0).is_ok());
        }
        let wait = cell.try_take(1, t0).unwrap_err();
        assert_eq!(wait, SECOND / 5);
        assert!(cell.try_take(1, t0 + SECOND / 5).is_ok());
        assert!(cell.try_take(1, t0 + SECOND / 5).is_err());
        assert_eq!(cell.available(t0 + 2 * SECOND), 9);
    }

    #[test]
    fn extreme_rates_still_limit() {
        // RateLimiter accepts any finite positive rate: 1e-300/s is an interval far past
        // u64::MAX ns. It is held to the longest interval, so the cell still refuses the
        // fourth unit of a burst of 3 (an interval pinned at u64::MAX would grant every take).
        let glacial = Cell::leaky_bucket(3, 1e-300);
        assert_eq!(glacial.available(SECOND), 3);
        for _ in 0..3 {
            assert!(glacial.try_take(1, SECOND).is_ok());
        }
        assert!(glacial.try_take(1, SECOND).is_err());
        assert_eq!(glacial.available(SECOND), 0);
        // The fastest rates and the largest windows neither overflow nor stop limiting.
        let instant = Cell::leaky_bucket(u32::MAX, f64::MAX);
        assert_eq!(instant.available(0), u64::from(u32::MAX));
        let window = Cell::window(u32::MAX, u64::MAX, u32::MAX);
        assert_eq!(window.available(0), u64::from(u32::MAX - 1));
        assert!(window.try_take(u32::MAX - 1, 0).is_ok());
        assert!(window.try_take(1, 0).is_err());
        for now in [0, u64::MAX / 2, u64::MAX] {
            assert!(window.available(now) < u64::from(u32::MAX));
        }
    }

    #[test]
    fn window_cell_never_exceeds_the_limit_in_any_window() {
        // 50 per 10 s with bursts of 25: greedy taking for 60 s, then check every window.
        let period = 10 * SECOND;
        let cell = Cell::window(50, period, 25);
        let mut granted = Vec::new();
        let mut now = 0;
        while now < 60 * SECOND {
            if cell.try_take(1, now).is_ok() {
                granted.push(now);
            } else {
                now += SECOND / 100;
            }
        }
        for (i, &start) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|&&t| t < start + period)
                .count();
            assert!(
                in_window <= 50,
                "{in_window} grants in the window from {start}"
            );
        }
        // 25 at once, then (50 - 25) per 10 s: 25 + 6 * 25 over the minute.
        assert!(
            granted.len() >= 170,
            "throughput collapsed: {}",
            granted.len()
        );
    }

    #[test]
    fn multi_cell_refusal_gives_back_what_it_took() {
        let limiter = Limiter::new(vec![
            Cell::leaky_bucket(100, 1.0),
            Cell::leaky_bucket(2, 1.0),
        ]);
        let now = 50 * SECOND;
        assert!(limiter.try_acquire(&[(0, 1), (1, 1)], now).is_ok());
        assert!(limiter.try_acquire(&[(0, 1), (1, 1)], now).is_ok());
        for _ in 0..20 {
            assert!(limiter.try_acquire(&[(0, 1), (1, 1)], now).is_err());
        }
        // the refusals did not eat cell 0's budget
        assert_eq!(limiter.cells()[0].available(now), 98);
    }

    #[test]
    fn resync_and_block_only_tighten() {
        let cell = Cell::leaky_bucket(10, 1.0);
        let now = 10 * SECOND;
        cell.resync(7, now);
        assert_eq!(cell.available(now), 3);
        cell.resync(2, now); // the venue saw fewer: keep our stricter count
        assert_eq!(cell.available(now), 3);
        cell.block_until(now + 5 * SECOND);
        assert_eq!(cell.available(now + 4 * SECOND), 0);
        assert_eq!(cell.available(now + 6 * SECOND), 1);
    }

    #[test]
    fn threads_hammering_one_limiter_never_overshoot() {
        // Time stands still, so exactly the burst can be granted, however many threads race.
        let limiter = Arc::new(Limiter::new(vec![
            Cell::leaky_bucket(1000, 1.0),
            Cell::window(300, 10 * SECOND, 150),
        ]));
        let granted = Arc::new(AtomicU32::new(0));
        let now = 77 * SECOND;
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                let granted = Arc::clone(&granted);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if limiter.try_acquire(&[(0, 1), (1, 1)], now).is_ok() {
                            granted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(granted.load(Ordering::Relaxed), 150);
        assert_eq!(limiter.cells()[0].available(now), 1000 - 150);
    }
}
