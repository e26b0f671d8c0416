//! `oomctl guard`: oom-guard's policies enforced live on cgroup v1.
//!
//! Every memory cgroup under `--root` with a limit gets two usage
//! thresholds through `cgroup.event_control` and one eventfd: the reclaim
//! point (`limit − 2 × margin`, where reclaim is requested through
//! `memory.force_empty`) and the guard threshold (`limit − margin`). A thread
//! per cgroup blocks on its eventfd; the main loop wakes only on a crossing,
//! a signal, or the periodic re-walk that picks up new cgroups, forgets
//! removed ones and re-arms cgroups whose limit changed.
//!
//! At the threshold the guard reads usage and memory.stat again, holds back
//! while clean cache is large (the kernel can still reclaim), else picks a
//! victim by the kernel's badness among the processes of the subtree and
//! kills it (`process`) or its whole container cgroup (`container`) with
//! pidfds, checking the process is the one chosen, and waits to see it die.
//! Never touched: pid 1, kernel threads, oom_score_adj −1000, oomctl itself,
//! anything outside `--root`. `--dry-run` writes nothing to cgroupfs and
//! signals nothing: it polls usage every 10 ms instead of registering
//! thresholds, and reports what it would have done.

use super::sys;
use crate::guard::{badness, Candidate, GuardPolicy, Policy};
use crate::model::{StatsFormat, Text};
use crate::snapshot::{self, GuardAction, Snapshot};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long to wait for a killed process to be gone.
const CONFIRM: Duration = Duration::from_secs(2);
/// How often a dry run reads usage (it registers no thresholds).
const DRY_RUN_POLL: Duration = Duration::from_millis(10);
/// PF_KTHREAD in /proc/PID/stat's flags.
const PF_KTHREAD: u64 = 0x0020_0000;

/// How to run the guard.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub policy: GuardPolicy,
    /// cgroupfs directory of the guarded subtree (cgroup v1 memory).
    pub root: PathBuf,
    pub dry_run: bool,
    /// POST every report here (http:// only).
    pub webhook: Option<String>,
    /// Re-walk the subtree this often.
    pub rescan: Duration,
    /// Serve Prometheus metrics on this address.
    pub metrics: Option<String>,
    /// Post a Kubernetes Event for every kill.
    pub k8s_events: Option<super::k8s_events::KubeConfig>,
}

enum Msg {
    /// A threshold of this cgroup (arm generation) fired at this instant.
    Crossed(PathBuf, u64, Instant),
    Stop,
}

struct Watched {
    limit: u64,
    generation: u64,
    stop: Arc<AtomicBool>,
    efd: Arc<File>,
    _usage: File,
}

/// Read a number from the start of an open cgroupfs file.
fn pread_u64(f: &mut File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut b = [0u8; 32];
    f.seek(SeekFrom::Start(0)).ok()?;
    let n = f.read(&mut b).ok()?;
    std::str::from_utf8(&b[..n]).ok()?.trim().parse().ok()
}

fn read_u64(p: &Path) -> Option<u64> {
    crate::input::read_lossy(p).ok()?.trim().parse().ok()
}

/// Memory cgroups of the subtree (the root included), in path order.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("memory.usage_in_bytes").exists() {
            out.push(d.clone());
        }
        if let Ok(subs) = snapshot::subdirs(&d) {
            stack.extend(subs.into_iter().rev());
        }
    }
    out
}

/// A process as /proc shows it now: (candidate, start time, its memory
/// cgroup path). None if it is gone.
pub fn proc_info(pid: u32) -> Option<(Candidate, u64, Text)> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = crate::input::read_lossy(dir.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ") ": state(0) ppid(1) … flags(6) … starttime(19).
    let flags: u64 = f.get(6)?.parse().ok()?;
    let start: u64 = f.get(19)?.parse().ok()?;
    let status = crate::input::read_lossy(dir.join("status")).unwrap_or_default();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let adj = crate::input::read_lossy(dir.join("oom_score_adj"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cg = crate::input::read_lossy(dir.join("cgroup")).unwrap_or_default();
    let memcg = cg
        .lines()
        .find_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrl, path) = (p.next()?, p.next()?, p.next()?);
            ctrl.split(',').any(|c| c == "memory").then(|| Text::new(path))
        })
        .unwrap_or_default();
    let cand = Candidate {
        pid,
        comm: Text::new(&comm),
        rss_swap_bytes: kb("VmRSS:") + kb("VmSwap:"),
        pgtables_bytes: kb("VmPTE:"),
        oom_score_adj: adj,
        protected: pid <= 1 || flags & PF_KTHREAD != 0 || pid == std::process::id(),
    };
    Some((cand, start, memcg))
}

/// The processes of a cgroup subtree.
fn procs(dir: &Path) -> Vec<u32> {
    let mut out: Vec<u32> = walk(dir)
        .iter()
        .flat_map(|d| {
            crate::input::read_lossy(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Kill `pid` only if it is still the process started at `start` (its
/// /proc start time, clock ticks since boot), then wait to see it gone.
/// Ok(true): confirmed gone — killed here, or already gone or replaced by
/// another process with the same pid, which is then left alone.
pub fn kill_confirmed(pid: u32, start: u64) -> io::Result<bool> {
    let same = || proc_info(pid).is_some_and(|(_, s, _)| s == start);
    match sys::pidfd_open(pid) {
        Ok(fd) => {
            // The pidfd pins this process: check it is the chosen one.
            if !same() {
                return Ok(true);
            }
            sys::pidfd_send_signal(&fd, sys::SIGKILL)?;
        }
        Err(e) if e.raw_os_error() == Some(3) => return Ok(true), // ESRCH: gone
        Err(_) => {
            if !same() {
                return Ok(true);
            }
            sys::kill_pid(pid, sys::SIGKILL)?;
        }
    }
    let deadline = Instant::now() + CONFIRM;
    while Instant::now() < deadline {
        let state = crate::input::read_lossy(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').and_then(|(_, r)| r.trim_start().chars().next()));
        match state {
            None | Some('Z') | Some('X') => return Ok(true),
            _ if !same() => return Ok(true),
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    Ok(false)
}

/// One decision at a threshold, for the report.
struct Report<'a> {
    dir: &'a Path,
    usage: u64,
    limit: u64,
    stat: std::collections::BTreeMap<Text, u64>,
    /// The chosen process's memory cgroup (kernel path).
    victim_cgroup: Option<Text>,
    held_back: bool,
    action: &'a str,
    killed: Vec<(u32, Text)>,
    confirmed: bool,
    /// From the threshold firing to the victims' confirmed death.
    response: Duration,
}

struct Guard<'a> {
    cfg: &'a GuardConfig,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    tx: mpsc::Sender<Msg>,
    watched: HashMap<PathBuf, Watched>,
    generation: u64,
    page_size: u64,
    host: Option<Text>,
    reports: u64,
    metrics: Option<crate::metrics::Metrics>,
    webhook: Option<super::webhook::Webhook>,
    events: Option<mpsc::SyncSender<crate::model::Episode>>,
    /// After the first walk, cgroups that come and go are said on stderr.
    started: bool,
}

impl Guard<'_> {
    /// Arm (or re-arm) thresholds on every limited cgroup; forget gone ones.
    fn rescan(&mut self) -> Result<(), String> {
        let dirs = walk(&self.cfg.root);
        let err = &mut *self.err;
        self.watched.retain(|d, w| {
            let keep = dirs.contains(d);
            if !keep {
                w.stop.store(true, Ordering::Relaxed);
                let _ = writeln!(
                    err,
                    "oomctl: {} is gone: no longer guarded",
                    Text::from(d.display().to_string())
                );
            }
            keep
        });
        for d in dirs {
            let Some(limit) = read_u64(&d.join("memory.limit_in_bytes")).filter(|&l| !crate::units::is_unlimited(l))
            else {
                continue;
            };
            if self.watched.get(&d).is_some_and(|w| w.limit == limit) {
                continue;
            }
            if let Some(old) = self.watched.remove(&d) {
                old.stop.store(true, Ordering::Relaxed);
                let _ = (&*old.efd).write_all(&1u64.to_ne_bytes());
            }
            match self.arm(&d, limit) {
                Ok(w) => {
                    if self.started {
                        let _ = writeln!(
                            self.err,
                            "oomctl: guarding {}: limit {}, threshold {}",
                            Text::from(d.display().to_string()),
                            crate::units::human_bytes(limit),
                            crate::units::human_bytes(self.cfg.policy.threshold(limit))
                        );
                    }
                    self.watched.insert(d.clone(), w);
                    // Already above? A threshold only fires on crossing.
                    self.crossed(&d, Instant::now())?;
                }
                Err(e) => {
                    let _ = writeln!(
                        self.err,
                        "oomctl: warning: {}: cannot arm thresholds: {e}",
                        Text::from(d.display().to_string())
                    );
                }
            }
        }
        Ok(())
    }

    fn arm(&mut self, dir: &Path, limit: u64) -> io::Result<Watched> {
        let efd = Arc::new(sys::new_eventfd()?);
        let usage = File::open(dir.join("memory.usage_in_bytes"))?;
        let p = &self.cfg.policy;
        let marks = [p.reclaim_at(limit), p.threshold(limit)];
        self.generation += 1;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, d, g, s, e) = (
            self.tx.clone(),
            dir.to_path_buf(),
            self.generation,
            stop.clone(),
            efd.clone(),
        );
        if self.cfg.dry_run {
            // Registering a threshold is a write to cgroupfs; a dry run
            // makes none, so it polls usage instead (read-only).
            let mut f = usage.try_clone()?;
            std::thread::spawn(move || {
                let band = |u: u64| marks.iter().filter(|&&m| u >= m).count();
                let mut last = None;
                while !s.load(Ordering::Relaxed) {
                    let Some(u) = pread_u64(&mut f) else {
                        return; // the cgroup is gone
                    };
                    if last.is_some_and(|b| b != band(u))
                        && tx.send(Msg::Crossed(d.clone(), g, Instant::now())).is_err()
                    {
                        return;
                    }
                    last = Some(band(u));
                    std::thread::sleep(DRY_RUN_POLL);
                }
            });
        } else {
            use std::os::fd::AsRawFd;
            for t in marks {
                fs::write(
                    dir.join("cgroup.event_control"),
                    format!("{} {} {t}", efd.as_raw_fd(), usage.as_raw_fd()),
                )?;
            }
            self.spawn_waiter(tx, d, g, s, e);
        }
        Ok(Watched {
            limit,
            generation: self.generation,
            stop,
            efd,
            _usage: usage,
        })
    }

    /// A thread blocking on the eventfd of a cgroup's thresholds.
    fn spawn_waiter(&self, tx: mpsc::Sender<Msg>, d: PathBuf, g: u64, s: Arc<AtomicBool>, e: Arc<File>) {
        std::thread::spawn(move || {
            let mut b = [0u8; 8];
            // Blocks until a threshold is crossed, the cgroup is removed
            // (the kernel signals the eventfd) or the guard re-arms it.
            while (&*e).read_exact(&mut b).is_ok() {
                if s.load(Ordering::Relaxed)
                    || tx.send(Msg::Crossed(d.clone(), g, Instant::now())).is_err()
                    || !d.exists()
                {
                    return;
                }
            }
        });
    }

    /// A threshold of `dir` was crossed (either way): look and act.
    fn crossed(&mut self, dir: &Path, at: Instant) -> Result<(), String> {
        let (Some(usage), Some(limit)) = (
            read_u64(&dir.join("memory.usage_in_bytes")),
            read_u64(&dir.join("memory.limit_in_bytes")),
        ) else {
            return Ok(()); // removed meanwhile
        };
        let p = self.cfg.policy;
        if usage < p.reclaim_at(limit) {
            return Ok(());
        }
        if usage < p.threshold(limit) {
            if !self.cfg.dry_run {
                // Reclaim can take a while; the guard keeps watching.
                let f = dir.join("memory.force_empty");
                std::thread::spawn(move || {
                    let _ = fs::write(f, "0");
                });
            }
            return Ok(());
        }
        let stat = crate::cgroup::parse_kv(&crate::input::read_lossy(dir.join("memory.stat")).unwrap_or_default());
        let held_back = p.holds_back(limit, crate::guard::clean_cache(StatsFormat::V1, &stat));
        let infos: Vec<(Candidate, u64, Text)> = procs(dir).into_iter().filter_map(proc_info).collect();
        let total = limit / self.page_size;
        let chosen = infos
            .iter()
            .filter_map(|i| badness(&i.0, total, self.page_size).map(|b| (i, b)))
            .fold(None::<(&(Candidate, u64, Text), i64)>, |best, (i, b)| match best {
                Some((_, bb)) if b < bb => best,
                _ => Some((i, b)),
            })
            .map(|(i, _)| i.clone());
        let mut targets: Vec<(Candidate, u64, Text)> = Vec::new();
        let action = match (held_back, p.policy, &chosen) {
            (true, _, _) | (_, Policy::Noop, _) | (_, _, None) => "none",
            (false, Policy::Process, Some(c)) => {
                targets.push(c.clone());
                "kill_process"
            }
            (false, Policy::Container, Some(c)) => {
                // The chosen process's own memory cgroup, if inside the root.
                let container = super::cgroupfs::resolve(&c.2)
                    .ok()
                    .filter(|d| d.starts_with(&self.cfg.root))
                    .unwrap_or_else(|| dir.to_path_buf());
                targets = procs(&container)
                    .into_iter()
                    .filter_map(proc_info)
                    .filter(|i| badness(&i.0, total, self.page_size).is_some())
                    .collect();
                "kill_container"
            }
        };
        let mut killed = Vec::new();
        let mut confirmed = true;
        for (c, start, _) in &targets {
            if !self.cfg.dry_run {
                match kill_confirmed(c.pid, *start) {
                    Ok(dead) => confirmed &= dead,
                    Err(e) => {
                        confirmed = false;
                        let _ = writeln!(self.err, "oomctl: warning: kill {} ({}): {e}", c.pid, c.comm);
                    }
                }
            }
            killed.push((c.pid, c.comm.clone()));
        }
        self.report(Report {
            dir,
            usage,
            limit,
            stat,
            victim_cgroup: chosen.map(|c| c.2),
            held_back,
            action,
            killed,
            confirmed,
            response: at.elapsed(),
        })
    }

    fn report(&mut self, r: Report<'_>) -> Result<(), String> {
        let Report {
            dir,
            usage,
            limit,
            stat,
            victim_cgroup,
            held_back,
            action,
            killed,
            confirmed,
            response,
        } = r;
        self.reports += 1;
        let p = self.cfg.policy;
        let kernel_path = crate::cgroup::kernel_path(dir);
        let snap = Snapshot {
            path: Text::new(&kernel_path),
            version: Text::new("v1"),
            origin: Text::new("oom_guard"),
            time: crate::live::now_iso().map(Text::from),
            host: self.host.clone(),
            usage_bytes: Some(usage),
            limit_bytes: Some(limit),
            stat: stat.clone(),
            guard: Some(GuardAction {
                policy: Some(Text::new(p.policy.event_name())),
                threshold_bytes: Some(p.threshold(limit)),
                proc_cgroup: victim_cgroup.clone(),
                killed: killed.clone(),
            }),
            ..Snapshot::default()
        };
        let episode = snapshot::guard_episode(&snap, "oomctl guard", self.reports);
        if let Some(m) = &self.metrics {
            m.guard_action(action, p.policy.as_str(), self.cfg.dry_run);
            if !self.cfg.dry_run && !killed.is_empty() {
                m.episode(&episode);
            }
        }
        if let Some(tx) = self.events.as_ref().filter(|_| !self.cfg.dry_run && !killed.is_empty()) {
            if tx.try_send(episode.clone()).is_err() {
                let _ = writeln!(self.err, "oomctl: warning: Kubernetes event queue full; event dropped");
            }
        }
        let stats: String = stat.iter().map(|(k, v)| format!("{k} {v}|")).collect();
        let line: Value = json!({
            "hostname": self.host,
            "timestamp": snap.time,
            "oomcgroup": Text::from(dir.display().to_string()),
            "proccgroup": victim_cgroup.map(|c| format!("{}{c}", crate::cgroup::V1_ROOT)),
            "threshold": p.threshold(limit),
            "usage": usage,
            "killed": killed.iter().map(|(pid, c)| format!("{pid}({c}) ")).collect::<String>(),
            "stats": stats,
            "policy": p.policy.event_name(),
            "action": action,
            "held_back": held_back,
            "dry_run": self.cfg.dry_run,
            "confirmed": confirmed,
            "response_us": response.as_micros() as u64,
            "episode": episode,
        });
        let text = line.to_string();
        writeln!(self.out, "{text}")
            .and_then(|()| self.out.flush())
            .map_err(|e| format!("output: {e}"))?;
        if let Some(w) = &self.webhook {
            w.send(text);
        }
        Ok(())
    }
}

/// Run the guard until SIGINT/SIGTERM.
pub fn run(cfg: &GuardConfig, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), String> {
    let root = &cfg.root;
    if !root.join("memory.usage_in_bytes").exists() || !root.join("cgroup.event_control").exists() {
        return Err(if root.join("memory.current").exists() {
            format!(
                "{}: cgroup v2: live guarding is implemented for cgroup v1 only (this lab has no v2 memory controller to test it); use oomctl simulate",
                root.display()
            )
        } else {
            format!(
                "{}: not a cgroup-v1 memory cgroup (no memory.usage_in_bytes)",
                root.display()
            )
        });
    }
    let (tx, rx) = mpsc::channel();
    let stop_tx = tx.clone();
    super::signal::on_stop(move || {
        let _ = stop_tx.send(Msg::Stop);
    })
    .map_err(|e| format!("installing signal handlers: {e}"))?;
    let facts = super::watch::host_facts();
    let mut g = Guard {
        cfg,
        out,
        err,
        tx,
        watched: HashMap::new(),
        generation: 0,
        page_size: facts.page_size.unwrap_or(4096),
        host: facts.hostname.map(Text::from),
        reports: 0,
        metrics: cfg.metrics.as_ref().map(|_| crate::metrics::Metrics::new(false)),
        webhook: cfg.webhook.clone().map(super::webhook::Webhook::start),
        events: cfg.k8s_events.clone().map(super::k8s_events::spawn_poster),
        started: false,
    };
    if let (Some(addr), Some(m)) = (&cfg.metrics, &g.metrics) {
        let bound = crate::metrics::serve(addr, m.clone()).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let _ = writeln!(g.err, "oomctl: serving metrics on http://{bound}/metrics");
    }
    g.rescan()?;
    g.started = true;
    let _ = writeln!(
        g.err,
        "oomctl: guarding {} ({} cgroups with a limit, policy {}{})",
        root.display(),
        g.watched.len(),
        cfg.policy.policy.as_str(),
        if cfg.dry_run { ", dry run" } else { "" }
    );
    let mut next_scan = Instant::now() + cfg.rescan;
    loop {
        match rx.recv_timeout(next_scan.saturating_duration_since(Instant::now())) {
            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(Msg::Crossed(d, gen, at)) => {
                if g.watched.get(&d).is_some_and(|w| w.generation == gen) {
                    g.crossed(&d, at)?;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                g.rescan()?;
                next_scan = Instant::now() + cfg.rescan;
            }
        }
    }
    for w in g.watched.values() {
        w.stop.store(true, Ordering::Relaxed);
    }
    Ok(())
}
