//! Which episodes `analyze` prints: a window of wall time (`--since`,
//! `--until`, in journalctl's forms) and `--match KEY=GLOB` filters, ANDed.
//! Pure: "now" comes in as a value from the command line, so the same
//! flags and input always keep the same episodes. The emitter asks
//! [`Filter::verdict`] of every episode after de-duplication, before the
//! sink; the episode itself is never changed.
//!
//! Times without a zone, in the log and in the flags, are compared as
//! written (a log's local clock is not known); a wall clock that states its
//! offset (`Z`, `+02:00`) and `@EPOCH` are taken in UTC, as are `now`,
//! `today` and the other times relative to now.

use crate::model::{Episode, Scope};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use std::fmt;

/// A `--match` key: the episode field its glob is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The memcg whose limit was hit, or the victim's memcg.
    Cgroup,
    /// The pod's name (`--pods`), or its UID.
    Pod,
    /// The pod's namespace (`--pods`).
    Namespace,
    /// The container's name (`--pods`), or its id.
    Container,
    /// A victim's command, or the trigger's when nothing was killed.
    Comm,
    /// The diagnosis' cause (`anon`, `write_cache`, …).
    Cause,
    /// `memcg`, `global`, `cpuset` or `mempolicy`.
    Scope,
    /// The host the log names.
    Host,
}

/// Every key, with its name on the command line.
pub const KEYS: &[(&str, Key)] = &[
    ("cgroup", Key::Cgroup),
    ("pod", Key::Pod),
    ("namespace", Key::Namespace),
    ("container", Key::Container),
    ("comm", Key::Comm),
    ("cause", Key::Cause),
    ("scope", Key::Scope),
    ("host", Key::Host),
];

/// A `--match` or time flag that could not be read: the message names the
/// flag, the value and the expected form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// One token of a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, `/` included.
    Star,
    /// `[...]` or `[!...]` (`[^...]`): one character in (or not in) the
    /// ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A shell glob: `*`, `?`, `[...]` (ranges `a-z`, negation `!` or `^`, a
/// `]` first is literal), `\` quotes the next character. Matching takes
/// at most (pattern × text) steps, whatever the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    toks: Vec<Tok>,
}

impl Glob {
    /// Compile a pattern; an unclosed `[` or a trailing `\` is an error.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' => {
                    // Runs of stars are one star: same language, fewer steps.
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '?' => toks.push(Tok::Any),
                '\\' => match chars.get(i) {
                    Some(&n) => {
                        toks.push(Tok::Lit(n));
                        i += 1;
                    }
                    None => return Err("a trailing \\ quotes nothing".to_owned()),
                },
                '[' => {
                    let start = i;
                    let negated = matches!(chars.get(i), Some('!' | '^'));
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(&c) = chars.get(i) else {
                            return Err(format!("the [ at character {start} is not closed by ]"));
                        };
                        if c == ']' && !first {
                            i += 1;
                            break;
                        }
                        first = false;
                        let lo = if c == '\\' {
                            i += 1;
                            *chars.get(i).ok_or("a trailing \\ quotes nothing")?
                        } else {
                            c
                        };
                        i += 1;
                        match (chars.get(i), chars.get(i + 1)) {
                            (Some('-'), Some(&hi)) if hi != ']' => {
                                if hi < lo {
                                    return Err(format!("the range {lo}-{hi} is reversed"));
                                }
                                ranges.push((lo, hi));
                                i += 2;
                            }
                            _ => ranges.push((lo, lo)),
                        }
                    }
                    toks.push(Tok::Class { negated, ranges });
                }
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Glob { toks })
    }

    /// Whether the whole of `text` matches. The classic iterative matcher:
    /// on a mismatch only the last star is widened, which is correct for
    /// globs (a star matches anything) and bounds the work at
    /// pattern × text steps.
    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.toks;
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            let one = match p.get(pi) {
                Some(Tok::Lit(c)) => *c == t[ti],
                Some(Tok::Any) => true,
                Some(Tok::Class { negated, ranges }) => {
                    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&t[ti])) != *negated
                }
                Some(Tok::Star) => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                None => false,
            };
            if one {
                pi += 1;
                ti += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|t| *t == Tok::Star)
    }
}

/// One `--match KEY=GLOB`.
#[derive(Debug, Clone)]
pub struct Match {
    pub key: Key,
    pub glob: Glob,
}

impl Match {
    /// Read `KEY=GLOB`; the error names `--match`, the value and the keys.
    pub fn parse(arg: &str) -> Result<Match, FilterError> {
        let names = || KEYS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let Some((k, pattern)) = arg.split_once('=') else {
            return Err(FilterError(format!(
                "--match {arg}: expected KEY=GLOB, KEY one of {}",
                names()
            )));
        };
        let Some(&(_, key)) = KEYS.iter().find(|(n, _)| *n == k) else {
            return Err(FilterError(format!(
                "--match {arg}: unknown key {k:?}, expected one of {}",
                names()
            )));
        };
        let glob = Glob::new(pattern).map_err(|e| FilterError(format!("--match {arg}: bad glob: {e}")))?;
        Ok(Match { key, glob })
    }

    /// True when a value of the episode's field matches; an episode that
    /// does not know the field never matches.
    pub fn matches(&self, ep: &Episode) -> bool {
        let g = |v: Option<&str>| v.is_some_and(|v| self.glob.matches(v));
        let k8s = ep.k8s.as_ref();
        match self.key {
            Key::Cgroup => g(ep.memcg.as_ref().and_then(|m| m.path.as_deref())) || g(ep.task_memcg.as_deref()),
            Key::Pod => g(k8s.and_then(|k| k.pod.as_deref())) || g(k8s.map(|k| k.pod_uid.as_str())),
            Key::Namespace => g(k8s.and_then(|k| k.namespace.as_deref())),
            Key::Container => {
                g(k8s.and_then(|k| k.container_name.as_deref())) || g(ep.container.as_ref().map(|c| c.id.as_str()))
            }
            Key::Comm if ep.victims.is_empty() => g(ep.trigger.as_ref().and_then(|t| t.comm.as_deref())),
            Key::Comm => ep.victims.iter().any(|v| self.glob.matches(&v.comm)),
            Key::Cause => g(ep.diagnosis.as_ref().map(|d| d.cause.as_str())),
            Key::Scope => g(ep.scope.map(Scope::as_str)),
            Key::Host => g(ep.host.as_deref()),
        }
    }
}

/// What the filter says of one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop,
    /// Kept because a time window was asked for and the episode has no
    /// wall clock to place in it (counted, and warned about at the end).
    KeepNoWall,
}

/// `--since`, `--until` and every `--match`, ANDed.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Episodes at or after this wall time.
    pub since: Option<NaiveDateTime>,
    /// Episodes at or before this wall time.
    pub until: Option<NaiveDateTime>,
    pub matches: Vec<Match>,
}

impl Filter {
    /// True when it keeps every episode (nothing to ask).
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.until.is_none() && self.matches.is_empty()
    }

    /// Keep or drop one episode.
    pub fn verdict(&self, ep: &Episode) -> Verdict {
        if !self.matches.iter().all(|m| m.matches(ep)) {
            return Verdict::Drop;
        }
        if self.since.is_none() && self.until.is_none() {
            return Verdict::Keep;
        }
        let Some(wall) = ep.time.wall.as_deref().and_then(wall_time) else {
            return Verdict::KeepNoWall;
        };
        let after = self.since.is_none_or(|s| wall >= s);
        let before = self.until.is_none_or(|u| wall <= u);
        if after && before {
            Verdict::Keep
        } else {
            Verdict::Drop
        }
    }
}

/// An episode's wall clock (ISO 8601 as the model holds it) as a point to
/// compare: as written without an offset, in UTC with one.
pub fn wall_time(iso: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(iso) {
        return Some(t.naive_utc());
    }
    NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// Read a `--since`/`--until` value in journalctl's forms (systemd.time):
/// `2026-11-22 10:00:20`, `2026-11-22 10:00`, `2026-11-22` (midnight),
/// `10:00[:20]` (today), `now`, `today`, `yesterday`, `tomorrow`, a span
/// before or after now (`-2h`, `+1d`, `-1h 30min`, `2 hours ago`), and
/// `@EPOCH` seconds. `now` is the caller's clock, in UTC. The error names
/// `flag`.
pub fn parse_time(flag: &str, s: &str, now: NaiveDateTime) -> Result<NaiveDateTime, FilterError> {
    let bad = |why: &str| {
        FilterError(format!(
            "{flag} {s}: {why}; expected YYYY-MM-DD [HH:MM[:SS]], HH:MM[:SS], now, today, yesterday, tomorrow, -SPAN, +SPAN, SPAN ago (2h, 1d, 30min) or @EPOCH"
        ))
    };
    let t = s.trim();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let shift = |span: Duration, sign: i64| {
        let span = if sign < 0 { -span } else { span };
        now.checked_add_signed(span).ok_or_else(|| bad("out of range"))
    };
    match t {
        "now" => return Ok(now),
        "today" => return Ok(midnight(now.date())),
        "yesterday" => return now.date().pred_opt().map(midnight).ok_or_else(|| bad("out of range")),
        "tomorrow" => return now.date().succ_opt().map(midnight).ok_or_else(|| bad("out of range")),
        _ => {}
    }
    if let Some(epoch) = t.strip_prefix('@') {
        let secs: f64 = epoch.parse().map_err(|_| bad("not a number of seconds"))?;
        if !secs.is_finite() || secs.abs() > 1e12 {
            return Err(bad("out of range"));
        }
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9).round() as u32;
        return chrono::DateTime::from_timestamp(whole as i64, nanos.min(999_999_999))
            .map(|d| d.naive_utc())
            .ok_or_else(|| bad("out of range"));
    }
    if let Some(rest) = t.strip_prefix('-') {
        return shift(span(rest).map_err(|e| bad(&e))?, -1);
    }
    if let Some(rest) = t.strip_prefix('+') {
        return shift(span(rest).map_err(|e| bad(&e))?, 1);
    }
    if let Some(rest) = t.strip_suffix("ago") {
        return shift(span(rest).map_err(|e| bad(&e))?, -1);
    }
    let t = t.strip_suffix(" UTC").or_else(|| t.strip_suffix('Z')).unwrap_or(t);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(midnight(d));
    }
    for f in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(time) = NaiveTime::parse_from_str(t, f) {
            return Ok(now.date().and_time(time));
        }
    }
    Err(bad("not a time"))
}

/// A systemd time span: numbers each with a unit (`1h 30min`, `2d`, `90`
/// seconds without one).
fn span(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("no span".to_owned());
    }
    let mut total = Duration::zero();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let n: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad number {:?}", &rest[..digits]))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let secs = match unit {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "ms" | "msec" => 1e-3,
            "us" | "usec" | "µs" => 1e-6,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 7.0 * 86400.0,
            "M" | "month" | "months" => 30.44 * 86400.0,
            "y" | "year" | "years" => 365.25 * 86400.0,
            u => return Err(format!("unknown unit {u:?}")),
        };
        let us = n * secs * 1e6;
        if !us.is_finite() || us > 1e17 {
            return Err("span out of range".to_owned());
        }
        total = total
            .checked_add(&Duration::microseconds(us.round() as i64))
            .ok_or("span out of range")?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
