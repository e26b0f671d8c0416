//! Small helpers every floor shares: byte units (written for people, and
//! read from the command line), the kernel's "unlimited", shares written as
//! percentages, saturating sums of numbers read from logs. The ground
//! floor: it imports nothing of the crate.

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
