//! `oomctl watch`, `record` and `replay`: the live edge around the pure
//! [`Pipeline`].
//!
//! A reader thread blocks on `/dev/kmsg` and sends each record to the main
//! loop over a channel; a signal thread sends a stop. The main loop blocks
//! on the channel (no CPU when idle) and only uses a timeout while a report
//! is pending: after `grace` of quiet a report that has its kill is
//! finished and emitted, after [`MAX_WAIT`] one still waiting for its kill
//! is emitted incomplete. Every record, overrun, settle and snapshot goes to
//! the recording, so `replay` repeats the run exactly.

use super::kmsg::{self, KmsgReader, Read1};
use crate::metrics::Metrics;
use crate::model::{Episode, Text};
use crate::output::{self, Format, Summary};
use crate::pipeline::{Enrich, Pipeline};
use crate::recording::{self, lost_message, torn_message, Entry, HostFacts, Recorder};
use crate::sampling::{Compact, SampleRule, Sampler};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest wait for the kill line of an open report before it is emitted
/// incomplete (the builder's own gap rule for logs).
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// The tick of matching counted kills with kill lines (cgroup v2): what
/// waited two ticks goes out unmatched. The kernel notifies memory.events
/// within 10 ms of a kill, and the log line comes within as much.
pub const TICK: Duration = Duration::from_millis(500);
/// How often the counters look for new and removed cgroups.
const RESCAN: Duration = Duration::from_secs(2);

/// How to run `watch` / `record`.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Output format; None: print no episodes (`record`).
    pub format: Option<Format>,
    /// How the human formats draw (width, colour).
    pub style: output::Style,
    /// Read the records already in the ring buffer first.
    pub since_boot: bool,
    /// Remember the last record per boot here; resume after it.
    pub state: Option<PathBuf>,
    /// Write a recording here.
    pub record: Option<PathBuf>,
    /// Quiet time after a kill before its report is final.
    pub grace: Duration,
    /// The kmsg device (a file of records in tests).
    pub kmsg: String,
    /// Cgroups to sample every `interval` (`record`).
    pub sample: Vec<PathBuf>,
    pub interval: Option<Duration>,
    /// Serve Prometheus metrics on this address.
    pub metrics: Option<String>,
    /// POST each episode as JSON to this http:// URL.
    pub webhook: Option<String>,
    /// Post Kubernetes Events for episodes.
    pub k8s_events: Option<super::k8s_events::KubeConfig>,
    /// Count OOM kills in the memory.events.local of every cgroup under
    /// this cgroup-v2 root (None: the log only).
    pub counters: Option<PathBuf>,
}

enum Event {
    Read(Read1),
    Counter(super::counters::Reading),
    End,
    Failed(io::Error),
    Stop,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    boot_id: String,
    seq: u64,
}

fn read_trim(path: &str) -> Option<String> {
    crate::input::read_lossy(path).ok().map(|s| s.trim().to_owned())
}

/// The host facts the pipeline needs, read once at start.
pub fn host_facts() -> HostFacts {
    let uptime_us = read_trim("/proc/uptime")
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .map(|u| (u * 1e6) as i64);
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_micros() as i64);
    let page_size = crate::input::read_lossy("/proc/self/smaps").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("KernelPageSize:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    HostFacts {
        hostname: super::hostname(),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
        page_size,
        boot_time_us: now_us.zip(uptime_us).map(|(n, u)| n - u),
        started: crate::live::now_iso(),
    }
}

/// Live enrichment: snapshots of the episode's cgroups, recorded.
struct Live {
    /// The latest whole samples (`--cgroup`), joined to episodes as
    /// `replay` joins them from the recording.
    samples: crate::snapshot::Recent,
    recorder: Option<Recorder>,
    record_failed: u64,
    metrics: Option<Metrics>,
    webhook: Option<super::webhook::Webhook>,
    events: Option<mpsc::SyncSender<Episode>>,
}

impl Live {
    /// Record an entry. A failing recording (disk full) must not stop the
    /// watcher: the first failure is said, every one is counted, and the
    /// run ends with an error naming how much is missing.
    fn log(&mut self, e: &Entry) -> io::Result<()> {
        if let Some(r) = self.recorder.as_mut() {
            if let Err(err) = r.write(e) {
                self.record_failed += 1;
                if self.record_failed == 1 {
                    crate::diag!("oomctl: error: recording: {err}; watching goes on, the recording is incomplete");
                }
            }
        }
        Ok(())
    }
}

/// A webhook message: oom-guard's k8s-event-writer fields (so receivers
/// built for oom-guard take it), with `policy` "Kernel", plus the episode.
fn webhook_message(ep: &Episode) -> serde_json::Value {
    let full = |p: &str| super::cgroupfs::full_path(p);
    let stats = ep
        .memcg_stats
        .first()
        .map(|s| crate::cgroup::stats_line(&s.stats))
        .unwrap_or_default();
    serde_json::json!({
        "hostname": ep.host,
        "timestamp": ep.time.wall,
        "oomcgroup": ep.memcg.as_ref().and_then(|m| m.path.as_deref()).map(full),
        "proccgroup": ep.task_memcg.as_deref().map(full),
        "usage": ep.memcg.as_ref().and_then(|m| m.usage_bytes),
        "killed": ep.victims.iter().map(|v| format!("{}({}) ", v.pid, v.comm)).collect::<String>(),
        "stats": stats,
        "policy": "Kernel",
        "episode": ep,
    })
}

/// The cgroupfs directory of a kernel cgroup path, if it still exists.
fn cgroup_dir(path: &str) -> Option<PathBuf> {
    super::cgroupfs::resolve(path).ok()
}

impl Enrich for Live {
    fn enrich(&mut self, index: u64, ep: &mut Episode) -> io::Result<()> {
        let mut paths: Vec<Text> = ep.memcg.as_ref().and_then(|m| m.path.clone()).into_iter().collect();
        paths.extend(ep.task_memcg.clone());
        paths.dedup();
        for p in paths {
            // The cgroup may be gone already (a container that died with its
            // process): then there is nothing to add.
            let Some(dir) = cgroup_dir(&p) else { continue };
            let Ok(mut s) = super::cgroupfs::snapshot(&dir) else {
                continue;
            };
            s.path = p;
            self.log(&Entry::Snap {
                episode: index,
                snapshot: s.clone(),
            })?;
            ep.snapshots.push(s);
        }
        if !ep.snapshots.is_empty() {
            ep.diagnosis = Some(crate::diagnose::diagnose(ep));
        }
        self.samples.join(ep);
        if let Some(m) = &self.metrics {
            m.episode(ep);
        }
        if let Some(w) = &self.webhook {
            w.send(webhook_message(ep).to_string());
        }
        if let Some(tx) = &self.events {
            if tx.try_send(ep.clone()).is_err() {
                crate::diag!(
                    "oomctl: warning: Kubernetes event queue full; event for {} dropped",
                    ep.source.first_line
                );
            }
        }
        Ok(())
    }
}

fn load_state(path: &Path) -> Option<State> {
    serde_json::from_str(&crate::input::read_lossy(path).ok()?).ok()
}

fn save_state(path: &Path, st: &State) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string(st).map_err(io::Error::other)?)?;
    std::fs::rename(tmp, path)
}

fn lost_warning(err: &mut dyn Write, lost: (u64, u64)) {
    if let Some(msg) = lost_message(lost) {
        let _ = writeln!(err, "oomctl: warning: {msg}");
    }
}

/// Run `watch` (or `record`, with no format) until stopped.
pub fn run(cfg: &WatchConfig, out: Box<dyn Write + '_>, err: &mut dyn Write) -> Result<Summary, String> {
    let facts = host_facts();
    let boot = facts.boot_id.clone().unwrap_or_default();
    let resume = cfg
        .state
        .as_deref()
        .and_then(load_state)
        .filter(|s| s.boot_id == boot)
        .map(|s| s.seq);
    // Without the log, the counters alone still count every kill.
    let reader = match KmsgReader::open(&cfg.kmsg, cfg.since_boot || resume.is_some()) {
        Ok(r) => Some(r),
        Err(msg) if cfg.counters.is_some() => {
            let _ = writeln!(
                err,
                "oomctl: warning: {msg}; counting OOM kills from memory.events.local only"
            );
            None
        }
        Err(msg) => return Err(msg),
    };
    let recorder = match &cfg.record {
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|e| format!("--record {}: {e}", p.display()))?;
            let mut r = Recorder::new(Box::new(io::BufWriter::new(f)));
            r.write(&Entry::Header {
                version: recording::VERSION,
                source: cfg.kmsg.clone(),
                host: facts.clone(),
            })
            .map_err(|e| format!("--record {}: {e}", p.display()))?;
            Some(r)
        }
        None => None,
    };
    let metrics = cfg.metrics.as_ref().map(|_| Metrics::new(true));
    let webhook = cfg.webhook.as_ref().map(|u| super::webhook::Webhook::start(u.clone()));
    // A slow API server must not hold up the watcher: post from a thread.
    let events = cfg.k8s_events.clone().map(super::k8s_events::spawn_poster);
    let mut live = Live {
        samples: crate::snapshot::Recent::default(),
        recorder,
        record_failed: 0,
        metrics: metrics.clone(),
        webhook,
        events,
    };
    let sink = match cfg.format {
        Some(f) => output::sink(f, out, cfg.style),
        None => Box::new(NullSink) as Box<dyn output::Sink>,
    };
    let mut pipe = Pipeline::new(&cfg.kmsg, facts, sink);

    let (tx, rx) = mpsc::channel();
    let stop_tx = tx.clone();
    super::signal::on_stop(move || {
        let _ = stop_tx.send(Event::Stop);
    })
    .map_err(|e| format!("installing signal handlers: {e}"))?;
    let counting_kills = cfg.counters.is_some();
    let counting = match &cfg.counters {
        Some(root) => {
            let entry = Entry::Counting {
                root: Text::from(root.display().to_string()),
            };
            live.log(&entry).map_err(|e| format!("--record: {e}"))?;
            pipe.counting();
            let tx = tx.clone();
            let tell = move |r| tx.send(Event::Counter(r)).is_ok();
            let n = super::counters::spawn(root.clone(), RESCAN, tell, super::counters::warn_stderr)
                .map_err(|e| format!("{}: inotify: {e}", root.display()))?;
            Some(format!(
                "; counting OOM kills in the {} of {} under {}",
                super::counters::FILE,
                crate::units::count(n as u64, "cgroup"),
                root.display()
            ))
        }
        None => None,
    };
    if let Some(mut reader) = reader {
        std::thread::spawn(move || loop {
            let ev = match reader.read_record() {
                Ok(Some(r)) => Event::Read(r),
                Ok(None) => Event::End,
                Err(e) => Event::Failed(e),
            };
            let last = !matches!(ev, Event::Read(_));
            if tx.send(ev).is_err() || last {
                return;
            }
        });
    }
    let _ = writeln!(
        err,
        "oomctl: watching {} ({}){}",
        cfg.kmsg,
        match (resume, cfg.since_boot) {
            (Some(seq), _) => format!("resuming after record {seq}"),
            (None, true) => "from the oldest record in the buffer".to_owned(),
            (None, false) => "new records only".to_owned(),
        },
        counting.unwrap_or_default()
    );

    if let (Some(addr), Some(m)) = (&cfg.metrics, &metrics) {
        let bound = crate::metrics::serve(addr, m.clone()).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let _ = writeln!(err, "oomctl: serving metrics on http://{bound}/metrics");
    }
    let io_err = |e: io::Error| format!("output: {e}");
    let mut last_seq: Option<u64> = resume;
    let mut pending_state: Option<bool> = None;
    let mut pending_since: Option<Instant> = None;
    let mut saved_at: Option<Instant> = None;
    let mut next_tick: Option<Instant> = None;
    let save = |seq: Option<u64>| -> Result<(), String> {
        match (&cfg.state, seq) {
            (Some(path), Some(seq)) => save_state(
                path,
                &State {
                    boot_id: boot.clone(),
                    seq,
                },
            )
            .map_err(|e| format!("--state {}: {e}", path.display())),
            _ => Ok(()),
        }
    };
    let mut next_sample = cfg.interval.map(|i| Instant::now() + i);
    let mut sampler = Sampler::new(SampleRule::default());
    // Each interval a compact sample per cgroup, whole where the rule says
    // (`crate::sampling`): a node can record for days.
    let take_samples = |live: &mut Live, sampler: &mut Sampler| -> io::Result<()> {
        for (c, d) in cfg.sample.iter().enumerate() {
            let Ok(mut s) = super::cgroupfs::reading(d) else {
                continue;
            };
            let compact = Compact::of(c, &s);
            if sampler.full(c, &s, &compact) {
                super::cgroupfs::add_processes(&mut s, d);
                live.log(&Entry::Sample { snapshot: s.clone() })?;
                live.samples.push(s);
            } else {
                live.log(&Entry::Compact(compact))?;
            }
        }
        Ok(())
    };
    if let Some(i) = cfg.interval {
        live.log(&Entry::Sampling {
            cgroups: cfg
                .sample
                .iter()
                .map(|d| Text::from(crate::cgroup::kernel_path(d)))
                .collect(),
            interval_s: i.as_secs_f64(),
        })
        .map_err(io_err)?;
        take_samples(&mut live, &mut sampler).map_err(io_err)?;
    }
    loop {
        // A deadline runs from when the pending state last changed: a kill
        // restarts it with the short grace.
        let pending = pipe.pending();
        if pending != pending_state {
            pending_state = pending;
            pending_since = pending.map(|_| Instant::now());
        }
        let settle_at = pending_since.map(|t| t + if pending == Some(true) { MAX_WAIT } else { cfg.grace });
        match (pipe.holding(), next_tick) {
            (true, None) => next_tick = Some(Instant::now() + TICK),
            (false, Some(_)) => next_tick = None,
            _ => {}
        }
        let wake = [settle_at, next_sample, next_tick].into_iter().flatten().min();
        let ev = match wake {
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match ev {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                if settle_at.is_some_and(|t| t <= now) {
                    let all = pending == Some(true);
                    live.log(&Entry::Settle { all }).map_err(io_err)?;
                    pipe.settle(all, &mut live).map_err(io_err)?;
                    save(last_seq)?;
                }
                if next_sample.is_some_and(|t| t <= now) {
                    take_samples(&mut live, &mut sampler).map_err(io_err)?;
                    next_sample = cfg.interval.map(|i| now + i);
                }
                if next_tick.is_some_and(|t| t <= now) {
                    live.log(&Entry::Release).map_err(io_err)?;
                    pipe.release(false, &mut live).map_err(io_err)?;
                    next_tick = pipe.holding().then(|| now + TICK);
                }
            }
            Ok(Event::Counter(super::counters::Reading::Gone(path))) => {
                live.log(&Entry::Gone { path: path.clone() }).map_err(io_err)?;
                pipe.counter_gone(&path);
            }
            Ok(Event::Counter(super::counters::Reading::Count(path, oom_kill, at_us, fresh))) => {
                live.log(&Entry::Counter {
                    path: path.clone(),
                    oom_kill,
                    at_us,
                    fresh,
                })
                .map_err(io_err)?;
                pipe.counter(&path, oom_kill, at_us, fresh, &mut live).map_err(io_err)?;
            }
            Ok(Event::Read(Read1::Record(r))) => {
                let seq = kmsg::seq_of(&r);
                if let (Some(s), Some(resume)) = (seq, resume) {
                    if s <= resume {
                        continue; // reported before the restart
                    }
                }
                if let (Some(s), Some(l)) = (seq, last_seq) {
                    if s > l + 1 {
                        let n = s - l - 1;
                        live.log(&Entry::Lost { n }).map_err(io_err)?;
                        pipe.lost(n);
                        if let Some(m) = &metrics {
                            m.lost(n);
                        }
                    }
                }
                last_seq = seq.or(last_seq);
                // The cgroup a kill line does not name (a rate-limited
                // report) is in /proc while the victim is: read it now.
                if counting_kills {
                    if let Some((pid, cgroup)) = victim_cgroup(&r) {
                        let cgroup = Text::from(cgroup);
                        live.log(&Entry::Victim {
                            pid,
                            cgroup: cgroup.clone(),
                        })
                        .map_err(io_err)?;
                        pipe.victim(pid, &cgroup);
                    }
                }
                live.log(&Entry::Record { r: r.clone() }).map_err(io_err)?;
                if let Some(m) = &metrics {
                    m.records(1);
                }
                pipe.record(&r, &mut live).map_err(io_err)?;
                // Remember progress when no report is half read, at most
                // once a second: a restart resumes after this record.
                if pipe.pending().is_none() && saved_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    save(last_seq)?;
                    saved_at = Some(Instant::now());
                }
            }
            // Counted from the sequence gap of the next record; with nothing
            // read before, the size of the loss is unknown but not hidden.
            Ok(Event::Read(Read1::Overrun)) => {
                if last_seq.is_none() {
                    live.log(&Entry::Lost { n: 0 }).map_err(io_err)?;
                    pipe.lost(0);
                    if let Some(m) = &metrics {
                        m.lost(0);
                    }
                }
            }
            Ok(Event::End) | Ok(Event::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Event::Failed(e)) => return Err(format!("{}: {e}", cfg.kmsg)),
        }
    }
    lost_warning(err, (pipe.lost, pipe.overruns));
    let summary = pipe.finish(&mut live).map_err(io_err)?;
    save(last_seq)?;
    if live.record_failed > 0 {
        return Err(format!(
            "recording incomplete: {} entries could not be written",
            live.record_failed
        ));
    }
    Ok(summary)
}

/// The pid of a kernel kill line in a kmsg record, and its memory cgroup
/// now (None: not a kill line, or the victim is gone already).
fn victim_cgroup(record: &str) -> Option<(u32, String)> {
    let text = record.split_once(';')?.1.lines().next()?;
    match crate::kline::classify(text) {
        crate::kline::KLine::Kill(k) => Some((k.pid, super::cgroupfs::proc_memcg(k.pid)?)),
        _ => None,
    }
}

/// `oomctl replay`: the recorded run again, offline. The recording is
/// opened as analyze opens its inputs (gzip recognised by its content).
pub fn replay(
    input: &crate::input::Input,
    format: Format,
    style: output::Style,
    out: Box<dyn Write + '_>,
    err: &mut dyn Write,
) -> Result<Summary, String> {
    let name = input.name();
    let r = input.open().map_err(|e| format!("{name}: {e}"))?.reader;
    let rec = recording::read(io::BufReader::new(r), &name).map_err(|e| e.to_string())?;
    if let Some(e) = &rec.cut {
        let _ = writeln!(err, "oomctl: warning: {}", recording::cut_message(&name, e));
    }
    if rec.torn {
        let _ = writeln!(err, "oomctl: warning: {}", torn_message(&name));
    }
    let (summary, lost) =
        crate::pipeline::run_recording(&rec, output::sink(format, out, style)).map_err(|e| format!("output: {e}"))?;
    lost_warning(err, lost);
    Ok(summary)
}

/// Prints nothing (`record`).
struct NullSink;

impl output::Sink for NullSink {
    fn episode(&mut self, _: &Episode) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        Ok(())
    }
}
