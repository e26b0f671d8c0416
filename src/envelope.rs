//! Log containers: turn one physical line of a log file into the kernel
//! message(s) it carries, with whatever timing the container records.
//!
//! The same printk line reaches an operator in many wrappings (see
//! shared/REFERENCE.md §3): `dmesg` and its `-T`/`-r`/`-x`/`--time-format iso`
//! variants, printk caller ids, syslog files, `journalctl -k` in its text and
//! JSON forms, raw `/dev/kmsg` records, Fluent Bit's kmsg JSON, or pasted into
//! an article or an e-mail. A [`Decoder`] removes the wrapping and keeps what
//! it says about time and place in a [`Stamp`].
//!
//! Rules every container follows:
//! - any bytes are accepted: invalid UTF-8 is replaced, never fatal;
//! - e-mail quoting (`> `, `>> `) and indentation are removed first, so
//!   reports pasted into other text are found;
//! - ANSI colour sequences (`dmesg --color=always`) are removed;
//! - lines that a container marks as not from the kernel (a syslog line of
//!   another program, a journal entry of another transport, a kmsg record of
//!   a user-space facility, a kmsg dictionary line) yield nothing;
//! - a line no container claims is passed on whole, as a bare message.
//!
//! Wall-clock times are normalised to ISO 8601: converted to UTC with a `Z`
//! when the log gives an offset, left as local time without zone when it does
//! not (`dmesg -T`, classic syslog). Classic syslog prints no year: it is
//! taken from `--year`, a date printed earlier in the input, or the file's
//! mtime (see [`year`]), and the stamp says which.

pub mod year;

use crate::model::WallYear;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde_json::Value;
use std::borrow::Cow;
use year::Years;

/// The log container a file (or a line) is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// Detect per line, sticky once something specific is recognised.
    Auto,
    /// `dmesg`, `dmesg -T`, `dmesg -r`, `dmesg -x`, caller ids.
    Dmesg,
    /// syslog / kern.log / messages / `journalctl -k` short, short-iso,
    /// short-precise, short-monotonic.
    Syslog,
    /// `journalctl -o json` (one JSON object per line).
    JournalJson,
    /// raw `/dev/kmsg` records `PRIO,SEQ,USEC,FLAGS[,caller=..];msg`.
    Kmsg,
    /// Fluent Bit kmsg input rendered as JSON.
    FluentBit,
    /// Bare kernel messages without any envelope (pasted text).
    Plain,
}

impl Container {
    /// The name used by `--input-format` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Container::Auto => "auto",
            Container::Dmesg => "dmesg",
            Container::Syslog => "syslog",
            Container::JournalJson => "journal-json",
            Container::Kmsg => "kmsg",
            Container::FluentBit => "fluent-bit",
            Container::Plain => "plain",
        }
    }

    /// The form a line of this container has, for messages about lines
    /// that do not have it.
    pub fn form(self) -> &'static str {
        match self {
            Container::Auto | Container::Plain => "a kernel message",
            Container::Dmesg => "dmesg lines (`[  uptime] message` or another dmesg form)",
            Container::Syslog => {
                "syslog lines (`Mmm dd HH:MM:SS host kernel: message` or another syslog or journalctl text form)"
            }
            Container::JournalJson => "journal JSON objects (`journalctl -o json`, with MESSAGE)",
            Container::Kmsg => "kmsg records (`PRIO,SEQ,USEC,FLAGS;message`)",
            Container::FluentBit => "Fluent Bit kmsg records (JSON with msg)",
        }
    }
}

/// Where a message sits in time and place, as far as its container says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Microseconds since boot.
    pub uptime_us: Option<u64>,
    /// Wall clock normalised to ISO 8601.
    pub wall: Option<String>,
    /// The wall clock exactly as the log printed it.
    pub wall_raw: Option<String>,
    /// How `wall`'s year was found, where the log printed none.
    pub wall_year: Option<WallYear>,
    /// kmsg sequence number.
    pub seq: Option<u64>,
    /// printk caller id, e.g. "T1234" or "C0".
    pub caller: Option<String>,
    /// Host name from syslog / journal.
    pub host: Option<String>,
    /// journal `_BOOT_ID`.
    pub boot_id: Option<String>,
}

/// One kernel message line recovered from a physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub stamp: Stamp,
    pub text: Cow<'a, str>,
}

/// Per-file decoding state.
#[derive(Debug, Clone)]
pub struct Decoder {
    forced: Container,
    detected: Container,
    years: Years,
    /// The last line decoded is not in the forced container's form.
    rejected: bool,
}

/// What a container made of a line.
enum Got<'s> {
    /// Messages with their stamp.
    Msgs(Stamp, Vec<Cow<'s, str>>),
    /// A dmesg line's stamp as read, not yet built, and its message (most
    /// lines; no vector made): `emit` fills the stamp in the stored line,
    /// so that no 160-byte `Stamp` is moved on the way.
    Dmesg(DmesgTime<'s>, Option<&'s str>, &'s str),
    /// The container owns the line but it carries no kernel message.
    Skip,
}

impl Decoder {
    /// `forced`: `Container::Auto` to detect, anything else to force.
    /// `assume_year`: year for containers that print none (classic syslog).
    pub fn new(forced: Container, assume_year: Option<i32>) -> Decoder {
        Decoder {
            forced,
            detected: Container::Auto,
            years: Years::new(assume_year, None),
            rejected: false,
        }
    }

    /// Date year-less times (when no year is assumed) from the input's
    /// modification time, seconds since the epoch, as the input layer read
    /// it (see [`year`]).
    pub fn with_mtime(mut self, mtime_s: Option<i64>) -> Decoder {
        self.years = self.years.with_mtime(mtime_s);
        self
    }

    /// Whether the line decoded last was not in the form of the container
    /// that was forced, and so was read whole as a bare message (never as
    /// another container: forced means forced).
    pub fn rejected(&self) -> bool {
        self.rejected
    }

    /// The container detected so far (Auto until something specific was seen).
    pub fn container(&self) -> Container {
        match self.forced {
            Container::Auto => self.detected,
            forced => forced,
        }
    }

    /// Decode one physical line (without its trailing `\n`/`\r\n`) and push
    /// the kernel messages it carries onto `out` (zero, one or several).
    pub fn decode<'a>(&mut self, line: &'a [u8], out: &mut Vec<LogLine<'a>>) {
        self.rejected = false;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Valid UTF-8 (nearly every line) is checked faster than lossily.
        if let Ok(s) = std::str::from_utf8(line) {
            return self.decode_str(s, out);
        }
        match String::from_utf8_lossy(line) {
            Cow::Borrowed(s) => self.decode_str(s, out),
            Cow::Owned(s) => {
                let mut tmp = Vec::new();
                self.decode_str(&s, &mut tmp);
                out.extend(tmp.into_iter().map(|l| LogLine {
                    stamp: l.stamp,
                    text: Cow::Owned(l.text.into_owned()),
                }));
            }
        }
    }

    /// [`Decoder::decode`] a line to look at it, not to read it (a scanner
    /// asking whether a line continues another): what dates year-less
    /// times is left as it was, so a line looked at ahead of its turn
    /// dates nothing.
    pub fn probe<'a>(&mut self, line: &'a [u8], out: &mut Vec<LogLine<'a>>) {
        let years = self.years.clone();
        self.decode(line, out);
        self.years = years;
    }

    fn decode_str<'s>(&mut self, s: &'s str, out: &mut Vec<LogLine<'s>>) {
        if memchr::memchr(0x1b, s.as_bytes()).is_some() && s.contains("\x1b[") {
            let plain = strip_ansi(s);
            let mut tmp = Vec::new();
            self.decode_clean(&plain, &mut tmp);
            out.extend(tmp.into_iter().map(|l| LogLine {
                stamp: l.stamp,
                text: Cow::Owned(l.text.into_owned()),
            }));
        } else {
            self.decode_clean(s, out);
        }
    }

    fn decode_clean<'s>(&mut self, s: &'s str, out: &mut Vec<LogLine<'s>>) {
        // A kmsg dictionary line (` SUBSYSTEM=…`) belongs to the record above.
        if self.container() == Container::Kmsg && s.starts_with(' ') {
            return;
        }
        let body = strip_grep_file(strip_quoting(s));
        let got = match self.forced {
            Container::Auto => {
                // Once a container is recognised, its lines go straight to it;
                // the full detection order only runs for lines it rejects.
                let sticky = match self.detected {
                    Container::Auto | Container::Plain => None,
                    c => self.try_container(c, body),
                };
                if sticky.is_some() {
                    return self.emit(sticky, body, out);
                }
                let order = [
                    Container::JournalJson,
                    Container::FluentBit,
                    Container::Kmsg,
                    Container::Syslog,
                    Container::Dmesg,
                ];
                order.into_iter().find_map(|c| {
                    let g = self.try_container(c, body)?;
                    if self.detected == Container::Auto {
                        self.detected = c;
                    }
                    Some(g)
                })
            }
            Container::Plain => None,
            forced => self.try_container(forced, body),
        };
        self.emit(got, body, out);
    }

    fn emit<'s>(&mut self, got: Option<Got<'s>>, body: &'s str, out: &mut Vec<LogLine<'s>>) {
        let (stamp, msgs) = match got {
            Some(Got::Dmesg(time, caller, msg)) => {
                // (dmesg prints no `#012`: in its lines it is a name's.)
                out.push(LogLine {
                    stamp: Stamp::default(),
                    text: Cow::Borrowed(msg),
                });
                let line = out.last_mut().expect("just pushed");
                fill_dmesg(&mut line.stamp, time, caller);
                line.text = Cow::Borrowed(unwrap_foreign(msg, &mut line.stamp));
                dated(&mut self.years, &line.stamp);
                return;
            }
            Some(Got::Msgs(stamp, msgs)) => (stamp, msgs),
            Some(Got::Skip) => return,
            // A container forced and not found: the line is the message.
            None if self.forced != Container::Auto => {
                self.rejected = self.forced != Container::Plain;
                out.push(LogLine {
                    stamp: Stamp::default(),
                    text: Cow::Borrowed(body),
                });
                return;
            }
            None => (Stamp::default(), vec![Cow::Borrowed(body)]),
        };
        let plain = msgs.len() == 1 && matches!(msgs.first(), Some(Cow::Borrowed(b)) if *b == body);
        for text in msgs {
            let mut stamp = stamp.clone();
            match text {
                // A line of no container (the message alone, a bare
                // `kernel: ` tag): rsyslog's escapes are split here.
                Cow::Borrowed(t) if plain => {
                    let t = unwrap_foreign(t, &mut stamp);
                    dated(&mut self.years, &stamp);
                    for text in split_escaped(t) {
                        out.push(LogLine {
                            stamp: stamp.clone(),
                            text,
                        });
                    }
                }
                Cow::Borrowed(t) => {
                    let text = Cow::Borrowed(unwrap_foreign(t, &mut stamp));
                    dated(&mut self.years, &stamp);
                    out.push(LogLine { stamp, text });
                }
                Cow::Owned(t) => {
                    let text = Cow::Owned(unwrap_foreign(&t, &mut stamp).to_owned());
                    dated(&mut self.years, &stamp);
                    out.push(LogLine { stamp, text });
                }
            }
        }
    }

    fn try_container<'s>(&mut self, c: Container, s: &'s str) -> Option<Got<'s>> {
        match c {
            Container::JournalJson => journal_json(s),
            Container::FluentBit => fluent_bit(s),
            Container::Kmsg => kmsg(s),
            Container::Syslog => self.syslog(s),
            Container::Dmesg => dmesg_head(s).map(|(time, caller, msg)| Got::Dmesg(time, caller, msg)),
            Container::Auto | Container::Plain => None,
        }
    }

    /// syslog files and `journalctl -k` text output.
    fn syslog<'s>(&mut self, s: &'s str) -> Option<Got<'s>> {
        if let Some(rest) = s.strip_prefix("-- ") {
            // journalctl separators: `-- Boot <id> --`, `-- Logs begin at …`.
            // The boot id is not carried to the lines after it: the scanner
            // skips lines without an OOM phrase, so whether a separator is
            // read would depend on what else is in the file.
            if rest.starts_with("Boot ") && rest.ends_with(" --")
                || rest.starts_with("Logs begin at ")
                || rest.starts_with("Journal begins at ")
                || rest.starts_with("No entries --")
                || rest == "Reboot --"
            {
                return Some(Got::Skip);
            }
            return None;
        }
        // An optional `<PRI>` from a forwarded message.
        let (pri, rest) = strip_pri(s);
        if pri.is_some() {
            if let Some(r) = rest.strip_prefix("1 ") {
                return rfc5424(r);
            }
        }
        let (time, raw_len, strict, r) = syslog_time(rest)?;
        // A year-less time is dated (and dates the next) as soon as it is
        // read, whatever follows it.
        let dated = match time {
            SyslogTime::Classic(month, day, time, _) => self.years.date(month, day, time),
            _ => None,
        };
        let (host, kernel, msg) = syslog_tail(r, strict)?;
        if !kernel {
            return Some(Got::Skip);
        }
        let mut stamp = Stamp {
            host: host.map(str::to_owned),
            ..Stamp::default()
        };
        match time {
            SyslogTime::Wall(wall) => stamp.wall = Some(wall.iso()),
            SyslogTime::Classic(.., frac) => {
                (stamp.wall, stamp.wall_year) = dated.map(|(d, how)| (fmt_naive(&d, frac), how)).unzip();
            }
            SyslogTime::Uptime(us) => stamp.uptime_us = Some(us),
        }
        if !matches!(time, SyslogTime::Uptime(_)) {
            stamp.wall_raw = Some(rest[..raw_len].to_owned());
        }
        let msgs = split_rsyslog(msg, &mut stamp);
        Some(Got::Msgs(stamp, msgs))
    }
}

/// What a syslog line's stamp says, read and not yet written out.
#[derive(Clone, Copy)]
enum SyslogTime {
    /// A date with its year (RFC 3339, short-iso, short-full).
    Wall(Wall),
    /// Classic `Mmm dd HH:MM:SS[.frac]`: month, day, time of day and
    /// whether a fraction was printed; its year is found by [`Years`].
    Classic(u32, u32, year::TimeOfDay, bool),
    /// short-monotonic's `[  123.456789]`.
    Uptime(u64),
}

/// The stamp a syslog line begins with (after any `<PRI>`): what it says,
/// its length as printed, how strictly the rest must read as syslog, and
/// the rest after it and one blank.
fn syslog_time(s: &str) -> Option<(SyslogTime, usize, Strictness, &str)> {
    if let Some((wall, len, r)) = iso_prefix(s) {
        return Some((SyslogTime::Wall(wall), len, Strictness::HostAndTag, r));
    }
    if let Some((len, classic, r)) = classic_prefix(s) {
        return Some((classic, len, Strictness::Any, r));
    }
    if let Some((len, wall, r)) = full_prefix(s) {
        return Some((SyslogTime::Wall(wall), len, Strictness::Any, r));
    }
    // short-monotonic: `[  123.456789] host kernel: msg`.
    let (us, r) = bracket_uptime(s)?;
    Some((SyslogTime::Uptime(us), 0, Strictness::KernelOnly, r.strip_prefix(' ')?))
}

/// A syslog line after its stamp, `[host ]tag: msg`, if it reads as syslog
/// as strictly as its stamp asks: the host, whether the tag is the
/// kernel's, and the message.
fn syslog_tail(rest: &str, strict: Strictness) -> Option<(Option<&str>, bool, &str)> {
    let (mut host, mut tag, msg) = host_tag(rest)?;
    // A host glued to the tag where a paste lost the blank between
    // them (`MyVMkernel:`): a message in dmesg's own stamp follows.
    if host.is_none() && tag.len() > "kernel".len() && msg.starts_with('[') && bracket_uptime(msg).is_some() {
        if let Some(h) = tag.strip_suffix("kernel") {
            host = Some(h);
            tag = "kernel";
        }
    }
    let kernel = tag == "kernel" || tag.starts_with("kernel[");
    match strict {
        Strictness::KernelOnly if !kernel || host.is_none() => None,
        Strictness::HostAndTag if !kernel && host.is_none() => None,
        _ => Some((host, kernel, msg)),
    }
}

/// Classic `Mmm dd HH:MM:SS[.frac] ` (BSD syslog, `journalctl` short and
/// short-precise): the stamp's length, what it says, and the rest after
/// one blank.
fn classic_prefix(s: &str) -> Option<(usize, SyslogTime, &str)> {
    let (mon, r) = split_blank(s)?;
    let month = month_number(mon)?;
    let r2 = r.trim_start_matches(' ');
    let (day, r3) = split_blank(r2)?;
    let day: u32 = digits(day, 1, 2)?.parse().ok()?;
    let (time, r4) = split_blank(r3)?;
    let (h, m, sec, frac) = parse_time(time)?;
    let len = s.len() - r4.len() - 1;
    let classic = SyslogTime::Classic(month, day, (h, m, sec, frac.unwrap_or(0)), frac.is_some());
    Some((len, classic, r4))
}

/// A wall clock read from a stamp and not yet written out (most lines that
/// the scanner looks at are never read).
#[derive(Clone, Copy)]
struct Wall {
    at: NaiveDateTime,
    /// A fraction of a second was printed.
    frac: bool,
    /// An offset was printed: `at` is in UTC.
    utc: bool,
}

impl Wall {
    /// Its ISO 8601 form: UTC with a `Z` if the stamp gave an offset, local
    /// time without zone if not.
    fn iso(self) -> String {
        let mut s = fmt_naive(&self.at, self.frac);
        if self.utc {
            s.push('Z');
        }
        s
    }
}

#[derive(Clone, Copy)]
enum Strictness {
    /// A month-name stamp is enough evidence of syslog.
    Any,
    /// After an ISO stamp, `dmesg --time-format iso` is also possible: only
    /// `host tag:` or `kernel:` is syslog.
    HostAndTag,
    /// After `[uptime]`, only `host kernel:` (otherwise it is dmesg).
    KernelOnly,
}

/// `s.split_once(' ')` for the short tokens of a stamp or a tag, where a
/// byte loop is faster than the general search.
fn split_blank(s: &str) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == b' ')?;
    Some((&s[..i], &s[i + 1..]))
}

/// Split `[host ]tag: msg` into its parts; the host is absent when the first
/// token is already the tag.
fn host_tag(s: &str) -> Option<(Option<&str>, &str, &str)> {
    let (first, rest) = split_blank(s).unwrap_or((s, ""));
    if let Some(tag) = tag_token(first) {
        return Some((None, tag, rest));
    }
    // A host may hold colons (an IPv6 literal); a token ending in one is a
    // tag that did not validate, not a host.
    // Nor is a dmesg stamp (`[ 123.456] IPv6: …` after a foreign time).
    if first.is_empty() || first.ends_with(':') || (first.starts_with('[') && bracket_uptime(first).is_some()) {
        return None;
    }
    let (second, rest) = split_blank(rest).unwrap_or((rest, ""));
    let tag = tag_token(second)?;
    // A host masked before posting (`**`, `...`) names no host.
    let host = Some(first).filter(|h| h.bytes().any(|b| b.is_ascii_alphanumeric()));
    Some((host, tag, rest))
}

/// A syslog tag `name:` or `name[pid]:`, returned without the colon.
fn tag_token(t: &str) -> Option<&str> {
    let tag = t.strip_suffix(':')?;
    let bracket = tag.bytes().position(|b| b == b'[');
    let name = &tag[..bracket.unwrap_or(tag.len())];
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@'));
    (ok && (bracket.is_none() || tag.ends_with(']'))).then_some(tag)
}

/// rsyslog escapes a message's newlines as `#012` and tabs as `#011`: one
/// physical line may carry several kernel lines. The first keeps the printk
/// timestamp, which is moved into the stamp.
fn split_rsyslog<'s>(msg: &'s str, stamp: &mut Stamp) -> Vec<Cow<'s, str>> {
    // Most messages hold no `#` at all.
    if memchr::memchr(b'#', msg.as_bytes()).is_none() {
        return vec![Cow::Borrowed(inner_dmesg(msg, stamp))];
    }
    let mut out = Vec::new();
    for (i, piece) in msg.split("#012").enumerate() {
        let piece = if i == 0 { inner_dmesg(piece, stamp) } else { piece };
        out.push(if piece.contains("#011") {
            Cow::Owned(piece.replace("#011", "\t"))
        } else {
            Cow::Borrowed(piece)
        });
    }
    out
}

/// A message in no container that still holds rsyslog's `#012` escapes
/// (a syslog line whose time and host were cut, a viewer's message column):
/// the kernel lines it joins, tabs (`#011`) restored. Most messages hold
/// none and stay borrowed whole.
fn split_escaped(msg: &str) -> Vec<Cow<'_, str>> {
    if !msg.contains("#012") {
        return vec![Cow::Borrowed(msg)];
    }
    msg.split("#012")
        .map(|piece| match piece.contains("#011") {
            true => Cow::Owned(piece.replace("#011", "\t")),
            false => Cow::Borrowed(piece),
        })
        .collect()
}

/// A printk `[  123.456789]` (and caller id) at the start of a message that
/// arrived in another container (syslog's `kernel: [ts] msg`).
fn inner_dmesg<'s>(msg: &'s str, stamp: &mut Stamp) -> &'s str {
    let Some((us, rest)) = bracket_uptime(msg) else {
        return msg;
    };
    if stamp.uptime_us.is_none() {
        stamp.uptime_us = Some(us);
    }
    let (caller, rest) = strip_caller(rest);
    if caller.is_some() {
        stamp.caller = caller.map(str::to_owned);
    }
    rest.strip_prefix(' ').unwrap_or(rest)
}

/// How far into a message a foreign prefix may reach before a dmesg stamp.
const FOREIGN_PREFIX_MAX: usize = 160;

/// A kernel message inside a wrapping no container here knows: whatever a
/// tool put before a dmesg stamp (a hypervisor's `… vcpu-1 - Guest:
/// <4>[  123.456789] msg`, a serial console's or a CI runner's prefix, a
/// priority `<4>`), or a bare `kernel: ` tag with the time and host cut
/// away (`kernel: msg`, `** kernel: msg` with the host masked). The message
/// after the stamp or tag; the stamp's uptime and caller id go to `stamp`
/// unless the container gave one.
fn unwrap_foreign<'s>(msg: &'s str, stamp: &mut Stamp) -> &'s str {
    // A message whose dmesg stamp was read already (most lines) wraps
    // nothing more.
    if stamp.uptime_us.is_some() {
        return msg;
    }
    if let Some(rest) = embedded_dmesg(msg, stamp) {
        return rest;
    }
    kernel_tag(msg).unwrap_or(msg)
}

/// The message after a dmesg stamp that a prefix (or nothing) precedes.
fn embedded_dmesg<'s>(msg: &'s str, stamp: &mut Stamp) -> Option<&'s str> {
    let mut end = msg.len().min(FOREIGN_PREFIX_MAX);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    let head = &msg[..end];
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'[', &head.as_bytes()[from..]) {
        let at = from + i;
        from = at + 1;
        let before = msg[..at].trim_end_matches(' ');
        // The stamp starts the message, follows a blank, or a `<N>` priority.
        let pri = before
            .strip_suffix('>')
            .and_then(|b| b.rfind('<').map(|l| &b[l + 1..]))
            .is_some_and(|n| digits(n, 1, 3).is_some());
        if !(at == 0 || msg[..at].ends_with(' ') || pri) {
            continue;
        }
        let (us, rest) = match bracket_uptime(&msg[at..]) {
            Some((us, rest)) => (Some(us), rest),
            // `dmesg --reltime`'s delta `[  +0.000036]`: a stamp, no uptime.
            None => match bracket_delta(&msg[at..]) {
                Some(rest) => (None, rest),
                None => continue,
            },
        };
        if stamp.uptime_us.is_none() {
            stamp.uptime_us = us;
        }
        // A console logger's own wall clock before it: `[2025-06-04 17:51:20] `.
        if stamp.wall.is_none() {
            if let Some(inner) = before.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
                if let Some(wall) = normalize_iso(inner) {
                    stamp.wall_raw = Some(inner.to_owned());
                    stamp.wall = Some(wall);
                }
            }
        }
        let (caller, rest) = strip_caller(rest);
        if stamp.caller.is_none() {
            stamp.caller = caller.map(str::to_owned);
        }
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    None
}

/// The message after a bare syslog `kernel:` tag, alone or after one token
/// (a masked or a short host name).
fn kernel_tag(msg: &str) -> Option<&str> {
    if let Some(rest) = msg.strip_prefix("kernel:") {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let (host, rest) = split_blank(msg)?;
    if host.is_empty() || host.ends_with(':') || host.len() > 64 {
        return None;
    }
    let rest = rest.strip_prefix("kernel:")?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG` (after `1 `).
fn rfc5424(s: &str) -> Option<Got<'_>> {
    let mut parts = s.splitn(6, ' ');
    let ts = parts.next()?;
    let host = parts.next()?;
    let app = parts.next()?;
    let _procid = parts.next()?;
    let _msgid = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let msg = if let Some(r) = rest.strip_prefix("- ") {
        r
    } else if rest == "-" {
        ""
    } else if rest.starts_with('[') {
        // Structured data: skip `[...]` groups (values may hold `\]`).
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() && b[i] == b'[' {
            while i < b.len() && b[i] != b']' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        }
        rest.get(i..)?.strip_prefix(' ').unwrap_or("")
    } else {
        return None;
    };
    if app != "kernel" {
        return Some(Got::Skip);
    }
    let mut stamp = Stamp {
        wall_raw: (ts != "-").then(|| ts.to_owned()),
        wall: iso_prefix(&format!("{ts} ")).map(|(w, _, _)| w.iso()),
        host: (host != "-").then(|| host.to_owned()),
        ..Stamp::default()
    };
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    let msgs = split_rsyslog(msg, &mut stamp);
    Some(Got::Msgs(stamp, msgs))
}

/// A dmesg line's time and caller id into `stamp` (a default one).
fn fill_dmesg(stamp: &mut Stamp, time: DmesgTime<'_>, caller: Option<&str>) {
    stamp.caller = caller.map(str::to_owned);
    match time {
        DmesgTime::Uptime(us) => stamp.uptime_us = Some(us),
        DmesgTime::Printed(raw, wall) => {
            stamp.wall_raw = Some(raw.to_owned());
            stamp.wall = wall.map(Wall::iso);
        }
        DmesgTime::None => {}
    }
}

/// What a dmesg line's stamp says, read and not yet written out.
enum DmesgTime<'s> {
    Uptime(u64),
    /// `dmesg -T` or `--time-format iso`: the time as printed, and as a
    /// wall clock if it reads as one.
    Printed(&'s str, Option<Wall>),
    /// None printed (`dmesg -x -t`, a caller id alone).
    None,
}

/// `dmesg` in all its forms, its stamp not yet built ([`fill_dmesg`]
/// builds it): the time, the caller id and the message.
fn dmesg_head(s: &str) -> Option<(DmesgTime<'_>, Option<&str>, &str)> {
    let (pri, rest) = strip_pri(s);
    let (fac, rest) = strip_facility_level(rest);
    let prefixed = pri.is_some() || fac;
    if let Some((us, r)) = bracket_uptime(rest) {
        let (caller, r) = strip_caller(r);
        return Some((DmesgTime::Uptime(us), caller, r.strip_prefix(' ').unwrap_or(r)));
    }
    if let Some((raw, wall, r)) = bracket_ctime(rest) {
        let (caller, r) = strip_caller(r);
        return Some((DmesgTime::Printed(raw, wall), caller, r.strip_prefix(' ').unwrap_or(r)));
    }
    if let Some((wall, len, r)) = iso_prefix(rest) {
        // `dmesg --time-format iso`.
        return Some((DmesgTime::Printed(&rest[..len], Some(wall)), None, r));
    }
    if let Some((us, r)) = rest.split_once("] ").and_then(|(t, r)| Some((parse_uptime(t)?, r))) {
        // The stamp's `[` lost (a paste that began one byte late):
        // `5193605.506728] Task in …`.
        return Some((DmesgTime::Uptime(us), None, r));
    }
    if let (Some(caller), r) = strip_caller(rest) {
        // A caller id without a time (`dmesg -t` of a kernel with
        // CONFIG_PRINTK_CALLER).
        return Some((DmesgTime::None, Some(caller), r.strip_prefix(' ').unwrap_or(r)));
    }
    prefixed.then_some((DmesgTime::None, None, rest))
}

/// `<N>` (syslog priority, `dmesg -r`): the number and the rest.
fn strip_pri(s: &str) -> (Option<u32>, &str) {
    let Some(r) = s.strip_prefix('<') else {
        return (None, s);
    };
    let Some(end) = r.find('>') else {
        return (None, s);
    };
    match digits(&r[..end], 1, 3).and_then(|d| d.parse().ok()) {
        Some(n) if n < 192 => (Some(n), &r[end + 1..]),
        _ => (None, s),
    }
}

const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "res0",
    "res1", "res2", "res3", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
const LEVELS: &[&str] = &["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];

/// `dmesg -x`: `kern  :warn  : `.
fn strip_facility_level(s: &str) -> (bool, &str) {
    // Every facility name begins with a lowercase letter; most lines with
    // a stamp first.
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return (false, s);
    }
    let parse = || {
        let (fac, r) = s.split_once(':')?;
        let (lvl, r) = r.split_once(':')?;
        let ok = FACILITIES.contains(&fac.trim_end()) && LEVELS.contains(&lvl.trim_end());
        ok.then(|| r.strip_prefix(' ').unwrap_or(r))
    };
    match parse() {
        Some(r) => (true, r),
        None => (false, s),
    }
}

/// A line as a scanner reads one it may skip, if decoding would read it
/// as it stands: no colour sequences, valid UTF-8, no quoting or `grep`
/// file name before it (decoding removes those first).
fn as_printed(raw: &[u8]) -> Option<&str> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if memchr::memchr(0x1b, raw).is_some() {
        return None;
    }
    let s = std::str::from_utf8(raw).ok()?;
    (strip_grep_file(strip_quoting(s)).len() == s.len()).then_some(s)
}

/// A syslog line read as [`Decoder::syslog`] reads it, its stamp not built:
/// the stamp, whether the tag is the kernel's, and the message (rsyslog's
/// escapes not split). None also for the lines it reads otherwise
/// (journalctl's separators, RFC 5424).
fn syslog_head(s: &str) -> Option<(SyslogTime, bool, &str)> {
    if s.starts_with("-- ") {
        return None;
    }
    let (pri, rest) = strip_pri(s);
    if pri.is_some() && rest.starts_with("1 ") {
        return None;
    }
    let (time, _, strict, r) = syslog_time(rest)?;
    let (_, kernel, msg) = syslog_tail(r, strict)?;
    Some((time, kernel, msg))
}

/// True if `raw` (one line) begins a record of container `c`, as its stamp
/// tells: decoding it in `c` gives stamped messages or none (another
/// program's syslog line), never a message without a stamp (which may be
/// a wrapped line's rest). False where the stamp alone cannot tell, and
/// for the other containers.
pub fn starts_record(c: Container, raw: &[u8]) -> bool {
    match c {
        Container::Dmesg if raw.first() == Some(&b'[') && starts_with_uptime(raw) => true,
        Container::Dmesg => as_printed(raw)
            .and_then(dmesg_head)
            .is_some_and(|(time, caller, _)| dmesg_stamped(&time, caller)),
        Container::Syslog => as_printed(raw).is_some_and(|s| syslog_head(s).is_some()),
        _ => false,
    }
}

/// The kernel message a line of container `c` (dmesg or syslog) carries,
/// as decoding it gives it, where reading its stamp is enough: for a
/// scanner that judges a line without decoding it. What the line's time
/// tells the year rule goes to `years`, as decoding would send it. None
/// where decoding gives anything else: no message (a syslog line of
/// another program), several (rsyslog's `#012`), text it rewrites (`#011`,
/// quoting, colours, invalid UTF-8), or a message without a stamp (which
/// may be a wrapped line's rest); `years` is then untouched.
fn kernel_message<'a>(c: Container, raw: &'a [u8], years: &mut Years) -> Option<&'a [u8]> {
    if c == Container::Dmesg {
        // An uptime stamp: nothing to date.
        if let Some(message) = plain_dmesg_message(raw) {
            return Some(message);
        }
    }
    let s = as_printed(raw)?;
    // The stamp as decoding builds it, as far as what follows reads it:
    // its uptime and wall clock (the other fields change nothing here).
    let mut stamp = Stamp::default();
    let msg = match c {
        Container::Dmesg => {
            let (time, caller, msg) = dmesg_head(s)?;
            if !dmesg_stamped(&time, caller) {
                return None;
            }
            match time {
                DmesgTime::Uptime(us) => stamp.uptime_us = Some(us),
                DmesgTime::Printed(_, wall) => stamp.wall = wall.map(Wall::iso),
                DmesgTime::None => {}
            }
            msg
        }
        Container::Syslog => {
            let (time, kernel, msg) = syslog_head(s)?;
            if !kernel || memchr::memchr(b'#', msg.as_bytes()).is_some() && msg.contains("#01") {
                return None;
            }
            match time {
                SyslogTime::Wall(wall) => stamp.wall = Some(wall.iso()),
                SyslogTime::Classic(month, day, time, _) => {
                    // Dated as decoding dates it; its text is not needed
                    // (a year found is never printed on: `wall_year`).
                    if let Some((_, how)) = years.date(month, day, time) {
                        stamp.wall = Some(String::new());
                        stamp.wall_year = Some(how);
                    }
                }
                SyslogTime::Uptime(us) => stamp.uptime_us = Some(us),
            }
            inner_dmesg(msg, &mut stamp)
        }
        _ => return None,
    };
    let text = unwrap_foreign(msg, &mut stamp);
    dated(years, &stamp);
    Some(text.as_bytes())
}

/// A line whose time carries its year dates the year-less times after it
/// (read or skimmed alike).
fn dated(years: &mut Years, stamp: &Stamp) {
    if let (Some(wall), None) = (&stamp.wall, stamp.wall_year) {
        years.printed(wall);
    }
}

/// Whether decoding a dmesg line whose stamp reads as `time` and `caller`
/// gives it a stamp (else its message may be a wrapped line's rest).
fn dmesg_stamped(time: &DmesgTime<'_>, caller: Option<&str>) -> bool {
    !matches!(time, DmesgTime::None) || caller.is_some()
}

impl Decoder {
    /// A line the scanner may skip undecoded: its kernel message (see
    /// [`kernel_message`], in the container detected so far), a subslice
    /// of `raw`, is handed to `skip`, which says whether it is skipped.
    /// A line skipped dates the year-less times after it as reading it
    /// would have. False (and nothing changed) where the message cannot
    /// be read without decoding.
    pub fn skim(&mut self, raw: &[u8], skip: impl FnOnce(&[u8]) -> bool) -> bool {
        let mut years = self.years.clone();
        match kernel_message(self.container(), raw, &mut years) {
            Some(message) if skip(message) => {
                self.years = years;
                true
            }
            _ => false,
        }
    }
}

/// True if `raw` starts with a dmesg uptime stamp (`[  123.456789]`).
pub fn starts_with_uptime(raw: &[u8]) -> bool {
    // Most lines: read byte by byte.
    if plain_stamp_len(raw).is_some_and(|len| len <= 40) {
        return true;
    }
    let head = &raw[..raw.len().min(40)];
    let Some(end) = memchr::memchr(b']', head) else {
        return false;
    };
    std::str::from_utf8(&head[..=end]).is_ok_and(|h| bracket_uptime(h).is_some())
}

/// The message of a dmesg line that starts with a plain stamp
/// ([`plain_uptime`]), after the caller id as [`dmesg_head`] reads it (its
/// blank not removed): for a scanner that judges a line without decoding
/// it. None for any other line.
pub fn plain_dmesg_message(raw: &[u8]) -> Option<&[u8]> {
    let rest = &raw[plain_stamp_len(raw)?..];
    // Most lines have no caller id: a blank and the message.
    if rest.strip_prefix(b" ").unwrap_or(rest).first() != Some(&b'[') {
        return Some(rest);
    }
    // A caller id (` [T1234567890]`) is short and ASCII: read it as text.
    let head_len = rest.iter().take(24).position(|&b| b == b']').map_or(0, |i| i + 1);
    let id_len = match std::str::from_utf8(&rest[..head_len]).map(strip_caller) {
        Ok((Some(_), after)) => head_len - after.len(),
        _ => 0,
    };
    Some(&rest[id_len..])
}

/// The length of the stamp [`plain_uptime`] reads at the start of `raw`,
/// its value not computed: for a scanner that only asks where a message
/// begins or whether a line is stamped (twice per line it skips; the
/// value's multiplications were most of the cost).
pub(crate) fn plain_stamp_len(raw: &[u8]) -> Option<usize> {
    // The kernel's own `[%5lu.%06lu]`: the `]` 13 to 20 bytes in, the dot
    // and six digits before it, blanks then digits before those.
    // Read from a fixed-size array, the fraction as one word: this runs
    // on every line the prefilter skips, twice.
    if let Some(w) = raw.first_chunk::<21>() {
        if w[0] == b'[' {
            if let Some(close) = (13..21).find(|&i| w[i] == b']') {
                let dot = close - 7;
                let mut i = 1;
                // Ends at the `]` at the latest.
                while w[i] == b' ' {
                    i += 1;
                }
                let int_digits = i < dot && w[i..dot].iter().all(u8::is_ascii_digit);
                let frac = u64::from_le_bytes(w[dot..close + 1].try_into().expect("8 bytes"));
                if int_digits && dot_six_digits_close(frac) {
                    return Some(close + 1);
                }
            }
        }
    }
    // Any other shape (other fraction widths): read by the full reader.
    plain_uptime(raw).map(|(_, len)| len)
}

/// Whether the 8 bytes of `w` (little-endian) are `.`, six ASCII digits
/// and `]`: the digits' high nibbles are all 3, and adding 6 to each
/// leaves them 3 (a low nibble of 10 to 15 carries into its high one; no
/// byte carries into the next).
fn dot_six_digits_close(w: u64) -> bool {
    const HIGH: u64 = 0x00f0_f0f0_f0f0_f000;
    const THREES: u64 = 0x0030_3030_3030_3000;
    const SIXES: u64 = 0x0006_0606_0606_0600;
    const ENDS: u64 = 0xff00_0000_0000_00ff;
    const DOT_CLOSE: u64 = (b']' as u64) << 56 | b'.' as u64;
    w & ENDS == DOT_CLOSE && w & HIGH == THREES && w.wrapping_add(SIXES) & HIGH == THREES
}

/// The stamp of nearly every dmesg line, byte by byte: `[`, spaces, 1 to
/// 12 digits, `.`, 1 to 9 digits, `]`; its microseconds and length. Every
/// stamp read so is read alike by [`parse_uptime`], which also takes other
/// blanks (and is tried when this finds none).
fn plain_uptime(raw: &[u8]) -> Option<(u64, usize)> {
    // Index by index, each index checked against the length by hand (the
    // compiler then drops its own checks): this runs on every line the
    // scanner looks at, twice on some.
    let n = raw.len();
    if n == 0 || raw[0] != b'[' {
        return None;
    }
    let mut i = 1;
    while i < n && raw[i] == b' ' {
        i += 1;
    }
    let int_from = i;
    let mut secs = 0u64;
    while i < n && raw[i].is_ascii_digit() && i - int_from < 12 {
        secs = secs * 10 + u64::from(raw[i] - b'0');
        i += 1;
    }
    if i == int_from || i >= n || raw[i] != b'.' {
        return None;
    }
    i += 1;
    // The kernel's own six digits and `]`, read as one array.
    if let Some(six) = raw.get(i..i + 7) {
        let six: &[u8; 7] = six.try_into().expect("7 bytes");
        if six[6] == b']' && six[..6].iter().all(u8::is_ascii_digit) {
            let us = six[..6].iter().fold(0u64, |n, &b| n * 10 + u64::from(b - b'0'));
            return Some((secs * 1_000_000 + us, i + 7));
        }
    }
    let frac_from = i;
    let mut us = 0u64;
    while i < n && raw[i].is_ascii_digit() && i - frac_from < 9 {
        if i - frac_from < 6 {
            us = us * 10 + u64::from(raw[i] - b'0');
        }
        i += 1;
    }
    let frac = i - frac_from;
    if frac == 0 || i >= n || raw[i] != b']' {
        return None;
    }
    for _ in frac..6 {
        us *= 10;
    }
    Some((secs * 1_000_000 + us, i + 1))
}

/// `[  123.456789]`: microseconds since boot and the rest after `]`.
fn bracket_uptime(s: &str) -> Option<(u64, &str)> {
    if let Some((us, len)) = plain_uptime(s.as_bytes()) {
        return Some((us, &s[len..]));
    }
    let r = s.strip_prefix('[')?;
    let end = memchr::memchr(b']', r.as_bytes())?;
    let us = parse_uptime(r[..end].trim_start())?;
    Some((us, &r[end + 1..]))
}

/// `[  +0.000036]` (dmesg's time since the line before): the rest after it.
fn bracket_delta(s: &str) -> Option<&str> {
    let r = s.strip_prefix('[')?;
    let end = r.find(']')?;
    parse_uptime(r[..end].trim_start().strip_prefix('+')?)?;
    Some(&r[end + 1..])
}

/// `123.456789` (at most 12 integer digits) as microseconds.
fn parse_uptime(t: &str) -> Option<u64> {
    let dot = t.bytes().position(|b| b == b'.')?;
    let (int, frac) = (&t[..dot], &t[dot + 1..]);
    let int: u64 = digits(int, 1, 12)?.parse().ok()?;
    let frac = digits(frac, 1, 9)?;
    let mut us: u64 = 0;
    for i in 0..6 {
        us = us * 10 + frac.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
    }
    Some(int * 1_000_000 + us)
}

/// A printk caller id `[T1234]`/`[ C0]`, right at the start (after at most
/// one space): the id and the rest after `]`.
fn strip_caller(s: &str) -> (Option<&str>, &str) {
    let t = s.strip_prefix(' ').unwrap_or(s);
    let parse = || {
        let r = t.strip_prefix('[')?;
        let end = memchr::memchr(b']', r.as_bytes())?;
        let id = r[..end].trim_start();
        let n = id.strip_prefix('T').or_else(|| id.strip_prefix('C'))?;
        digits(n, 1, 10)?;
        Some((id, &r[end + 1..]))
    };
    match parse() {
        Some((id, r)) => (Some(id), r),
        None => (None, s),
    }
}

/// `dmesg -T`: `[Mon Jan  3 10:00:00 2022]` in any locale (weekday and month
/// names are words; the month is looked up in [`month_number`]). Returns the
/// text inside the brackets, its ISO form when the month is known, and the
/// rest after `]`.
fn bracket_ctime(s: &str) -> Option<(&str, Option<Wall>, &str)> {
    let r = s.strip_prefix('[')?;
    let end = memchr::memchr(b']', r.as_bytes())?;
    let inner = &r[..end];
    let mut toks = inner.split_whitespace();
    let (Some(_weekday), Some(mon), Some(day), Some(time), Some(year), None) = (
        toks.next(),
        toks.next(),
        toks.next(),
        toks.next(),
        toks.next(),
        toks.next(),
    ) else {
        return None;
    };
    let year: i32 = digits(year, 4, 4)?.parse().ok()?;
    let day: u32 = digits(day, 1, 2)?.parse().ok()?;
    let (h, m, sec, frac) = parse_time(time)?;
    let wall = month_number(mon)
        .and_then(|mo| naive_iso(year, mo, day, h, m, sec, frac))
        .map(|at| Wall {
            at,
            frac: frac.is_some(),
            utc: false,
        });
    Some((inner, wall, &r[end + 1..]))
}

/// `journalctl -o short-full`: `Mon 2022-01-03 10:00:00 UTC host kernel: …`.
fn full_prefix(s: &str) -> Option<(usize, Wall, &str)> {
    let (_wd, r) = s.split_once(' ')?;
    let (date, r) = r.split_once(' ')?;
    let (time, r) = r.split_once(' ')?;
    let (zone, r) = r.split_once(' ')?;
    if date.len() != 10 || !zone.bytes().all(|b| b.is_ascii_alphabetic() || b == b'+' || b == b'-') {
        return None;
    }
    let (y, mo, d) = parse_date(date)?;
    let (h, m, sec, frac) = parse_time(time)?;
    let wall = Wall {
        at: naive_iso(y, mo, d, h, m, sec, frac)?,
        frac: frac.is_some(),
        utc: zone == "UTC" || zone == "GMT",
    };
    Some((s.len() - r.len() - 1, wall, r))
}

/// A whole ISO 8601 / RFC 3339 time (an oom-guard event's `timestamp`)
/// normalised as every wall clock is: UTC with `Z` when it has an offset,
/// microseconds when it has a fraction.
pub fn normalize_iso(s: &str) -> Option<String> {
    let line = format!("{} ", s.trim());
    let (wall, _, rest) = iso_prefix(&line)?;
    rest.is_empty().then(|| wall.iso())
}

/// A stamp's wall clock in seconds, to tell how far apart two lines are:
/// from its ISO form, or a classic syslog `Mon DD HH:MM:SS` without a year
/// (then on a scale of its own, months taken as 31 days: good for gaps
/// within a year).
pub fn wall_seconds(stamp: &Stamp) -> Option<i64> {
    if let Some(w) = &stamp.wall {
        return Some(wall_time(w)?.and_utc().timestamp());
    }
    let raw = stamp.wall_raw.as_deref()?;
    let mut it = raw.split_whitespace();
    let mon = month_number(it.next()?)? as i64;
    let day: i64 = digits(it.next()?, 1, 2)?.parse().ok()?;
    let (h, m, s, _) = parse_time(it.next()?)?;
    Some(((mon * 31 + day) * 24 + h as i64) * 3600 + m as i64 * 60 + s as i64)
}

/// True if `raw` is a wall clock printed without a year (classic syslog
/// `Mmm dd HH:MM:SS`), as [`Stamp::wall_raw`] keeps it.
pub fn yearless(raw: &str) -> bool {
    let mut it = raw.split_whitespace();
    let ok = it.next().and_then(month_number).is_some()
        && it.next().and_then(|d| digits(d, 1, 2)).is_some()
        && it.next().and_then(parse_time).is_some();
    ok && it.next().is_none()
}

/// An ISO 8601 stamp `YYYY-MM-DD[T ]HH:MM:SS[.,frac][Z|±HH[:]MM]` followed by
/// a space: its wall clock, the stamp's length and the rest.
fn iso_prefix(s: &str) -> Option<(Wall, usize, &str)> {
    let b = s.as_bytes();
    if b.len() < 20 || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let (y, mo, d) = parse_date(s.get(..10)?)?;
    let rest = &s[11..];
    let (time_zone, after) = split_blank(rest)?;
    let end = time_zone.len();
    let zpos = time_zone
        .bytes()
        .position(|b| matches!(b, b'Z' | b'+' | b'-'))
        .unwrap_or(time_zone.len());
    let (time, zone) = time_zone.split_at(zpos);
    let (h, m, sec, frac) = parse_time(time)?;
    let naive = naive_iso(y, mo, d, h, m, sec, frac)?;
    let at = match zone {
        "" | "Z" => naive,
        z => {
            let offset = parse_offset(z)?;
            let dt: DateTime<FixedOffset> = naive.and_local_timezone(offset).single()?;
            dt.with_timezone(&Utc).naive_utc()
        }
    };
    let wall = Wall {
        at,
        frac: frac.is_some(),
        utc: !zone.is_empty(),
    };
    Some((wall, 11 + end, after))
}

fn parse_offset(z: &str) -> Option<FixedOffset> {
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // Four digits, colons anywhere between them.
    let mut hm = [0i32; 4];
    let mut n = 0;
    for b in z[1..].bytes().filter(|&b| b != b':') {
        if n == 4 || !b.is_ascii_digit() {
            return None;
        }
        hm[n] = i32::from(b - b'0');
        n += 1;
    }
    if n != 4 {
        return None;
    }
    let (h, m) = (hm[0] * 10 + hm[1], hm[2] * 10 + hm[3]);
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    // Fields of four, two and two digits between dashes: exactly that.
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    Some((num(0..4)? as i32, num(5..7)?, num(8..10)?))
}

/// `HH:MM:SS[.frac|,frac]`; the fraction as nanoseconds.
fn parse_time(s: &str) -> Option<(u32, u32, u32, Option<u32>)> {
    let (hms, frac) = match s.bytes().position(|b| b == b'.' || b == b',') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    // Three fields of two digits each between colons: `HH:MM:SS` exactly.
    let b = hms.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
            .then(|| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0'))
    };
    let (h, m, sec) = (two(0)?, two(3)?, two(6)?);
    let frac = match frac {
        Some(f) => {
            let f = digits(f, 1, 9)?;
            let mut ns: u32 = 0;
            for i in 0..9 {
                ns = ns * 10 + f.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
            }
            Some(ns)
        }
        None => None,
    };
    Some((h, m, sec, frac))
}

fn naive_iso(y: i32, mo: u32, d: u32, h: u32, m: u32, s: u32, ns: Option<u32>) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, m, s, ns.unwrap_or(0))
}

/// `d` as `YYYY-MM-DDTHH:MM:SS`, and `.ffffff` (microseconds) if `frac`:
/// the wall clock's normal form. Written digit by digit: chrono's
/// formatter, which reads its format string each time, was a fifth of the
/// time to decode a syslog line. Years outside 0..=9999 and leap seconds,
/// which that form cannot hold as it is, are left to chrono.
fn fmt_naive(d: &NaiveDateTime, frac: bool) -> String {
    let (y, nano) = (d.year(), d.nanosecond());
    if !(0..=9999).contains(&y) || nano >= 1_000_000_000 {
        return match frac {
            true => d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            false => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
        };
    }
    let mut b = *b"0000-00-00T00:00:00.000000";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, d.month());
    put(8, 2, d.day());
    put(11, 2, d.hour());
    put(14, 2, d.minute());
    put(17, 2, d.second());
    put(20, 6, nano / 1000);
    let len = if frac { b.len() } else { 19 };
    String::from_utf8(b[..len].to_vec()).expect("ASCII digits")
}

/// The date and time (to the second) that a normalised wall clock
/// ([`fmt_naive`]) begins with. Read at fixed places; other forms (a year
/// past 9999) by chrono.
pub(crate) fn wall_time(w: &str) -> Option<NaiveDateTime> {
    let b = w.as_bytes().get(..19)?;
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let fixed = (b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':')
        .then(|| {
            NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?.and_hms_opt(
                num(11..13)?,
                num(14..16)?,
                num(17..19)?,
            )
        })
        .flatten();
    fixed.or_else(|| NaiveDateTime::parse_from_str(w.get(..19)?, "%Y-%m-%dT%H:%M:%S").ok())
}

/// `s` if it is `min..=max` ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<&str> {
    (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Month names and abbreviations (see [`month_number`]), English first.
#[rustfmt::skip]
const MONTHS: &[(&str, u32)] = &[
    ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6), ("jul", 7), ("aug", 8),
    ("sep", 9), ("oct", 10), ("nov", 11), ("dec", 12), ("sept", 9),
    // de
    ("mär", 3), ("mrz", 3), ("mai", 5), ("okt", 10), ("dez", 12),
    // fr
    ("janv", 1), ("févr", 2), ("fév", 2), ("mars", 3), ("avr", 4), ("avril", 4), ("juin", 6),
    ("juil", 7), ("août", 8), ("aoû", 8), ("déc", 12),
    // es, it, pt
    ("ene", 1), ("abr", 4), ("ago", 8), ("dic", 12), ("gen", 1), ("mag", 5), ("giu", 6), ("lug", 7),
    ("set", 9), ("ott", 10), ("fev", 2), ("out", 10),
    // nl, pl
    ("mrt", 3), ("mei", 5), ("sty", 1), ("lut", 2), ("kwi", 4), ("maj", 5), ("cze", 6), ("lip", 7),
    ("sie", 8), ("wrz", 9), ("paź", 10), ("lis", 11), ("gru", 12),
    // ru
    ("янв", 1), ("фев", 2), ("мар", 3), ("апр", 4), ("мая", 5), ("май", 5), ("июн", 6), ("июл", 7),
    ("авг", 8), ("сен", 9), ("окт", 10), ("ноя", 11), ("дек", 12),
];

/// Month names and abbreviations as `dmesg -T`, syslog and journalctl print
/// them in common locales (C/English, German, French, Spanish, Italian,
/// Portuguese, Dutch, Polish, Russian), plus the CJK `N月`/`N월` forms.
fn month_number(tok: &str) -> Option<u32> {
    if let Some(n) = tok.strip_suffix('月').or_else(|| tok.strip_suffix('월')) {
        return digits(n, 1, 2)?.parse().ok().filter(|m| (1..=12).contains(m));
    }
    if tok.len() > 24 {
        return None;
    }
    // English abbreviations (most logs) first: the table's first twelve,
    // which its search would find first, compared as three lowercase bytes.
    if let &[a, b, c] = tok.as_bytes() {
        let key = [a | 0x20, b | 0x20, c | 0x20];
        if let Some(&(_, m)) = MONTHS[..12].iter().find(|(n, _)| n.as_bytes() == key) {
            return Some(m);
        }
    }
    month_lookup(tok)
}

/// [`month_number`] by its table.
fn month_lookup(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.');
    if t.is_ascii() {
        return MONTHS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)).map(|&(_, m)| m);
    }
    let t = t.to_lowercase();
    MONTHS.iter().find(|(n, _)| *n == t).map(|&(_, m)| m)
}

/// Remove e-mail quoting (`>`, `> >`), source-code comment markers (`// `,
/// `# `: a log line quoted in code) and indentation.
fn strip_quoting(s: &str) -> &str {
    // Most lines begin with none of it.
    if !s.starts_with([' ', '\t', '>', '/', '#']) {
        return s;
    }
    let mut t = s;
    loop {
        let u = t.trim_start_matches([' ', '\t']);
        match u
            .strip_prefix('>')
            .or_else(|| u.strip_prefix("// "))
            .or_else(|| u.strip_prefix("# "))
        {
            Some(r) => t = r,
            None => return u,
        }
    }
}

/// A line as `grep -H`/`grep -r` prints it, without the file name (and
/// line number) before it: `/var/log/kern.log:Mar  3 02:14:07 host …`,
/// `./kern.log.1:12:[ 123.4] …`. Only a path (starting `/`, `./` or `~/`,
/// no blanks) followed by the start of a log line.
fn strip_grep_file(s: &str) -> &str {
    if !(s.starts_with('/') || s.starts_with("./") || s.starts_with("~/")) {
        return s;
    }
    let Some(colon) = s.find(':') else {
        return s;
    };
    if s[..colon].contains([' ', '\t']) {
        return s;
    }
    let mut rest = &s[colon + 1..];
    if let Some((n, r)) = rest.split_once(':') {
        if digits(n, 1, 12).is_some() {
            rest = r;
        }
    }
    let starts_log = rest.starts_with(['[', '<', '{'])
        || rest.get(..3).and_then(month_number).is_some()
        || rest.get(..4).is_some_and(|y| digits(y, 4, 4).is_some());
    if starts_log {
        rest
    } else {
        s
    }
}

/// Remove ANSI CSI sequences (`ESC [ … final`, the colours of
/// `dmesg --color=always`). Other escapes are data and stay, to be shown
/// escaped by the outputs.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let seq = &rest[i + 2..];
        match seq.find(|c: char| ('@'..='~').contains(&c)) {
            Some(end) => rest = &seq[end + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// `journalctl -o json`: one object per line with `MESSAGE`.
fn journal_json(s: &str) -> Option<Got<'static>> {
    if !s.starts_with('{') || !s.contains("\"MESSAGE\"") {
        return None;
    }
    let v: Value = serde_json::from_str(s).ok()?;
    let o = v.as_object()?;
    let message = match o.get("MESSAGE")? {
        Value::String(m) => m.clone(),
        // Messages that are not valid UTF-8 are stored as byte arrays.
        Value::Array(bytes) => {
            let b: Vec<u8> = bytes.iter().filter_map(|x| x.as_u64().map(|n| n as u8)).collect();
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => return None,
    };
    let field = |k: &str| o.get(k).and_then(Value::as_str);
    if field("_TRANSPORT").is_some_and(|t| t != "kernel") {
        return Some(Got::Skip);
    }
    let mut stamp = Stamp {
        uptime_us: field("_SOURCE_MONOTONIC_TIMESTAMP").and_then(|t| t.parse().ok()),
        host: field("_HOSTNAME").map(str::to_owned),
        boot_id: field("_BOOT_ID").map(str::to_owned),
        ..Stamp::default()
    };
    if let Some(rt) = field("_SOURCE_REALTIME_TIMESTAMP").or_else(|| field("__REALTIME_TIMESTAMP")) {
        stamp.wall_raw = Some(rt.to_owned());
        stamp.wall = rt.parse::<i64>().ok().and_then(epoch_us_iso);
    }
    let msgs = message.split('\n').map(|m| Cow::Owned(m.to_owned())).collect();
    Some(Got::Msgs(stamp, msgs))
}

/// Fluent Bit's kmsg input: `{"priority":4,"sequence":N,"sec":S,"usec":U,
/// "msg":"…"}`, as `json_lines`, or as `[date, {…}]` (optionally after the
/// `stdout` output's `tag: `).
fn fluent_bit(s: &str) -> Option<Got<'static>> {
    let json = match s.find(": [") {
        Some(i) if !s.starts_with(['{', '[']) && !s[..i].contains(' ') => &s[i + 2..],
        _ => s,
    };
    if !json.starts_with(['{', '[']) || !json.contains("\"msg\"") {
        return None;
    }
    let v: Value = serde_json::from_str(json).ok()?;
    let (date, o) = match &v {
        Value::Object(o) => (o.get("date").and_then(Value::as_f64), o),
        Value::Array(a) => (a.first().and_then(Value::as_f64), a.get(1)?.as_object()?),
        _ => return None,
    };
    let msg = o.get("msg")?.as_str()?;
    let num = |k: &str| {
        o.get(k)
            .and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|t| t.parse().ok())))
    };
    if num("priority").is_some_and(|p| p >= 8) {
        return Some(Got::Skip);
    }
    let uptime_us = num("sec")
        .zip(num("usec"))
        .and_then(|(s, u)| s.checked_mul(1_000_000)?.checked_add(u));
    let stamp = Stamp {
        uptime_us,
        seq: num("sequence"),
        wall_raw: date.map(|d| format!("{d}")),
        wall: date.and_then(|d| epoch_us_iso((d * 1e6).round() as i64)),
        ..Stamp::default()
    };
    Some(Got::Msgs(
        stamp,
        msg.split('\n').map(|m| Cow::Owned(m.to_owned())).collect(),
    ))
}

/// Microseconds since the epoch as ISO 8601 UTC with microseconds.
pub fn epoch_us_iso(us: i64) -> Option<String> {
    let dt = DateTime::<Utc>::from_timestamp(us.div_euclid(1_000_000), (us.rem_euclid(1_000_000) * 1000) as u32)?;
    Some(format!("{}Z", fmt_naive(&dt.naive_utc(), true)))
}

/// A raw `/dev/kmsg` record: `PRIO,SEQ,USEC,FLAGS[,KEY=VAL…];MESSAGE` with
/// non-printable bytes as `\xNN`. Records of user-space facilities (prio ≥ 8)
/// are skipped.
fn kmsg(s: &str) -> Option<Got<'_>> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let semi = s.find(';')?;
    let mut fields = s[..semi].split(',');
    let prio: u32 = digits(fields.next()?, 1, 4)?.parse().ok()?;
    let seq: u64 = digits(fields.next()?, 1, 20)?.parse().ok()?;
    let usec: u64 = digits(fields.next()?, 1, 20)?.parse().ok()?;
    let flags = fields.next()?;
    if flags.len() > 2 || !flags.bytes().all(|b| matches!(b, b'-' | b'c' | b'+')) {
        return None;
    }
    let mut stamp = Stamp {
        uptime_us: Some(usec),
        seq: Some(seq),
        ..Stamp::default()
    };
    for f in fields {
        if let Some(c) = f.strip_prefix("caller=") {
            stamp.caller = Some(c.to_owned());
        }
    }
    if prio >= 8 {
        return Some(Got::Skip);
    }
    let msg = &s[semi + 1..];
    let msgs = if msg.contains("\\x") {
        unescape_kmsg(msg)
            .split('\n')
            .map(|m| Cow::Owned(m.to_owned()))
            .collect()
    } else {
        vec![Cow::Borrowed(msg)]
    };
    Some(Got::Msgs(stamp, msgs))
}

/// Undo kmsg's `\xNN` escaping (the kernel escapes control bytes, bytes ≥ 0x7f
/// and the backslash itself).
fn unescape_kmsg(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(&[hi, lo]) = b.get(i + 2..i + 4) {
                if let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) {
                    out.push(hi << 4 | lo);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests;
