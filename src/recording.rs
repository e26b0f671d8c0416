//! Recordings: what `watch`/`record` saw, as versioned JSON lines, so that
//! `replay` runs the same pipeline on the same inputs and prints the same
//! bytes. Every entry is written and flushed whole, so a recorder that
//! crashes leaves at most a torn last line, which the reader tolerates.
//!
//! Format (version 3), one JSON object per line, tagged by `t`:
//! - `header`: `{version, source, host}` — first line; `host` holds the
//!   facts the pipeline needs (boot time, page size…);
//! - `record`: `{r}` — one raw `/dev/kmsg` record, as read;
//! - `lost`: `{n}` — records lost to a ring-buffer overrun;
//! - `settle`: `{all}` — the live reader went quiet and finished reports;
//! - `snap`: `{episode, snapshot}` — a cgroup snapshot taken when the
//!   `episode`-th episode (1-based) was emitted;
//! - `sample`: `{snapshot}` — a periodic snapshot (`record --interval`),
//!   whole: since version 3 only when `crate::sampling`'s rule says so;
//! - `sampling`: `{cgroups, interval_s}` — (version 3) sampling begins:
//!   the sampled cgroups' kernel paths, which `compact` names by index;
//! - `compact`: `{c, up, usage, limit, unlimited?, failcnt?, max?,
//!   oom_kill?, cache}` — (version 3) a periodic sample of cgroup
//!   `cgroups[c]` that is not whole: seconds since boot, usage, limit, the
//!   failure and kill counters (`?`: written where the cgroup version has
//!   them) and the cache rule's four `memory.stat` counters
//!   `[cache, shmem, dirty, writeback]` (`crate::sampling::Compact`);
//! - `counting`: `{root}` — the watcher counts kills in the
//!   memory.events.local of every cgroup under `root` from here on;
//! - `counter`: `{path, oom_kill, at_us, fresh}` — a cgroup's
//!   memory.events.local `oom_kill` counter (cgroup v2), read when it
//!   changed (`fresh`: a cgroup that appeared after watching began);
//! - `gone`: `{path}` — a counted cgroup was removed;
//! - `victim`: `{pid, cgroup}` — a victim's cgroup read from /proc when its
//!   kill line came, written before that record;
//! - `release`: a tick of the watcher while counts and kill lines wait to
//!   be matched.
//!
//! Version 2 made "no limit" explicit in snapshots (`unlimited`, and a
//! `*_limit` stat at no limit is null). A version 1 recording is read as
//! version 2 (`upgrade_snapshot`), so it replays to the same episodes.
//! Version 3 added `sampling` and `compact` (a day of 1 s samples was
//! 1.6 KB each); versions 1 and 2 have neither and read as they did.

use crate::model::{Snapshot, Text};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// Version of the recording format written by this build.
pub const VERSION: u32 = 3;

/// Bring a snapshot written before "no limit" was explicit (recording
/// version 1, and `oomctl snapshot` lines of the same builds, which have
/// no `unlimited`) to the schema of today. Then a null limit beside a known
/// usage meant no limit (a limit file that said `max` or the kernel's huge
/// number), and `memory.stat` kept the kernel's huge number for a
/// `*_limit` key.
pub fn upgrade_snapshot(s: &mut Snapshot) {
    if s.limit_bytes.is_none() && s.usage_bytes.is_some() {
        s.unlimited = true;
    }
    for u in [&mut s.swap, &mut s.zswap, &mut s.memsw, &mut s.kmem, &mut s.kmem_tcp]
        .into_iter()
        .flatten()
    {
        if u.limit_bytes.is_none() && u.usage_bytes.is_some() {
            u.unlimited = true;
        }
    }
    for (k, v) in &mut s.stat {
        *v = v.and_then(|v| crate::units::stat_value(k, v));
    }
}

/// Facts about the host that the pipeline uses, recorded once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    pub hostname: Option<String>,
    /// `uname -r` (/proc/sys/kernel/osrelease).
    pub kernel: Option<String>,
    /// /proc/sys/kernel/random/boot_id.
    pub boot_id: Option<String>,
    pub page_size: Option<u64>,
    /// Wall clock of boot, microseconds since the epoch (now − uptime).
    pub boot_time_us: Option<i64>,
    /// When the recording started (ISO 8601 UTC).
    pub started: Option<String>,
}

/// One line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    Header {
        version: u32,
        source: String,
        host: HostFacts,
    },
    Record {
        r: String,
    },
    Lost {
        n: u64,
    },
    Settle {
        all: bool,
    },
    Snap {
        episode: u64,
        snapshot: Snapshot,
    },
    Sample {
        snapshot: Snapshot,
    },
    /// Periodic sampling begins (version 3): `compact` entries name these
    /// cgroups (kernel paths) by index.
    Sampling {
        cgroups: Vec<Text>,
        interval_s: f64,
    },
    /// A periodic sample that is not whole (version 3).
    Compact(Compact),
    /// Counting kills in memory.events.local under `root` begins: from
    /// here on kill lines are matched with counts, even before a count is
    /// read (a root with no cgroups below it yet).
    Counting {
        root: Text,
    },
    /// A cgroup's `memory.events.local` `oom_kill` counter (cgroup v2),
    /// read when the file changed (the first reading is the baseline), at
    /// `at_us` µs since boot (CLOCK_MONOTONIC: close to kmsg's stamps, not
    /// the same clock; seen 8-12 ms apart in the VM lab, so counts and
    /// lines are matched by order, never by time).
    Counter {
        path: Text,
        oom_kill: u64,
        at_us: u64,
        /// The cgroup appeared (or was made again) after watching began:
        /// its count started at 0.
        #[serde(default)]
        fresh: bool,
    },
    /// A counted cgroup is gone: its count is forgotten.
    Gone {
        path: Text,
    },
    /// The cgroup of a victim as /proc showed it when its kill line was
    /// read (cgroup v2), written just before that record.
    Victim {
        pid: u32,
        cgroup: Text,
    },
    /// A tick of the watcher while counts and kill lines wait to be matched
    /// (every 0.5 s); what waited two goes out unmatched (see `pipeline`).
    Release,
}

/// Appends entries, each flushed whole.
pub struct Recorder {
    out: Box<dyn Write + Send>,
}

impl Recorder {
    pub fn new(out: Box<dyn Write + Send>) -> Recorder {
        Recorder { out }
    }

    pub fn write(&mut self, e: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_string(e).map_err(io::Error::other)?;
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }
}

/// A recording read back: its header and entries.
#[derive(Debug)]
pub struct Recording {
    pub source: String,
    pub host: HostFacts,
    pub entries: Vec<Entry>,
    /// True if the last line was torn (the recorder died mid-write).
    pub torn: bool,
    /// The read error that ended the input early (a gzipped recording cut
    /// short): what came before it is replayed, as analyze reads a cut log.
    pub cut: Option<String>,
}

/// Why an input could not be read as a recording. Each names the input
/// (and line) and what a recording has there.
#[derive(Debug)]
pub enum RecordingError {
    /// The input could not be read (or, gzip, decompressed).
    Io { name: String, err: io::Error },
    /// The first line is not a recording's header: this is some other file.
    NotRecording { name: String, first: FirstLine },
    /// A line after the header is not an entry (and not a torn last line).
    BadEntry { name: String, line: usize, detail: String },
    /// Written by a newer oomctl.
    Newer { name: String, version: u32 },
}

/// What an input that is not a recording holds on its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLine {
    Empty,
    /// Not UTF-8: binary data.
    Binary,
    /// JSON, but not a recording's header.
    OtherJson,
    /// Text that is not JSON (a kernel log, most likely).
    Text,
    /// The header, cut: the recorder stopped as it began.
    TornHeader,
}

impl std::fmt::Display for RecordingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordingError::Io { name, err } => write!(f, "{name}: {err}"),
            RecordingError::NotRecording { name, first } => {
                let what = match first {
                    FirstLine::Empty => "it is empty",
                    FirstLine::Binary => "its first line is not text",
                    FirstLine::OtherJson => "its first line is JSON but not a recording header",
                    FirstLine::Text => "its first line is not JSON",
                    FirstLine::TornHeader => "it ends inside its header line (the recorder stopped as it began)",
                };
                write!(
                    f,
                    "{name}: not an oomctl recording: {what}; a recording (from `oomctl record` or \
                     `oomctl watch --record`, gzipped or not) starts with a JSON line \
                     {{\"t\":\"header\",\"version\":{VERSION},…}}"
                )?;
                if *first == FirstLine::Text {
                    write!(f, ". A kernel log is read by `oomctl analyze {name}`")?;
                }
                Ok(())
            }
            RecordingError::BadEntry { name, line, detail } => write!(
                f,
                "{name}:{line}: not a recording entry (a JSON object whose \"t\" is header, record, \
                 lost, settle, snap, sample, sampling, compact, counting, counter, gone, victim or \
                 release): {detail}"
            ),
            RecordingError::Newer { name, version } => write!(
                f,
                "{name}: recording version {version} is newer than this oomctl reads ({VERSION})"
            ),
        }
    }
}

impl std::error::Error for RecordingError {}

/// A recording's first bytes (`oomctl watch --record`, `oomctl record`).
pub const MAGIC: &[u8] = b"{\"t\":\"header\"";

/// An input with its first bytes read and put back.
pub type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Whether `input` is a recording, by its first bytes, which are read
/// (a read may return fewer than asked: a gzip decoder's first does) and
/// put back in front of the rest.
pub fn sniff<R: io::Read>(mut input: R) -> io::Result<(Sniffed<R>, bool)> {
    let mut head = Vec::with_capacity(MAGIC.len());
    while head.len() < MAGIC.len() {
        let mut b = [0u8; 16];
        let want = MAGIC.len() - head.len();
        match input.read(&mut b[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let recording = head == MAGIC;
    Ok((io::Read::chain(io::Cursor::new(head), input), recording))
}

/// Read a recording whole. A torn last line is dropped and flagged; any
/// other bad line is an error naming it. `name` names the input in errors.
pub fn read(input: impl BufRead, name: &str) -> Result<Recording, RecordingError> {
    let mut r = Reader::open(input, name)?;
    let mut entries = Vec::new();
    while let Some(e) = r.next_entry()? {
        entries.push(e);
    }
    Ok(Recording {
        source: r.source,
        host: r.host,
        entries,
        torn: r.torn,
        cut: r.cut,
    })
}

/// A recording read one entry at a time, in memory bounded by its longest
/// line: what reads a node-day of samples. The same rules as [`read`]: a
/// torn last line is dropped and flagged, a read error past the header
/// ends the input where it is (`cut`), any other bad line is an error.
pub struct Reader<R> {
    input: R,
    name: String,
    pub source: String,
    pub host: HostFacts,
    pub version: u32,
    /// Lines read so far (the header is line 1).
    line: usize,
    /// How many cgroups the last `sampling` entry named.
    sampled: usize,
    /// A line read ahead (to tell a torn last line from a bad one).
    ahead: Option<Vec<u8>>,
    buf: Vec<u8>,
    done: bool,
    /// The last line was torn (the recorder died mid-write).
    pub torn: bool,
    /// The read error that ended the input early.
    pub cut: Option<String>,
}

impl<R: BufRead> Reader<R> {
    /// Read the header: the first line must be a recording's.
    pub fn open(mut input: R, name: &str) -> Result<Reader<R>, RecordingError> {
        let mut first = Vec::new();
        if let Err(err) = input.read_until(b'\n', &mut first) {
            return Err(RecordingError::Io {
                name: name.to_owned(),
                err,
            });
        }
        if first.last() == Some(&b'\n') {
            first.pop();
        }
        let not = |first| RecordingError::NotRecording {
            name: name.to_owned(),
            first,
        };
        if first.is_empty() {
            return Err(not(FirstLine::Empty));
        }
        // A newer version may hold entries this build does not know.
        let version = first_version(&first);
        if let Some(version) = version.filter(|&v| v > VERSION) {
            return Err(RecordingError::Newer {
                name: name.to_owned(),
                version,
            });
        }
        let (source, host) = header(&first).map_err(not)?;
        Ok(Reader {
            input,
            name: name.to_owned(),
            source,
            host,
            version: version.unwrap_or(1),
            line: 1,
            sampled: 0,
            ahead: None,
            buf: Vec::new(),
            done: false,
            torn: false,
            cut: None,
        })
    }

    /// The next line into `self.buf` (without its newline); false at the
    /// end of the input or at a read error (then `cut` says which).
    fn next_line(&mut self) -> bool {
        if let Some(l) = self.ahead.take() {
            self.buf = l;
            return true;
        }
        if self.done {
            return false;
        }
        self.buf.clear();
        match self.input.read_until(b'\n', &mut self.buf) {
            Ok(0) => {
                self.done = true;
                false
            }
            Ok(_) => {
                if self.buf.last() == Some(&b'\n') {
                    self.buf.pop();
                }
                true
            }
            // The line it cut is torn: dropped.
            Err(e) => {
                self.cut = Some(e.to_string());
                self.done = true;
                false
            }
        }
    }

    /// Whether another line follows the current one (read ahead).
    fn more(&mut self) -> bool {
        let current = std::mem::take(&mut self.buf);
        let more = self.next_line();
        if more {
            self.ahead = Some(std::mem::replace(&mut self.buf, current));
        } else {
            self.buf = current;
        }
        more
    }

    /// The next entry; None at the end.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RecordingError> {
        loop {
            if !self.next_line() {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            match self.parse() {
                Ok(e) => return Ok(Some(e)),
                Err(_) if !self.more() => {
                    self.torn = true;
                    return Ok(None);
                }
                Err(detail) => {
                    return Err(RecordingError::BadEntry {
                        name: self.name.clone(),
                        line: self.line,
                        detail,
                    })
                }
            }
        }
    }

    fn parse(&mut self) -> Result<Entry, String> {
        let mut e = match compact_line(&self.buf) {
            Some(c) => Entry::Compact(c),
            None => std::str::from_utf8(&self.buf)
                .map_err(|_| "not UTF-8 text".to_owned())
                .and_then(|s| {
                    // serde's own "at line 1 column N" is of this line
                    // alone: the error names the file's line instead.
                    serde_json::from_str::<Entry>(s).map_err(|e| {
                        let mut m = e.to_string();
                        if let Some(i) = m.rfind(" at line ") {
                            m.truncate(i);
                        }
                        m
                    })
                })?,
        };
        // A compact sample names its cgroup by index into the last
        // `sampling` entry: one that names none is not a compact sample.
        match &mut e {
            Entry::Sampling { cgroups, .. } => self.sampled = cgroups.len(),
            Entry::Compact(c) if c.c >= self.sampled => {
                return Err(format!(
                    "compact sample of cgroup {} but the sampling entry before it names {}",
                    c.c, self.sampled
                ))
            }
            // Version 1 wrote "no limit" as the kernel's number: held as
            // null with `unlimited` since version 2.
            Entry::Snap { snapshot, .. } | Entry::Sample { snapshot } if self.version < 2 => upgrade_snapshot(snapshot),
            _ => {}
        }
        Ok(e)
    }
}

/// A `compact` line, read without serde when it is exactly as `Recorder`
/// writes it (keys in the struct's order, no blanks): a node-day is
/// millions of them, and serde spends most of its time on the keys. Any
/// other spelling goes to [`compact_line_serde`], so every line reads as
/// the enum reads it (tests hold the three to the same answers).
fn compact_line(line: &[u8]) -> Option<Compact> {
    compact_line_exact(line).or_else(|| compact_line_serde(line))
}

/// The exact form: `{"t":"compact","c":N,"up":F,"usage":N,"limit":N`,
/// then `,"unlimited":true`, `,"failcnt":N`, `,"max":N`, `,"oom_kill":N`
/// where present, then `,"cache":[N,N,N,N]}`; any number may be `null`
/// where its field is optional. None for anything else.
fn compact_line_exact(line: &[u8]) -> Option<Compact> {
    struct P<'a>(&'a [u8]);
    impl<'a> P<'a> {
        fn tag(&mut self, t: &[u8]) -> bool {
            let ok = self.0.starts_with(t);
            if ok {
                self.0 = &self.0[t.len()..];
            }
            ok
        }
        /// Digits (and, for a float, `.eE+-`) up to the next `,]}`.
        fn token(&mut self) -> Option<&'a [u8]> {
            let n = self.0.iter().position(|&b| matches!(b, b',' | b']' | b'}'))?;
            let (t, rest) = self.0.split_at(n);
            self.0 = rest;
            (!t.is_empty()).then_some(t)
        }
        fn uint(&mut self) -> Option<Option<u64>> {
            if self.tag(b"null") {
                return Some(None);
            }
            let n = self.0.iter().position(|b| !b.is_ascii_digit()).unwrap_or(self.0.len());
            // No sign, no leading zero (as JSON and serde_json write them).
            if n == 0 || (n > 1 && self.0[0] == b'0') {
                return None;
            }
            let mut v: u64 = 0;
            for &d in &self.0[..n] {
                v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            }
            self.0 = &self.0[n..];
            Some(Some(v))
        }
        fn float(&mut self) -> Option<Option<f64>> {
            let t = self.token()?;
            if t == b"null" {
                return Some(None);
            }
            // JSON's number: no `+`, `inf` or `nan`, which Rust would take.
            let digits = t.strip_prefix(b"-").unwrap_or(t);
            let ok = digits.first().is_some_and(u8::is_ascii_digit)
                && digits
                    .iter()
                    .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
                && !(digits.len() > 1 && digits[0] == b'0' && digits[1].is_ascii_digit());
            if !ok {
                return None;
            }
            let v: f64 = std::str::from_utf8(t).ok()?.parse().ok()?;
            v.is_finite().then_some(Some(v))
        }
        fn field(&mut self, key: &[u8]) -> Option<Option<u64>> {
            match self.tag(key) {
                true => self.uint(),
                false => Some(None),
            }
        }
    }
    let mut p = P(line.strip_prefix(b"{\"t\":\"compact\",\"c\":")?);
    let c = usize::try_from(p.uint()??).ok()?;
    p.tag(b",\"up\":").then_some(())?;
    let up = p.float()?;
    p.tag(b",\"usage\":").then_some(())?;
    let usage = p.uint()?;
    p.tag(b",\"limit\":").then_some(())?;
    let limit = p.uint()?;
    let unlimited = p.tag(b",\"unlimited\":true");
    let failcnt = p.field(b",\"failcnt\":")?;
    let max = p.field(b",\"max\":")?;
    let oom_kill = p.field(b",\"oom_kill\":")?;
    p.tag(b",\"cache\":[").then_some(())?;
    let mut cache = [None; 4];
    for (i, v) in cache.iter_mut().enumerate() {
        if i > 0 {
            p.tag(b",").then_some(())?;
        }
        *v = p.uint()?;
    }
    (p.0 == b"]}").then_some(Compact {
        c,
        up,
        usage,
        limit,
        unlimited,
        failcnt,
        max,
        oom_kill,
        cache,
    })
}

/// A `compact` line read by serde straight into its struct (serde's
/// internally tagged enum reads each line through a buffer of its own
/// first). None for any other line.
fn compact_line_serde(line: &[u8]) -> Option<Compact> {
    // `Compact`'s fields and rules, and `t`; tests hold the two to the
    // same lines.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[allow(dead_code)]
        t: Tag,
        c: usize,
        up: Option<f64>,
        usage: Option<u64>,
        limit: Option<u64>,
        #[serde(default)]
        unlimited: bool,
        failcnt: Option<u64>,
        max: Option<u64>,
        oom_kill: Option<u64>,
        cache: [Option<u64>; 4],
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Tag {
        Compact,
    }
    if !line.starts_with(b"{\"t\":\"compact\",") {
        return None;
    }
    let l: Line = serde_json::from_slice(line).ok()?;
    Some(Compact {
        c: l.c,
        up: l.up,
        usage: l.usage,
        limit: l.limit,
        unlimited: l.unlimited,
        failcnt: l.failcnt,
        max: l.max,
        oom_kill: l.oom_kill,
        cache: l.cache,
    })
}

/// The compact samples of a recording, each with its cgroup's path (the
/// reader has checked that every index names one).
pub fn compact_samples(entries: &[Entry]) -> impl Iterator<Item = (&Text, &Compact)> {
    let mut cgroups: &[Text] = &[];
    entries.iter().filter_map(move |e| match e {
        Entry::Sampling { cgroups: cg, .. } => {
            cgroups = cg;
            None
        }
        Entry::Compact(c) => cgroups.get(c.c).map(|p| (p, c)),
        _ => None,
    })
}

/// The header line's source and host facts, or what the line is instead.
fn header(line: &[u8]) -> Result<(String, HostFacts), FirstLine> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(FirstLine::Binary);
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(FirstLine::Empty);
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.get("t").and_then(|t| t.as_str()) == Some("header") => {}
        Ok(_) => return Err(FirstLine::OtherJson),
        Err(e) if e.is_eof() && text.starts_with("{\"t\":\"header\"") => return Err(FirstLine::TornHeader),
        Err(_) => return Err(FirstLine::Text),
    }
    match serde_json::from_str::<Entry>(text) {
        Ok(Entry::Header { source, host, .. }) => Ok((source, host)),
        _ => Err(FirstLine::OtherJson),
    }
}

/// The `version` of a header line, whatever else it holds.
fn first_version(line: &[u8]) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    if v.get("t")?.as_str()? != "header" {
        return None;
    }
    v.get("version")?.as_u64()?.try_into().ok()
}

/// What a recording says was lost to ring-buffer overruns, if anything.
pub fn lost_message((lost, unknown): (u64, u64)) -> Option<String> {
    (lost > 0 || unknown > 0).then(|| {
        let more = if unknown > 0 {
            format!(" (and more in {unknown} overrun(s) before anything was read)")
        } else {
            String::new()
        };
        format!("{lost} kernel log records were lost to ring-buffer overruns{more}")
    })
}

/// The warning for a recording whose last line was torn.
/// The warning for a recording whose input ended in a read error.
pub fn cut_message(name: &str, err: &str) -> String {
    format!("{name}: reading stopped early ({err}); what came before it is replayed")
}

pub fn torn_message(name: &str) -> String {
    format!("{name}: the last line was torn (the recorder stopped mid-write); ignored")
}

/// One compact sample (version 3; written and read by `crate::sampling`): a cgroup's usage, limit and guard counters at an
/// instant. `c` is the cgroup's index in the recording's `sampling` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compact {
    pub c: usize,
    /// Seconds since boot (`/proc/uptime`, 10 ms steps).
    pub up: Option<f64>,
    pub usage: Option<u64>,
    /// Null when unknown or unlimited (then `unlimited` is true).
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlimited: bool,
    /// v1 `memory.failcnt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    /// v2 `memory.events` `max`: times usage hit the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// v1 `memory.oom_control` / v2 `memory.events` `oom_kill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill: Option<u64>,
    /// The `memory.stat` counters of the cache rule, in its order: page
    /// cache, shmem, dirty, writeback (`crate::guard::cache_keys`: v1's
    /// hierarchical `total_*` where the kernel has it; null: absent).
    pub cache: [Option<u64>; 4],
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let mut buf = Vec::new();
        {
            let mut w = Recorder::new(Box::new(std::io::Cursor::new(Vec::new())));
            w.write(&Entry::Lost { n: 1 }).unwrap();
        }
        for e in [
            Entry::Header {
                version: 1,
                source: "/dev/kmsg".into(),
                host: HostFacts::default(),
            },
            Entry::Record { r: "4,1,2,-;x".into() },
            Entry::Settle { all: false },
        ] {
            buf.extend(serde_json::to_string(&e).unwrap().bytes());
            buf.push(b'\n');
        }
        buf.extend(b"{\"t\":\"rec");
        let r = read(&buf[..], "r").unwrap();
        assert!(r.torn);
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.source, "/dev/kmsg");
        let bad = b"{\"t\":\"lost\",\"n\":1}\n";
        assert!(read(&bad[..], "r")
            .unwrap_err()
            .to_string()
            .contains("not an oomctl recording"));
        let mid = b"{\"t\":\"header\",\"version\":1,\"source\":\"s\",\"host\":{\"hostname\":null,\"kernel\":null,\"boot_id\":null,\"page_size\":null,\"boot_time_us\":null,\"started\":null}}\nnot json\n{\"t\":\"lost\",\"n\":1}\n";
        assert!(read(&mid[..], "r")
            .unwrap_err()
            .to_string()
            .starts_with("r:2: not a recording entry"));
    }

    #[test]
    fn a_newer_version_is_named_before_its_entries_are_read() {
        let newer = b"{\"t\":\"header\",\"version\":9,\"source\":\"s\",\"host\":{},\"more\":1}\n{\"t\":\"new\"}\n";
        let e = read(&newer[..], "r").unwrap_err();
        assert_eq!(
            e.to_string(),
            "r: recording version 9 is newer than this oomctl reads (3)"
        );
    }

    /// A version 1 recording (corpus/recordings: `oomctl record` on 6.18,
    /// cgroup v1) reads as version 2 would have been written: its null
    /// limits meant no limit, its memory.stat kept the kernel's number.
    #[test]
    fn version_1_snapshots_read_as_version_2() {
        let v1 = include_str!("../corpus/recordings/6.18-v1-multi.rec");
        let (header, sample) = (v1.lines().next().unwrap(), v1.lines().nth(1).unwrap());
        assert!(
            header.contains("\"version\":1") && sample.contains("\"hierarchical_memsw_limit\":9223372036854771712")
        );
        // The cgroup as it was, and as an unlimited one would have been.
        let unlimited = sample.replace("\"limit_bytes\":100663296", "\"limit_bytes\":null");
        let text = format!("{header}\n{sample}\n{unlimited}\n");
        let r = read(text.as_bytes(), "r").unwrap();
        let snaps: Vec<&Snapshot> = r
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Sample { snapshot } => Some(snapshot),
                _ => None,
            })
            .collect();
        assert_eq!((snaps[0].limit_bytes, snaps[0].unlimited), (Some(100663296), false));
        assert_eq!((snaps[1].limit_bytes, snaps[1].unlimited), (None, true));
        for s in &snaps {
            assert_eq!(s.stat["hierarchical_memsw_limit"], None);
            assert_eq!(s.stat["hierarchical_memory_limit"], Some(100663296));
        }
        // Written again, it is a version 2 recording that reads the same.
        let again = Entry::Sample {
            snapshot: snaps[1].clone(),
        };
        let line = serde_json::to_string(&again).unwrap();
        assert!(line.contains("\"limit_bytes\":null,\"unlimited\":true"), "{line}");
        assert!(line.contains("\"hierarchical_memsw_limit\":null"), "{line}");
        let v2 = format!("{}\n{line}\n", header.replace("\"version\":1", "\"version\":2"));
        assert_eq!(read(v2.as_bytes(), "r").unwrap().entries, vec![again]);
    }

    /// Version 3: `sampling` names the cgroups, `compact` samples name one
    /// by index (lines as `oomctl record --interval 0.25` wrote them on
    /// 6.18, cgroup v1, 2026-11-28); an index no `sampling` entry names is
    /// an error naming the line.
    #[test]
    fn version_3_compact_samples_name_their_cgroup() {
        let head = r#"{"t":"header","version":3,"source":"/dev/kmsg","host":{"hostname":"vm","kernel":"6.18.44-fc-v657","boot_id":null,"page_size":4096,"boot_time_us":1795857096895901,"started":null}}"#;
        let sampling = r#"{"t":"sampling","cgroups":["/process_api/x/oomctl-samples-m"],"interval_s":0.25}"#;
        let compact = r#"{"t":"compact","c":0,"up":37099.09,"usage":28573696,"limit":100663296,"failcnt":0,"oom_kill":0,"cache":[24576,0,0,0]}"#;
        let text = format!("{head}\n{sampling}\n{compact}\n");
        let r = read(text.as_bytes(), "r").unwrap();
        let got: Vec<_> = compact_samples(&r.entries).collect();
        assert_eq!(got.len(), 1);
        let (path, c) = got[0];
        assert_eq!(path, "/process_api/x/oomctl-samples-m");
        assert_eq!(
            (c.up, c.usage, c.limit, c.unlimited),
            (Some(37099.09), Some(28573696), Some(100663296), false)
        );
        assert_eq!(c.clean_cache(), Some(24576));
        // Written again, the same line.
        assert_eq!(serde_json::to_string(&r.entries[1]).unwrap(), compact);
        let orphan = format!("{head}\n{compact}\n{sampling}\n");
        assert_eq!(
            read(orphan.as_bytes(), "r").unwrap_err().to_string(),
            "r:2: not a recording entry (a JSON object whose \"t\" is header, record, lost, settle, snap, \
             sample, sampling, compact, counting, counter, gone, victim or release): compact sample of cgroup 0 \
             but the sampling entry before it names 0"
        );
        // An unknown field is still an error (a newer entry would say so
        // by its version first).
        let extra = format!(
            "{head}\n{sampling}\n{}\n{compact}\n",
            compact.replace("\"c\":0", "\"c\":0,\"x\":1")
        );
        assert!(read(extra.as_bytes(), "r").is_err());
    }

    /// The fast reading of `compact` lines and the enum's accept and refuse
    /// the same lines, the same way.
    #[test]
    fn compact_lines_read_as_the_enum_reads_them() {
        let base = r#"{"t":"compact","c":0,"up":37099.09,"usage":28573696,"limit":100663296,"failcnt":0,"oom_kill":0,"cache":[24576,0,0,0]}"#;
        let lines = [
            base.to_owned(),
            base.replace(",\"failcnt\":0", ""),
            base.replace("\"limit\":100663296", "\"limit\":null,\"unlimited\":true"),
            base.replace(",\"oom_kill\":0", ",\"max\":3,\"oom_kill\":1"),
            base.replace("\"up\":37099.09", "\"up\":null"),
            base.replace("[24576,0,0,0]", "[null,null,null,null]"),
            base.replace("[24576,0,0,0]", "[1,2,3]"),
            base.replace("\"c\":0", "\"c\":0,\"x\":1"),
            base.replace("\"c\":0", "\"c\":-1"),
            base.replace("\"usage\":28573696", "\"usage\":\"1\""),
            base.replace(",\"cache\":[24576,0,0,0]", ""),
            base.replace("\"usage\":28573696", "\"usage\":28573696,\"usage\":1"),
            base.replace("compact", "sample"),
            base[..40].to_owned(),
            format!("{base} "),
            format!("{base}x"),
        ];
        let more = [
            base.replace("\"up\":37099.09", "\"up\":1e3"),
            base.replace("\"up\":37099.09", "\"up\":-0.5"),
            base.replace("\"up\":37099.09", "\"up\":00.5"),
            base.replace("\"up\":37099.09", "\"up\":+1"),
            base.replace("\"up\":37099.09", "\"up\":inf"),
            base.replace("\"up\":37099.09", "\"up\":1e999"),
            base.replace("\"usage\":28573696", "\"usage\":028573696"),
            base.replace("\"usage\":28573696", "\"usage\":18446744073709551616"),
            base.replace("\"c\":0", "\"c\": 0"),
            base.replace(",\"failcnt\":0", ",\"failcnt\":null"),
            base.replace("\"limit\":100663296", "\"limit\":null,\"unlimited\":false"),
            base.replace("[24576,0,0,0]", "[24576,0,0,0,0]"),
            base.replace("[24576,0,0,0]", "[24576,0,0,null]"),
        ];
        for l in lines.iter().chain(&more) {
            let fast = compact_line(l.as_bytes()).map(Entry::Compact);
            let slow = serde_json::from_str::<Entry>(l).ok();
            if l.starts_with("{\"t\":\"compact\",") || fast.is_some() {
                assert_eq!(fast, slow, "{l}");
            }
            // The exact reading takes no line serde would not.
            if let Some(c) = compact_line_exact(l.as_bytes()) {
                assert_eq!(Some(Entry::Compact(c)), slow, "{l}");
            }
        }
        assert!(compact_line_exact(base.as_bytes()).is_some());
        // What the recorder writes, any values: the exact reading.
        for (up, usage) in [
            (0.0, 0u64),
            (0.01, 1),
            (86399.99, u64::MAX),
            (1e-7, 4096),
            (123456789.5, 7),
        ] {
            let c = Compact {
                c: 3,
                up: Some(up),
                usage: Some(usage),
                limit: None,
                unlimited: true,
                failcnt: None,
                max: Some(2),
                oom_kill: Some(1),
                cache: [Some(1), None, Some(0), Some(u64::MAX)],
            };
            let line = serde_json::to_string(&Entry::Compact(c.clone())).unwrap();
            assert_eq!(compact_line_exact(line.as_bytes()), Some(c), "{line}");
        }
    }

    /// Read one entry at a time: what `read` returns whole, and its torn,
    /// cut and bad lines the same way.
    #[test]
    fn the_reader_streams_what_read_returns() {
        let text = include_str!("../corpus/recordings/6.18-v1-multi.rec");
        let whole = read(text.as_bytes(), "r").unwrap();
        let mut r = Reader::open(text.as_bytes(), "r").unwrap();
        let mut n = 0;
        while let Some(e) = r.next_entry().unwrap() {
            assert_eq!(e, whole.entries[n]);
            n += 1;
        }
        assert_eq!(n, whole.entries.len());
        assert!(!r.torn);
        let torn = format!("{}{{\"t\":\"rec", text);
        let mut r = Reader::open(torn.as_bytes(), "r").unwrap();
        while r.next_entry().unwrap().is_some() {}
        assert!(r.torn);
        let bad = format!("{}{{\"t\":\"rec\n{{\"t\":\"release\"}}\n", text);
        let mut r = Reader::open(bad.as_bytes(), "r").unwrap();
        let err = loop {
            match r.next_entry() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("a bad line in the middle was not refused"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            err.starts_with(&format!("r:{}: not a recording entry", text.lines().count() + 1)),
            "{err}"
        );
    }
}
