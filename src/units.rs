//! Small helpers every floor shares: byte units, the kernel's "no limit"
//! and how a limit is held and written, shares written as percentages,
//! saturating sums of numbers read from logs. The ground floor: it imports
//! nothing of the crate.

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

/// Limits at or above this are no limit: 2^53 bytes (8 PiB). Every 64-bit
/// kernel's "no limit" is far above it (2^63 − 2^18 at the least, below),
/// no machine's memory reaches it (52-bit physical addresses are 4 PiB on
/// x86-64 and arm64), and it is where JSON consumers, whose numbers are
/// IEEE doubles (JavaScript, jq), stop holding every integer exactly: a
/// limit in the schema is always exact. cAdvisor draws its line at 2^62
/// (`maxMemorySize`); the kernel prints nothing in between.
pub const NO_LIMIT_FLOOR: u64 = 1 << 53;

/// Whether a memory limit in bytes, as cgroupfs or an OOM report gives it,
/// is the kernel's "no limit". Its forms (besides v2's `max`, which is
/// text, read by the callers that read files):
/// - 3.19+, 64-bit: PAGE_COUNTER_MAX = LONG_MAX / PAGE_SIZE pages
///   (`include/linux/page_counter.h`), in bytes LONG_MAX rounded down to
///   the page size: 9223372036854771712 (4K pages; the OOM report's
///   `limit 9007199254740988kB`), …759424 (16K), …710272 (64K), and
///   9223372036854513664 for 256K, the largest page size there is;
/// - 3.12–3.18, res_counter's RES_COUNTER_MAX = ULLONG_MAX:
///   18446744073709551615 (`limit 18014398509481983kB`);
/// - before 3.12, RESOURCE_MAX = LLONG_MAX: 9223372036854775807
///   (`limit 9007199254740991kB`, RHEL 6's 2.6.32);
/// - 3.19+, 32-bit: PAGE_COUNTER_MAX = LONG_MAX pages, (2^31 − 1) ×
///   PAGE_SIZE: 8796093018112 with 4K pages (`limit 8589934588kB`). Below
///   the floor, so these are matched exactly, for pages of 4K to 1M.
pub fn is_unlimited(limit_bytes: u64) -> bool {
    const LONG_MAX_32: u64 = (1 << 31) - 1;
    limit_bytes >= NO_LIMIT_FLOOR || (12..=20).any(|page_shift| limit_bytes == LONG_MAX_32 << page_shift)
}

/// A limit as the schema holds it: `(limit_bytes, unlimited)`, the bytes
/// or, for the kernel's "no limit", `(None, true)`.
pub fn limit(limit_bytes: u64) -> (Option<u64>, bool) {
    if is_unlimited(limit_bytes) {
        (None, true)
    } else {
        (Some(limit_bytes), false)
    }
}

/// A `memory.stat` value as the schema holds it: null for a `*_limit` key
/// (v1's `hierarchical_memory_limit`, `hierarchical_memsw_limit`) at the
/// kernel's "no limit", as every limit; any other value as it is.
pub fn stat_value(key: &str, value: u64) -> Option<u64> {
    (!(key.ends_with("_limit") && is_unlimited(value))).then_some(value)
}

/// A limit for people to read: its size, `no limit`, or `?` when unknown.
/// Every text format writes a limit so.
pub fn limit_text(limit_bytes: Option<u64>, unlimited: bool) -> String {
    match limit_bytes {
        _ if unlimited => "no limit".to_owned(),
        Some(l) => human_bytes(l),
        None => "?".to_owned(),
    }
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

    /// The kernel's "no limit" as cgroupfs files hold it (OOM reports'
    /// counter lines: `kline::memcg`'s test), and real limits beside it.
    #[test]
    fn no_limit_in_every_kernel_form() {
        for (bytes, form) in [
            // memory.limit_in_bytes, 3.19+, 64-bit: corpus/recordings
            // (6.18, `hierarchical_memsw_limit` of memory.stat).
            (9_223_372_036_854_771_712, "4K pages"),
            (9_223_372_036_854_767_616, "8K pages (sparc64, alpha)"),
            (9_223_372_036_854_759_424, "16K pages"),
            (9_223_372_036_854_710_272, "64K pages"),
            (9_223_372_036_854_513_664, "256K pages"),
            // `cat memory.limit_in_bytes` before and after 3.12, as the
            // patch that changed it quotes them (linux-mm, 2013).
            (9_223_372_036_854_775_807, "LLONG_MAX, before 3.12"),
            (18_446_744_073_709_551_615, "ULLONG_MAX, 3.12-3.18"),
            // The OOM report's kB of those, in bytes.
            (9_007_199_254_740_991 << 10, "LLONG_MAX in kB"),
            (18_014_398_509_481_983 << 10, "ULLONG_MAX in kB"),
            // 32-bit: LONG_MAX pages.
            (8_796_093_018_112, "32-bit, 4K pages"),
            (562_949_953_159_168, "32-bit, 256K pages"),
            (NO_LIMIT_FLOOR, "the floor"),
        ] {
            assert!(is_unlimited(bytes), "{form}: {bytes}");
            assert_eq!(limit(bytes), (None, true), "{form}");
        }
        for bytes in [
            0,
            // Seed 002's pod, and a machine-sized 4 PiB.
            209_715_200,
            4 << 50,
            NO_LIMIT_FLOOR - 1,
            // 8 TiB is a limit; 8 TiB − 4 KiB is 32-bit's "no limit".
            8 << 40,
        ] {
            assert!(!is_unlimited(bytes), "{bytes}");
            assert_eq!(limit(bytes), (Some(bytes), false));
        }
        // memory.stat of corpus/recordings (6.18, cgroup v1).
        assert_eq!(stat_value("hierarchical_memsw_limit", 9_223_372_036_854_771_712), None);
        assert_eq!(stat_value("hierarchical_memory_limit", 100_663_296), Some(100_663_296));
        assert_eq!(stat_value("pgfault", NO_LIMIT_FLOOR), Some(NO_LIMIT_FLOOR), "a count");
        assert_eq!(limit_text(None, true), "no limit");
        assert_eq!(limit_text(Some(32 << 20), false), "32.0 MiB");
        assert_eq!(limit_text(None, false), "?");
    }

    #[test]
    fn units_and_shares() {
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(600 << 20), "600.0 MiB");
        assert_eq!(percent(33_382_400, 33_554_432), "99%", "rounded once");
        assert_eq!(percent(5, 4), "100%", "never above 100");
        assert_eq!(percent(1, 0), "?");
        assert_eq!(sat_sum([u64::MAX, 1]), u64::MAX);
    }
}
