//! Small helpers every floor shares: byte units (written for people, and
//! read from the command line), the kernel's "no limit" and how a limit is
//! held and written, shares written as percentages, saturating sums of
//! numbers read from logs. The ground floor: it imports nothing of the
//! crate.

/// `b` in the largest binary unit (up to PiB) it holds one of: the value
/// and the unit's index (0: bytes, 1: KiB, … 5: PiB).
pub fn scaled(b: u64) -> (f64, usize) {
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < 5 {
        v /= 1024.0;
        u += 1;
    }
    (v, u)
}

/// Human size in binary units, e.g. `572.2 MiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let (v, u) = scaled(b);
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

/// The forms [`parse_size`] accepts, for error messages and `--help`.
pub const SIZE_FORMS: &str = "bytes (4096) or a number with a unit (1MiB, 30M, 0.5GiB): \
K, M, G, T, P, E, Ki…, KiB… are powers of 1024; kB, KB, MB, GB, TB, PB, EB powers of 1000; \
case is ignored";

/// Why a size was refused by [`parse_size`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// No number where one should start (empty, a sign, junk).
    NotANumber,
    /// A unit that is not one of [`SIZE_FORMS`].
    UnknownUnit(String),
    /// A fraction of a byte: a decimal without a unit (`1.5`, `0.5B`).
    FractionalByte,
    /// More decimals than can be computed exactly (18).
    TooManyDecimals,
    /// More than `u64::MAX` bytes (16 EiB − 1).
    TooLarge,
}

impl std::fmt::Display for SizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeError::NotANumber => write!(f, "not a size"),
            SizeError::UnknownUnit(u) => write!(f, "unknown unit {u:?}"),
            SizeError::FractionalByte => write!(f, "a fraction of a byte (a decimal needs a unit)"),
            SizeError::TooManyDecimals => write!(f, "more than 18 decimals"),
            SizeError::TooLarge => write!(f, "more than {} bytes (16 EiB)", u64::MAX),
        }
    }
}

impl std::error::Error for SizeError {}

/// The multiplier of a size unit, case ignored: binary for the kernel's
/// own letters (`memparse`: K, M, G…), for IEC (KiB…) and Kubernetes (Ki…)
/// spellings; decimal for kB, MB, GB…, as GNU coreutils read them
/// (`dd bs=1KB` is 1000 bytes, `1K` 1024).
fn unit_multiplier(unit: &str) -> Option<u128> {
    let u = unit.to_ascii_lowercase();
    let (letter, rest) = match u.as_bytes() {
        [] | [b'b'] => return Some(1),
        [l, rest @ ..] => (*l, rest),
    };
    let power = b"kmgtpe".iter().position(|&c| c == letter)? as u32 + 1;
    match rest {
        b"" | b"i" | b"ib" => Some(1u128 << (10 * power)),
        b"b" => Some(1000u128.pow(power)),
        _ => None,
    }
}

/// A size as people write it on a command line: `4096`, `1MiB`, `30M`,
/// `0.5GiB`, `64 KiB` (see [`SIZE_FORMS`]). A decimal is rounded down to a
/// whole byte; nothing outside `0..=u64::MAX` is accepted.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let s = text.trim();
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(SizeError::NotANumber);
    }
    let unit = unit.trim_start();
    let mult = unit_multiplier(unit).ok_or_else(|| SizeError::UnknownUnit(unit.to_owned()))?;
    let digits = |d: &str| {
        d.bytes()
            .try_fold(0u128, |n, b| n.checked_mul(10)?.checked_add(u128::from(b - b'0')))
    };
    let whole = digits(int)
        .and_then(|n| n.checked_mul(mult))
        .ok_or(SizeError::TooLarge)?;
    let frac = frac.trim_end_matches('0');
    if frac.len() > 18 {
        return Err(SizeError::TooManyDecimals);
    }
    // Below 10^18 × 2^60: exact in u128.
    let part = digits(frac).unwrap_or(0) * mult / 10u128.pow(frac.len() as u32);
    if mult == 1 && !frac.is_empty() {
        return Err(SizeError::FractionalByte);
    }
    u64::try_from(whole + part).map_err(|_| SizeError::TooLarge)
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

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("0MiB"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("30M"), Ok(30 << 20));
        assert_eq!(parse_size("30Mi"), Ok(30 << 20), "Kubernetes' spelling");
        assert_eq!(parse_size("0.5GiB"), Ok(1 << 29));
        assert_eq!(parse_size(".5G"), Ok(1 << 29));
        assert_eq!(parse_size("2."), Ok(2));
        assert_eq!(parse_size("1.0"), Ok(1), "a whole number of bytes");
        assert_eq!(parse_size(" 64 KiB "), Ok(64 << 10), "as human_bytes writes it");
        assert_eq!(parse_size("30.0 MiB"), Ok(30 << 20));
        assert_eq!(parse_size("007k"), Ok(7 << 10));
    }

    #[test]
    fn size_units_ignore_case_and_kb_is_a_thousand() {
        assert_eq!(parse_size("1mib"), Ok(1 << 20));
        assert_eq!(parse_size("1MIB"), Ok(1 << 20));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1kb"), Ok(1000));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("1PB"), Ok(1_000_000_000_000_000));
        assert_eq!(parse_size("1e"), Ok(1 << 60));
    }

    #[test]
    fn size_decimals_round_down_to_a_byte() {
        // 0.3 MiB is 314572.8 bytes.
        assert_eq!(parse_size("0.3MiB"), Ok(314_572));
        assert_eq!(parse_size("1.5kB"), Ok(1500));
        assert_eq!(parse_size("0.0001KiB"), Ok(0));
        assert_eq!(parse_size("1.5"), Err(SizeError::FractionalByte));
        assert_eq!(parse_size("0.5B"), Err(SizeError::FractionalByte));
        assert_eq!(
            parse_size("1.000000000000000000000000"),
            Ok(1),
            "zeros are not decimals"
        );
        assert_eq!(parse_size("0.1234567890123456789GiB"), Err(SizeError::TooManyDecimals));
        // 18 decimals of an EiB are still exact.
        assert_eq!(parse_size("0.999999999999999999EiB"), Ok(1_152_921_504_606_846_974));
    }

    #[test]
    fn sizes_past_u64_are_refused() {
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size("18446744073709551616"), Err(SizeError::TooLarge));
        // 15 × 2^60 + ⌊0.99 × 2^60⌋, computed apart (Python, exact integers).
        assert_eq!(parse_size("15.99EiB"), Ok(18_435_214_858_663_483_146));
        assert_eq!(parse_size("16EiB"), Err(SizeError::TooLarge));
        assert_eq!(parse_size("16E"), Err(SizeError::TooLarge));
        assert_eq!(
            parse_size("18446744073709551616000000000000000000000"),
            Err(SizeError::TooLarge)
        );
        assert_eq!(parse_size(&"9".repeat(100)), Err(SizeError::TooLarge));
        assert_eq!(parse_size("99999999999999999999EB"), Err(SizeError::TooLarge));
    }

    #[test]
    fn junk_is_not_a_size() {
        for junk in ["", " ", ".", "..", "1.2.3", "-1", "+1", "MiB", "0x10", "1_000"] {
            assert!(parse_size(junk).is_err(), "{junk:?}");
        }
        assert_eq!(parse_size("-1"), Err(SizeError::NotANumber));
        assert_eq!(parse_size("1e6"), Err(SizeError::UnknownUnit("e6".into())));
        assert_eq!(parse_size("1 MiB/s"), Err(SizeError::UnknownUnit("MiB/s".into())));
        assert_eq!(parse_size("1Mbit"), Err(SizeError::UnknownUnit("Mbit".into())));
        assert_eq!(parse_size("1bb"), Err(SizeError::UnknownUnit("bb".into())));
        assert_eq!(parse_size("1µB"), Err(SizeError::UnknownUnit("µB".into())));
        assert_eq!(parse_size("1ZiB"), Err(SizeError::UnknownUnit("ZiB".into())));
        assert_eq!(
            SizeError::UnknownUnit("x\u{1b}".into()).to_string(),
            "unknown unit \"x\\u{1b}\"",
            "quoted, control characters escaped"
        );
    }
}
