//! `report` sink: a full human report per episode, for reading one OOM
//! closely: what was killed and why in one sentence, the numbers against
//! the limit, the memory breakdown as a bar chart, the top tasks by RSS, and
//! the cause's evidence and advice. Every text comes from cleaned episode
//! fields, so no log byte reaches the terminal raw.

use super::table::cgroup_cell;
use super::{Sink, Summary};
use crate::model::{Counter, Episode, Killer};
use crate::model::{Diagnosis, EvidenceSource};
use crate::units::{human_bytes, limit_text};
use std::io::{self, Write};

/// Width of the bar chart's bars.
const BAR: usize = 30;
/// Rows of the top-tasks list.
const TOP_TASKS: usize = 5;

pub struct ReportSink<'w> {
    out: Box<dyn Write + 'w>,
    n: u64,
}

impl<'w> ReportSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        ReportSink { out, n: 0 }
    }
}

fn opt_bytes(b: Option<u64>) -> String {
    b.map_or("?".to_owned(), human_bytes)
}

fn counter(name: &str, c: &Counter) -> String {
    let limit = limit_text(c.limit_bytes, c.unlimited);
    format!(
        "{name} {} of {limit}, failcnt {}",
        human_bytes(c.usage_bytes),
        c.failcnt
    )
}

fn bar(part: u64, whole: u64) -> String {
    let filled = if whole == 0 {
        0
    } else {
        ((part as f64 / whole as f64) * BAR as f64).round().min(BAR as f64) as usize
    };
    format!("{}{}", "█".repeat(filled), "·".repeat(BAR - filled))
}

fn breakdown(out: &mut dyn Write, d: &Diagnosis) -> io::Result<()> {
    let e = &d.evidence;
    let Some(total) = e.total_bytes.filter(|&t| t > 0) else {
        return Ok(());
    };
    let source = e.source.map_or("?", |s| match s {
        EvidenceSource::MemcgStats => "memcg stats",
        EvidenceSource::MemInfo => "Mem-Info",
        EvidenceSource::TaskTable => "task table (the rest is inferred)",
        EvidenceSource::Snapshot => "cgroup snapshot",
    });
    writeln!(out, "Memory ({} total, from {source}):", human_bytes(total))?;
    let dirty = match (e.dirty_bytes, e.writeback_bytes) {
        (None, None) => None,
        (d, w) => Some(d.unwrap_or(0).saturating_add(w.unwrap_or(0))),
    };
    let rows = [
        ("anon", e.anon_bytes),
        ("page cache", e.file_bytes),
        ("  dirty+wb", dirty),
        ("shmem", e.shmem_bytes),
        ("kernel", e.kernel_bytes),
        ("free", e.free_bytes),
    ];
    for (name, v) in rows {
        if let Some(v) = v {
            writeln!(
                out,
                "  {name:<11} {} {:>10} {:>5}",
                bar(v, total),
                human_bytes(v),
                crate::units::percent(v, total)
            )?;
        }
    }
    Ok(())
}

fn tasks(out: &mut dyn Write, ep: &Episode) -> io::Result<()> {
    if ep.tasks.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<_> = ep.tasks.iter().collect();
    rows.sort_by_key(|t| (std::cmp::Reverse(t.rss_bytes.unwrap_or(0)), t.pid));
    writeln!(
        out,
        "Top tasks by RSS ({} of {}):",
        rows.len().min(TOP_TASKS),
        ep.tasks.len()
    )?;
    writeln!(out, "  {:>8} {:>10} {:>10} {:>6}  name", "pid", "rss", "swap", "adj")?;
    for t in rows.into_iter().take(TOP_TASKS) {
        let killed = if ep.victims.iter().any(|v| v.pid == t.pid) {
            "  ← killed"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:>8} {:>10} {:>10} {:>6}  {}{killed}",
            t.pid,
            opt_bytes(t.rss_bytes),
            opt_bytes(t.swap_bytes),
            t.oom_score_adj.map_or("?".to_owned(), |a| a.to_string()),
            t.name
        )?;
    }
    Ok(())
}

fn write_episode(out: &mut dyn Write, n: u64, ep: &Episode) -> io::Result<()> {
    let scope = ep.scope.map_or("unknown scope", |s| s.as_str());
    let when = match (&ep.time.wall, &ep.time.wall_raw, ep.time.uptime_s) {
        (Some(w), _, Some(u)) => format!("{w} (uptime {u:.6} s)"),
        (Some(w), _, None) | (None, Some(w), None) => w.to_string(),
        (None, Some(w), Some(u)) => format!("{w} (uptime {u:.6} s)"),
        (None, None, Some(u)) => format!("uptime {u:.6} s"),
        (None, None, None) => "time unknown".to_owned(),
    };
    writeln!(
        out,
        "━━ OOM #{n} · {scope}{} · {when} · {}:{}-{}",
        if ep.manual { " (manual)" } else { "" },
        ep.source.file,
        ep.source.first_line,
        ep.source.last_line
    )?;
    let by = match ep.killer {
        Killer::Kernel => "the kernel",
        Killer::OomGuard => "oom-guard",
    };
    if ep.victims.is_empty() && ep.killer == Killer::OomGuard {
        let why = ep
            .guard
            .as_ref()
            .map_or("oom-guard killed nothing", |g| g.note.as_str());
        writeln!(out, "Killed:  nothing: {why}")?;
    } else if ep.victims.is_empty() {
        let why = if ep.no_killable {
            "nothing was killed: no killable process"
        } else if ep.panic.is_some() {
            "nothing was killed: the kernel panicked"
        } else {
            "the report ends before its kill line"
        };
        match &ep.selected {
            Some(s) => writeln!(
                out,
                "Killed:  {why}; it had chosen {} ({}){}",
                s.comm,
                s.pid,
                s.score.map(|n| format!(", score {n}")).unwrap_or_default()
            )?,
            None => writeln!(out, "Killed:  {why}")?,
        }
    }
    for v in &ep.victims {
        let parts = [v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes];
        let rss = if parts.iter().all(Option::is_none) {
            String::new()
        } else {
            format!(
                ", RSS {} (anon {}, file {}, shmem {})",
                human_bytes(crate::units::sat_sum(parts.iter().flatten().copied())),
                opt_bytes(v.anon_rss_bytes),
                opt_bytes(v.file_rss_bytes),
                opt_bytes(v.shmem_rss_bytes)
            )
        };
        writeln!(out, "Killed:  {} (pid {}){rss}, by {by}", v.comm, v.pid)?;
    }
    if let Some(d) = &ep.diagnosis {
        writeln!(out, "Why:     [{}] {}", d.cause.as_str(), d.summary)?;
    }
    writeln!(out, "Where:   {}", cgroup_cell(ep))?;
    if let Some(m) = &ep.memcg {
        writeln!(out, "         oom cgroup  {}", m.path.as_deref().unwrap_or("?"))?;
    }
    if let Some(t) = &ep.task_memcg {
        writeln!(out, "         victim's    {t}")?;
    }
    if let Some(k) = &ep.k8s {
        writeln!(
            out,
            "         pod uid {}, qos {}",
            k.pod_uid,
            k.qos.as_deref().unwrap_or("?")
        )?;
    }
    if let Some(c) = &ep.container {
        writeln!(
            out,
            "         container {} ({})",
            c.id,
            c.runtime.as_deref().unwrap_or("runtime unknown")
        )?;
    }
    if let Some(u) = &ep.unit {
        writeln!(out, "         unit {u}")?;
    }
    if let Some(m) = &ep.memcg {
        let (u, l) = (m.usage_bytes, m.limit_bytes);
        let of = match (u, l) {
            // Not a share: usage is above the limit when the limit was
            // lowered below it.
            (Some(u), Some(l)) if l > 0 => format!(" ({:.0}%)", u as f64 * 100.0 / l as f64),
            _ => String::new(),
        };
        writeln!(
            out,
            "Limit:   usage {} of {}{of}, failcnt {}",
            opt_bytes(u),
            limit_text(l, m.unlimited),
            m.failcnt.map_or("?".to_owned(), |f| f.to_string())
        )?;
    }
    for (name, c) in [("memory+swap", &ep.memsw), ("kmem", &ep.kmem), ("swap", &ep.swap)] {
        if let Some(c) = c {
            writeln!(out, "         {}", counter(name, c))?;
        }
    }
    if let Some(t) = &ep.trigger {
        let flags = if t.gfp_flags.is_empty() {
            String::new()
        } else {
            format!("({})", t.gfp_flags.join("|"))
        };
        writeln!(
            out,
            "Trigger: {} (pid {}) gfp_mask={}{flags} order={} oom_score_adj={}",
            t.comm.as_deref().unwrap_or("?"),
            t.pid.map_or("?".to_owned(), |p| p.to_string()),
            t.gfp_mask.as_deref().unwrap_or("?"),
            t.order.map_or("?".to_owned(), |o| o.to_string()),
            t.oom_score_adj.map_or("?".to_owned(), |a| a.to_string()),
        )?;
    }
    if let Some(k) = &ep.kernel {
        writeln!(out, "Kernel:  {k}")?;
    }
    if let Some(d) = &ep.diagnosis {
        breakdown(out, d)?;
        let e = &d.evidence;
        if let (Some(r), Some(u)) = (e.task_rss_bytes, e.unattributed_bytes) {
            writeln!(
                out,
                "  task RSS {}, not in any task's RSS {}",
                human_bytes(r),
                human_bytes(u)
            )?;
        }
    }
    tasks(out, ep)?;
    if let Some(d) = &ep.diagnosis {
        if !d.advice.is_empty() {
            writeln!(out, "Advice:")?;
            for (i, a) in d.advice.iter().enumerate() {
                writeln!(out, "  {}. {a}", i + 1)?;
            }
        }
    }
    guard_section(out, ep)?;
    match ep.printed {
        crate::model::Printed::KillLine => writeln!(
            out,
            "Note:    only the kill line was printed: the report was suppressed (the kernel's ratelimit) or lost"
        )?,
        crate::model::Printed::Nothing => writeln!(
            out,
            "Note:    nothing was printed that was read: a kill counted in memory.events.local only"
        )?,
        crate::model::Printed::Report if !ep.complete => writeln!(out, "Note:    incomplete report (no kill line)")?,
        crate::model::Printed::Report => {}
    }
    if !ep.malformed.is_empty() {
        writeln!(
            out,
            "Note:    {} of the report did not parse",
            crate::units::count(ep.malformed.len() as u64, "line")
        )?;
    }
    writeln!(out)
}

/// Processes of a container kill named in the guard section; the rest
/// are counted.
const GUARD_KILLED_SHOWN: usize = 5;

/// What the guard did or would have done (`simulate`'s outcome, or a live
/// guard's decision): its threshold, its choice against the kernel's
/// victim, and why. Nothing for an episode without `guard`.
fn guard_section(out: &mut dyn Write, ep: &Episode) -> io::Result<()> {
    let Some(g) = &ep.guard else { return Ok(()) };
    let who = |p: &crate::model::Proc| format!("{} (pid {})", p.comm, p.pid);
    // The margin, not the threshold: a threshold 30 MiB under 2 GiB would
    // read "2.0 GiB", as the limit does.
    match g.margin_bytes.filter(|_| g.threshold_bytes.is_some()) {
        Some(m) => writeln!(
            out,
            "Guard:   policy {}: usage {} its threshold, {} below the limit",
            g.policy.as_str(),
            if g.fired { "reached" } else { "stayed under" },
            human_bytes(m),
        )?,
        // The note says why (a global OOM, a limit the log does not give).
        None => return writeln!(out, "Guard:   policy {}: {}", g.policy.as_str(), g.note),
    }
    let kernel = match (g.same_victim, &g.kernel_victim) {
        (Some(true), _) => ", the kernel's victim too".to_owned(),
        (_, Some(k)) => format!("; the kernel killed {}", who(k)),
        (_, None) if ep.killer == Killer::Kernel => "; the kernel's victim is not in the log".to_owned(),
        (_, None) => String::new(),
    };
    if g.held_back {
        writeln!(out, "         held back by the cache rule: nothing killed")?;
    } else if g.action == "kill_container" && !g.killed.is_empty() {
        let mut names: Vec<String> = g.killed.iter().take(GUARD_KILLED_SHOWN).map(who).collect();
        if g.killed.len() > GUARD_KILLED_SHOWN {
            names.push(format!("{} more", g.killed.len() - GUARD_KILLED_SHOWN));
        }
        let by = g
            .victim
            .as_ref()
            .map_or(String::new(), |v| format!(", chosen by {}", who(v)));
        writeln!(
            out,
            "         {}: {} process{}: {}{by}{kernel}",
            g.action,
            g.killed.len(),
            if g.killed.len() == 1 { "" } else { "es" },
            names.join(", ")
        )?;
    } else if let Some(v) = &g.victim {
        if g.action == "none" {
            writeln!(out, "         none: would have chosen {}{kernel}", who(v))?;
        } else {
            writeln!(out, "         {}: {}{kernel}", g.action, who(v))?;
        }
    } else if g.action != "none" {
        writeln!(out, "         {}", g.action)?;
    }
    if !g.note.is_empty() {
        writeln!(out, "         {}", g.note)?;
    }
    Ok(())
}

impl Sink for ReportSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.n += 1;
        write_episode(&mut self.out, self.n, ep)
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        writeln!(
            self.out,
            "{}, {} incomplete, in {}; {}; {}",
            crate::units::count(s.episodes, "episode"),
            s.incomplete,
            crate::units::count(s.files, "file"),
            super::duplicates_phrase(s),
            crate::units::count(s.malformed_lines, "malformed line")
        )?;
        self.out.flush()
    }
}
