//! Log containers: turn one physical line of a log file into the kernel
//! message(s) it carries, with whatever timing the container records.
//!
//! INTERFACE PINNED BY THE CORE (do not change the public signatures below
//! without agreement): `Container`, `Stamp`, `LogLine`, `Decoder::new`,
//! `Decoder::decode`, `Decoder::container`.

use std::borrow::Cow;

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

/// Where a message sits in time and place, as far as its container says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Microseconds since boot.
    pub uptime_us: Option<u64>,
    /// Wall clock normalised to ISO 8601.
    pub wall: Option<String>,
    /// The wall clock exactly as the log printed it.
    pub wall_raw: Option<String>,
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
#[derive(Debug)]
pub struct Decoder {
    // implementation-defined
}

impl Decoder {
    /// `forced`: `Container::Auto` to detect, anything else to force.
    /// `assume_year`: year for containers that print none (classic syslog).
    pub fn new(forced: Container, assume_year: Option<i32>) -> Decoder {
        todo!()
    }

    /// The container detected so far (Auto until something specific was seen).
    pub fn container(&self) -> Container {
        todo!()
    }

    /// Decode one physical line (without its trailing `\n`/`\r\n`) and push
    /// the kernel messages it carries onto `out` (zero, one or several).
    pub fn decode<'a>(&mut self, line: &'a [u8], out: &mut Vec<LogLine<'a>>) {
        todo!()
    }
}
