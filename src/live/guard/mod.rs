//! `oomctl guard`: oom-guard's policies enforced live, on cgroup v1 and v2.
//!
//! Every memory cgroup under `--root` with a limit is armed
//! (`Notifier::arm`): v1 through usage thresholds and an eventfd, v2
//! through `memory.high` at the threshold and `memory.events` notifications;
//! a dry run and the `noop` policy poll usage instead and write nothing; one
//! thread waits for all of them. The main loop
//! wakes only on a crossing, a signal, or the periodic re-walk that arms new
//! cgroups, disarms removed or unlimited ones, and re-arms cgroups whose
//! limit or memory.high changed or that were made again (by inode).
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
//! checking each is the one chosen and still under the crossed cgroup; the
//! guard signals all, then waits to see them die. Kills the kernel made at
//! the limit meanwhile make the action `kernel_first`; a decision that
//! kills nothing is reported once per stay above the threshold.
//! Never touched: pid 1, kernel threads, oom_score_adj −1000, oomctl
//! itself, anything outside `--root`.

mod hierarchy;
mod procs;

pub use hierarchy::Hierarchy;
pub use procs::{gone_by, kill_process, proc_info, Kill};

use super::cgroupfs::walk;
use crate::guard::choose;
use crate::guard::{badness, Candidate, GuardPolicy, Policy};
use crate::model::{Episode, Text};
use crate::model::{GuardOutcome, Proc as GuardProc};
use crate::output::Sink;
use crate::snapshot::{self, GuardAction, Snapshot};
use hierarchy::{Armed, Notifier};
use procs::{dying, procs, CONFIRM};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
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
    /// How the human formats draw (width, colour).
    pub style: crate::output::Style,
}

/// What the threads tell the main loop.
pub enum Msg {
    /// Cgroups were crossed: take them from the notifier.
    Wake,
    Stop,
}

/// How often a cgroup whose last decision killed nothing is looked at
/// again while it stays above its threshold (v2 notifies every throttling
/// at memory.high; a new process may be killable now).
const QUIET_RECHECK: Duration = Duration::from_millis(250);
const RECLAIM_EVERY: Duration = Duration::from_millis(100);
const HOT_POLL: Duration = Duration::from_millis(20);

struct Watched {
    limit: u64,
    /// Told apart by inode: a cgroup removed and made again is armed again.
    inode: u64,
    generation: u64,
    /// The kernel's OOM counts of the cgroup when the guard last looked
    /// ([`Hierarchy::kernel_counts`]).
    kernel_counts: [u64; 2],
    /// When a decision that killed nothing was last made, while usage has
    /// stayed above the reclaim mark since it was reported: such a decision
    /// is reported once, and looked at again at most every
    /// [`QUIET_RECHECK`].
    quiet: Option<Instant>,
    /// Usage was at or above the reclaim mark when last looked at: it is
    /// looked at again every [`HOT_POLL`] until it falls below, so a
    /// crossing the kernel did not notify (v1 checks its thresholds only
    /// every so many charges per CPU) is not missed.
    hot: bool,
    /// When reclaim was last requested: at most every [`RECLAIM_EVERY`],
    /// since a cgroup churning around its marks notifies thousands of times
    /// a second, and each request reclaims on the guard's own CPU time.
    reclaimed: Option<Instant>,
    armed: Armed,
}

/// One decision at a threshold, for the report.
struct Report<'a> {
    dir: &'a Path,
    usage: u64,
    limit: u64,
    stat: BTreeMap<Text, Option<u64>>,
    /// The chosen process (its memory cgroup as a kernel path).
    chosen: Option<Proc>,
    /// The cgroup whose `memory.oom.group` made this a group kill.
    oom_group: Option<Text>,
    held_back: bool,
    action: &'static str,
    killing: Killing,
    /// Kills the kernel's OOM killer made at the cgroup's limit meanwhile.
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
    /// Already dying when the guard came: not claimed.
    dying: Vec<(u32, Text)>,
    /// `cgroup.kill` or `signal` (pidfds, one by one); None for no kill.
    method: Option<&'static str>,
    /// Every death the guard caused was seen.
    confirmed: bool,
}

impl Killing {
    /// Nothing signalled: every death the guard caused (none) was seen.
    fn none() -> Killing {
        Killing {
            confirmed: true,
            ..Killing::default()
        }
    }
}

/// What to kill: processes one by one, or a whole cgroup.
enum Targets {
    None,
    Procs(Vec<Proc>),
    Cgroup(PathBuf),
}

struct Guard<'a> {
    cfg: &'a GuardConfig,
    /// `--root`, canonical.
    root: PathBuf,
    hierarchy: Hierarchy,
    notifier: Notifier,
    out: &'a mut dyn Write,
    sink: Option<Box<dyn Sink + 'a>>,
    err: &'a mut dyn Write,
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
    /// Cgroups whose limit is too small to guard, said once.
    too_small: std::collections::HashSet<PathBuf>,
}

/// `dir` as a text for reports and messages (any bytes: the gate).
fn shown(dir: &Path) -> Text {
    Text::from(dir.display().to_string())
}

impl Guard<'_> {
    /// Arm every limited cgroup; arm again the ones whose limit or
    /// memory.high changed or that were made again; disarm the ones gone
    /// or without a limit now.
    fn rescan(&mut self) -> Result<(), String> {
        let h = self.hierarchy;
        let found: Vec<(PathBuf, u64, u64)> = walk(&self.root, h.usage_file())
            .into_iter()
            .filter_map(|d| {
                let limit = h.limit(&d)?;
                let inode = super::cgroupfs::inode(&d)?;
                Some((d, inode, limit))
            })
            .collect();
        let err = &mut *self.err;
        let started = self.started;
        self.watched.retain(|d, w| {
            let now = found.iter().find(|(e, _, _)| e == d);
            let keep = now.is_some_and(|(_, inode, limit)| *inode == w.inode && *limit == w.limit) && !w.armed.stale();
            if !keep && started {
                let why = match now {
                    None if d.exists() => "its limit was removed",
                    None => "it is gone",
                    Some((_, inode, _)) if *inode != w.inode => "it was made again",
                    Some((_, _, limit)) if *limit != w.limit => "its limit changed",
                    Some(_) => "its memory.high was changed",
                };
                let _ = writeln!(err, "oomctl: {}: {why}: disarmed", shown(d));
            }
            // Dropping disarms: stops the waits, puts memory.high back.
            keep
        });
        for (d, inode, limit) in found {
            if self.watched.contains_key(&d) {
                continue;
            }
            let p = &self.cfg.policy;
            if p.threshold(limit) < limit / 2 {
                // A margin of half the limit or more leaves no threshold
                // worth the name (a 1 MiB limit and a 1 MiB margin: 0).
                if self.too_small.insert(d.clone()) {
                    let _ = writeln!(
                        self.err,
                        "oomctl: warning: {}: limit {} is too small for the margin {}: not guarded",
                        shown(&d),
                        crate::units::human_bytes(limit),
                        crate::units::human_bytes(p.margin(limit))
                    );
                }
                continue;
            }
            self.generation += 1;
            let armed = self.notifier.arm(
                h,
                (&d, self.generation),
                limit,
                (&self.cfg.policy, self.page_size),
                self.cfg.dry_run,
            );
            match armed {
                Ok(armed) => {
                    if armed.adopted {
                        let _ = writeln!(
                            self.err,
                            "oomctl: {}: memory.high was left by an earlier guard run: taken as this one's, put back at exit",
                            shown(&d)
                        );
                    }
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
                            inode,
                            generation: self.generation,
                            kernel_counts: h.kernel_counts(&d),
                            quiet: None,
                            hot: false,
                            reclaimed: None,
                            armed,
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
        let acts = !self.cfg.dry_run && p.policy != Policy::Noop;
        let stat = || crate::cgroup::parse_stat(&crate::input::read_lossy(dir.join("memory.stat")).unwrap_or_default());
        if let Some(w) = self.watched.get_mut(dir) {
            w.hot = usage >= p.reclaim_at(limit);
        }
        if usage < p.threshold(limit) {
            if usage < p.reclaim_at(limit) {
                // Well below: the next decision that kills nothing is news.
                if let Some(w) = self.watched.get_mut(dir) {
                    w.quiet = None;
                }
            }
            // Below the threshold again: if the kernel's OOM killer emptied
            // the cgroup meanwhile, the guard was too late (or, in a dry
            // run, would have been), and says so.
            let kernel_kills = self.kernel_kills_since(dir);
            if kernel_kills > 0 {
                return self.report(Report {
                    dir,
                    usage,
                    limit,
                    stat: stat(),
                    chosen: None,
                    oom_group: None,
                    held_back: false,
                    action: "kernel_first",
                    killing: Killing::none(),
                    kernel_kills,
                    response: at.elapsed(),
                });
            }
            if usage >= p.reclaim_at(limit) && acts {
                let due = self.watched.get_mut(dir).is_none_or(|w| {
                    let due = w.reclaimed.is_none_or(|t| t.elapsed() >= RECLAIM_EVERY);
                    if due {
                        w.reclaimed = Some(Instant::now());
                    }
                    due
                });
                if due {
                    h.request_reclaim(dir, p.margin(limit));
                }
            }
            return Ok(());
        }
        // A cgroup held above its threshold with nothing to kill is looked
        // at again only now and then, not at every notification.
        if self
            .watched
            .get(dir)
            .and_then(|w| w.quiet)
            .is_some_and(|t| t.elapsed() < QUIET_RECHECK)
        {
            return Ok(());
        }
        let stat = stat();
        let held_back = p.holds_back(limit, crate::guard::clean_cache(h.stats_format(), &stat));
        let (total, page_size) = (limit / self.page_size, self.page_size);
        let killable = move |i: &Proc| badness(&i.0, total, page_size);
        let infos: Vec<Proc> = procs(dir).into_iter().filter_map(proc_info).collect();
        let cands: Vec<Candidate> = infos.iter().map(|i| i.0.clone()).collect();
        let chosen = choose(&cands, total, page_size)
            .and_then(|c| infos.iter().find(|i| i.0.pid == c.pid))
            .cloned();
        // The victim's memory cgroup: the nearest with the memory controller
        // on the way up from its own, inside the crossed cgroup.
        let own_dir = |c: &Proc| super::cgroupfs::memcg_dir(h.mount(), &c.2, dir);
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
        let within = crate::cgroup::kernel_path(dir);
        let killing = self.kill(targets, &within, &killable);
        // Kills the kernel made at this limit since the guard last looked:
        // its OOM killer fired (before the guard, or racing it), so the guard
        // did not prevent this OOM, whatever it signalled or decided.
        let kernel_kills = self.kernel_kills_since(dir);
        let action = if kernel_kills > 0 {
            "kernel_first"
        } else if action != "none" && killing.killed.is_empty() {
            // Every process chosen was dying already (or gone): the guard
            // left them, and killed nothing.
            if killing.dying.is_empty() {
                "none"
            } else {
                "already_dying"
            }
        } else {
            action
        };
        // Throttled at memory.high, v2 notifies again and again: a decision
        // that kills nothing (a dry run's included) is reported once while
        // usage stays above the reclaim mark.
        let kills_nothing = action != "kernel_first" && (self.cfg.dry_run || killing.method.is_none());
        if let Some(w) = self.watched.get_mut(dir) {
            let was = match kills_nothing {
                true => w.quiet.replace(Instant::now()),
                false => w.quiet.take(),
            };
            if kills_nothing && was.is_some() {
                return Ok(());
            }
        }
        self.report(Report {
            dir,
            usage,
            limit,
            stat,
            chosen,
            oom_group: group.map(|g| Text::from(crate::cgroup::kernel_path(&g))),
            held_back,
            action,
            killing,
            kernel_kills,
            response: at.elapsed(),
        })
    }

    /// Kills the kernel's OOM killer made at `dir`'s limit since the guard
    /// last looked.
    fn kernel_kills_since(&mut self, dir: &Path) -> u64 {
        let now = self.hierarchy.kernel_counts(dir);
        match self.watched.get_mut(dir) {
            Some(w) => hierarchy::kernel_kills(std::mem::replace(&mut w.kernel_counts, now), now),
            None => 0,
        }
    }

    /// Kill `targets` (nothing in a dry run), each only while still in a
    /// memory cgroup `within` the crossed one: signal all, then wait for
    /// them together.
    fn kill(&mut self, targets: Targets, within: &str, killable: &dyn Fn(&Proc) -> Option<i64>) -> Killing {
        let mut k = Killing::none();
        let deadline = Instant::now() + CONFIRM;
        let procs = match targets {
            Targets::None => return k,
            Targets::Procs(p) => p,
            Targets::Cgroup(d) => {
                let pids = procs(&d);
                let all: Vec<_> = pids.iter().copied().filter_map(proc_info).collect();
                let victims: Vec<_> = all.iter().filter(|i| killable(i).is_some()).cloned().collect();
                // cgroup.kill takes every process at once, without pid races,
                // but spares nobody: only where every process listed was
                // seen and is killable, and none is dying already.
                let kill_file = d.join("cgroup.kill");
                let whole = !victims.is_empty() && victims.len() == pids.len();
                if !self.cfg.dry_run && kill_file.exists() && whole && !victims.iter().any(|(c, _, _)| dying(c.pid)) {
                    match fs::write(&kill_file, "1") {
                        Ok(()) => {
                            k.killed = victims.iter().map(|(c, _, _)| (c.pid, c.comm.clone())).collect();
                            k.confirmed = victims.iter().all(|(c, start, _)| gone_by(c.pid, *start, deadline));
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
        let mut signalled = Vec::new();
        for (c, start, _) in &procs {
            let who = (c.pid, c.comm.clone());
            if self.cfg.dry_run {
                // Whom it would kill: not one the kernel is killing already.
                match dying(c.pid) {
                    true => k.dying.push(who),
                    false => k.killed.push(who),
                }
                continue;
            }
            match kill_process(c.pid, *start, within) {
                Ok(Kill::Signalled) => {
                    signalled.push((c.pid, *start));
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
        k.confirmed &= signalled.iter().all(|&(pid, start)| gone_by(pid, start, deadline));
        k.method = (!signalled.is_empty()).then_some("signal");
        k
    }

    fn report(&mut self, r: Report<'_>) -> Result<(), String> {
        let Report {
            dir,
            usage,
            limit,
            stat,
            chosen,
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
        // The episode and `killed` claim only what the guard did; whom a
        // dry run would have killed is `would_kill` (and the episode's
        // `guard`).
        let acted = !self.cfg.dry_run && method.is_some();
        // The chosen process's memory cgroup (the nearest with the memory
        // controller: the one the kernel would name).
        let victim_memcg: Option<Text> = chosen.as_ref().map(|c| {
            super::cgroupfs::memcg_dir(h.mount(), &c.2, dir)
                .map_or_else(|| c.2.clone(), |d| Text::from(crate::cgroup::kernel_path(&d)))
        });
        let none: &[Named] = &[];
        // noop chooses but signals nobody: its choice is whom it would kill
        // (not one already dying).
        let noop_choice: Vec<Named> = match (&chosen, p.policy, held_back) {
            (Some(c), Policy::Noop, false) if action == "none" && !dying.iter().any(|(pid, _)| *pid == c.0.pid) => {
                vec![(c.0.pid, c.0.comm.clone())]
            }
            _ => Vec::new(),
        };
        let (did, would) = if acted {
            (&killed[..], none)
        } else if !noop_choice.is_empty() {
            (none, &noop_choice[..])
        } else {
            (none, &killed[..])
        };
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
                proc_cgroup: victim_memcg.clone(),
                killed: did.to_vec(),
            }),
            ..Snapshot::default()
        };
        let mut episode = snapshot::guard_episode(&snap, "oomctl guard", self.reports);
        episode.group_kill = oom_group.clone();
        episode.guard = Some(outcome(
            &p,
            limit,
            (action, held_back, self.cfg.dry_run),
            chosen.as_ref(),
            &killed,
            kernel_kills,
        ));
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
        let stats = crate::cgroup::stats_line(&stat);
        let line: Value = json!({
            "hostname": self.host,
            "timestamp": snap.time,
            "oomcgroup": shown(dir),
            "proccgroup": victim_memcg.as_ref().map(|c| Text::from(format!("{}{c}", h.mount()))),
            "threshold": p.threshold(limit),
            "usage": usage,
            "killed": pids(did),
            "would_kill": pids(would),
            "limit": limit,
            "stats": stats,
            "policy": p.policy.event_name(),
            "action": action,
            "oom_group": oom_group,
            "method": method,
            "dying": pids(&dying),
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

/// A process by pid and comm.
type Named = (u32, Text);

/// Processes as oom-guard lists them: `pid(comm) ` each.
fn pids(procs: &[Named]) -> String {
    procs.iter().map(|(pid, c)| format!("{pid}({c}) ")).collect()
}

/// A live decision in the schema `simulate` uses: what the guard chose,
/// whom it killed (or, in a dry run, would have), and why, in words.
fn outcome(
    p: &GuardPolicy,
    limit: u64,
    (action, held_back, dry_run): (&str, bool, bool),
    chosen: Option<&Proc>,
    killed: &[(u32, Text)],
    kernel_kills: u64,
) -> GuardOutcome {
    let proc_of = |pid: u32, comm: &Text| GuardProc {
        pid,
        comm: comm.clone(),
    };
    let victim = chosen.map(|c| proc_of(c.0.pid, &c.0.comm));
    let who = victim.as_ref().map_or_else(
        || "no killable process".to_owned(),
        |v| format!("{} ({})", v.pid, v.comm),
    );
    let note = match action {
        "kernel_first" if dry_run => {
            format!("dry run: the kernel's OOM killer came first: it killed {kernel_kills} process(es) at this limit")
        }
        _ if dry_run => format!("dry run: the guard would have acted ({action}) on {who}; nothing was written or killed"),
        "none" if held_back => "held back: clean page cache the kernel can still reclaim is large".to_owned(),
        "none" if p.policy == Policy::Noop => format!("policy noop: {who} would have been chosen; nothing killed"),
        "none" => "nothing to kill: no process the guard may kill".to_owned(),
        "kernel_first" if killed.is_empty() => {
            format!("the kernel's OOM killer came first: it killed {kernel_kills} process(es) at this limit")
        }
        "kernel_first" => format!(
            "the kernel's OOM killer killed too ({kernel_kills} process(es) at this limit): the guard did not prevent this OOM"
        ),
        _ => format!("the guard killed before the kernel ({action})"),
    };
    GuardOutcome {
        policy: p.policy,
        margin_bytes: Some(p.margin(limit)),
        threshold_bytes: Some(p.threshold(limit)),
        fired: true,
        held_back,
        action: Text::new(action),
        victim,
        killed: killed.iter().map(|(pid, comm)| proc_of(*pid, comm)).collect(),
        kernel_victim: None,
        same_victim: None,
        note: Text::from(note),
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
    // Canonical: the checks that a victim's cgroup is under it compare
    // paths, and `..` or a symlink would defeat them.
    let root = &cfg
        .root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", shown(&cfg.root)))?;
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
    // Checked between crossings: a stop does not wait for a busy loop.
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    super::signal::on_stop(move || {
        stop_flag.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(Msg::Stop);
    })
    .map_err(|e| format!("installing signal handlers: {e}"))?;
    let facts = super::watch::host_facts();
    let (out, sink): (&mut dyn Write, _) = match cfg.format {
        None => (out, None),
        Some(f) => (&mut io::sink(), Some(crate::output::sink(f, Box::new(out), cfg.style))),
    };
    let notifier = Notifier::start(tx).map_err(|e| format!("starting the guard's waiting thread: {e}"))?;
    let mut g = Guard {
        cfg,
        root: root.clone(),
        hierarchy,
        notifier,
        out,
        sink,
        err,
        watched: HashMap::new(),
        generation: 0,
        page_size: facts.page_size.unwrap_or(4096),
        host: facts.hostname.map(Text::from),
        reports: 0,
        metrics: cfg.metrics.as_ref().map(|_| crate::metrics::Metrics::new(false)),
        webhook: cfg.webhook.clone().map(super::webhook::Webhook::start),
        events: cfg.k8s_events.clone().map(super::k8s_events::spawn_poster),
        started: false,
        too_small: Default::default(),
    };
    if let (Some(addr), Some(m)) = (&cfg.metrics, &g.metrics) {
        let bound = crate::metrics::serve(addr, m.clone()).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let _ = writeln!(g.err, "oomctl: serving metrics on http://{bound}/metrics");
    }
    g.rescan()?;
    g.started = true;
    // How the cgroups are watched, each way with its count.
    let mut hows: BTreeMap<&str, usize> = BTreeMap::new();
    for w in g.watched.values() {
        *hows.entry(w.armed.how).or_default() += 1;
    }
    let how: String = hows.iter().map(|(how, n)| format!("; {n} by {how}")).collect();
    let _ = writeln!(
        g.err,
        "oomctl: guarding {} (cgroup {}, {} cgroup{} with a limit, policy {}{}{how})",
        shown(root),
        hierarchy.name(),
        g.watched.len(),
        if g.watched.len() == 1 { "" } else { "s" },
        cfg.policy.policy.as_str(),
        if cfg.dry_run { ", dry run" } else { "" },
    );
    let mut next_scan = Instant::now() + cfg.rescan;
    let result = 'run: loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        // The walk runs on time however busy the crossings keep the loop.
        if Instant::now() >= next_scan {
            if let Err(e) = g.rescan() {
                break Err(e);
            }
            next_scan = Instant::now() + cfg.rescan;
        }
        // A cgroup between its marks (or above) is looked at again soon.
        let hot = g.watched.values().any(|w| w.hot);
        let wake = match hot {
            true => next_scan.min(Instant::now() + HOT_POLL),
            false => next_scan,
        };
        match rx.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let hot: Vec<PathBuf> = g
                    .watched
                    .iter()
                    .filter(|(_, w)| w.hot)
                    .map(|(d, _)| d.clone())
                    .collect();
                for d in hot {
                    if let Err(e) = g.crossed(&d, Instant::now()) {
                        break 'run Err(e);
                    }
                }
            }
            Ok(Msg::Wake) => {
                for (d, gen, at) in g.notifier.take() {
                    if stop.load(Ordering::Relaxed) {
                        break 'run Ok(());
                    }
                    if g.watched.get(&d).is_some_and(|w| w.generation == gen) {
                        if let Err(e) = g.crossed(&d, at) {
                            break 'run Err(e);
                        }
                    }
                }
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
