//! `oomctl simulate --over-time`: the guard judged over recorded cgroup
//! samples (`crate::guard::timeline`), beside the kernel's OOMs.
//!
//! Where the samples and OOMs come from:
//! - each recording given as an input is one timeline: its samples, and
//!   the OOMs of its own kernel records (run through the live pipeline as
//!   `replay` does), one entry at a time;
//! - logs given as inputs hold OOMs only: they are judged against the
//!   samples of the `--samples` recordings (one boot's, in time order),
//!   whose own records are not read (the logs have those OOMs).
//!
//! Memory: the timeline's window, one state per cgroup and setting, and
//! the OOMs of the logs; a recording is read one entry at a time.

use crate::analyze::AnalyzeConfig;
use crate::guard::timeline::{Oom, Point, Tally, Timeline, Totals};
use crate::guard::{Candidate, GuardPolicy};
use crate::input::{self, Input};
use crate::model::{Episode, Killer, Scope, Text, TimelineOutcome};
use crate::output::timeline::TimelineSink;
use crate::output::{Sink, Summary};
use crate::pipeline::{Enrich, Pipeline};
use crate::recording::{Entry, HostFacts, Reader};
use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::rc::Rc;

/// What `--over-time` adds to a simulate run.
#[derive(Debug, Clone)]
pub struct OverTime {
    /// Every setting judged (one unless `--sweep`).
    pub settings: Vec<GuardPolicy>,
    /// `--samples`: recordings whose samples the logs' OOMs are judged by.
    pub samples: Vec<PathBuf>,
    pub sink: crate::output::timeline::Options,
}

/// An OOM as the timeline needs it; None for what a memcg guard cannot
/// judge (an oom-guard event, a global OOM, no cgroup or time).
fn oom_of(ep: &Episode) -> Option<Oom> {
    if ep.killer != Killer::Kernel || ep.scope != Some(Scope::Memcg) {
        return None;
    }
    let page_size = ep.page_size.max(1);
    Some(Oom {
        cgroup: Text::new(ep.cgroup()?),
        up: ep.time.uptime_s?,
        kernel_victim: ep.victims.first().map(|v| crate::model::Proc {
            pid: v.pid,
            comm: v.comm.clone(),
        }),
        tasks: ep.tasks.iter().map(|t| Candidate::from_row(t, page_size)).collect(),
    })
}

/// Episodes out of the pipeline, as the timeline takes them (None: one a
/// memcg guard cannot judge), into a queue the driver empties.
struct Queue(Rc<RefCell<Vec<Option<Oom>>>>);

impl Sink for Queue {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.0.borrow_mut().push(oom_of(ep));
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }
}

/// The timeline needs no snapshots on its episodes.
struct Bare;

impl Enrich for Bare {
    fn enrich(&mut self, _: u64, _: &mut Episode) -> io::Result<()> {
        Ok(())
    }
}

/// Run `--over-time`: rows to `out` as they are decided, the summary at
/// the end; problems to `err`.
pub fn run(cfg: &AnalyzeConfig, over: &OverTime, out: Box<dyn Write + '_>, err: &mut dyn Write) -> io::Result<Outcome> {
    let (inputs, input_errors) = input::expand(&cfg.paths);
    let mut errors: Vec<String> = Vec::new();
    let mut fail = |err: &mut dyn Write, msg: String| {
        let _ = writeln!(err, "oomctl: error: {msg}");
        errors.push(msg);
    };
    for e in &input_errors {
        fail(err, e.to_string());
    }
    let sink = RefCell::new(TimelineSink::new(out, over.sink));
    // The first failed write ends the run (a closed stdout).
    let failed: RefCell<Option<io::Error>> = RefCell::new(None);
    let mut emit = |row: TimelineOutcome| {
        if failed.borrow().is_none() {
            if let Err(e) = sink.borrow_mut().outcome(&row) {
                *failed.borrow_mut() = Some(e);
            }
        }
    };
    let mut run = crate::output::timeline::Run::default();
    let mut tallies: Vec<Tally> = vec![Tally::default(); over.settings.len()];
    let mut log_ooms: Vec<Oom> = Vec::new();
    for inp in &inputs {
        let name = inp.name();
        let opened = match inp.open() {
            Ok(o) => o,
            Err(e) => {
                fail(err, format!("{name}: {e}"));
                continue;
            }
        };
        match crate::recording::sniff(opened.reader) {
            Err(e) => fail(err, format!("{name}: {e}")),
            // A recording: a timeline of its own, its samples and OOMs.
            Ok((reader, true)) => {
                let reader = io::BufReader::with_capacity(1 << 16, reader);
                run.sources.recordings += 1;
                let mut rd = match Reader::open(reader, &name) {
                    Ok(rd) => rd,
                    Err(e) => {
                        fail(err, e.to_string());
                        continue;
                    }
                };
                let mut t = timeline(over, &rd.host);
                match stream(&mut rd, &mut t, true, &mut emit, &|| failed.borrow().is_some()) {
                    Ok(not_memcg) => run.not_memcg += not_memcg,
                    Err(msg) => fail(err, msg),
                }
                warn_cut(&rd, &name, err);
                let (totals, t) = t.finish(&mut emit);
                if totals.samples == 0 {
                    let _ = writeln!(
                        err,
                        "oomctl: warning: {name}: no cgroup samples (record with --cgroup CGROUP --interval \
                         SECONDS): its memcg OOMs are not judged"
                    );
                }
                add(&mut run, &mut tallies, totals, t);
            }
            // A log: its OOMs, for the --samples timeline.
            Ok((reader, false)) => {
                run.sources.logs += 1;
                let mut opts = cfg.scan.clone();
                opts.mtime_s = opened.mtime_s;
                let st = crate::analyze::episodes(reader, &name, &opts, &cfg.builder, |ep| {
                    match oom_of(&ep) {
                        Some(o) => log_ooms.push(o),
                        None => run.not_memcg += 1,
                    }
                    Ok(())
                })?;
                if let Some(e) = st.read_error.or(st.unusable) {
                    fail(err, format!("{name}: {e}"));
                }
                for w in st.warnings {
                    let _ = writeln!(err, "oomctl: warning: {w}");
                }
            }
        }
        if let Some(e) = failed.borrow_mut().take() {
            return Err(e);
        }
    }
    if over.samples.is_empty() && !log_ooms.is_empty() {
        run.no_samples += log_ooms.len() as u64;
        let _ = writeln!(
            err,
            "oomctl: warning: {} memcg OOM(s) of logs are not judged: give the samples they happened beside \
             with --samples RECORDING",
            log_ooms.len()
        );
    }
    // One timeline of every --samples recording, the logs' OOMs in it.
    let mut shared: Option<(Timeline, Option<String>)> = None;
    for path in &over.samples {
        let inp = Input::File(path.clone());
        let name = format!("--samples {}", inp.name());
        let rd = inp.open().map_err(|e| e.to_string()).and_then(|o| {
            Reader::open(io::BufReader::with_capacity(1 << 16, o.reader), &inp.name()).map_err(|e| e.to_string())
        });
        let mut rd = match rd {
            Ok(rd) => rd,
            Err(e) => {
                fail(err, format!("{name}: {e}"));
                continue;
            }
        };
        run.sources.samples += 1;
        let boot = rd.host.boot_id.clone();
        let (t, first_boot) = shared.get_or_insert_with(|| (timeline(over, &rd.host), boot.clone()));
        if *first_boot != boot {
            fail(
                err,
                format!("{name}: of another boot than the samples before it: give one boot's samples, in time order"),
            );
            continue;
        }
        for o in log_ooms.drain(..) {
            t.oom(o, &mut emit);
        }
        if let Err(msg) = stream(&mut rd, t, false, &mut emit, &|| failed.borrow().is_some()) {
            fail(err, msg);
        }
        warn_cut(&rd, &inp.name(), err);
    }
    if let Some((t, _)) = shared {
        let (totals, t) = t.finish(&mut emit);
        add(&mut run, &mut tallies, totals, t);
    }
    if let Some(e) = failed.borrow_mut().take() {
        return Err(e);
    }
    run.settings = over.settings.iter().zip(&tallies).map(|(p, t)| t.summary(p)).collect();
    sink.into_inner().finish(&run)?;
    Ok(Outcome {
        judged: run.totals.samples > 0 || run.totals.ooms > 0,
        errors,
    })
}

/// How a run went, for the exit status.
#[derive(Debug)]
pub struct Outcome {
    /// Samples or OOMs were judged.
    pub judged: bool,
    /// Problems, already printed.
    pub errors: Vec<String>,
}

fn timeline(over: &OverTime, host: &HostFacts) -> Timeline {
    Timeline::new(over.settings.clone(), host.page_size.unwrap_or(4096), host.boot_time_us)
}

fn add(run: &mut crate::output::timeline::Run, tallies: &mut [Tally], totals: Totals, t: Vec<Tally>) {
    run.totals.add(&totals);
    run.timelines += 1;
    for (a, b) in tallies.iter_mut().zip(t) {
        a.add(b);
    }
}

fn warn_cut<R>(rd: &Reader<R>, name: &str, err: &mut dyn Write) {
    let cut = rd.cut.as_ref().map(|e| crate::recording::cut_message(name, e));
    let torn = rd.torn.then(|| crate::recording::torn_message(name));
    for w in [cut, torn].into_iter().flatten() {
        let _ = writeln!(err, "oomctl: warning: {w}");
    }
}

/// One recording into `t`: its samples, and with `records` the OOMs of its
/// kernel records (through the live pipeline, as `replay` reads them). The
/// OOMs a memcg guard cannot judge are counted; a bad entry ends the
/// recording with an error, after what came before it was judged.
fn stream<R: BufRead>(
    rd: &mut Reader<R>,
    t: &mut Timeline,
    records: bool,
    out: &mut dyn FnMut(TimelineOutcome),
    stopped: &dyn Fn() -> bool,
) -> Result<u64, String> {
    let queue = Rc::new(RefCell::new(Vec::new()));
    let mut pipe = records.then(|| Pipeline::new(&rd.source, rd.host.clone(), Box::new(Queue(queue.clone()))));
    let mut not_memcg = 0;
    let mut drain = |t: &mut Timeline, out: &mut dyn FnMut(TimelineOutcome)| {
        for oom in queue.borrow_mut().drain(..) {
            match oom {
                Some(o) => t.oom(o, out),
                None => not_memcg += 1,
            }
        }
    };
    // The timeline's index of each cgroup the last `sampling` entry named.
    let mut ids: Vec<usize> = Vec::new();
    let mut result = Ok(());
    loop {
        // The output went away (`| head`): no need to read the rest.
        if stopped() {
            break;
        }
        let e = match rd.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                result = Err(e.to_string());
                break;
            }
        };
        match &e {
            Entry::Sampling { cgroups, interval_s } => {
                ids = cgroups.iter().map(|c| t.declare(c)).collect();
                t.interval(*interval_s);
            }
            Entry::Compact(c) => {
                // The reader checked that the index names a cgroup.
                if let (Some(&i), Some(p)) = (ids.get(c.c), Point::compact(c)) {
                    t.sample_of(i, p, out);
                }
            }
            Entry::Sample { snapshot } => {
                if let Some(p) = Point::snapshot(snapshot) {
                    t.sample(&snapshot.path, p, out);
                }
            }
            e => {
                if let Some(pipe) = &mut pipe {
                    pipe.entry(e, &mut Bare).map_err(|e| e.to_string())?;
                    drain(t, out);
                }
            }
        }
    }
    if let Some(pipe) = pipe {
        pipe.finish(&mut Bare).map_err(|e| e.to_string())?;
        drain(t, out);
    }
    result.map(|()| not_memcg)
}
