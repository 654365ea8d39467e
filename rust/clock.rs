//! Nanosecond clocks. Stamps (`recv_ns`, `sent_ns`) use the wall clock so they compare with
//! exchange timestamps; latencies subtract monotonic readings, which never jump.

/// Wall-clock (CLOCK_REALTIME) nanoseconds since the Unix epoch.
#[inline]
pub fn wall_ns() -> u64 {
    read(libc::CLOCK_REALTIME)
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC), the clock behind Python's `time.monotonic_ns()`,
/// so readings taken on either side can be subtracted.
#[inline]
pub fn mono_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC)
}

#[inline]
fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into `ts`, which we own; both clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_matches_system_time() {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let ours = wall_ns();
        assert!(ours.abs_diff(sys) < 1_000_000_000, "{ours} vs {sys}");
    }

    #[test]
    fn monotonic_never_goes_back() {
        let mut last = mono_ns();
        for _ in 0..1000 {
            let now = mono_ns();
            assert!(now >= last);
            last = now;
        }
    }
}
