//! `oomctl analyze`: scan every input, drop second captures of a report,
//! keep what `--since`, `--until` and `--match` ask for (`filter`), and
//! hand episodes to the output sink oldest first: inputs in the order of
//! their spans of wall time, those that overlap merged by it (`order`,
//! `run_merged`).
//!
//! Inputs are scanned in parallel with rayon when there are several and
//! `jobs > 1`; each input's episodes stream, in input order, through the
//! same de-duplication and sink as the serial path, so `-j1` and `-jN`
//! print the same bytes, and memory stays bounded either way (see
//! `run_parallel`). Where the sink can render an episode on its own, the
//! scanning thread renders it (`Made`). With one input (or `-j1`) episodes go straight to the
//! sink as they are found.
//!
//! A live input (a pipe, `--follow FILE`) is scanned as it comes, through
//! the source the live layer lends ([`input::LiveHooks`]): each episode is
//! printed once it is complete, and the output is flushed whenever the
//! input makes the scanner wait (`scan::scan_live`).

use crate::builder::{Builder, BuilderOptions};
use crate::envelope::Container;
use crate::filter::{Filter, Verdict};
use crate::guard::GuardPolicy;
use crate::input::{self, Input};
use crate::k8s::PodIndex;
use crate::model::{Episode, Killer, Tally, Text};
use crate::order;
use crate::output::{self, Format, Summary, Sweep};
use crate::scan::{self, ScanOptions, ScanStats};
use crate::snapshot::{self, Snapshot};
use std::io::{self, Write};
use std::path::PathBuf;

/// Validated configuration of one analyze run.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Paths as given (`-` for stdin); directories are walked.
    pub paths: Vec<String>,
    pub format: Format,
    /// Parallel inputs; 1 scans serially.
    pub jobs: usize,
    /// `kubectl get pods -A -o json` output naming pods and containers.
    pub pods: Option<PathBuf>,
    /// `--snapshots`: cgroup snapshots, copied cgroupfs directories,
    /// oom-guard events.
    pub snapshots: Vec<PathBuf>,
    /// `simulate`: what this guard would have done, per episode.
    pub guard: Option<GuardPolicy>,
    /// `simulate --sweep`: outcome counts for each of its settings.
    pub sweep: Option<Sweep>,
    /// `--group-by`: one row per group instead of one per episode.
    pub group: Option<output::GroupBy>,
    pub scan: ScanOptions,
    pub builder: BuilderOptions,
    /// How the human formats draw (width, colour).
    pub style: output::Style,
    /// `--since`, `--until`, `--match`: which episodes are printed.
    pub filter: Filter,
    /// `--follow FILE`: read this file as `tail -F` does, instead of `paths`.
    pub follow: Option<PathBuf>,
    /// The live layer's sources for live inputs; None reads them to their
    /// end before anything is printed.
    pub live: Option<input::LiveHooks>,
}

/// What `--pods` and `--snapshots` add to every episode.
#[derive(Debug, Default)]
pub struct Context {
    pub pods: Option<PodIndex>,
    pub snapshots: Vec<Snapshot>,
    pub guard: Option<GuardPolicy>,
    /// For each snapshot: the `--snapshots` input and its position there.
    pub origins: Vec<(String, u64)>,
}

impl Context {
    /// Load `--pods` and `--snapshots`; any failure is an error of the run.
    pub fn load(cfg: &AnalyzeConfig) -> Result<Context, String> {
        let pods = match &cfg.pods {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("--pods {}: {e}", p.display()))?;
                Some(PodIndex::from_json(&text).map_err(|e| format!("--pods {}: {e}", p.display()))?)
            }
            None => None,
        };
        let mut snapshots = Vec::new();
        let mut origins = Vec::new();
        for c in &cfg.snapshots {
            let loaded = snapshot::load(c).map_err(|e| format!("--snapshots {}: {e}", c.display()))?;
            origins.extend((1..=loaded.len() as u64).map(|i| (c.display().to_string(), i)));
            snapshots.extend(loaded);
        }
        Ok(Context {
            pods,
            snapshots,
            guard: cfg.guard,
            origins,
        })
    }

    /// Name the pod, join snapshots, diagnose again if they changed it.
    fn enrich(&self, ep: &mut Episode, used: &mut [bool]) {
        if !self.snapshots.is_empty() && ep.killer == Killer::Kernel {
            let before = ep.snapshots.len();
            snapshot::join(ep, &self.snapshots);
            for s in &ep.snapshots[before..] {
                if let Some(i) = self.snapshots.iter().position(|x| x == s) {
                    used[i] = true;
                }
            }
        }
        if let Some(p) = &self.pods {
            p.resolve(ep);
        }
        if let Some(g) = &self.guard {
            ep.guard = Some(crate::guard::simulate(ep, g));
        }
    }
}

/// The outcome, for the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub summary: Summary,
    /// Human-readable problems, already printed to stderr.
    pub errors: Vec<String>,
}

/// What tells one report from another, whichever container captured it
/// (issue 19). `key` must be equal: the host (or both unknown), the time to
/// the log's resolution (the first kill line's, else the first line's:
/// uptime in microseconds, else the wall clock as printed), and the
/// victims with their kill lines' figures. Each of `details` must be equal
/// where both captures know it: the boot, the trigger, the memcg with its
/// counters, the victim's memcg, the stats, the task table and Mem-Info,
/// so that a capture cut short (a lost header, a dropped section) is still
/// recognised, and two reports printed in one second with other figures
/// are not. None when nothing pins the report down: neither a time nor a
/// kill line with its figures.
struct Identity {
    key: u64,
    details: Details,
}

/// Fingerprints of what a capture knows, 32 bits each (they are only ever
/// compared between captures whose 64-bit key is equal); 0 where it does
/// not say.
type Details = [u32; 8];

/// A 64-bit fingerprint (SipHash with fixed keys: the same in every run),
/// never 0.
fn fingerprint(v: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish().max(1)
}

/// A detail's 32-bit fingerprint, never 0 ("not known").
fn detail(v: Option<u64>) -> u32 {
    v.map_or(0, |f| ((f >> 32) as u32 ^ f as u32).max(1))
}

fn identity(ep: &Episode) -> Option<Identity> {
    let time = ep
        .kill_time
        .clone()
        .or_else(|| match (ep.time.uptime_s, &ep.time.wall_raw, &ep.time.wall) {
            (Some(u), _, _) => Some(Text::from(format!("{}us", (u * 1e6).round() as u64))),
            (None, Some(w), _) | (None, None, Some(w)) => Some(w.clone()),
            (None, None, None) => None,
        });
    let figures = ep
        .victims
        .iter()
        .any(|v| v.total_vm_bytes.is_some() || v.anon_rss_bytes.is_some());
    if time.is_none() && !figures {
        return None;
    }
    let victims: Vec<_> = ep
        .victims
        .iter()
        .map(|v| {
            (
                v.pid,
                &v.comm,
                v.total_vm_bytes,
                v.anon_rss_bytes,
                v.file_rss_bytes,
                v.shmem_rss_bytes,
            )
        })
        .collect();
    let text = |s: &Option<Text>| s.as_ref().map(fingerprint);
    let trigger = ep.trigger.as_ref().filter(|t| t.comm.is_some() || t.pid.is_some());
    let memcg = ep.memcg.as_ref();
    let counters = memcg
        .filter(|m| m.usage_bytes.is_some())
        .map(|m| (m.usage_bytes, m.limit_bytes, m.unlimited, m.failcnt));
    let stats: Vec<_> = ep
        .memcg_stats
        .iter()
        .filter(|s| !s.stats.is_empty())
        .map(|s| (&s.path, &s.stats))
        .collect();
    let tasks: Vec<_> = ep.tasks.iter().map(|t| (t.pid, t.rss_bytes, &t.name)).collect();
    Some(Identity {
        key: fingerprint(&(&ep.host, &time, victims)),
        details: [
            text(&ep.time.boot_id),
            trigger.map(|t| fingerprint(&(&t.comm, t.pid))),
            memcg.and_then(|m| m.path.as_ref()).map(fingerprint),
            counters.map(|c| fingerprint(&c)),
            text(&ep.task_memcg),
            (!stats.is_empty()).then(|| fingerprint(&stats)),
            (!tasks.is_empty()).then(|| fingerprint(&tasks)),
            ep.mem_info.as_ref().map(|m| fingerprint(&format!("{m:?}"))),
        ]
        .map(detail),
    })
}

/// How many reports de-duplication remembers. Second captures sit close
/// together in real inputs; past this many episodes the oldest are
/// forgotten (and a warning says so), so memory stays bounded (about
/// 30 MiB at most, ~100 bytes a report) however many episodes an input
/// holds.
const SEEN_MAX: usize = 1 << 18;

/// The reports emitted so far, newest last, forgotten oldest first beyond
/// `SEEN_MAX`. Reports with one key are chained newest to oldest, so a
/// capture is compared only with the reports of its own key.
struct Seen {
    /// (key, sequence number of the previous report with that key or 0,
    /// details); `records[0]` has sequence number `base`.
    records: std::collections::VecDeque<(u64, u64, Details)>,
    base: u64,
    /// The newest report of each key, by sequence number.
    newest: std::collections::HashMap<u64, u64>,
    max: usize,
    forgotten: u64,
}

impl Seen {
    fn new(max: usize) -> Seen {
        Seen {
            records: std::collections::VecDeque::new(),
            base: 1,
            newest: std::collections::HashMap::new(),
            max,
            forgotten: 0,
        }
    }

    /// False if this is a second capture of a report seen already: the same
    /// key, and no detail that both know differs. What the new capture knows
    /// is added to the report, so one capture that does not name its boot
    /// cannot join captures of two different boots.
    fn insert(&mut self, id: &Identity) -> bool {
        let same = |a: &Details| a.iter().zip(&id.details).all(|(x, y)| *x == 0 || *y == 0 || x == y);
        let newest = self.newest.get(&id.key).copied().unwrap_or(0);
        let mut seq = newest;
        while seq >= self.base {
            let (_, prev, details) = &mut self.records[(seq - self.base) as usize];
            if same(details) {
                for (x, y) in details.iter_mut().zip(&id.details) {
                    if *x == 0 {
                        *x = *y;
                    }
                }
                return false;
            }
            seq = *prev;
        }
        let next = self.base + self.records.len() as u64;
        self.records.push_back((id.key, newest, id.details));
        self.newest.insert(id.key, next);
        if self.records.len() > self.max {
            if let Some((key, _, _)) = self.records.pop_front() {
                if self.newest.get(&key) == Some(&self.base) {
                    self.newest.remove(&key);
                }
                self.base += 1;
                self.forgotten += 1;
            }
        }
        true
    }
}

/// Emits episodes once each, counting them.
struct Emitter<'s> {
    sink: Box<dyn output::Sink + 's>,
    seen: Seen,
    summary: Summary,
    ctx: &'s Context,
    /// Which `--snapshots` snapshots joined an episode.
    used: Vec<bool>,
    filter: &'s Filter,
    /// Episodes a time window kept because they have no wall clock.
    no_wall: u64,
}

/// What the emitter decides an episode's fate on: the identity
/// de-duplication compares, the filter's verdict, and what the summary
/// counts.
struct Head {
    id: Option<Identity>,
    verdict: Verdict,
    tally: Tally,
}

impl Head {
    fn of(ep: &Episode, filter: &Filter) -> Head {
        Head {
            id: identity(ep),
            verdict: filter.verdict(ep),
            tally: Tally::of(ep),
        }
    }
}

/// An episode as a scanning thread hands it to the emitter: its [`Head`],
/// and the episode itself or the bytes the sink's renderer made of it.
/// The parallel paths make it on the thread that built the episode, so the
/// episode is read, rendered and freed by the core whose cache holds it,
/// and only its bytes cross to the thread that writes.
struct Made {
    head: Head,
    /// The wall time a merge orders the episode by, where it has one.
    wall: Option<chrono::NaiveDateTime>,
    body: Body,
}

enum Body {
    Episode(Box<Episode>),
    Rendered(Box<[u8]>),
}

impl Made {
    /// `ep` enriched by `mk.ctx` (the snapshots it joined marked in
    /// `used`), rendered by `mk.render` into `scratch` where there is one.
    /// An episode the renderer fails on stays an episode, so the sink meets
    /// the failure in its place.
    fn new(mut ep: Episode, mk: Making<'_>, used: &mut [bool], scratch: &mut Vec<u8>) -> Made {
        mk.ctx.enrich(&mut ep, used);
        let head = Head::of(&ep, &mk.cfg.filter);
        let wall = ep.time.wall.as_deref().and_then(crate::filter::wall_time);
        if let Some(render) = mk.render {
            scratch.clear();
            if render(&ep, scratch).is_ok() {
                let body = Body::Rendered(scratch.as_slice().into());
                return Made { head, wall, body };
            }
        }
        let body = Body::Episode(Box::new(ep));
        Made { head, wall, body }
    }
}

impl Emitter<'_> {
    fn episode(&mut self, mut ep: Episode) -> io::Result<()> {
        self.ctx.enrich(&mut ep, &mut self.used);
        match self.admit(Head::of(&ep, self.filter)) {
            true => self.sink.episode(&ep),
            false => Ok(()),
        }
    }

    /// An episode made on another thread, in its turn.
    fn take(&mut self, made: Made) -> io::Result<()> {
        if !self.admit(made.head) {
            return Ok(());
        }
        match made.body {
            Body::Episode(ep) => self.sink.episode(&ep),
            Body::Rendered(bytes) => self.sink.rendered(&bytes),
        }
    }

    /// Whether the episode of `head` is printed: not a second capture of
    /// one seen before, and kept by the filter. Counts it.
    fn admit(&mut self, head: Head) -> bool {
        if let Some(id) = &head.id {
            if !self.seen.insert(id) {
                self.summary.duplicates += 1;
                return false;
            }
        }
        // After de-duplication, so a second capture is recognised as one
        // whether or not its first was printed.
        match head.verdict {
            Verdict::Keep => {}
            Verdict::Drop => return false,
            Verdict::KeepNoWall => self.no_wall += 1,
        }
        self.summary.add(head.tally);
        true
    }

    /// The end of an input scanned on another thread: the snapshots its
    /// episodes joined (`used`), then its statistics or why it could not
    /// be read.
    fn done(&mut self, name: &str, done: Done, errors: &mut Vec<String>, err: &mut dyn Write) {
        for (u, w) in self.used.iter_mut().zip(&done.used) {
            *u |= *w;
        }
        match done.stats {
            Ok(st) => self.stats(name, &st, errors, err),
            Err(msg) => open_error(self, errors, err, msg),
        }
    }

    fn stats(&mut self, name: &str, st: &ScanStats, errors: &mut Vec<String>, err: &mut dyn Write) {
        let s = &mut self.summary;
        s.files += 1;
        s.lines += st.lines;
        s.bytes += st.bytes;
        s.malformed_lines += st.malformed_total;
        s.duplicate_lines += st.duplicate_lines;
        s.long_lines += st.long_lines;
        for m in st.malformed.iter().take(20) {
            let _ = writeln!(err, "oomctl: warning: {name}:{}: {}", m.line, m.reason);
        }
        if st.malformed.len() > 20 {
            let _ = writeln!(
                err,
                "oomctl: warning: {name}: {} more malformed OOM lines",
                st.malformed.len() - 20
            );
        }
        if st.long_lines > 0 {
            let _ = writeln!(
                err,
                "oomctl: warning: {name}: {} lines longer than {} bytes were cut",
                st.long_lines,
                scan::BLOCK
            );
        }
        if let (Some((first, looks)), Some(forced)) = (st.first_unformed, st.container) {
            let like = match looks {
                Container::Auto | Container::Plain => String::new(),
                c => format!(", which reads as {}", c.name()),
            };
            let _ = writeln!(
                err,
                "oomctl: warning: {name}: {} lines that oomctl read are not {}, the form --input-format {} forces (the first is line {first}{like}); they were read whole as bare kernel messages, without a time. Leave out --input-format to detect the container line by line",
                st.unformed_lines,
                forced.form(),
                forced.name(),
            );
        }
        for w in &st.warnings {
            let _ = writeln!(err, "oomctl: warning: {w}");
        }
        if let Some(msg) = &st.unusable {
            s.errors += 1;
            let _ = writeln!(err, "oomctl: error: {msg}");
            errors.push(msg.clone());
        }
        if let Some(e) = &st.read_error {
            s.errors += 1;
            let msg = format!("{name}: read error, input ended early: {e}");
            let _ = writeln!(err, "oomctl: error: {msg}");
            errors.push(msg);
        }
    }
}

/// The scanner's lines, built into episodes, explained, and handed to
/// `emit` as soon as each is final; oom-guard events in the log become
/// episodes in their place (`snapshot::guard_episode`).
struct EpisodeFeed<F> {
    builder: Builder,
    /// An episode, or None: the input waits, push out what was emitted.
    emit: F,
    /// Episodes whose time printed no year that nothing dated.
    undated: u64,
}

impl<F: FnMut(Option<Episode>) -> io::Result<()>> EpisodeFeed<F> {
    fn drain(&mut self) -> io::Result<()> {
        while let Some(mut ep) = self.builder.pop_ready() {
            if ep.diagnosis.is_none() {
                // The builder's own episodes; guard episodes come explained.
                crate::diagnose::explain(&mut ep);
            }
            if ep.time.wall.is_none() && ep.time.wall_raw.as_deref().is_some_and(crate::envelope::yearless) {
                self.undated += 1;
            }
            (self.emit)(Some(ep))?;
        }
        Ok(())
    }
}

/// The warning for `n` episodes of `name` whose syslog time printed no
/// year that nothing dated (`mtime`: the input had a modification time).
fn undated_message(name: &str, n: u64, mtime: bool) -> String {
    let eps = match n {
        1 => "1 episode has".to_owned(),
        n => format!("{n} episodes have"),
    };
    let why = match (name, mtime) {
        ("-", false) => "syslog prints no year, and a pipe has no modification time to infer it from",
        (_, false) => "syslog prints no year, and the file's modification time could not be read",
        (_, true) => "their syslog day is in no year near the file's modification time or a date printed before it",
    };
    format!("{name}: {eps} no wall clock: {why}. Give --year YEAR")
}

impl<F: FnMut(Option<Episode>) -> io::Result<()>> scan::Feed for EpisodeFeed<F> {
    fn wants_every_line(&self) -> bool {
        self.builder.wants_every_line()
    }

    fn guard_event(&mut self, line_no: u64, line: &str) -> io::Result<bool> {
        let Some(snap) = snapshot::parse_guard_event(line) else {
            return Ok(false);
        };
        let ep = snapshot::guard_episode(&snap, self.builder.file(), line_no);
        self.builder.push_episode(line_no, ep);
        self.drain()?;
        Ok(true)
    }

    fn messages(&mut self, first_no: u64, last_no: u64, lines: &[crate::envelope::LogLine<'_>]) -> io::Result<()> {
        self.messages_kind(first_no, last_no, lines, None)
    }

    fn messages_kind(
        &mut self,
        first_no: u64,
        last_no: u64,
        lines: &[crate::envelope::LogLine<'_>],
        mut first_kind: Option<crate::kline::KLine<'_>>,
    ) -> io::Result<()> {
        for l in lines {
            self.builder.push_lines_kind(first_no, last_no, l, first_kind.take());
        }
        self.drain()
    }

    fn pending(&self) -> Option<bool> {
        self.builder.pending()
    }

    fn settle(&mut self, all: bool) -> io::Result<()> {
        self.builder.settle(all);
        self.drain()
    }

    fn idle(&mut self) -> io::Result<()> {
        (self.emit)(None)
    }
}

/// Every episode of one log, as soon as it is final, to `emit`: the
/// scanner feeding the builder. An error from `emit` (a closed stdout) ends
/// it with that error; a read error ends the input and is in the stats.
pub fn episodes<R: io::Read>(
    input: R,
    name: &str,
    opts: &ScanOptions,
    builder: &BuilderOptions,
    mut emit: impl FnMut(Episode) -> io::Result<()>,
) -> io::Result<ScanStats> {
    let emit = move |ep: Option<Episode>| ep.map_or(Ok(()), &mut emit);
    episodes_of(|feed| scan::scan(input, opts, feed), name, opts, builder, emit)
}

/// [`episodes`] of a live input (`scan::scan_live`); `emit` gets None when
/// the input makes the scanner wait (then push out what was emitted).
pub fn episodes_live(
    input: &mut dyn input::Source,
    name: &str,
    opts: &ScanOptions,
    builder: &BuilderOptions,
    emit: impl FnMut(Option<Episode>) -> io::Result<()>,
) -> io::Result<ScanStats> {
    episodes_of(|feed| scan::scan_live(input, opts, feed), name, opts, builder, emit)
}

fn episodes_of<F: FnMut(Option<Episode>) -> io::Result<()>>(
    scan: impl FnOnce(&mut EpisodeFeed<F>) -> io::Result<ScanStats>,
    name: &str,
    opts: &ScanOptions,
    builder: &BuilderOptions,
    emit: F,
) -> io::Result<ScanStats> {
    let mut feed = EpisodeFeed {
        builder: Builder::new(name, builder.clone()),
        emit,
        undated: 0,
    };
    let mut stats = scan(&mut feed)?;
    feed.builder.finish();
    feed.drain()?;
    if feed.undated > 0 && opts.assume_year.is_none() {
        stats
            .warnings
            .push(undated_message(name, feed.undated, opts.mtime_s.is_some()));
    }
    let (malformed, total) = feed.builder.malformed();
    stats.malformed = malformed.to_vec();
    stats.malformed_total = total;
    let (repeated, notes) = feed.builder.repeated();
    stats.duplicate_lines = repeated;
    stats.warnings.extend_from_slice(notes);
    Ok(stats)
}

/// Scan one input, calling `emit` per episode (and with None where a live
/// input waits, `live` given): a log through the scanner, a recording
/// through the live pipeline (as `replay` does).
fn scan_input(
    input: input::Opened,
    name: &str,
    opts: &ScanOptions,
    builder: &BuilderOptions,
    live: Option<&input::LiveHooks>,
    mut emit: impl FnMut(Option<Episode>) -> io::Result<()>,
) -> io::Result<ScanStats> {
    let live_fd = input.live_fd;
    let opts = &ScanOptions {
        mtime_s: input.mtime_s,
        ..opts.clone()
    };
    // The scanner reads into its own block: no buffering in between (an
    // extra copy of every byte).
    let (r, is_recording) = crate::recording::sniff(input.reader)?;
    if !is_recording {
        return match (live, live_fd) {
            (Some(hooks), Some(fd)) => episodes_live(&mut *(hooks.pipe)(Box::new(r), fd), name, opts, builder, emit),
            _ => episodes_of(|feed| scan::scan(r, opts, feed), name, opts, builder, emit),
        };
    }
    let mut st = ScanStats::default();
    let rec = match crate::recording::read(io::BufReader::new(r), name) {
        Ok(rec) => rec,
        Err(e) => {
            st.unusable = Some(e.to_string());
            return Ok(st);
        }
    };
    let mut eps = Vec::new();
    if let Some(e) = &rec.cut {
        st.warnings.push(crate::recording::cut_message(name, e));
    }
    if rec.torn {
        st.warnings.push(crate::recording::torn_message(name));
    }
    let (summary, lost) = crate::pipeline::run_recording(&rec, Box::new(Collect(&mut eps)))?;
    if let Some(msg) = crate::recording::lost_message(lost) {
        st.warnings.push(format!("{name}: {msg}"));
    }
    st.lines = summary.lines;
    st.bytes = summary.bytes;
    st.malformed_total = summary.malformed_lines;
    st.duplicate_lines = summary.duplicate_lines;
    for ep in eps {
        emit(Some(ep))?;
    }
    Ok(st)
}

/// Keeps episodes (recordings inside analyze).
struct Collect<'v>(&'v mut Vec<Episode>);

impl output::Sink for Collect<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.0.push(ep.clone());
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }
}

/// What a parallel worker sends about one input, in order.
enum Found {
    Made(Vec<Made>),
    Done(Done),
}

/// The end of an input scanned on another thread.
struct Done {
    /// Its statistics, or why it could not be read.
    stats: Result<ScanStats, String>,
    /// Which `--snapshots` snapshots its episodes joined.
    used: Vec<bool>,
}

/// Episodes per message and messages in flight per input in the parallel
/// path: what bounds its memory (at most `jobs` inputs are open at once).
const BATCH: usize = 64;
const IN_FLIGHT: usize = 4;

/// What a scanning thread needs to make its episodes as the emitter takes
/// them ([`Made`]).
#[derive(Clone, Copy)]
struct Making<'a> {
    cfg: &'a AnalyzeConfig,
    ctx: &'a Context,
    render: Option<output::Renderer>,
}

/// Scan one input, sending its episodes in batches of `BATCH` to `tx`,
/// then its end; stops early when the receiver is gone (output failed).
fn scan_batched(inp: &Input, mk: Making<'_>, tx: &std::sync::mpsc::SyncSender<Found>) {
    let name = inp.name();
    let mut used = vec![false; mk.ctx.snapshots.len()];
    let mut scratch = Vec::new();
    let stats = inp.open().map_err(|e| format!("{name}: {e}")).and_then(|opened| {
        let mut batch = Vec::with_capacity(BATCH);
        let st = scan_input(opened, &name, &mk.cfg.scan, &mk.cfg.builder, None, |ep| {
            let Some(ep) = ep else { return Ok(()) };
            batch.push(Made::new(ep, mk, &mut used, &mut scratch));
            if batch.len() < BATCH {
                return Ok(());
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            tx.send(Found::Made(full))
                .map_err(|_| io::Error::other("output closed"))
        })
        .map_err(|e| format!("{name}: {e}"))?;
        let _ = tx.send(Found::Made(batch));
        Ok(st)
    });
    let _ = tx.send(Found::Done(Done { stats, used }));
}

/// Scan `inputs` on `jobs` threads and emit in input order, as the serial
/// path does. Workers take inputs in order and stream each input's
/// episodes through a bounded channel; the emitter drains the lowest input,
/// which always has a worker of its own, so nothing deadlocks and memory
/// stays at `jobs` × (`IN_FLIGHT` + 1) × `BATCH` episodes whatever the
/// inputs hold. (Where inputs are dense with episodes a worker ahead waits
/// for the emitter; where they are sparse, as real logs are, all workers
/// scan at once.)
fn run_parallel(
    inputs: &[Input],
    cfg: &AnalyzeConfig,
    em: &mut Emitter<'_>,
    errors: &mut Vec<String>,
    err: &mut dyn Write,
) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .map_err(io::Error::other)?;
    let mk = Making {
        cfg,
        ctx: em.ctx,
        render: em.sink.renderer(),
    };
    let next = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let (reg_tx, reg_rx) = mpsc::channel::<(usize, mpsc::Receiver<Found>)>();
    pool.in_place_scope(|scope| {
        for _ in 0..cfg.jobs.min(inputs.len()) {
            let (reg_tx, next, cancelled) = (reg_tx.clone(), &next, &cancelled);
            scope.spawn(move |_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= inputs.len() || cancelled.load(Ordering::Relaxed) {
                    return;
                }
                let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
                if reg_tx.send((i, rx)).is_err() {
                    return;
                }
                scan_batched(&inputs[i], mk, &tx);
            });
        }
        drop(reg_tx);
        let result = (|| {
            let mut waiting = std::collections::HashMap::new();
            for (i, inp) in inputs.iter().enumerate() {
                let rx = loop {
                    if let Some(rx) = waiting.remove(&i) {
                        break rx;
                    }
                    let (j, rx) = reg_rx.recv().map_err(|_| io::Error::other("a worker stopped"))?;
                    waiting.insert(j, rx);
                };
                for found in rx {
                    match found {
                        Found::Made(made) => {
                            for m in made {
                                em.take(m)?;
                            }
                        }
                        Found::Done(done) => em.done(&inp.name(), done, errors, err),
                    }
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Output failed: stop the workers (their sends now fail).
            cancelled.store(true, Ordering::Relaxed);
        }
        drop(reg_rx);
        result
    })
}

/// The sink a run writes to: a sweep's, a simulation's, a grouping's or
/// the format's.
fn sink_of<'w>(cfg: &AnalyzeConfig, out: Box<dyn Write + 'w>) -> Box<dyn output::Sink + 'w> {
    match (&cfg.sweep, cfg.guard, cfg.format, &cfg.group) {
        (Some(sweep), _, _, _) => Box::new(output::SweepSink::new(out, sweep.clone())),
        (None, Some(_), Format::Table, _) => Box::new(output::GuardSink::new(out, false, cfg.style)),
        (None, Some(_), Format::Csv, _) => Box::new(output::GuardSink::new(out, true, cfg.style)),
        (None, None, _, Some(by)) => Box::new(output::GroupSink::new(out, by.clone(), cfg.style)),
        _ => output::sink(cfg.format, out, cfg.style),
    }
}

/// Emit `inputs` one after the other: on `jobs` threads, or serially.
fn run_in_order(
    inputs: &[Input],
    cfg: &AnalyzeConfig,
    em: &mut Emitter<'_>,
    errors: &mut Vec<String>,
    err: &mut dyn Write,
) -> io::Result<()> {
    // Live inputs are read as they come, one after another.
    let live = cfg.live.is_some() && inputs.iter().any(Input::is_live);
    if cfg.jobs > 1 && inputs.len() > 1 && !live {
        return run_parallel(inputs, cfg, em, errors, err);
    }
    for inp in inputs {
        let name = inp.name();
        let reader = match inp.open() {
            Ok(r) => r,
            Err(e) => {
                open_error(em, errors, err, format!("{name}: {e}"));
                continue;
            }
        };
        let st = scan_input(
            reader,
            &name,
            &cfg.scan,
            &cfg.builder,
            cfg.live.as_ref(),
            |ep| match ep {
                Some(ep) => em.episode(ep),
                None => em.sink.flush(),
            },
        )?;
        em.stats(&name, &st, errors, err);
    }
    Ok(())
}

/// One input of a merge: its episodes as they come, each with the wall
/// time it is merged by.
struct Stream {
    rx: std::sync::mpsc::Receiver<Found>,
    queue: std::collections::VecDeque<(chrono::NaiveDateTime, Made)>,
    /// The time of the last episode received: an episode without a wall
    /// clock keeps its place after the one before it.
    at: chrono::NaiveDateTime,
    done: Option<Done>,
}

impl Stream {
    /// The time of the next episode, waiting for it; None at the end.
    fn head(&mut self) -> Option<chrono::NaiveDateTime> {
        while self.queue.is_empty() && self.done.is_none() {
            match self.rx.recv() {
                Ok(Found::Made(made)) => {
                    for m in made {
                        if let Some(t) = m.wall {
                            self.at = t;
                        }
                        self.queue.push_back((self.at, m));
                    }
                }
                Ok(Found::Done(d)) => self.done = Some(d),
                Err(_) => {
                    self.done = Some(Done {
                        stats: Err("the scan stopped".to_owned()),
                        used: Vec::new(),
                    })
                }
            }
        }
        self.queue.front().map(|(t, _)| *t)
    }
}

/// Emit inputs whose spans overlap (logs of several hosts over one time)
/// merged by wall time, ties in group order. Each input is scanned on a
/// thread of its own into a bounded channel, whatever `jobs` says, so
/// `-j1` and `-jN` print the same; memory stays at (`IN_FLIGHT` + 1) ×
/// `BATCH` episodes per input of the group. Each input's statistics and
/// warnings follow the merge, in group order.
fn run_merged(
    group: &[(Input, Option<order::Span>)],
    cfg: &AnalyzeConfig,
    em: &mut Emitter<'_>,
    errors: &mut Vec<String>,
    err: &mut dyn Write,
) -> io::Result<()> {
    use std::sync::mpsc;
    let mk = Making {
        cfg,
        ctx: em.ctx,
        render: em.sink.renderer(),
    };
    std::thread::scope(|scope| {
        let mut streams: Vec<Stream> = group
            .iter()
            .map(|(inp, span)| {
                let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
                scope.spawn(move || scan_batched(inp, mk, &tx));
                Stream {
                    rx,
                    queue: std::collections::VecDeque::new(),
                    at: span.map_or(chrono::NaiveDateTime::MIN, |s| s.first),
                    done: None,
                }
            })
            .collect();
        loop {
            let mut next: Option<(chrono::NaiveDateTime, usize)> = None;
            for (k, st) in streams.iter_mut().enumerate() {
                if let Some(t) = st.head() {
                    if next.is_none_or(|(best, _)| t < best) {
                        next = Some((t, k));
                    }
                }
            }
            let Some((_, k)) = next else { break };
            if let Some((_, made)) = streams[k].queue.pop_front() {
                // On an output error the streams are dropped on return,
                // which ends the scans (their sends fail).
                em.take(made)?;
            }
        }
        for ((inp, _), st) in group.iter().zip(streams) {
            if let Some(done) = st.done {
                em.done(&inp.name(), done, errors, err);
            }
        }
        Ok(())
    })
}

/// Run analyze, writing the format to `out` and diagnostics to `err`.
/// An `Err` is an output failure (e.g. a closed pipe).
pub fn run(cfg: &AnalyzeConfig, out: Box<dyn Write + '_>, err: &mut dyn Write) -> io::Result<Outcome> {
    let (inputs, input_errors) = input::expand(&cfg.paths);
    let mut errors: Vec<String> = Vec::new();
    for e in &input_errors {
        let _ = writeln!(err, "oomctl: error: {e}");
        errors.push(e.to_string());
    }
    let ctx = match Context::load(cfg) {
        Ok(c) => c,
        Err(msg) => {
            let _ = writeln!(err, "oomctl: error: {msg}");
            let mut sink: Box<dyn output::Sink> = match &cfg.group {
                Some(by) => Box::new(output::GroupSink::new(out, by.clone(), cfg.style)),
                None => output::sink(cfg.format, out, cfg.style),
            };
            let summary = Summary {
                errors: 1,
                ..Summary::default()
            };
            sink.finish(&summary)?;
            return Ok(Outcome {
                summary,
                errors: vec![msg],
            });
        }
    };
    let sink = sink_of(cfg, out);
    let mut em = Emitter {
        sink,
        seen: Seen::new(SEEN_MAX),
        summary: Summary::default(),
        ctx: &ctx,
        used: vec![false; ctx.snapshots.len()],
        filter: &cfg.filter,
        no_wall: 0,
    };
    em.summary.errors = input_errors.len() as u64;
    if let Some(path) = &cfg.follow {
        follow(path, cfg, &mut em, &mut errors, err)?;
    }
    // Oldest first: inputs in the order of their spans of wall time, those
    // that overlap merged (`order`). One input has nothing to order.
    let spans = match inputs.len() {
        0 | 1 => vec![None; inputs.len()],
        _ => order::spans(&inputs, cfg.scan.container, cfg.scan.assume_year),
    };
    let plan = match cfg.follow {
        Some(_) => Vec::new(),
        None => order::plan(&spans),
    };
    let mut p = 0;
    while p < plan.len() {
        if plan[p].len() > 1 {
            let group: Vec<_> = plan[p].iter().map(|&i| (inputs[i].clone(), spans[i])).collect();
            run_merged(&group, cfg, &mut em, &mut errors, err)?;
            p += 1;
            continue;
        }
        // A run of inputs that follow each other: scanned as before.
        let mut run = Vec::new();
        while p < plan.len() && plan[p].len() == 1 {
            run.push(inputs[plan[p][0]].clone());
            p += 1;
        }
        run_in_order(&run, cfg, &mut em, &mut errors, err)?;
    }
    // oom-guard events that no kernel report explains are episodes of
    // their own: the guard killed before the kernel had to.
    for (i, s) in ctx.snapshots.iter().enumerate() {
        if s.guard.is_some() && !em.used[i] {
            let (file, n) = &ctx.origins[i];
            em.episode(snapshot::guard_episode(s, file, *n))?;
        }
    }
    if em.seen.forgotten > 0 {
        let _ = writeln!(
            err,
            "oomctl: warning: more than {SEEN_MAX} episodes: second captures of a report were only detected within {SEEN_MAX} episodes of each other"
        );
    }
    if em.no_wall > 0 {
        let eps = match em.no_wall {
            1 => "1 episode has".to_owned(),
            n => format!("{n} episodes have"),
        };
        let _ = writeln!(
            err,
            "oomctl: warning: {eps} no wall clock to place in --since/--until, and were kept. Give --year YEAR where syslog printed no year; uptime-only dmesg cannot be placed"
        );
    }
    em.sink.finish(&em.summary)?;
    Ok(Outcome {
        summary: em.summary,
        errors,
    })
}

/// `--follow FILE`: its lines as they come, through the live layer's
/// follower, until the output closes or a signal ends the process.
fn follow(
    path: &std::path::Path,
    cfg: &AnalyzeConfig,
    em: &mut Emitter<'_>,
    errors: &mut Vec<String>,
    err: &mut dyn Write,
) -> io::Result<()> {
    let name = Input::File(path.to_owned()).name();
    let Some(hooks) = &cfg.live else {
        open_error(em, errors, err, format!("{name}: --follow needs the live layer"));
        return Ok(());
    };
    let opts = ScanOptions {
        mtime_s: input::file_mtime(path),
        ..cfg.scan.clone()
    };
    let mut source = (hooks.follow)(path);
    let st = episodes_live(&mut *source, &name, &opts, &cfg.builder, |ep| match ep {
        Some(ep) => em.episode(ep),
        None => em.sink.flush(),
    })?;
    em.stats(&name, &st, errors, err);
    Ok(())
}

fn open_error(em: &mut Emitter<'_>, errors: &mut Vec<String>, err: &mut dyn Write, msg: String) {
    em.summary.errors += 1;
    let _ = writeln!(err, "oomctl: error: {msg}");
    errors.push(msg);
}

#[cfg(test)]
mod tests {
    use super::{Identity, Seen};

    fn id(key: u64, boot: Option<u32>, cgroup: Option<u32>) -> Identity {
        let mut details = [0; 8];
        details[0] = boot.unwrap_or(0);
        details[2] = cgroup.unwrap_or(0);
        Identity { key, details }
    }

    #[test]
    fn seen_remembers_up_to_its_bound_then_forgets_the_oldest() {
        let mut s = Seen::new(3);
        assert!(s.insert(&id(1, None, None)) && s.insert(&id(2, None, None)) && s.insert(&id(3, None, None)));
        assert!(!s.insert(&id(1, None, None)), "a second capture");
        assert!(s.insert(&id(4, None, None)), "a fourth identity");
        assert_eq!(s.forgotten, 1);
        assert!(s.insert(&id(1, None, None)), "the oldest was forgotten");
        assert!(!s.insert(&id(4, None, None)) && !s.insert(&id(3, None, None)));
        assert_eq!(s.newest.len(), 3);
        assert_eq!(s.records.len(), 3);
    }

    #[test]
    fn details_are_compared_where_both_captures_know_them() {
        let mut s = Seen::new(10);
        assert!(s.insert(&id(1, Some(10), Some(7))));
        assert!(!s.insert(&id(1, Some(10), Some(7))), "same boot, same cgroup");
        assert!(!s.insert(&id(1, None, None)), "a capture that says neither");
        assert!(s.insert(&id(1, Some(20), Some(7))), "another boot: another report");
        assert!(s.insert(&id(1, Some(10), Some(8))), "another cgroup: another report");
    }

    #[test]
    fn a_capture_without_boot_cannot_join_two_boots() {
        let mut s = Seen::new(10);
        assert!(s.insert(&id(1, None, None)));
        assert!(!s.insert(&id(1, Some(10), None)), "the same report, now with its boot");
        assert!(s.insert(&id(1, Some(20), None)), "not merged through the first capture");
    }
}
