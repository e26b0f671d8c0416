//! The episode builder: a state machine that assembles classified kernel
//! lines ([`crate::kline`]) into [`Episode`]s.
//!
//! Input arrives from the scanner one kernel message at a time; finished
//! episodes leave through [`Builder::pop_ready`] in the order their first line
//! appeared. The rules that keep reports apart (never merge two, never drop
//! one) are:
//! - a header always starts a new episode;
//! - a section the open episode already has (a second `memory:` counter,
//!   task table or `oom-kill:` line), or one that comes after its kill,
//!   starts a new episode whose header was lost;
//! - a second kill line joins the open episode only in a group kill or after
//!   a `… or sacrifice child` selection: otherwise it is a report whose
//!   header was rate-limited away, so a new episode;
//! - a line more than [`MAX_GAP_US`] after the open episode's last line, or
//!   [`MAX_UNRELATED_RUN`] unrelated lines in a row before its kill, closes
//!   it as incomplete (a truncated report);
//! - a line identical in time and text to one the open episode already
//!   consumed is a duplicate capture (console + kmsg) and is skipped.
//!
//! Lines of different hosts (central syslog) go to separate streams.

mod finalize;

use crate::envelope::{LogLine, Stamp};
use crate::kline::{self, CounterKind, FrameKind, KLine, Layout, MemInfoLine, RawRow};
use crate::model::{
    Episode, FreeBlocks, Malformed, MemcgStats, Reaped, Selected, StatsFormat, Text, Trigger, Victim, Zone,
};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// Largest gap between two lines of one report (printk timestamps).
pub const MAX_GAP_US: u64 = 10_000_000;
/// Unrelated lines in a row that end a report that has no kill yet.
pub const MAX_UNRELATED_RUN: u32 = 2_000;
/// Task-table rows kept per episode; further rows are counted only.
pub const MAX_TASK_ROWS: usize = 1_000_000;
/// Zones kept per Mem-Info block (a kernel has at most 1024 nodes of 6
/// zones); further zone lines are read as the block's and not kept.
pub const MAX_ZONES: usize = 6_144;
/// Episodes kept open after their kill for late oom_reaper lines.
const RECENT: usize = 2;
/// Malformed lines kept (the rest are counted).
const MAX_MALFORMED_KEPT: usize = 100;
/// Caller streams kept before the idle ones are dropped.
const MAX_IDLE_STREAMS: usize = 64;

/// Options of the builder.
#[derive(Debug, Clone, Default)]
pub struct BuilderOptions {
    /// Page size for task-table and Mem-Info pages; inferred when None.
    pub page_size: Option<u64>,
}

/// Which multi-line section the open episode is reading.
#[derive(Debug, Clone)]
enum Section {
    None,
    Stats(usize),
    MemInfo,
    Tasks(Layout),
}

/// An episode being assembled, with the state needed to place its lines.
#[derive(Debug)]
struct Open {
    ep: Episode,
    rows: Vec<RawRow>,
    mem_pages: BTreeMap<Text, u64>,
    /// The nodes' counters (bytes), summed: the system counters' stand-in
    /// where a paste lost them.
    node_bytes: BTreeMap<Text, u64>,
    /// Mem-Info buddy lists read, bounded by [`MAX_ZONES`].
    buddy_lists: usize,
    pagecache_pages: Option<u64>,
    ram_pages: Option<u64>,
    section: Section,
    /// Sections seen, to detect the start of another report.
    has: Has,
    killed: bool,
    /// A kill line was read (not only a victim named by the summary or the
    /// reaper).
    kill_line: bool,
    pending_select: Option<Selected>,
    /// The selection line's reason prefix, for pre-5.1 kill lines without one.
    select_reason: Option<Text>,
    last_uptime_us: Option<u64>,
    /// The same by the wall clock ([`crate::envelope::wall_seconds`]).
    last_wall_s: Option<i64>,
    unrelated_run: u32,
    seen: KeySet,
    /// What the call trace's frames say of the scope.
    trace: Trace,
    /// The victim the `oom-kill:` summary names (task, pid, uid), for a
    /// report whose kill line was lost.
    summary: Option<(u32, Text, Option<u32>)>,
    /// Opened by a `CPU:` line with no header before it: an episode only
    /// once an OOM line follows, dropped at the first unrelated line.
    tentative: bool,
}

/// The call trace's say on the scope: memcg frames, global allocator frames.
#[derive(Debug, Default, Clone, Copy)]
struct Trace {
    memcg: bool,
    global: bool,
    /// The first filesystem frame: the trace runs inward out, so the one
    /// nearest the allocation (below a stacking filesystem's).
    filesystem: Option<&'static str>,
}

impl Trace {
    fn add(&mut self, kind: FrameKind) {
        match kind {
            FrameKind::MemcgOom | FrameKind::MemcgCharge => self.memcg = true,
            FrameKind::GlobalOom | FrameKind::GlobalAlloc => self.global = true,
            FrameKind::Filesystem(fs) => {
                self.filesystem.get_or_insert(fs);
            }
            FrameKind::Oom | FrameKind::Other => {}
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Has {
    header: bool,
    cpu: bool,
    memory: bool,
    task_in: bool,
    tasks_state: bool,
    task_header: bool,
    oom_kill: bool,
    group: bool,
    mem_info: bool,
}

/// Per-host assembly state.
#[derive(Debug, Default)]
struct Stream {
    host: Option<String>,
    /// printk caller id: with CONFIG_PRINTK_CALLER every line of a report
    /// carries its task's id, which keeps concurrent reports apart.
    caller: Option<String>,
    open: Option<Open>,
    recent: VecDeque<Open>,
    manual_next: bool,
}

/// Assembles episodes from the kernel lines of one input.
#[derive(Debug)]
pub struct Builder {
    file: Text,
    opts: BuilderOptions,
    streams: Vec<Stream>,
    ready: BTreeMap<(u64, u64), Episode>,
    order: u64,
    malformed: Vec<Malformed>,
    malformed_total: u64,
    /// Lines skipped as second captures of a line already read.
    repeated: u64,
    /// What to tell about those skips (the first [`MAX_MALFORMED_KEPT`]).
    notes: Vec<String>,
}

impl Builder {
    /// A builder for the input named `file` (as it should appear in output).
    pub fn new(file: &str, opts: BuilderOptions) -> Builder {
        Builder {
            file: Text::new(file),
            opts,
            streams: Vec::new(),
            ready: BTreeMap::new(),
            order: 0,
            malformed: Vec::new(),
            malformed_total: 0,
            repeated: 0,
            notes: Vec::new(),
        }
    }

    /// True while some report is open before its kill: the scanner must then
    /// feed every line, not only those with an OOM phrase.
    pub fn wants_every_line(&self) -> bool {
        // After an OOM panic its dump_stack follows (and then nothing: the
        // machine stops).
        self.streams
            .iter()
            .any(|s| s.open.as_ref().is_some_and(|o| !o.killed || o.ep.panic.is_some()))
    }

    /// Malformed OOM lines seen outside any episode (first 100) and how many
    /// malformed lines there were in all, inside episodes included.
    pub fn malformed(&self) -> (&[Malformed], u64) {
        (&self.malformed, self.malformed_total)
    }

    /// Lines skipped because they were a second capture of one already read
    /// (the same time and text, or a kill line repeated inside one report),
    /// and messages about the skips worth a warning.
    pub fn repeated(&self) -> (u64, &[String]) {
        (self.repeated, &self.notes)
    }

    /// Feed one kernel message found on physical line `line_no`.
    pub fn push(&mut self, line_no: u64, line: &LogLine<'_>) {
        self.push_lines(line_no, line_no, line);
    }

    /// Feed one kernel message that physical lines `first_no` to `last_no`
    /// hold (a line a terminal or mailer wrapped, joined again): an episode
    /// it belongs to ends at its last piece.
    pub fn push_lines(&mut self, first_no: u64, last_no: u64, line: &LogLine<'_>) {
        self.push_lines_kind(first_no, last_no, line, None);
    }

    /// [`Builder::push_lines`] of a message whose shape the caller read
    /// already (`kind`, [`kline::classify`] of its text): not read again.
    pub fn push_lines_kind(&mut self, first_no: u64, last_no: u64, line: &LogLine<'_>, kind: Option<KLine<'_>>) {
        let Some(idx) = self.push_one(first_no, line, kind) else {
            return;
        };
        if last_no > first_no {
            if let Some(open) = self.streams[idx].open.as_mut() {
                if open.ep.source.last_line == first_no {
                    open.ep.source.last_line = last_no;
                }
            }
        }
    }

    /// [`Builder::push`]; the stream the message went to, if any.
    fn push_one(&mut self, line_no: u64, line: &LogLine<'_>, kind: Option<KLine<'_>>) -> Option<usize> {
        let text = line.text.as_ref();
        let stamp = &line.stamp;
        let idx = match self.find_stream(stamp) {
            Some(i) => i,
            // Unrelated lines of a caller without a report need no stream.
            None if stamp.caller.is_some() && matches!(kline::classify(text), KLine::Unrelated) => return None,
            None => self.new_stream(stamp),
        };
        // Hashed only where a report is open or the line is consumed: most
        // lines that get here are unrelated ones outside any report.
        let mut key = None;
        if let Some(open) = self.streams[idx].open.as_mut() {
            key = line_key(stamp, text);
            // A line read twice (console and kmsg both logged, their lines
            // interleaved) is skipped; but a section that precedes the kill,
            // repeated after the report's kill, begins a second capture of
            // the report (whole or cut), which is built and then counted as
            // a duplicate report where reports are compared.
            if key.is_some_and(|k| open.seen.contains(&k)) && !(open.killed && kline::classify(text).precedes_kill()) {
                self.repeated += 1;
                return None;
            }
            // Inside a multi-line section, context decides what a line means.
            if open.section_line(text) {
                open.touch(stamp, line_no);
                open.seen.extend(key);
                return Some(idx);
            }
        }
        let kl = kind.unwrap_or_else(|| kline::classify(text));
        let consumed = !matches!(kl, KLine::Unrelated);
        let confirms = kl.shows_oom();
        let counters = matches!(kl, KLine::MemInfoCounters);
        self.dispatch(idx, line_no, stamp, kl);
        if consumed {
            if let Some(open) = self.streams[idx].open.as_mut() {
                if counters && matches!(open.section, Section::MemInfo) {
                    // The block's first line is one of its counters.
                    open.section_line(text);
                }
                open.seen.extend(key.or_else(|| line_key(stamp, text)));
                open.tentative &= !confirms;
            }
        }
        Some(idx)
    }

    /// An episode made elsewhere from line `line_no` (an oom-guard event,
    /// seed 002): it leaves in its place among the reports' episodes.
    pub fn push_episode(&mut self, line_no: u64, ep: Episode) {
        self.order += 1;
        self.ready.insert((line_no, self.order), ep);
    }

    /// The input's name, as episodes give it.
    pub fn file(&self) -> &Text {
        &self.file
    }

    /// Live input went quiet: finish every report that has its kill (the
    /// oom_reaper and group-kill lines come within microseconds of it), and
    /// with `all` also reports still waiting for theirs. Only the live
    /// layer calls this; a recording marks where, so replay repeats it.
    pub fn settle(&mut self, all: bool) {
        for i in 0..self.streams.len() {
            if self.streams[i].open.as_ref().is_some_and(|o| all || o.killed) {
                self.close_open(i);
            }
            while let Some(o) = self.streams[i].recent.pop_front() {
                self.push_ready(o);
            }
        }
    }

    /// True while some report is open or recently closed: a live reader
    /// should settle after a quiet grace period.
    pub fn pending(&self) -> Option<bool> {
        let open_unkilled = self.streams.iter().any(|s| s.open.as_ref().is_some_and(|o| !o.killed));
        let any = self.streams.iter().any(|s| s.open.is_some() || !s.recent.is_empty());
        any.then_some(open_unkilled)
    }

    /// Close everything: end of input.
    pub fn finish(&mut self) {
        for i in 0..self.streams.len() {
            self.close_open(i);
            while let Some(o) = self.streams[i].recent.pop_front() {
                self.push_ready(o);
            }
        }
    }

    /// The next finished episode, in order of first line.
    pub fn pop_ready(&mut self) -> Option<Episode> {
        // Nothing ready (after nearly every line): no stream looked at.
        let (&key, _) = self.ready.first_key_value()?;
        let pending = self.min_pending();
        if pending.is_some_and(|p| p < key.0) {
            return None;
        }
        self.ready.remove(&key)
    }

    fn min_pending(&self) -> Option<u64> {
        self.streams
            .iter()
            .flat_map(|s| s.open.iter().chain(s.recent.iter()))
            .map(|o| o.ep.source.first_line)
            .min()
    }

    fn find_stream(&self, stamp: &Stamp) -> Option<usize> {
        let (host, caller) = (stamp.host.as_deref(), stamp.caller.as_deref());
        self.streams
            .iter()
            .position(|s| s.host.as_deref() == host && s.caller.as_deref() == caller)
    }

    fn new_stream(&mut self, stamp: &Stamp) -> usize {
        // Streams of callers whose reports are all done are dropped, so a
        // long log with thousands of task ids keeps only a few.
        if self.streams.len() >= MAX_IDLE_STREAMS {
            self.streams
                .retain(|s| s.caller.is_none() || s.open.is_some() || !s.recent.is_empty() || s.manual_next);
        }
        self.streams.push(Stream {
            host: stamp.host.clone(),
            caller: stamp.caller.clone(),
            ..Stream::default()
        });
        self.streams.len() - 1
    }

    fn note_malformed(&mut self, idx: usize, line: u64, reason: &str) {
        self.malformed_total += 1;
        let m = Malformed {
            line,
            reason: Text::from(format!("unparsable {reason}")),
        };
        match self.streams[idx].open.as_mut() {
            Some(o) if o.ep.malformed.len() < MAX_MALFORMED_KEPT => o.ep.malformed.push(m),
            Some(_) => {}
            None if self.malformed.len() < MAX_MALFORMED_KEPT => self.malformed.push(m),
            None => {}
        }
    }

    /// Route a classified line.
    fn dispatch(&mut self, idx: usize, line_no: u64, stamp: &Stamp, kl: KLine<'_>) {
        // Lines that only make sense inside an open, not yet killed report.
        let live = |s: &Stream| s.open.as_ref().is_some_and(|o| !o.killed && !o.stale(stamp));
        // An OOM panic's own dump_stack (its `CPU:` line, trace and
        // registers) belongs to the panic's episode.
        let panicking = |s: &Stream| s.open.as_ref().is_some_and(|o| o.ep.panic.is_some() && !o.stale(stamp));
        match kl {
            KLine::Unrelated => {
                let close = match self.streams[idx].open.as_mut() {
                    // A `CPU:` line no OOM line followed: another splat.
                    Some(o) if o.tentative => true,
                    Some(o) if !o.killed => {
                        o.unrelated_run += 1;
                        o.unrelated_run > MAX_UNRELATED_RUN
                    }
                    _ => false,
                };
                if close {
                    self.close_open(idx);
                }
            }
            KLine::Malformed(reason) => self.note_malformed(idx, line_no, reason),
            KLine::Noise | KLine::Elision => {
                if live(&self.streams[idx]) || panicking(&self.streams[idx]) {
                    if let Some(o) = self.streams[idx].open.as_mut() {
                        o.touch(stamp, line_no);
                    }
                }
            }
            KLine::Frame(kind) => {
                if live(&self.streams[idx]) || panicking(&self.streams[idx]) {
                    let o = self.streams[idx].open.as_mut().expect("live");
                    o.trace.add(kind);
                    o.touch(stamp, line_no);
                } else if kind.is_oom() {
                    // A report whose header and `CPU:` line were lost: its
                    // call trace is where it begins.
                    self.start(idx, line_no, stamp).trace.add(kind);
                }
            }
            KLine::ManualOom => self.streams[idx].manual_next = true,
            KLine::Header(h) => {
                let o = self.start(idx, line_no, stamp);
                o.has.header = true;
                let t = o.trigger();
                // Early 2.6 headers (`oom-killer: gfp_mask=…`) name no task.
                t.comm = (!h.comm.is_empty()).then(|| Text::new(h.comm));
                // Empty where a cut line lost it.
                t.gfp_mask = (!h.gfp_mask.is_empty()).then(|| Text::new(h.gfp_mask));
                t.gfp_flags = h.gfp_flags.iter().map(|f| Text::new(f)).collect();
                t.order = h.order;
                t.oom_score_adj = h.oom_score_adj;
                t.nodemask = h.nodemask.map(Text::new);
                if h.order == Some(-1) {
                    o.ep.manual = true;
                }
            }
            KLine::Cpuset(c) => {
                if let Some(o) = self.streams[idx].open.as_mut().filter(|o| !o.killed) {
                    let t = o.trigger();
                    t.cpuset = Some(Text::new(c.cpuset));
                    t.mems_allowed = Some(Text::new(c.mems_allowed));
                    o.touch(stamp, line_no);
                }
            }
            KLine::Cpu(c) => {
                // panic() prints its message, then the stack of the task
                // that panicked: the trigger of a panic_on_oom.
                let after_panic = self.streams[idx]
                    .open
                    .as_ref()
                    .is_some_and(|o| o.ep.panic.is_some() && !o.stale(stamp));
                // (Its trace follows: a report that had its own `CPU:` line
                // keeps the panic's as well, rather than open another.)
                let joins = after_panic
                    || (live(&self.streams[idx])
                        && self.streams[idx]
                            .open
                            .as_ref()
                            .is_some_and(|o| !o.has.cpu && !o.tentative));
                let o = if joins {
                    self.streams[idx].open.as_mut().expect("live")
                } else {
                    // The dump_stack line of a report whose header was lost
                    // (or of another kernel splat: tentative until an OOM
                    // line follows).
                    let o = self.start(idx, line_no, stamp);
                    o.tentative = true;
                    o
                };
                o.has.cpu = true;
                o.ep.kernel = c.kernel.map(Text::new).or(o.ep.kernel.take());
                let t = o.trigger();
                match &t.comm {
                    None => {
                        t.comm = Some(Text::new(c.comm));
                        t.pid = Some(c.pid);
                    }
                    Some(comm) if *comm == Text::new(c.comm) => t.pid = Some(c.pid),
                    Some(_) => {}
                }
                o.touch(stamp, line_no);
            }
            KLine::Counter(kind, counter) => {
                if kind == CounterKind::Memory {
                    let o = self.section_owner(idx, line_no, stamp, |h| h.memory || h.tasks_state || h.task_header);
                    o.has.memory = true;
                    let m = o.ep.memcg.get_or_insert_with(Default::default);
                    m.usage_bytes = Some(counter.usage_bytes);
                    m.limit_bytes = counter.limit_bytes;
                    m.unlimited = counter.unlimited;
                    m.failcnt = Some(counter.failcnt);
                    o.touch(stamp, line_no);
                } else if live(&self.streams[idx]) {
                    let o = self.streams[idx].open.as_mut().expect("live");
                    match kind {
                        CounterKind::MemSwap => o.ep.memsw = Some(counter),
                        CounterKind::Kmem => o.ep.kmem = Some(counter),
                        _ => o.ep.swap = Some(counter),
                    }
                    o.touch(stamp, line_no);
                }
            }
            KLine::UsageCut {
                usage_bytes,
                limit_bytes,
            } => {
                // A counter line cut short: what it still says.
                let o = self.section_owner(idx, line_no, stamp, |h| h.memory || h.tasks_state || h.task_header);
                o.has.memory = true;
                let m = o.ep.memcg.get_or_insert_with(Default::default);
                m.usage_bytes = Some(usage_bytes);
                if let Some(l) = limit_bytes {
                    (m.limit_bytes, m.unlimited) = crate::units::limit(l);
                }
                o.touch(stamp, line_no);
            }
            KLine::TaskInCut(task_memcg) => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.task_in || h.memory || h.task_header);
                o.has.task_in = true;
                o.ep.task_memcg = Some(Text::new(task_memcg));
                o.touch(stamp, line_no);
            }
            KLine::TaskIn { task_memcg, oom_memcg } => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.task_in || h.memory || h.task_header);
                o.has.task_in = true;
                o.ep.task_memcg = Some(Text::new(task_memcg));
                o.ep.memcg.get_or_insert_with(Default::default).path = Some(Text::new(oom_memcg));
                o.touch(stamp, line_no);
            }
            KLine::StatsHeader(h) => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.tasks_state || h.task_header);
                let (format, stats) = match &h.oneline {
                    Some(pairs) => (
                        StatsFormat::V1Oneline,
                        pairs
                            .iter()
                            .map(|(k, v)| (Text::new(k), crate::units::stat_value(k, *v)))
                            .collect(),
                    ),
                    None => (StatsFormat::V1, BTreeMap::new()),
                };
                o.ep.memcg_stats.push(MemcgStats {
                    path: Text::new(h.path),
                    format,
                    stats,
                });
                if h.oneline.is_none() {
                    o.section = Section::Stats(o.ep.memcg_stats.len() - 1);
                }
                o.touch(stamp, line_no);
            }
            KLine::MemInfoStart | KLine::MemInfoCounters => {
                if live(&self.streams[idx]) {
                    let o = self.streams[idx].open.as_mut().expect("live");
                    if !o.has.mem_info {
                        o.has.mem_info = true;
                        o.section = Section::MemInfo;
                        o.touch(stamp, line_no);
                    }
                } else {
                    // Where a report's header and trace were lost; but an
                    // allocation failure prints Mem-Info too: tentative.
                    let o = self.start(idx, line_no, stamp);
                    o.tentative = true;
                    o.has.mem_info = true;
                    o.section = Section::MemInfo;
                }
            }
            KLine::TasksState => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.tasks_state || h.task_header);
                o.has.tasks_state = true;
                o.touch(stamp, line_no);
            }
            KLine::TaskRow(row) => {
                // A row outside a table: the table goes on after a line that
                // interrupted it, or began where the log does (its header
                // lost).
                let o = self.section_owner(idx, line_no, stamp, |_| false);
                o.has.task_header = true;
                o.section = Section::Tasks(Layout {
                    columns: Vec::new(),
                    from_header: false,
                });
                if o.rows.len() < MAX_TASK_ROWS {
                    o.rows.push(*row);
                } else {
                    o.ep.tasks_omitted += 1;
                }
                o.touch(stamp, line_no);
            }
            KLine::TaskHeader(layout) => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.task_header);
                o.has.task_header = true;
                o.section = Section::Tasks(layout);
                o.touch(stamp, line_no);
            }
            KLine::OomKill(k) => {
                let o = self.section_owner(idx, line_no, stamp, |h| h.oom_kill);
                o.has.oom_kill = true;
                o.ep.constraint = Some(Text::new(k.constraint));
                if let Some(pid) = k.pid {
                    o.summary = Some((pid, Text::new(k.task.unwrap_or_default()), k.uid));
                }
                if let Some(p) = k.oom_memcg {
                    o.ep.memcg.get_or_insert_with(Default::default).path = Some(Text::new(p));
                }
                o.ep.task_memcg = k.task_memcg.map(Text::new).or(o.ep.task_memcg.take());
                let t = o.trigger();
                t.cpuset = k.cpuset.map(Text::new).or(t.cpuset.take());
                t.mems_allowed = k.mems_allowed.map(Text::new).or(t.mems_allowed.take());
                if t.nodemask.is_none() {
                    t.nodemask = k.nodemask.map(Text::new);
                }
                o.touch(stamp, line_no);
            }
            KLine::GroupKill(path) => {
                // The kernel prints it right after the first victim's kill
                // line, before the other members' kills.
                let after_kill = self.streams[idx]
                    .open
                    .as_ref()
                    .is_some_and(|o| o.killed && !o.stale(stamp) && !o.has.group);
                let o = if after_kill {
                    self.streams[idx].open.as_mut().expect("after kill")
                } else {
                    self.section_owner(idx, line_no, stamp, |h| h.group)
                };
                o.has.group = true;
                o.ep.group_kill = Some(Text::new(path));
                o.touch(stamp, line_no);
            }
            KLine::Select(s) => {
                // A second selection before any kill belongs to a new report.
                let again = self
                    .section_owner(idx, line_no, stamp, |_| false)
                    .pending_select
                    .is_some();
                let o = if again {
                    self.start(idx, line_no, stamp)
                } else {
                    self.streams[idx].open.as_mut().expect("section owner is open")
                };
                o.pending_select = Some(selected(&s));
                o.select_reason = s.reason.map(Text::new);
                o.touch(stamp, line_no);
            }
            KLine::Kill(k) => self.kill(idx, line_no, stamp, *k),
            KLine::SharedKill { pid, comm } => {
                if let Some(o) = self.streams[idx].open.as_mut().filter(|o| o.killed) {
                    if !o.ep.victims.iter().any(|v| v.pid == pid) {
                        o.ep.victims.push(Victim {
                            pid,
                            comm: Text::new(comm),
                            reason: Some(Text::new("sharing same memory")),
                            ..Victim::default()
                        });
                    }
                    o.touch(stamp, line_no);
                }
            }
            KLine::Reaper(r) => {
                // The reaper is its own kernel thread: with caller ids its
                // line sits in another stream than the report it closes.
                let host = self.streams[idx].host.clone();
                let owner = self
                    .streams
                    .iter_mut()
                    .filter(|s| s.host == host)
                    .flat_map(|s| s.open.iter_mut().chain(s.recent.iter_mut().rev()))
                    .find_map(|o| {
                        let v = o.ep.victims.iter_mut().find(|v| v.pid == r.pid && v.reaped.is_none())?;
                        v.reaped = Some(Reaped {
                            anon_rss_bytes: r.anon_rss_bytes,
                            file_rss_bytes: r.file_rss_bytes,
                            shmem_rss_bytes: r.shmem_rss_bytes,
                        });
                        Some(o)
                    });
                if let Some(o) = owner {
                    o.touch(stamp, line_no);
                    return;
                }
                // Its kill line was lost: the reaper names the victim, of
                // the report the `oom-kill:` summary says, or of the open one
                // if it names nobody, else of a report lost but for this.
                let reaped = Reaped {
                    anon_rss_bytes: r.anon_rss_bytes,
                    file_rss_bytes: r.file_rss_bytes,
                    shmem_rss_bytes: r.shmem_rss_bytes,
                };
                let fits = |o: &Open| {
                    o.ep.victims.is_empty()
                        && !o.stale(stamp)
                        && o.summary.as_ref().is_none_or(|(pid, _, _)| *pid == r.pid)
                };
                let o = match self.streams[idx].open.as_mut() {
                    Some(o) if fits(o) => o,
                    _ => self.start(idx, line_no, stamp),
                };
                o.ep.victims.push(Victim {
                    pid: r.pid,
                    comm: Text::new(r.comm),
                    reaped: Some(reaped),
                    ..Victim::default()
                });
                o.summary = None;
                o.killed = true;
                o.section = Section::None;
                o.touch(stamp, line_no);
            }
            KLine::NoKillable => {
                let o = self.section_owner(idx, line_no, stamp, |_| false);
                o.ep.no_killable = true;
                o.killed = true;
                o.section = Section::None;
                o.touch(stamp, line_no);
            }
            KLine::Panic(reason) => {
                let (o, fresh) = match self.streams[idx].open.as_mut() {
                    Some(o) if !o.stale(stamp) => (o, false),
                    _ => (self.start(idx, line_no, stamp), true),
                };
                o.ep.panic = Some(Text::new(reason));
                // A panic that opens its episode (the report before it was
                // lost) is followed by its dump_stack: the `CPU:` line and
                // trace that name the task and the scope, read in full.
                o.killed = !fresh;
                o.section = Section::None;
                o.touch(stamp, line_no);
            }
        }
    }

    /// The kill line: joins the open report when it can belong to it,
    /// otherwise starts a new one (a report whose header was lost).
    fn kill(&mut self, idx: usize, line_no: u64, stamp: &Stamp, k: kline::Kill<'_>) {
        let joins = match self.streams[idx].open.as_ref() {
            Some(o) if o.stale(stamp) => false,
            Some(o)
                if o.ep
                    .victims
                    .iter()
                    .any(|v| v.pid == k.pid && v.comm == Text::new(k.comm)) =>
            {
                if o.ep.group_kill.is_some() {
                    // memory.oom.group kills every member, the first victim
                    // again if its memory is not yet gone: the same kill.
                    if let Some(o) = self.streams[idx].open.as_mut() {
                        o.touch(stamp, line_no);
                    }
                    return;
                }
                if o.ep.victims.iter().any(|v| same_kill(v, &k)) {
                    // The same kill line again, stamped differently (two
                    // captures): read once, and said.
                    self.repeated += 1;
                    if self.notes.len() < MAX_MALFORMED_KEPT {
                        self.notes.push(format!(
                            "{}:{line_no}: kill line of pid {} ({}) repeated inside one report: read once",
                            self.file,
                            k.pid,
                            Text::new(k.comm)
                        ));
                    }
                    return;
                }
                // The same process with other numbers: another report,
                // whose header was lost.
                false
            }
            Some(o) => !o.killed || o.ep.group_kill.is_some() || o.pending_select.is_some(),
            None => false,
        };
        let o = if joins {
            self.streams[idx].open.as_mut().expect("joins")
        } else {
            self.start(idx, line_no, stamp)
        };
        let reason = k.reason.map(Text::new).or_else(|| o.select_reason.clone());
        if o.ep.victims.is_empty() {
            o.ep.kill_time = match (stamp.uptime_us, &stamp.wall_raw) {
                (Some(us), _) => Some(Text::from(format!("{us}us"))),
                (None, Some(w)) => Some(Text::new(w)),
                (None, None) => None,
            };
        }
        o.ep.victims.push(Victim {
            pid: k.pid,
            comm: Text::new(k.comm),
            uid: k.uid,
            total_vm_bytes: k.total_vm_bytes,
            anon_rss_bytes: k.anon_rss_bytes,
            file_rss_bytes: k.file_rss_bytes,
            shmem_rss_bytes: k.shmem_rss_bytes,
            pgtables_bytes: k.pgtables_bytes,
            oom_score_adj: k.oom_score_adj,
            reason,
            selected: o.pending_select.take(),
            reaped: None,
        });
        o.killed = true;
        o.kill_line = true;
        o.section = Section::None;
        o.touch(stamp, line_no);
    }

    /// The open episode if it can take a section that `conflicts` says it
    /// does not have yet; otherwise a new episode (its header was lost).
    fn section_owner(
        &mut self,
        idx: usize,
        line_no: u64,
        stamp: &Stamp,
        conflicts: impl Fn(&Has) -> bool,
    ) -> &mut Open {
        let fits = self.streams[idx]
            .open
            .as_ref()
            .is_some_and(|o| !o.killed && !o.stale(stamp) && !conflicts(&o.has));
        if fits {
            self.streams[idx].open.as_mut().expect("fits")
        } else {
            self.start(idx, line_no, stamp)
        }
    }

    /// Close the open episode (if any) and open a new one at this line.
    fn start(&mut self, idx: usize, line_no: u64, stamp: &Stamp) -> &mut Open {
        self.close_open(idx);
        let s = &mut self.streams[idx];
        let mut ep = Episode::default();
        ep.source.file = self.file.clone();
        ep.source.first_line = line_no;
        ep.source.last_line = line_no;
        ep.host = s.host.as_deref().map(Text::new);
        ep.manual = std::mem::take(&mut s.manual_next);
        if !ep.manual {
            // sysrq's line is printed by whoever handled the key; the OOM
            // then runs in a kworker with its own caller id.
            let host = s.host.clone();
            for other in self.streams.iter_mut().filter(|o| o.host == host && o.manual_next) {
                other.manual_next = false;
                ep.manual = true;
            }
        }
        let s = &mut self.streams[idx];
        let mut o = Open {
            ep,
            rows: Vec::new(),
            mem_pages: BTreeMap::new(),
            node_bytes: BTreeMap::new(),
            buddy_lists: 0,
            pagecache_pages: None,
            ram_pages: None,
            section: Section::None,
            has: Has::default(),
            killed: false,
            kill_line: false,
            pending_select: None,
            select_reason: None,
            last_uptime_us: None,
            last_wall_s: None,
            unrelated_run: 0,
            seen: KeySet::with_capacity_and_hasher(256, Default::default()),
            trace: Trace::default(),
            summary: None,
            tentative: false,
        };
        o.touch(stamp, line_no);
        s.open.insert(o)
    }

    fn close_open(&mut self, idx: usize) {
        let Some(o) = self.streams[idx].open.take() else {
            return;
        };
        self.streams[idx].recent.push_back(o);
        while self.streams[idx].recent.len() > RECENT {
            let old = self.streams[idx].recent.pop_front().expect("non-empty");
            self.push_ready(old);
        }
    }

    fn push_ready(&mut self, o: Open) {
        if o.tentative {
            return;
        }
        let ep = finalize::finish(o, &self.opts);
        if !says_anything(&ep) {
            // A lone `Tasks state` or task-table header (a pasted example,
            // the tail of a ring buffer) with nothing else is not an episode.
            return;
        }
        self.order += 1;
        self.ready.insert((ep.source.first_line, self.order), ep);
    }
}

/// True if an episode holds anything about an OOM beyond section headers.
fn says_anything(ep: &Episode) -> bool {
    ep.trigger.is_some()
        || ep.memcg.is_some()
        || ep.constraint.is_some()
        || ep.task_memcg.is_some()
        || !ep.victims.is_empty()
        || ep.selected.is_some()
        || !ep.tasks.is_empty()
        || !ep.memcg_stats.is_empty()
        || ep.mem_info.is_some()
        || ep.group_kill.is_some()
        || ep.no_killable
        || ep.panic.is_some()
}

/// The identity of a precisely timed line, to recognise a second capture of
/// it (console and kmsg both logged). Lines with no timestamp, or only a
/// wall clock to the second, cannot be told apart from a genuine repeat and
/// get none.
fn line_key(stamp: &Stamp, text: &str) -> Option<u64> {
    if stamp.uptime_us.is_none() && stamp.seq.is_none() {
        return None;
    }
    // Every line of an open report is hashed: a folded 64x64-bit multiply
    // per 8 bytes, where SipHash took a fifth of a dense log's time. A
    // collision needs two lines with the same stamp in one report.
    // Each value is mixed in by xor before a multiply by the odd constant
    // (never used as the multiplier: `b | 1` would make seq 2k and 2k+1
    // one key), and whether it is there at all too.
    let mut h = K;
    for v in [stamp.uptime_us, stamp.seq] {
        h = mix(h ^ u64::from(v.is_some()), K);
        h = mix(h ^ v.unwrap_or(0), K);
    }
    let mut words = text.as_bytes().chunks_exact(8);
    for w in &mut words {
        h = mix(h ^ u64::from_le_bytes(w.try_into().expect("8 bytes")), K);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    Some(mix(h ^ u64::from_le_bytes(last), K ^ text.len() as u64))
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// The two halves of `a` × `b` (128 bits) folded by xor.
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b | 1);
    (r as u64) ^ ((r >> 64) as u64)
}

/// A set of line keys, which are hashes already: hashed again by nothing.
type KeySet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// True if `k` is the kill line that made victim `v`: same pid, name and
/// memory figures.
fn same_kill(v: &Victim, k: &kline::Kill<'_>) -> bool {
    v.pid == k.pid
        && v.comm == Text::new(k.comm)
        && (v.total_vm_bytes, v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes)
            == (k.total_vm_bytes, k.anon_rss_bytes, k.file_rss_bytes, k.shmem_rss_bytes)
}

fn selected(s: &kline::Select<'_>) -> Selected {
    Selected {
        pid: s.pid,
        comm: Text::new(s.comm),
        score: s.score,
    }
}

impl Open {
    fn trigger(&mut self) -> &mut Trigger {
        self.ep.trigger.get_or_insert_with(Trigger::default)
    }

    /// Record that this line belongs to the episode.
    fn touch(&mut self, stamp: &Stamp, line_no: u64) {
        self.unrelated_run = 0;
        self.ep.source.last_line = self.ep.source.last_line.max(line_no);
        if let Some(us) = stamp.uptime_us {
            self.last_uptime_us = Some(us);
        }
        if let Some(s) = crate::envelope::wall_seconds(stamp) {
            self.last_wall_s = Some(s);
        }
        let t = &mut self.ep.time;
        if t.uptime_s.is_none() && t.wall.is_none() && t.wall_raw.is_none() {
            t.uptime_s = stamp.uptime_us.map(|us| us as f64 / 1e6);
            t.wall = stamp.wall.as_deref().map(Text::new);
            t.wall_raw = stamp.wall_raw.as_deref().map(Text::new);
            t.wall_year = stamp.wall_year;
            t.seq = stamp.seq;
            t.boot_id = stamp.boot_id.as_deref().map(Text::new);
        }
    }

    /// True when `stamp` is too far from this episode to belong to it.
    fn stale(&self, stamp: &Stamp) -> bool {
        match (self.last_uptime_us, stamp.uptime_us) {
            (Some(last), Some(now)) => now.abs_diff(last) > MAX_GAP_US,
            // A log without uptimes (syslog, journal): by its wall clock.
            _ => match (self.last_wall_s, crate::envelope::wall_seconds(stamp)) {
                (Some(last), Some(now)) => now.abs_diff(last) > MAX_GAP_US / 1_000_000,
                _ => false,
            },
        }
    }

    /// Consume a line of the current multi-line section; false when the line
    /// is not of the section's shape (which ends the section).
    fn section_line(&mut self, text: &str) -> bool {
        if !matches!(self.section, Section::None) && kline::is_elision(text) {
            // Lines cut out of a paste: the section goes on after them.
            return true;
        }
        match &self.section {
            Section::None => false,
            Section::Stats(i) => {
                let i = *i;
                match kline::parse_stat_kv(text) {
                    Some((k, v)) => {
                        let block = &mut self.ep.memcg_stats[i];
                        if !k.starts_with("total_") && V2_ONLY.contains(&k) {
                            block.format = StatsFormat::V2;
                        }
                        block.stats.insert(Text::new(k), crate::units::stat_value(k, v));
                        true
                    }
                    None => self.end_section(),
                }
            }
            Section::MemInfo => match kline::parse_mem_info_line(text) {
                Some(MemInfoLine::Counters(pairs)) => {
                    for (k, v) in pairs {
                        self.mem_pages.entry(Text::new(k)).or_insert(v);
                    }
                    true
                }
                Some(MemInfoLine::NodeCounters(pairs)) => {
                    // Bounded: a hostile block of many nodes adds up, it
                    // does not grow the map past the keys of one line.
                    for (k, v) in pairs {
                        if self.node_bytes.len() < 64 || self.node_bytes.contains_key(k) {
                            let e = self.node_bytes.entry(Text::new(k)).or_insert(0);
                            *e = e.saturating_add(v);
                        }
                    }
                    true
                }
                Some(MemInfoLine::Hugepages(total, free)) => {
                    let mi = self.mem_info_mut();
                    mi.hugetlb_bytes = Some(mi.hugetlb_bytes.unwrap_or(0).saturating_add(total));
                    mi.hugetlb_free_bytes = Some(mi.hugetlb_free_bytes.unwrap_or(0).saturating_add(free));
                    true
                }
                Some(MemInfoLine::Pagecache(n)) => {
                    self.pagecache_pages = Some(n);
                    true
                }
                Some(MemInfoLine::PagesRam(n)) => {
                    self.ram_pages = Some(n);
                    true
                }
                Some(MemInfoLine::FreeSwap(b)) => {
                    self.mem_info_mut().free_swap_bytes = Some(b);
                    true
                }
                Some(MemInfoLine::TotalSwap(b)) => {
                    self.mem_info_mut().total_swap_bytes = Some(b);
                    true
                }
                Some(MemInfoLine::Zone(z)) => {
                    if self.mem_info_mut().zones.len() >= MAX_ZONES {
                        return true;
                    }
                    self.mem_info_mut().zones.push(Zone {
                        node: z.node,
                        name: Text::new(z.name),
                        free_bytes: z.free,
                        min_bytes: z.min,
                        low_bytes: z.low,
                        high_bytes: z.high,
                        managed_bytes: z.managed,
                        ..Zone::default()
                    });
                    true
                }
                Some(MemInfoLine::LowmemReserve(pages)) => {
                    // The reserve of the zone printed just before it.
                    if let Some(z) = self
                        .mem_info_mut()
                        .zones
                        .last_mut()
                        .filter(|z| z.lowmem_reserve_pages.is_empty())
                    {
                        z.lowmem_reserve_pages = pages;
                    }
                    true
                }
                Some(MemInfoLine::Buddy(b)) => {
                    let blocks = b
                        .blocks
                        .iter()
                        .map(|&(count, size_bytes)| FreeBlocks { size_bytes, count })
                        .collect();
                    // Each zone's buddy list once: past MAX_ZONES lists
                    // no more are searched for (a hostile block's cost).
                    if self.buddy_lists >= MAX_ZONES {
                        return true;
                    }
                    self.buddy_lists += 1;
                    let zones = &mut self.mem_info_mut().zones;
                    let full = zones.len() >= MAX_ZONES;
                    match zones
                        .iter_mut()
                        .find(|z| z.node == b.node && &*z.name == b.name && z.free_blocks.is_empty())
                    {
                        Some(z) => z.free_blocks = blocks,
                        // Its zone's line was cut out of the paste.
                        None if full => {}
                        None => zones.push(Zone {
                            node: b.node,
                            name: Text::new(b.name),
                            free_blocks: blocks,
                            ..Zone::default()
                        }),
                    }
                    true
                }
                Some(MemInfoLine::Other) => true,
                None => self.end_section(),
            },
            Section::Tasks(layout) => {
                // No columns: a header cut short, every row read by its shape.
                let by_header = (!layout.columns.is_empty())
                    .then(|| kline::parse_task_row(layout, text))
                    .flatten();
                let row = by_header.or_else(|| {
                    // A row of another layout than the header's (a wrapped
                    // or spliced table): read it by its own shape.
                    Layout::guess(text).and_then(|l| kline::parse_task_row(&l, text))
                });
                match row {
                    Some(r) if self.rows.len() < MAX_TASK_ROWS => {
                        self.rows.push(r);
                        true
                    }
                    Some(_) => {
                        self.ep.tasks_omitted += 1;
                        true
                    }
                    None => self.end_section(),
                }
            }
        }
    }

    fn end_section(&mut self) -> bool {
        self.section = Section::None;
        false
    }

    fn mem_info_mut(&mut self) -> &mut crate::model::MemInfo {
        self.ep.mem_info.get_or_insert_with(Default::default)
    }
}

/// memory.stat keys that exist only in the v2 (and 5.3+ OOM dump) format.
const V2_ONLY: &[&str] = &[
    "anon",
    "file",
    "kernel",
    "kernel_stack",
    "pagetables",
    "sec_pagetables",
    "percpu",
    "sock",
    "vmalloc",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "file_thp",
    "shmem_thp",
    "slab",
    "slab_reclaimable",
    "slab_unreclaimable",
    "zswap",
    "zswapped",
];

#[cfg(test)]
mod tests;
