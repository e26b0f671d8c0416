//! Small helpers every floor shares: byte units, the kernel's "unlimited",
//! shares written as percentages, saturating sums of numbers read from
//! logs. The ground floor: it imports nothing of the crate.

/// Human size in binary units, e.g. `572.2 MiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The kernel's way of saying "no limit" (PAGE_COUNTER_MAX pages in kB).
pub fn is_unlimited(limit_bytes: u64) -> bool {
    limit_bytes >= (1u64 << 62)
}

/// `part` as a percentage of `whole`, rounded once and never above 100 %
/// (`?` of nothing): how every output writes a share, so a summary and a
/// chart of the same numbers agree.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "?".to_owned();
    }
    format!("{:.0}%", part.min(whole) as f64 * 100.0 / whole as f64)
}

/// Σ of numbers read from a log, saturating: hostile input may not
/// overflow (a panic in debug builds, a wrong total in release ones).
pub fn sat_sum(it: impl IntoIterator<Item = u64>) -> u64 {
    it.into_iter().fold(0, u64::saturating_add)
}

/// `n` and a noun, in the plural unless `n` is 1: `1 file`, `2 files`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_the_plural_but_one() {
        assert_eq!(count(1u64, "file"), "1 file");
        assert_eq!(count(0u64, "cgroup"), "0 cgroups");
        assert_eq!(count(2u64, "malformed line"), "2 malformed lines");
    }

    #[test]
    fn units_and_shares() {
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(600 << 20), "600.0 MiB");
        assert!(is_unlimited(9_223_372_036_854_771_712) && !is_unlimited(1 << 40));
        assert_eq!(percent(33_382_400, 33_554_432), "99%", "rounded once");
        assert_eq!(percent(5, 4), "100%", "never above 100");
        assert_eq!(percent(1, 0), "?");
        assert_eq!(sat_sum([u64::MAX, 1]), u64::MAX);
    }
}
