//! `oomctl guard`: oom-guard's policies enforced live, on cgroup v1 and v2.
//!
//! Every memory cgroup under `--root` with a limit is armed
//! ([`hierarchy::arm`]): v1 through usage thresholds and an eventfd, v2
//! through `memory.high` at the threshold and `memory.events` notifications;
//! a dry run and the `noop` policy poll usage instead and write nothing. The
//! main loop wakes only on a crossing, a signal, or the periodic re-walk that
//! picks up new cgroups, forgets removed ones and re-arms cgroups whose limit
//! changed.
//!
//! Between the reclaim mark (`limit − 2 × margin`) and the threshold
//! (`limit − margin`) the guard asks the kernel to reclaim. At the threshold
//! it reads usage and memory.stat again, holds back while clean cache is
//! large (the kernel can still reclaim), else picks a victim by the
//! kernel's badness among the processes of the subtree and kills it
//! (`process`) or its whole container cgroup (`container`). Where the
//! victim's cgroup or an ancestor up to the crossed cgroup has
//! `memory.oom.group` set, the kernel would kill that whole group, and so
//! does the guard. A cgroup is killed with `cgroup.kill` (v2, 5.14+) when
//! nothing in it is protected, else process by process through pidfds,
//! checking each is the one chosen; the guard waits to see them die.
//! Never touched: pid 1, kernel threads, oom_score_adj −1000, oomctl
//! itself, anything outside `--root`.

mod hierarchy;
mod procs;

pub use hierarchy::Hierarchy;
pub use procs::{kill_process, proc_info, Kill};

use super::cgroupfs::walk;
use crate::guard::{badness, Candidate, GuardPolicy, Policy};
use crate::model::{Episode, Text};
use crate::output::Sink;
use crate::snapshot::{self, GuardAction, Snapshot};
use hierarchy::{Armed, Teller};
use procs::{dying, gone_within, procs, CONFIRM};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to run the guard.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub policy: GuardPolicy,
    /// cgroupfs directory of the guarded subtree (cgroup v1 memory or v2).
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
    /// None: oom-guard's JSON lines; else each action's episode in this
    /// format.
    pub format: Option<crate::output::Format>,
}

/// What the threads tell the main loop.
pub enum Msg {
    /// A mark of this cgroup (arm generation) was crossed at this instant.
    Crossed(PathBuf, u64, Instant),
    Stop,
}

struct Watched {
    limit: u64,
    generation: u64,
    /// The kernel's OOM kill count of the cgroup when the guard last looked.
    kernel_kills: u64,
    _armed: Armed,
}

/// One decision at a threshold, for the report.
struct Report<'a> {
    dir: &'a Path,
    usage: u64,
    limit: u64,
    stat: BTreeMap<Text, u64>,
    /// The chosen process's memory cgroup (kernel path).
    victim_cgroup: Option<Text>,
    /// The cgroup whose `memory.oom.group` made this a group kill.
    oom_group: Option<Text>,
    held_back: bool,
    action: &'static str,
    killing: Killing,
    /// OOM kills the kernel counted in the cgroup meanwhile.
    kernel_kills: u64,
    /// From the threshold firing to the victims' confirmed death.
    response: Duration,
}

/// A process as /proc showed it: the candidate, its start time, its
/// memory cgroup.
type Proc = (Candidate, u64, Text);

/// What a kill did.
#[derive(Default)]
struct Killing {
    /// Signalled by the guard (in a dry run: who would have been).
    killed: Vec<(u32, Text)>,
    /// Already dying when the guard came: the kernel's kill, not claimed.
    dying: Vec<(u32, Text)>,
    /// `cgroup.kill` or `signal` (pidfds, one by one); None for no kill.
    method: Option<&'static str>,
    /// Every death the guard caused was seen.
    confirmed: bool,
}

/// What to kill: processes one by one, or a whole cgroup.
enum Targets {
    None,
    Procs(Vec<Proc>),
    Cgroup(PathBuf),
}

struct Guard<'a> {
    cfg: &'a GuardConfig,
    hierarchy: Hierarchy,
    out: &'a mut dyn Write,
    sink: Option<Box<dyn Sink + 'a>>,
    err: &'a mut dyn Write,
    tx: mpsc::Sender<Msg>,
    watched: HashMap<PathBuf, Watched>,
    generation: u64,
    page_size: u64,
    host: Option<Text>,
    reports: u64,
    metrics: Option<crate::metrics::Metrics>,
    webhook: Option<super::webhook::Webhook>,
    events: Option<mpsc::SyncSender<Episode>>,
    /// After the first walk, cgroups that come and go are said on stderr.
    started: bool,
}

/// `dir` as a text for reports and messages (any bytes: the gate).
fn shown(dir: &Path) -> Text {
    Text::from(dir.display().to_string())
}

impl Guard<'_> {
    /// Arm (or re-arm) every limited cgroup; forget gone ones.
    fn rescan(&mut self) -> Result<(), String> {
        let h = self.hierarchy;
        let dirs = walk(&self.cfg.root, h.usage_file());
        let err = &mut *self.err;
        self.watched.retain(|d, _| {
            let keep = dirs.contains(d);
            if !keep {
                let _ = writeln!(err, "oomctl: {} is gone: no longer guarded", shown(d));
            }
            keep
        });
        for d in dirs {
            let Some(limit) = h.limit(&d) else {
                continue;
            };
            if self.watched.get(&d).is_some_and(|w| w.limit == limit) {
                continue;
            }
            // Disarm first (it puts back what arming set), then re-arm.
            self.watched.remove(&d);
            self.generation += 1;
            let teller = Teller {
                tx: self.tx.clone(),
                dir: d.clone(),
                generation: self.generation,
            };
            match hierarchy::arm(h, limit, &self.cfg.policy, self.cfg.dry_run, teller) {
                Ok(armed) => {
                    if self.started {
                        let _ = writeln!(
                            self.err,
                            "oomctl: guarding {}: limit {}, threshold {}",
                            shown(&d),
                            crate::units::human_bytes(limit),
                            crate::units::human_bytes(self.cfg.policy.threshold(limit))
                        );
                    }
                    self.watched.insert(
                        d.clone(),
                        Watched {
                            limit,
                            generation: self.generation,
                            kernel_kills: h.oom_kills(&d),
                            _armed: armed,
                        },
                    );
                    // Already above? A crossing is only told when it happens.
                    self.crossed(&d, Instant::now())?;
                }
                Err(e) => {
                    let _ = writeln!(self.err, "oomctl: warning: {}: cannot arm: {e}", shown(&d));
                }
            }
        }
        Ok(())
    }

    /// A mark of `dir` was crossed (either way): look and act.
    fn crossed(&mut self, dir: &Path, at: Instant) -> Result<(), String> {
        let h = self.hierarchy;
        let (Some(usage), Some(limit)) = (h.usage(dir), h.limit(dir)) else {
            return Ok(()); // removed meanwhile
        };
        let p = self.cfg.policy;
        if usage < p.threshold(limit) {
            // Below the threshold again: if the kernel's OOM killer emptied
            // the cgroup meanwhile, the guard was too late, and says so.
            let kernel_kills = self.kernel_kills_since(dir);
            if kernel_kills > 0 && !self.cfg.dry_run && p.policy != Policy::Noop {
                let stat =
                    crate::cgroup::parse_kv(&crate::input::read_lossy(dir.join("memory.stat")).unwrap_or_default());
                return self.report(Report {
                    dir,
                    usage,
                    limit,
                    stat,
                    victim_cgroup: None,
                    oom_group: None,
                    held_back: false,
                    action: "kernel_first",
                    killing: Killing::default(),
                    kernel_kills,
                    response: at.elapsed(),
                });
            }
            if usage >= p.reclaim_at(limit) && !self.cfg.dry_run && p.policy != Policy::Noop {
                h.request_reclaim(dir, p.margin(limit));
            }
            return Ok(());
        }
        let stat = crate::cgroup::parse_kv(&crate::input::read_lossy(dir.join("memory.stat")).unwrap_or_default());
        let held_back = p.holds_back(limit, crate::guard::clean_cache(h.stats_format(), &stat));
        let (total, page_size) = (limit / self.page_size, self.page_size);
        let killable = move |i: &Proc| badness(&i.0, total, page_size);
        let infos: Vec<Proc> = procs(dir).into_iter().filter_map(proc_info).collect();
        let chosen = infos
            .iter()
            .filter_map(|i| killable(i).map(|b| (i, b)))
            .fold(None::<(&Proc, i64)>, |best, (i, b)| match best {
                Some((_, bb)) if b < bb => best,
                _ => Some((i, b)),
            })
            .map(|(i, _)| i.clone());
        let own_dir = |c: &Proc| {
            let d = Path::new(h.mount()).join(c.2.trim_start_matches('/'));
            (d.starts_with(&self.cfg.root) && d.exists()).then_some(d)
        };
        let group = chosen.as_ref().and_then(|c| oom_group(h, own_dir(c)?, dir));
        let (action, targets) = match (held_back, p.policy, &chosen) {
            (true, _, _) | (_, Policy::Noop, _) | (_, _, None) => ("none", Targets::None),
            (false, _, Some(_)) if group.is_some() => {
                ("kill_group", Targets::Cgroup(group.clone().unwrap_or_default()))
            }
            (false, Policy::Process, Some(c)) => ("kill_process", Targets::Procs(vec![c.clone()])),
            (false, Policy::Container, Some(c)) => (
                "kill_container",
                Targets::Cgroup(own_dir(c).unwrap_or_else(|| dir.to_path_buf())),
            ),
        };
        let killing = self.kill(targets, &killable);
        // Kills the kernel counted in the cgroup since the guard last looked:
        // its OOM killer fired (before the guard, or racing it), so the guard
        // did not prevent this OOM, whatever it signalled.
        let kernel_kills = self.kernel_kills_since(dir);
        let action = if !self.cfg.dry_run && action != "none" && (kernel_kills > 0 || !killing.dying.is_empty()) {
            "kernel_first"
        } else {
            action
        };
        self.report(Report {
            dir,
            usage,
            limit,
            stat,
            victim_cgroup: chosen.map(|c| c.2),
            oom_group: group.map(|g| Text::from(crate::cgroup::kernel_path(&g))),
            held_back,
            action,
            killing,
            kernel_kills,
            response: at.elapsed(),
        })
    }

    /// Kills the kernel counted in `dir` since the guard last looked.
    fn kernel_kills_since(&mut self, dir: &Path) -> u64 {
        let now = self.hierarchy.oom_kills(dir);
        match self.watched.get_mut(dir) {
            Some(w) => now.saturating_sub(std::mem::replace(&mut w.kernel_kills, now)),
            None => 0,
        }
    }

    /// Kill `targets` (nothing in a dry run).
    fn kill(&mut self, targets: Targets, killable: &dyn Fn(&Proc) -> Option<i64>) -> Killing {
        let mut k = Killing {
            confirmed: true,
            ..Killing::default()
        };
        let procs = match targets {
            Targets::None => return k,
            Targets::Procs(p) => p,
            Targets::Cgroup(d) => {
                let all: Vec<_> = procs(&d).into_iter().filter_map(proc_info).collect();
                let victims: Vec<_> = all.iter().filter(|i| killable(i).is_some()).cloned().collect();
                // cgroup.kill takes every process at once, without pid races,
                // but spares nobody: only where nothing in it is protected,
                // and none is dying already (that kill is the kernel's).
                let kill_file = d.join("cgroup.kill");
                let whole = victims.len() == all.len() && !victims.is_empty();
                if !self.cfg.dry_run && kill_file.exists() && whole && !victims.iter().any(|(c, _, _)| dying(c.pid)) {
                    match fs::write(&kill_file, "1") {
                        Ok(()) => {
                            k.killed = victims.iter().map(|(c, _, _)| (c.pid, c.comm.clone())).collect();
                            k.confirmed = victims.iter().all(|(c, start, _)| gone_within(c.pid, *start, CONFIRM));
                            k.method = Some("cgroup.kill");
                            return k;
                        }
                        Err(e) => {
                            let _ = writeln!(self.err, "oomctl: warning: {}: {e}", shown(&kill_file));
                        }
                    }
                }
                victims
            }
        };
        for (c, start, _) in &procs {
            let who = (c.pid, c.comm.clone());
            if self.cfg.dry_run {
                k.killed.push(who);
                continue;
            }
            match kill_process(c.pid, *start) {
                Ok(Kill::Killed(seen)) => {
                    k.confirmed &= seen;
                    k.killed.push(who);
                }
                Ok(Kill::Dying) => k.dying.push(who),
                Ok(Kill::Gone) => {}
                Err(e) => {
                    k.confirmed = false;
                    let _ = writeln!(self.err, "oomctl: warning: kill {} ({}): {e}", c.pid, c.comm);
                }
            }
        }
        k.method = (!self.cfg.dry_run && !k.killed.is_empty()).then_some("signal");
        k
    }

    fn report(&mut self, r: Report<'_>) -> Result<(), String> {
        let Report {
            dir,
            usage,
            limit,
            stat,
            victim_cgroup,
            oom_group,
            held_back,
            action,
            killing,
            kernel_kills,
            response,
        } = r;
        let Killing {
            killed,
            dying,
            method,
            confirmed,
        } = killing;
        self.reports += 1;
        let p = self.cfg.policy;
        let h = self.hierarchy;
        let snap = Snapshot {
            path: Text::from(crate::cgroup::kernel_path(dir)),
            version: Text::new(h.name()),
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
        let mut episode = snapshot::guard_episode(&snap, "oomctl guard", self.reports);
        episode.group_kill = oom_group.clone();
        let acted = !self.cfg.dry_run && !killed.is_empty();
        if let Some(m) = &self.metrics {
            m.guard_action(action, p.policy.as_str(), self.cfg.dry_run);
            if acted {
                m.episode(&episode);
            }
        }
        if let Some(tx) = self.events.as_ref().filter(|_| acted) {
            if tx.try_send(episode.clone()).is_err() {
                let _ = writeln!(self.err, "oomctl: warning: Kubernetes event queue full; event dropped");
            }
        }
        let stats: String = stat.iter().map(|(k, v)| format!("{k} {v}|")).collect();
        let line: Value = json!({
            "hostname": self.host,
            "timestamp": snap.time,
            "oomcgroup": shown(dir),
            "proccgroup": victim_cgroup.map(|c| Text::from(format!("{}{c}", h.mount()))),
            "threshold": p.threshold(limit),
            "usage": usage,
            "killed": killed.iter().map(|(pid, c)| format!("{pid}({c}) ")).collect::<String>(),
            "stats": stats,
            "policy": p.policy.event_name(),
            "action": action,
            "oom_group": oom_group,
            "method": method,
            "kernel_first": dying.iter().map(|(pid, c)| format!("{pid}({c}) ")).collect::<String>(),
            "kernel_kills": kernel_kills,
            "held_back": held_back,
            "dry_run": self.cfg.dry_run,
            "confirmed": confirmed,
            "response_us": response.as_micros() as u64,
            "cgroup_version": h.name(),
            "episode": episode,
        });
        let text = line.to_string();
        let written = match self.sink.as_mut() {
            Some(sink) => sink.episode(&episode).and_then(|()| sink.flush()),
            None => writeln!(self.out, "{text}").and_then(|()| self.out.flush()),
        };
        written.map_err(|e| format!("output: {e}"))?;
        if let Some(w) = &self.webhook {
            w.send(text);
        }
        Ok(())
    }
}

/// The cgroup whose `memory.oom.group` the kernel would honour for a victim
/// in `victim_dir` when `oom_dir` hits its limit: the highest cgroup with it
/// set on the way up from the victim's own to `oom_dir` (mm/memcontrol.c,
/// mem_cgroup_get_oom_group). Only cgroup v2 has the file.
fn oom_group(h: Hierarchy, victim_dir: PathBuf, oom_dir: &Path) -> Option<PathBuf> {
    if h != Hierarchy::V2 || !victim_dir.starts_with(oom_dir) {
        return None;
    }
    let mut found = None;
    let mut d = victim_dir.as_path();
    loop {
        if crate::input::read_lossy(d.join("memory.oom.group")).is_ok_and(|v| v.trim() == "1") {
            found = Some(d.to_path_buf());
        }
        if d == oom_dir {
            return found;
        }
        d = d.parent()?;
    }
}

/// Run the guard until SIGINT/SIGTERM/SIGHUP; what it set is put back.
pub fn run(cfg: &GuardConfig, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), String> {
    let root = &cfg.root;
    let hierarchy = Hierarchy::of(root).ok_or_else(|| {
        format!(
            "{}: not a memory cgroup (no memory.current, cgroup v2, nor memory.usage_in_bytes, v1)",
            shown(root)
        )
    })?;
    if hierarchy == Hierarchy::V1 && !cfg.dry_run && !root.join("cgroup.event_control").exists() {
        return Err(format!(
            "{}: cgroup v1 without cgroup.event_control: no usage thresholds to arm",
            shown(root)
        ));
    }
    let (tx, rx) = mpsc::channel();
    let stop_tx = tx.clone();
    super::signal::on_stop(move || {
        let _ = stop_tx.send(Msg::Stop);
    })
    .map_err(|e| format!("installing signal handlers: {e}"))?;
    let facts = super::watch::host_facts();
    let (out, sink): (&mut dyn Write, _) = match cfg.format {
        None => (out, None),
        Some(f) => (&mut io::sink(), Some(crate::output::sink(f, Box::new(out)))),
    };
    let mut g = Guard {
        cfg,
        hierarchy,
        out,
        sink,
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
    let how = g.watched.values().next().map_or("", |w| w._armed.how);
    let _ = writeln!(
        g.err,
        "oomctl: guarding {} (cgroup {}, {} cgroups with a limit, policy {}{}{}{})",
        shown(root),
        hierarchy.name(),
        g.watched.len(),
        cfg.policy.policy.as_str(),
        if cfg.dry_run { ", dry run" } else { "" },
        if how.is_empty() { "" } else { "; " },
        how
    );
    let mut next_scan = Instant::now() + cfg.rescan;
    let result = loop {
        match rx.recv_timeout(next_scan.saturating_duration_since(Instant::now())) {
            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            Ok(Msg::Crossed(d, gen, at)) => {
                if g.watched.get(&d).is_some_and(|w| w.generation == gen) {
                    if let Err(e) = g.crossed(&d, at) {
                        break Err(e);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = g.rescan() {
                    break Err(e);
                }
                next_scan = Instant::now() + cfg.rescan;
            }
        }
    };
    // Disarm everything: stops the threads, puts memory.high back.
    g.watched.clear();
    if let Some(sink) = g.sink.as_mut() {
        let _ = sink.flush();
    }
    result
}
