//! Number helpers shared by the line parsers: nom parsers for the integers
//! the kernel prints, with overflow treated as a parse failure (input is
//! untrusted), and kB/KB to bytes conversion.

use nom::bytes::complete::tag;
use nom::character::complete::{digit1, space0};
use nom::combinator::{map_opt, opt, recognize};
use nom::sequence::pair;
use nom::IResult;

/// An unsigned decimal that fits in u64.
pub fn u64_dec(i: &str) -> IResult<&str, u64> {
    map_opt(digit1, |d: &str| d.parse::<u64>().ok())(i)
}

/// An unsigned decimal that fits in u32.
pub fn u32_dec(i: &str) -> IResult<&str, u32> {
    map_opt(digit1, |d: &str| d.parse::<u32>().ok())(i)
}

/// A signed decimal that fits in i64.
pub fn i64_dec(i: &str) -> IResult<&str, i64> {
    map_opt(recognize(pair(opt(tag("-")), digit1)), |d: &str| d.parse::<i64>().ok())(i)
}

/// A signed decimal that fits in i32.
pub fn i32_dec(i: &str) -> IResult<&str, i32> {
    map_opt(recognize(pair(opt(tag("-")), digit1)), |d: &str| d.parse::<i32>().ok())(i)
}

/// `NkB` or `NKB` as bytes (the kernel's kB are KiB).
pub fn kb_bytes(i: &str) -> IResult<&str, u64> {
    let (i, n) = u64_dec(i)?;
    let (i, _) = nom::branch::alt((tag("kB"), tag("KB")))(i)?;
    match n.checked_mul(1024) {
        Some(b) => Ok((i, b)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::TooLarge,
        ))),
    }
}

/// Skip spaces, then the separator, then spaces.
pub fn sep<'a>(s: &'static str) -> impl FnMut(&'a str) -> IResult<&'a str, ()> {
    move |i| {
        let (i, _) = space0(i)?;
        let (i, _) = tag(s)(i)?;
        let (i, _) = space0(i)?;
        Ok((i, ()))
    }
}

/// Parse a whole string as `T` with a nom parser that must consume it all.
pub fn all<'a, T>(mut p: impl FnMut(&'a str) -> IResult<&'a str, T>, i: &'a str) -> Option<T> {
    match p(i) {
        Ok(("", v)) => Some(v),
        _ => None,
    }
}

/// Bytes from pages, saturating (page counts are untrusted).
pub fn pages_to_bytes(pages: u64, page_size: u64) -> u64 {
    pages.saturating_mul(page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(u64_dec("123x"), Ok(("x", 123)));
        assert!(u64_dec("99999999999999999999999").is_err());
        assert_eq!(i32_dec("-998 "), Ok((" ", -998)));
        assert_eq!(kb_bytes("585936kB,"), Ok((",", 585936 * 1024)));
        assert_eq!(kb_bytes("12KB"), Ok(("", 12288)));
        assert!(kb_bytes("18446744073709551615kB").is_err());
        assert_eq!(all(u64_dec, "42"), Some(42));
        assert_eq!(all(u64_dec, "42 "), None);
    }
}
