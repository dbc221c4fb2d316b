//! Lambda's bandwidth cap on streamed responses ([`crate::Options::stream_bandwidth`]): the
//! first 6 MiB uncapped, then at most 2 MiB/s (the RIE's defaults: a 6 MiB burst at a 2 MiB/s
//! rate). Pure arithmetic on elapsed time, so it is tested with a virtual clock.

use std::time::Duration;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Throttle {
    /// Bytes let through uncapped.
    burst: u64,
    /// Bytes per second after the burst.
    rate: u64,
    /// When the burst was used up (since the stream began).
    over_since: Option<Duration>,
}

impl Throttle {
    /// Lambda's cap: 6 MiB uncapped, then 2 MiB/s.
    pub(crate) fn lambda() -> Self {
        Throttle::new(6 * MIB, 2 * MIB)
    }

    pub(crate) fn new(burst: u64, rate: u64) -> Self {
        Throttle {
            burst,
            rate: rate.max(1),
            over_since: None,
        }
    }

    /// `total` bytes arrived by `now` (since the stream began): how long to wait before
    /// reading more, so that the bytes past the burst flow at no more than the rate.
    pub(crate) fn wait(&mut self, total: u64, now: Duration) -> Duration {
        if total <= self.burst {
            return Duration::ZERO;
        }
        let since = *self.over_since.get_or_insert(now);
        let excess = total - self.burst;
        let due = since + Duration::from_secs_f64(excess as f64 / self.rate as f64);
        due.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_six_mib_are_uncapped() {
        let mut throttle = Throttle::lambda();
        assert_eq!(throttle.wait(MIB, ms(0)), Duration::ZERO);
        assert_eq!(throttle.wait(6 * MIB, ms(1)), Duration::ZERO);
    }

    #[test]
    fn past_the_burst_two_mib_per_second() {
        let mut throttle = Throttle::lambda();
        assert_eq!(throttle.wait(6 * MIB, ms(0)), Duration::ZERO);
        // 2 MiB past the burst, arriving at once: wait a second.
        assert_eq!(throttle.wait(8 * MIB, ms(100)), ms(1000));
        // Read again after that second: the next 1 MiB is due half a second later.
        assert_eq!(throttle.wait(9 * MIB, ms(1100)), ms(500));
        // A slow producer is never held back.
        assert_eq!(throttle.wait(10 * MIB, ms(5000)), Duration::ZERO);
    }

    #[test]
    fn n_mib_past_the_burst_take_n_halves_of_a_second() {
        // Simulate a reader that sleeps as told, 64 KiB chunks, a virtual clock.
        for n in [1u64, 4, 10] {
            let mut throttle = Throttle::lambda();
            let mut now = Duration::ZERO;
            let mut total = 0;
            while total < 6 * MIB + n * MIB {
                total += 64 * 1024;
                now += throttle.wait(total, now);
            }
            let expected = Duration::from_secs_f64(n as f64 / 2.0);
            assert!(now >= expected, "{n} MiB: {now:?}");
            assert!(now < expected + ms(50), "{n} MiB: {now:?}");
        }
    }

    #[test]
    fn a_chunk_straddling_the_burst_waits_for_its_excess_only() {
        let mut throttle = Throttle::new(100, 10);
        assert_eq!(throttle.wait(90, ms(0)), Duration::ZERO);
        assert_eq!(throttle.wait(115, ms(10)), ms(1500));
        let mut zero_rate = Throttle::new(0, 0);
        assert_eq!(zero_rate.wait(1, ms(0)), ms(1000));
    }
}
