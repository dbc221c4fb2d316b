//! Small helpers: wall-clock time, random ids, JSON error bodies.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, read from the system clock.
pub(crate) fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A random 64-bit value. Not cryptographic; good enough for ids and nonces.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// A version-4-shaped UUID, as Lambda uses for request ids.
pub(crate) fn request_id() -> String {
    let a = random_u64();
    let b = random_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header, `Root=1-<epoch secs>-<96 bits>;Parent=<64 bits>;Sampled=0`.
pub(crate) fn trace_id(now_ms: u64) -> String {
    format!(
        "Root=1-{:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
        now_ms / 1000,
        random_u64() & 0xffff_ffff,
        random_u64(),
        random_u64()
    )
}

/// A CloudWatch-style log stream name, `YYYY/MM/DD/[$LATEST]<32 hex>`.
pub(crate) fn log_stream_name(now_ms: u64, version: &str) -> String {
    let (y, m, d) = civil_from_days(now_ms / 86_400_000);
    format!(
        "{y:04}/{m:02}/{d:02}/[{version}]{:016x}{:016x}",
        random_u64(),
        random_u64()
    )
}

/// An ISO 8601 UTC timestamp with milliseconds, `2025-03-01T10:00:00.123Z`.
pub(crate) fn iso8601(ms: u64) -> String {
    let (y, m, d) = civil_from_days(ms / 86_400_000);
    let in_day = ms % 86_400_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// API Gateway's request time (common log format, UTC), `29/Feb/2024:12:00:00 +0000`.
pub(crate) fn clf_time(ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(ms / 86_400_000);
    let in_day = ms % 86_400_000;
    let month = usize::try_from(m.saturating_sub(1)).unwrap_or(0).min(11);
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[month],
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// `{"errorMessage":"...","errorType":"..."}`, the body shape the RIE uses for its errors.
pub(crate) fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    let value = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Invoker-facing error body in Lambda's order: `{"errorType":"...","errorMessage":"..."}`.
pub(crate) fn invoke_error_body(error_type: &str, message: &str) -> Vec<u8> {
    let value = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    serde_json::to_vec(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(iso8601(1_709_208_000_123), "2024-02-29T12:00:00.123Z");
        assert_eq!(clf_time(1_709_208_000_123), "29/Feb/2024:12:00:00 +0000");
    }

    #[test]
    fn ids_have_the_lambda_shape() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(request_id(), request_id());
        let trace = trace_id(1_700_000_000_000);
        assert!(trace.starts_with("Root=1-6553f100-"), "{trace}");
        assert!(trace.ends_with(";Sampled=0"));
    }
}
