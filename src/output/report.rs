//! `report` sink: a full human report per episode, for reading one OOM
//! closely: what was killed and why in one sentence, the numbers against
//! the limit, the memory breakdown as a bar chart, the top tasks by RSS, and
//! the cause's evidence and advice. Every text comes from cleaned episode
//! fields, so no log byte reaches the terminal raw.

use super::cells::{self, cut_end, Paint, Style};
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
    style: Style,
    n: u64,
}

impl<'w> ReportSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, style: Style) -> Self {
        ReportSink { out, style, n: 0 }
    }
}

/// Width of the labels (`Killed:  `): wrapped lines go on under the text.
const LABEL: usize = 9;

/// Lines of a report, none wider than the style's width: labelled fields
/// wrapped at blanks under their text, other lines cut.
struct Page<'a> {
    out: &'a mut dyn Write,
    style: Style,
}

impl Page<'_> {
    /// `label` (`Why:`, or empty for a field's further lines) and `text`
    /// wrapped under the text; `paint` colours the first `painted` bytes.
    fn field(&mut self, label: &str, text: &str) -> io::Result<()> {
        self.field_painted(label, text, None)
    }

    fn field_painted(&mut self, label: &str, text: &str, paint: Option<(Paint, usize)>) -> io::Result<()> {
        let indent = " ".repeat(LABEL);
        let lines = cells::wrap(text, self.style.width.saturating_sub(LABEL).max(10), "");
        for (i, l) in lines.iter().enumerate() {
            let head = match i {
                0 => format!("{label:<LABEL$}"),
                _ => indent.clone(),
            };
            let body = match paint {
                Some((p, n)) if i == 0 && n <= l.len() && l.is_char_boundary(n) => {
                    format!("{}{}", p.paint(&l[..n], self.style.color), &l[n..])
                }
                _ => l.clone(),
            };
            writeln!(self.out, "{}", format!("{head}{body}").trim_end())?;
        }
        Ok(())
    }

    /// A line of a table or chart: cut at the width if it is wider.
    fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{}", cut_end(text, self.style.width))
    }

    /// A numbered item (`  1. …`) wrapped under its text.
    fn item(&mut self, n: usize, text: &str) -> io::Result<()> {
        let head = format!("  {n}. ");
        let indent = " ".repeat(head.len());
        let lines = cells::wrap(text, self.style.width.saturating_sub(head.len()).max(10), "");
        for (i, l) in lines.iter().enumerate() {
            writeln!(self.out, "{}{l}", if i == 0 { &head } else { &indent })?;
        }
        Ok(())
    }
}

fn opt_bytes(b: Option<u64>) -> String {
    b.map_or("?".to_owned(), human_bytes)
}

/// `usage 48.0 MiB of 48.0 MiB (100% of the limit), failcnt 232`, or
/// `usage 32.0 MiB, no limit, failcnt 0`.
fn against_limit(name: &str, usage: Option<u64>, limit: Option<u64>, unlimited: bool, failcnt: Option<u64>) -> String {
    let failcnt = failcnt.map_or(String::new(), |f| format!(", failcnt {f}"));
    let shown = opt_bytes(usage);
    match (usage, limit, unlimited) {
        (_, _, true) => format!("{name} {shown}, no limit{failcnt}"),
        // Not capped at 100 %: usage is above a limit lowered below it.
        (Some(u), Some(l), false) if l > 0 => format!(
            "{name} {shown} of {} ({:.0}% of the limit){failcnt}",
            human_bytes(l),
            u as f64 * 100.0 / l as f64
        ),
        _ => format!("{name} {shown} of {}{failcnt}", limit_text(limit, unlimited)),
    }
}

fn counter(name: &str, c: &Counter) -> String {
    against_limit(name, Some(c.usage_bytes), c.limit_bytes, c.unlimited, Some(c.failcnt))
}

fn bar(part: u64, whole: u64, width: usize) -> String {
    let filled = if whole == 0 {
        0
    } else {
        ((part as f64 / whole as f64) * width as f64).round().min(width as f64) as usize
    };
    format!("{}{}", "█".repeat(filled), "·".repeat(width - filled))
}

fn breakdown(page: &mut Page<'_>, d: &Diagnosis) -> io::Result<()> {
    let e = &d.evidence;
    let Some(total) = e.total_bytes.filter(|&t| t > 0) else {
        return Ok(());
    };
    let source = e.source.map_or("?", |s| match s {
        EvidenceSource::MemcgStats => "memcg stats",
        EvidenceSource::MemInfo => "Mem-Info",
        EvidenceSource::TaskTable => "task table (the rest is inferred)",
        EvidenceSource::Snapshot => "cgroup snapshot",
        EvidenceSource::KillLine => "kill line (usage, limit and the victim's RSS only)",
    });
    page.field(
        "Memory:",
        &format!("{} in all, from {source}; shares of that total", human_bytes(total)),
    )?;
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
    // The bar narrows on a narrow terminal: name, sizes and share take 31.
    let width = BAR.min(page.style.width.saturating_sub(31)).max(5);
    for (name, v) in rows {
        if let Some(v) = v {
            page.line(&format!(
                "  {name:<11} {} {:>10} {:>5}",
                bar(v, total, width),
                human_bytes(v),
                crate::units::percent(v, total)
            ))?;
        }
    }
    if let (Some(r), Some(u)) = (e.task_rss_bytes, e.unattributed_bytes) {
        page.field(
            "",
            &format!(
                "processes' RSS {} (it counts file pages and pages shared between them); in no process's RSS {}",
                human_bytes(r),
                human_bytes(u)
            ),
        )?;
    }
    Ok(())
}

fn tasks(page: &mut Page<'_>, ep: &Episode) -> io::Result<()> {
    if ep.tasks.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<_> = ep.tasks.iter().collect();
    rows.sort_by_key(|t| (std::cmp::Reverse(t.rss_bytes.unwrap_or(0)), t.pid));
    page.field(
        "Tasks:",
        &format!("top {} of {} by RSS", rows.len().min(TOP_TASKS), ep.tasks.len()),
    )?;
    page.line(&format!(
        "  {:>8} {:>10} {:>10} {:>6}  name",
        "pid", "rss", "swap", "adj"
    ))?;
    for t in rows.into_iter().take(TOP_TASKS) {
        let killed = if ep.victims.iter().any(|v| v.pid == t.pid) {
            "  ← killed"
        } else {
            ""
        };
        page.line(&format!(
            "  {:>8} {:>10} {:>10} {:>6}  {}{killed}",
            t.pid,
            opt_bytes(t.rss_bytes),
            opt_bytes(t.swap_bytes),
            t.oom_score_adj.map_or("?".to_owned(), |a| a.to_string()),
            t.name
        ))?;
    }
    Ok(())
}

/// Where it happened, each fact once: the workload (pod and container,
/// runtime container or unit), the OOM's cgroup, and the victim's cgroup
/// where it differs (below the OOM's: only the part below it).
fn where_fields(page: &mut Page<'_>, ep: &Episode) -> io::Result<()> {
    let mut facts = Vec::new();
    if let Some(k) = &ep.k8s {
        let pod = format!("pod {}", k.pod_name());
        let qos = k.qos.as_ref().map_or(String::new(), |q| format!(" ({q})"));
        let container = match (&k.container_name, &ep.container) {
            (Some(n), _) => format!(", container {n}"),
            (None, Some(c)) => format!(", container {}", c.short_id()),
            (None, None) => String::new(),
        };
        facts.push(format!("{pod}{qos}{container}"));
    } else if let Some(c) = &ep.container {
        let runtime = c.runtime.as_ref().map_or(String::new(), |r| format!("{r} "));
        facts.push(format!("{runtime}container {}", c.short_id()));
    }
    if let Some(u) = &ep.unit {
        facts.push(format!("unit {u}"));
    }
    let oom = ep.memcg.as_ref().and_then(|m| m.path.as_deref());
    if let Some(p) = oom {
        facts.push(format!("OOM in cgroup {p}"));
    }
    match (ep.task_memcg.as_deref(), oom) {
        (Some(t), Some(o)) if t == o => {}
        (Some(t), Some(o)) if t.starts_with(o) && t[o.len()..].starts_with('/') => {
            facts.push(format!("victim below it in …{}", &t[o.len()..]));
        }
        (Some(t), _) => facts.push(format!("victim in cgroup {t}")),
        (None, _) => {}
    }
    if facts.is_empty() {
        facts.push(match ep.scope {
            Some(crate::model::Scope::Global) => "the whole machine (no cgroup in the report)".to_owned(),
            _ => "not in the log".to_owned(),
        });
    }
    for (i, f) in facts.iter().enumerate() {
        page.field(if i == 0 { "Where:" } else { "" }, f)?;
    }
    Ok(())
}

fn write_episode(page: &mut Page<'_>, n: u64, ep: &Episode) -> io::Result<()> {
    let scope = ep.scope.map_or("unknown scope", |s| s.as_str());
    let when = match (&ep.time.wall, &ep.time.wall_raw, ep.time.uptime_s) {
        (Some(w), _, Some(u)) => format!("{w} (uptime {u:.6} s)"),
        (Some(w), _, None) | (None, Some(w), None) => w.to_string(),
        (None, Some(w), Some(u)) => format!("{w} (uptime {u:.6} s)"),
        (None, None, Some(u)) => format!("uptime {u:.6} s"),
        (None, None, None) => "time unknown".to_owned(),
    };
    let when = match ep.time.wall_year {
        Some(crate::model::WallYear::InferredMtime) => format!("{when}, year from the file's date"),
        Some(crate::model::WallYear::InferredLine) => format!("{when}, year from an earlier line"),
        _ => when,
    };
    let title = format!(
        "━━ OOM #{n} · {scope}{} · {when} · {}:{}-{}",
        if ep.manual { " (manual)" } else { "" },
        ep.source.file,
        ep.source.first_line,
        ep.source.last_line
    );
    for (i, l) in cells::wrap(&title, page.style.width, "   ").iter().enumerate() {
        let l = match i {
            0 => Paint::Bold.paint(l, page.style.color),
            _ => l.clone(),
        };
        writeln!(page.out, "{l}")?;
    }
    let by = match ep.killer {
        Killer::Kernel => "the kernel",
        Killer::OomGuard => "oom-guard",
    };
    if ep.victims.is_empty() && ep.killer == Killer::OomGuard {
        let why = ep
            .guard
            .as_ref()
            .map_or("oom-guard killed nothing", |g| g.note.as_str());
        page.field("Killed:", &format!("nothing: {why}"))?;
    } else if ep.victims.is_empty() {
        let why = if ep.no_killable {
            "nothing was killed: no killable process"
        } else if ep.panic.is_some() {
            "nothing was killed: the kernel panicked"
        } else {
            "the report ends before its kill line"
        };
        match &ep.selected {
            Some(s) => page.field(
                "Killed:",
                &format!(
                    "{why}; it had chosen {} ({}){}",
                    s.comm,
                    s.pid,
                    s.score.map(|n| format!(", score {n}")).unwrap_or_default()
                ),
            )?,
            None => page.field("Killed:", why)?,
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
        let name = v.comm.to_string();
        page.field_painted(
            "Killed:",
            &format!("{name} (pid {}){rss}, by {by}", v.pid),
            Some((Paint::Bold, name.len())),
        )?;
    }
    if let Some(d) = &ep.diagnosis {
        let tag = format!("[{}]", d.cause.as_str());
        let paint = cells::cause_paint(d.cause.as_str()).map(|p| (p, tag.len()));
        page.field_painted("Why:", &format!("{tag} {}", d.summary), paint)?;
    }
    where_fields(page, ep)?;
    let mut limits = Vec::new();
    if let Some(m) = &ep.memcg {
        limits.push(against_limit(
            "usage",
            m.usage_bytes,
            m.limit_bytes,
            m.unlimited,
            m.failcnt,
        ));
    }
    for (name, c) in [("memory+swap", &ep.memsw), ("kmem", &ep.kmem), ("swap", &ep.swap)] {
        if let Some(c) = c {
            limits.push(counter(name, c));
        }
    }
    for (i, l) in limits.iter().enumerate() {
        page.field(if i == 0 { "Limit:" } else { "" }, l)?;
    }
    if let Some(t) = &ep.trigger {
        let flags = if t.gfp_flags.is_empty() {
            String::new()
        } else {
            format!("({})", t.gfp_flags.join("|"))
        };
        page.field(
            "Trigger:",
            &format!(
                "{} (pid {}) gfp_mask={}{flags} order={} oom_score_adj={}",
                t.comm.as_deref().unwrap_or("?"),
                t.pid.map_or("?".to_owned(), |p| p.to_string()),
                t.gfp_mask.as_deref().unwrap_or("?"),
                t.order.map_or("?".to_owned(), |o| o.to_string()),
                t.oom_score_adj.map_or("?".to_owned(), |a| a.to_string()),
            ),
        )?;
    }
    if let Some(k) = &ep.kernel {
        page.field("Kernel:", k)?;
    }
    if let Some(d) = &ep.diagnosis {
        breakdown(page, d)?;
    }
    tasks(page, ep)?;
    if let Some(d) = &ep.diagnosis {
        if !d.advice.is_empty() {
            page.field("Advice:", "")?;
            for (i, a) in d.advice.iter().enumerate() {
                page.item(i + 1, a)?;
            }
        }
    }
    guard_section(page, ep)?;
    // A kill line alone and a report without its kill are said above
    // (Why:, Killed:); a kill no line shows is said here.
    if ep.printed == crate::model::Printed::Nothing {
        page.field(
            "Note:",
            "nothing was printed that was read: a kill counted in memory.events.local only",
        )?;
    }
    if !ep.malformed.is_empty() {
        page.field(
            "Note:",
            &format!(
                "{} of the report did not parse",
                crate::units::count(ep.malformed.len() as u64, "line")
            ),
        )?;
    }
    writeln!(page.out)
}

/// Processes of a container kill named in the guard section; the rest
/// are counted.
const GUARD_KILLED_SHOWN: usize = 5;

/// What the guard did or would have done (`simulate`'s outcome, or a live
/// guard's decision): its threshold, its choice against the kernel's
/// victim, and why. Nothing for an episode without `guard`.
fn guard_section(page: &mut Page<'_>, ep: &Episode) -> io::Result<()> {
    let Some(g) = &ep.guard else { return Ok(()) };
    let who = |p: &crate::model::Proc| format!("{} (pid {})", p.comm, p.pid);
    // The margin, not the threshold: a threshold 30 MiB under 2 GiB would
    // read "2.0 GiB", as the limit does.
    match g.margin_bytes.filter(|_| g.threshold_bytes.is_some()) {
        Some(m) => page.field(
            "Guard:",
            &format!(
                "policy {}: usage {} its threshold, {} below the limit",
                g.policy.as_str(),
                if g.fired { "reached" } else { "stayed under" },
                human_bytes(m),
            ),
        )?,
        // The note says why (a global OOM, a limit the log does not give).
        None => return page.field("Guard:", &format!("policy {}: {}", g.policy.as_str(), g.note)),
    }
    let kernel = match (g.same_victim, &g.kernel_victim) {
        (Some(true), _) => ", the kernel's victim too".to_owned(),
        (_, Some(k)) => format!("; the kernel killed {}", who(k)),
        (_, None) if ep.killer == Killer::Kernel => "; the kernel's victim is not in the log".to_owned(),
        (_, None) => String::new(),
    };
    if g.held_back {
        page.field("", "held back by the cache rule: nothing killed")?;
    } else if g.action == "kill_container" && !g.killed.is_empty() {
        let mut names: Vec<String> = g.killed.iter().take(GUARD_KILLED_SHOWN).map(who).collect();
        if g.killed.len() > GUARD_KILLED_SHOWN {
            names.push(format!("{} more", g.killed.len() - GUARD_KILLED_SHOWN));
        }
        let by = g
            .victim
            .as_ref()
            .map_or(String::new(), |v| format!(", chosen by {}", who(v)));
        page.field(
            "",
            &format!(
                "{}: {} process{}: {}{by}{kernel}",
                g.action,
                g.killed.len(),
                if g.killed.len() == 1 { "" } else { "es" },
                names.join(", ")
            ),
        )?;
    } else if let Some(v) = &g.victim {
        if g.action == "none" {
            page.field("", &format!("none: would have chosen {}{kernel}", who(v)))?;
        } else {
            page.field("", &format!("{}: {}{kernel}", g.action, who(v)))?;
        }
    } else if g.action != "none" {
        page.field("", &g.action)?;
    }
    if !g.note.is_empty() {
        page.field("", &g.note)?;
    }
    Ok(())
}

impl Sink for ReportSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.n += 1;
        let mut page = Page {
            out: &mut self.out,
            style: self.style,
        };
        write_episode(&mut page, self.n, ep)
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let line = format!(
            "{}, {} incomplete, in {}; {}; {}",
            crate::units::count(s.episodes, "episode"),
            s.incomplete,
            crate::units::count(s.files, "file"),
            super::duplicates_phrase(s),
            crate::units::count(s.malformed_lines, "malformed line")
        );
        for l in cells::wrap(&line, self.style.width, "") {
            writeln!(self.out, "{l}")?;
        }
        self.out.flush()
    }
}
