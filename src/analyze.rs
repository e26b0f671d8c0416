//! `oomctl analyze`: scan every input, drop second captures of a report,
//! and hand episodes to the output sink in input order.
//!
//! Inputs are scanned in parallel with rayon when there are several and
//! `jobs > 1`; each input's episodes stream, in input order, through the
//! same de-duplication and sink as the serial path, so `-j1` and `-jN`
//! print the same bytes, and memory stays bounded either way (see
//! `run_parallel`). With one input (or `-j1`) episodes go straight to the
//! sink as they are found.

use crate::guard::GuardPolicy;
use crate::input::{self, Input};
use crate::k8s::PodIndex;
use crate::model::{Episode, Killer};
use crate::output::{self, Format, Summary, SweepFormat};
use crate::scan::{self, ScanOptions, ScanStats};
use crate::snapshot::{self, Snapshot};
use std::io::{self, Read, Write};
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
    /// Cgroup snapshots, copied cgroupfs directories, oom-guard events.
    pub cgroups: Vec<PathBuf>,
    /// `simulate`: what this guard would have done, per episode.
    pub guard: Option<GuardPolicy>,
    /// `simulate --sweep`: outcome counts for each of these settings.
    pub sweep: Option<(Vec<GuardPolicy>, SweepFormat)>,
    pub scan: ScanOptions,
}

/// What `--pods` and `--cgroup` add to every episode.
#[derive(Debug, Default)]
pub struct Context {
    pub pods: Option<PodIndex>,
    pub snapshots: Vec<Snapshot>,
    pub guard: Option<GuardPolicy>,
    /// For each snapshot: the `--cgroup` input and its position there.
    pub origins: Vec<(String, u64)>,
}

impl Context {
    /// Load `--pods` and `--cgroup`; any failure is an error of the run.
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
        for c in &cfg.cgroups {
            let loaded = snapshot::load(c).map_err(|e| format!("--cgroup {}: {e}", c.display()))?;
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

/// The identity of a report, the same whichever container captured it, and
/// different for any two reports (issue 19): the host (or both unknown),
/// the time to the log's resolution (microseconds of uptime, else the wall
/// clock as printed), the cgroups with their counters, the trigger, and the
/// victims with their kill lines' figures. The boot is compared apart
/// ([`Seen`]), where both captures know it. None when nothing pins the
/// report down: neither a time nor a kill line with its figures.
fn identity(ep: &Episode) -> Option<(String, Option<String>)> {
    use std::fmt::Write;
    let time = match (ep.time.uptime_s, &ep.time.wall_raw, &ep.time.wall) {
        (Some(u), _, _) => Some(format!("{}us", (u * 1e6).round() as u64)),
        (None, Some(w), _) | (None, None, Some(w)) => Some(w.to_string()),
        (None, None, None) => None,
    };
    let figures = ep
        .victims
        .iter()
        .any(|v| v.total_vm_bytes.is_some() || v.anon_rss_bytes.is_some());
    if time.is_none() && !figures {
        return None;
    }
    let mut k = String::new();
    let _ = write!(k, "{:?}|{time:?}|{:?}|{:?}|", ep.host, ep.memcg, ep.task_memcg);
    let _ = write!(k, "{:?}|", ep.trigger.as_ref().map(|t| (&t.comm, t.pid)));
    for v in &ep.victims {
        let _ = write!(
            k,
            "{}|{}|{:?}|{:?}|{:?}|{:?};",
            v.pid, v.comm, v.total_vm_bytes, v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes
        );
    }
    Some((k, ep.time.boot_id.as_ref().map(|b| b.to_string())))
}

/// How many report identities de-duplication remembers. Second captures
/// sit close together in real inputs; past this many episodes the oldest
/// are forgotten (and a warning says so), so memory stays bounded (about
/// 20 MiB at most) however many episodes an input holds.
const SEEN_MAX: usize = 1 << 19;

/// The identities of the reports emitted so far, as 64-bit fingerprints
/// (SipHash with fixed keys: the same in every run) with the boot ids they
/// were seen under, the oldest forgotten first beyond `SEEN_MAX`.
struct Seen {
    boots: std::collections::HashMap<u64, Vec<Option<u64>>>,
    order: std::collections::VecDeque<u64>,
    max: usize,
    forgotten: u64,
}

fn fingerprint(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Seen {
    fn new(max: usize) -> Seen {
        Seen {
            boots: std::collections::HashMap::new(),
            order: std::collections::VecDeque::new(),
            max,
            forgotten: 0,
        }
    }

    /// False if this report was seen already: the same identity, under the
    /// same boot or where either capture does not say which boot.
    fn insert(&mut self, id: &str, boot: Option<&str>) -> bool {
        let fp = fingerprint(id);
        let boot = boot.map(fingerprint);
        let boots = self.boots.entry(fp).or_default();
        if boots.iter().any(|b| b.is_none() || boot.is_none() || *b == boot) {
            return false;
        }
        boots.push(boot);
        self.order.push_back(fp);
        if self.order.len() > self.max {
            if let Some(old) = self.order.pop_front() {
                if let Some(b) = self.boots.get_mut(&old) {
                    b.remove(0);
                    if b.is_empty() {
                        self.boots.remove(&old);
                    }
                }
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
    /// Which `--cgroup` snapshots joined an episode.
    used: Vec<bool>,
}

impl Emitter<'_> {
    fn episode(&mut self, mut ep: Episode) -> io::Result<()> {
        self.ctx.enrich(&mut ep, &mut self.used);
        if let Some((id, boot)) = identity(&ep) {
            if !self.seen.insert(&id, boot.as_deref()) {
                self.summary.duplicates += 1;
                return Ok(());
            }
        }
        self.summary.count(&ep);
        self.sink.episode(&ep)
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
        for w in &st.warnings {
            let _ = writeln!(err, "oomctl: warning: {w}");
        }
        if let Some(e) = &st.read_error {
            s.errors += 1;
            let msg = format!("{name}: read error, input ended early: {e}");
            let _ = writeln!(err, "oomctl: error: {msg}");
            errors.push(msg);
        }
    }
}

/// A recording's first bytes (`oomctl watch --record`, `oomctl record`).
const RECORDING_MAGIC: &[u8] = b"{\"t\":\"header\"";

/// Scan one input, calling `emit` per episode: a log through the scanner,
/// a recording through the live pipeline (as `replay` does).
fn scan_input(
    reader: Box<dyn io::Read + '_>,
    name: &str,
    opts: &ScanOptions,
    mut emit: impl FnMut(Episode) -> io::Result<()>,
) -> io::Result<ScanStats> {
    // Peek at the first bytes (a read may return fewer than asked).
    let mut reader = reader;
    let mut head = Vec::with_capacity(RECORDING_MAGIC.len());
    while head.len() < RECORDING_MAGIC.len() {
        let mut b = [0u8; 16];
        let want = RECORDING_MAGIC.len() - head.len();
        match reader.read(&mut b[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let is_recording = head == RECORDING_MAGIC;
    // The scanner reads into its own block: no buffering in between (an
    // extra copy of every byte).
    let r = io::Cursor::new(head).chain(reader);
    if !is_recording {
        return scan::scan(r, name, opts, emit);
    }
    let mut st = ScanStats::default();
    let rec = match crate::live::recording::read(io::BufReader::new(r), name) {
        Ok(rec) => rec,
        Err(msg) => {
            st.read_error = Some(msg);
            return Ok(st);
        }
    };
    let mut eps = Vec::new();
    if rec.torn {
        st.warnings.push(crate::live::watch::torn_message(name));
    }
    let (summary, lost) = crate::live::pipeline::run_recording(&rec, Box::new(Collect(&mut eps)))?;
    if let Some(msg) = crate::live::watch::lost_message(lost) {
        st.warnings.push(format!("{name}: {msg}"));
    }
    st.lines = summary.lines;
    st.bytes = summary.bytes;
    st.malformed_total = summary.malformed_lines;
    st.duplicate_lines = summary.duplicate_lines;
    for ep in eps {
        emit(ep)?;
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
    Episodes(Vec<Episode>),
    /// The end of the input: its statistics, or why it could not be read.
    Done(Result<ScanStats, String>),
}

/// Episodes per message and messages in flight per input in the parallel
/// path: what bounds its memory (at most `jobs` inputs are open at once).
const BATCH: usize = 64;
const IN_FLIGHT: usize = 4;

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
                let inp = &inputs[i];
                let name = inp.name();
                let done = inp.open().map_err(|e| format!("{name}: {e}")).and_then(|reader| {
                    let mut batch = Vec::with_capacity(BATCH);
                    let st = scan_input(reader, &name, &cfg.scan, |ep| {
                        batch.push(ep);
                        if batch.len() < BATCH {
                            return Ok(());
                        }
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        tx.send(Found::Episodes(full))
                            .map_err(|_| io::Error::other("output closed"))
                    })
                    .map_err(|e| format!("{name}: {e}"))?;
                    let _ = tx.send(Found::Episodes(batch));
                    Ok(st)
                });
                let _ = tx.send(Found::Done(done));
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
                        Found::Episodes(eps) => {
                            for ep in eps {
                                em.episode(ep)?;
                            }
                        }
                        Found::Done(Ok(st)) => em.stats(&inp.name(), &st, errors, err),
                        Found::Done(Err(msg)) => open_error(em, errors, err, msg),
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
            let mut sink = output::sink(cfg.format, out);
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
    let sink: Box<dyn output::Sink> = match (&cfg.sweep, cfg.guard, cfg.format) {
        (Some((settings, f)), _, _) => Box::new(output::SweepSink::new(out, *f, settings.clone())),
        (None, Some(_), Format::Table) => Box::new(output::GuardSink::new(out, false)),
        (None, Some(_), Format::Csv) => Box::new(output::GuardSink::new(out, true)),
        _ => output::sink(cfg.format, out),
    };
    let mut em = Emitter {
        sink,
        seen: Seen::new(SEEN_MAX),
        summary: Summary::default(),
        ctx: &ctx,
        used: vec![false; ctx.snapshots.len()],
    };
    em.summary.errors = input_errors.len() as u64;
    if cfg.jobs > 1 && inputs.len() > 1 {
        run_parallel(&inputs, cfg, &mut em, &mut errors, err)?;
    } else {
        for inp in &inputs {
            let name = inp.name();
            let reader = match inp.open() {
                Ok(r) => r,
                Err(e) => {
                    open_error(&mut em, &mut errors, err, format!("{name}: {e}"));
                    continue;
                }
            };
            let st = scan_input(reader, &name, &cfg.scan, |ep| em.episode(ep))?;
            em.stats(&name, &st, &mut errors, err);
        }
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
    em.sink.finish(&em.summary)?;
    Ok(Outcome {
        summary: em.summary,
        errors,
    })
}

fn open_error(em: &mut Emitter<'_>, errors: &mut Vec<String>, err: &mut dyn Write, msg: String) {
    em.summary.errors += 1;
    let _ = writeln!(err, "oomctl: error: {msg}");
    errors.push(msg);
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn seen_remembers_up_to_its_bound_then_forgets_the_oldest() {
        let mut s = Seen::new(3);
        assert!(s.insert("a", None) && s.insert("b", None) && s.insert("c", None));
        assert!(!s.insert("a", None), "a second capture");
        assert!(s.insert("d", None), "a fourth identity");
        assert_eq!(s.forgotten, 1);
        assert!(s.insert("a", None), "the oldest was forgotten");
        assert!(!s.insert("d", None) && !s.insert("c", None));
        assert_eq!(s.boots.len(), 3);
        assert_eq!(s.order.len(), 3);
    }

    #[test]
    fn boots_are_compared_where_both_captures_know_them() {
        let mut s = Seen::new(10);
        assert!(s.insert("r", Some("boot-1")));
        assert!(!s.insert("r", Some("boot-1")), "same boot: a second capture");
        assert!(!s.insert("r", None), "a capture that does not say which boot");
        assert!(s.insert("r", Some("boot-2")), "another boot: another report");
        assert!(!s.insert("r", Some("boot-2")));
    }
}
