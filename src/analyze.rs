//! `oomctl analyze`: scan every input, drop second captures of a report,
//! and hand episodes to the output sink in input order.
//!
//! Inputs are scanned in parallel with rayon when there are several and
//! `jobs > 1`; each input's episodes are then emitted in input order through
//! the same de-duplication and sink as the serial path, so `-j1` and `-jN`
//! print the same bytes. With one input (or `-j1`) episodes stream straight
//! to the sink as they are found.

use crate::input::{self, Input};
use crate::model::Episode;
use crate::output::{self, Format, Summary};
use crate::scan::{self, ScanOptions, ScanStats};
use rayon::prelude::*;
use std::collections::HashSet;
use std::io::{self, Write};

/// Validated configuration of one analyze run.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Paths as given (`-` for stdin); directories are walked.
    pub paths: Vec<String>,
    pub format: Format,
    /// Parallel inputs; 1 scans serially.
    pub jobs: usize,
    pub scan: ScanOptions,
}

/// The outcome, for the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub summary: Summary,
    /// Human-readable problems, already printed to stderr.
    pub errors: Vec<String>,
}

/// The identity of a report, the same whichever container captured it: its
/// victims with their exact kill-line numbers, or for a report without a
/// kill, its trigger and time. Two captures of one report share it; two
/// reports cannot, short of the same pid dying with the same byte counts.
fn identity(ep: &Episode) -> Option<String> {
    if !ep.victims.is_empty() {
        let mut k = String::new();
        for v in &ep.victims {
            k.push_str(&format!(
                "{}|{}|{:?}|{:?}|{:?}|{:?};",
                v.pid, v.comm, v.total_vm_bytes, v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes
            ));
        }
        if let Some(u) = ep.time.uptime_s {
            // Whole seconds: two captures of one report agree on them.
            k.push_str(&format!("@{}", u as u64));
        }
        return Some(k);
    }
    let t = ep.trigger.as_ref()?;
    let u = ep.time.uptime_s?;
    Some(format!("{:?}|{:?}|{:?}@{u}", t.comm, t.pid, ep.host))
}

/// Emits episodes once each, counting them.
struct Emitter<'s> {
    sink: Box<dyn output::Sink + 's>,
    seen: HashSet<String>,
    summary: Summary,
}

impl Emitter<'_> {
    fn episode(&mut self, ep: Episode) -> io::Result<()> {
        if let Some(id) = identity(&ep) {
            if !self.seen.insert(id) {
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
        if let Some(e) = &st.read_error {
            s.errors += 1;
            let msg = format!("{name}: read error, input ended early: {e}");
            let _ = writeln!(err, "oomctl: error: {msg}");
            errors.push(msg);
        }
    }
}

/// Scan one input completely into memory (parallel path).
fn scan_collect(inp: &Input, opts: &ScanOptions) -> Result<(Vec<Episode>, ScanStats), String> {
    let name = inp.name();
    let reader = inp.open().map_err(|e| format!("{name}: {e}"))?;
    let mut eps = Vec::new();
    let stats = scan::scan(reader, &name, opts, |ep| {
        eps.push(ep);
        Ok(())
    })
    .map_err(|e| format!("{name}: {e}"))?;
    Ok((eps, stats))
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
    let mut em = Emitter {
        sink: output::sink(cfg.format, out),
        seen: HashSet::new(),
        summary: Summary::default(),
    };
    em.summary.errors = input_errors.len() as u64;
    if cfg.jobs > 1 && inputs.len() > 1 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.jobs)
            .build()
            .map_err(io::Error::other)?;
        let results: Vec<_> = pool.install(|| inputs.par_iter().map(|i| scan_collect(i, &cfg.scan)).collect());
        for (inp, res) in inputs.iter().zip(results) {
            match res {
                Ok((eps, st)) => {
                    for ep in eps {
                        em.episode(ep)?;
                    }
                    em.stats(&inp.name(), &st, &mut errors, err);
                }
                Err(msg) => open_error(&mut em, &mut errors, err, msg),
            }
        }
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
            let st = scan::scan(reader, &name, &cfg.scan, |ep| em.episode(ep))?;
            em.stats(&name, &st, &mut errors, err);
        }
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
