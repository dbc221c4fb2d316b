//! Wall-clock time as the Runtime API speaks it: Unix-epoch milliseconds.
//!
//! `Lambda-Runtime-Deadline-Ms` is wall-clock time, so the core does not pretend it is a monotonic
//! instant. The core never reads a clock: every `handle_*` call takes `now` as an argument.

use core::fmt;

/// Milliseconds since the Unix epoch (1970-01-01T00:00:00Z); serialised as a plain number.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct EpochMillis(pub u64);

impl EpochMillis {
    /// The epoch itself; tests start their virtual clock here.
    pub const ZERO: Self = Self(0);

    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating at `u64::MAX` (absurd deadlines must not overflow).
    #[must_use]
    pub const fn saturating_add(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// `self - ms`, saturating at the epoch.
    #[must_use]
    pub const fn saturating_sub(self, ms: u64) -> Self {
        Self(self.0.saturating_sub(ms))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn duration_since(self, earlier: Self) -> core::time::Duration {
        core::time::Duration::from_millis(self.millis_since(earlier))
    }

    /// Milliseconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn millis_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// This instant as an RFC 3339 UTC time with milliseconds, `2026-12-01T22:32:11.053Z`, for
    /// messages people read.
    pub const fn utc(self) -> Utc {
        Utc(self)
    }

    /// The current wall-clock time (reads the system clock, so only the adapters call it).
    #[cfg(feature = "std")]
    pub fn now() -> Self {
        Self::from(std::time::SystemTime::now())
    }
}

#[cfg(feature = "std")]
impl From<std::time::SystemTime> for EpochMillis {
    /// Times before the epoch map to [`EpochMillis::ZERO`].
    fn from(t: std::time::SystemTime) -> Self {
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self(ms)
    }
}

#[cfg(feature = "std")]
impl From<EpochMillis> for std::time::SystemTime {
    fn from(t: EpochMillis) -> Self {
        std::time::UNIX_EPOCH + core::time::Duration::from_millis(t.0)
    }
}

impl fmt::Display for EpochMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// An [`EpochMillis`] shown as an RFC 3339 UTC time with milliseconds (see
/// [`EpochMillis::utc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utc(pub EpochMillis);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.0;
        let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (h, m, s, milli) = (
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1_000 % 60,
            rem % 1_000,
        );
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z"
        )
    }
}

/// The proleptic Gregorian (year, month, day) of `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
const fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// The instant by which an invocation must have been answered (`Lambda-Runtime-Deadline-Ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(pub EpochMillis);

impl Deadline {
    /// The deadline as epoch milliseconds.
    pub const fn at(self) -> EpochMillis {
        self.0
    }

    /// Milliseconds left until the deadline, 0 once it has passed.
    pub const fn remaining(self, now: EpochMillis) -> u64 {
        self.0.millis_since(now)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_times_read_as_rfc_3339() {
        // Computed independently with Python's datetime.
        for (ms, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_700_000_003_000, "2023-11-14T22:13:23.000Z"),
            (1_796_164_331_053, "2026-12-01T22:32:11.053Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(std::format!("{}", EpochMillis(ms).utc()), text);
        }
    }

    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            EpochMillis(u64::MAX).saturating_add(5),
            EpochMillis(u64::MAX)
        );
        assert_eq!(EpochMillis::ZERO.saturating_sub(5), EpochMillis::ZERO);
        assert_eq!(EpochMillis(10).millis_since(EpochMillis(20)), 0);
        assert_eq!(
            Deadline(EpochMillis(1_000)).remaining(EpochMillis(400)),
            600
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn system_time_round_trip() {
        let t = EpochMillis(1_542_409_706_888);
        assert_eq!(EpochMillis::from(std::time::SystemTime::from(t)), t);
    }
}
