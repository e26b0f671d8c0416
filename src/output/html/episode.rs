//! One episode on the page: in full (where, victims, usage, cause,
//! evidence, advice, the breakdown chart, the top tasks) or as one row.

use super::super::cells::{compact_bytes, compact_time};
use super::{cause_color, esc, group_name};
use crate::model::{Episode, EvidenceSource, Printed};
use crate::units::{human_bytes, limit_text, percent};
use std::fmt::Write as _;

/// Rows of each episode's top-tasks table.
const TOP_TASKS: usize = 5;

fn victim_html(ep: &Episode) -> String {
    let names: Vec<String> = ep
        .victims
        .iter()
        .map(|v| format!("<span class=\"victim\">{}</span> ({})", esc(&v.comm), v.pid))
        .collect();
    match (names.is_empty(), &ep.selected) {
        (false, _) => names.join(", "),
        (true, Some(s)) => format!(
            "selected <span class=\"victim\">{}</span> ({}), kill not in the log",
            esc(&s.comm),
            s.pid
        ),
        (true, None) if ep.no_killable => "none killable".to_owned(),
        (true, None) => "(no kill in the log)".to_owned(),
    }
}

fn cause_html(ep: &Episode) -> String {
    let (class, c) = match ep.printed {
        Printed::KillLine => ("unknown", "(kill line only)"),
        Printed::Nothing => ("unknown", "(counted)"),
        Printed::Report => ep
            .diagnosis
            .as_ref()
            .map_or(("unknown", "-"), |d| (d.cause.as_str(), d.cause.as_str())),
    };
    format!("<span class=\"cause {class}\">{c}</span>")
}

/// The memory that ran out, split by kind: one bar per kind, as shares of
/// the total the evidence names.
fn breakdown_svg(ep: &Episode) -> String {
    let Some(d) = &ep.diagnosis else { return String::new() };
    let e = &d.evidence;
    let Some(total) = e.total_bytes.filter(|&t| t > 0) else {
        return String::new();
    };
    let dirty = match (e.dirty_bytes, e.writeback_bytes) {
        (None, None) => None,
        (d, w) => Some(d.unwrap_or(0).saturating_add(w.unwrap_or(0))),
    };
    let rows: Vec<(&str, u64, &str)> = [
        ("anon", e.anon_bytes, "anon"),
        ("page cache", e.file_bytes, "page_cache"),
        ("dirty+writeback", dirty, "write_cache"),
        ("shmem", e.shmem_bytes, "shmem"),
        ("kernel", e.kernel_bytes, "kernel"),
        ("free", e.free_bytes, "unknown"),
    ]
    .into_iter()
    .filter_map(|(n, v, c)| v.map(|v| (n, v, c)))
    .collect();
    let source = match e.source {
        Some(EvidenceSource::MemcgStats) => "memcg stats",
        Some(EvidenceSource::MemInfo) => "Mem-Info",
        Some(EvidenceSource::TaskTable) => "the task table (the rest inferred)",
        Some(EvidenceSource::Snapshot) => "a cgroup snapshot",
        Some(EvidenceSource::KillLine) => "the victim's kill line (no stats, no task table)",
        None => "?",
    };
    let mut s = format!(
        "<p>Memory: {} in all, from {source}; bars are shares of that total.</p>\
         <svg width=\"460\" height=\"{}\" role=\"img\" aria-label=\"memory breakdown\">",
        human_bytes(total),
        rows.len() * 18 + 4
    );
    for (i, (name, v, c)) in rows.iter().enumerate() {
        let y = i * 18 + 2;
        let w = ((*v as f64 / total as f64).min(1.0) * 220.0).round();
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\">{name}</text><rect x=\"110\" y=\"{y}\" width=\"220\" height=\"13\" fill=\"#eee\"/>\
             <rect x=\"110\" y=\"{y}\" width=\"{w}\" height=\"13\" fill=\"{}\"/><text x=\"336\" y=\"{}\">{} {}</text>",
            y + 11,
            cause_color(c),
            y + 11,
            human_bytes(*v),
            percent(*v, total)
        );
    }
    s.push_str("</svg>");
    s
}

fn tasks_html(ep: &Episode) -> String {
    if ep.tasks.is_empty() {
        return String::new();
    }
    let mut rows: Vec<_> = ep.tasks.iter().collect();
    rows.sort_by_key(|t| (std::cmp::Reverse(t.rss_bytes.unwrap_or(0)), t.pid));
    let mut s = format!(
        "<p>Top {} of {} tasks by RSS:</p><table><tr><th class=\"n\">pid</th><th class=\"n\">rss</th>\
         <th class=\"n\">swap</th><th class=\"n\">oom_score_adj</th><th>name</th></tr>",
        rows.len().min(TOP_TASKS),
        ep.tasks.len()
    );
    let b = |v: Option<u64>| v.map_or("?".to_owned(), human_bytes);
    for t in rows.into_iter().take(TOP_TASKS) {
        let killed = if ep.victims.iter().any(|v| v.pid == t.pid) {
            " ← killed"
        } else {
            ""
        };
        let _ = write!(
            s,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}{killed}</td></tr>",
            t.pid,
            b(t.rss_bytes),
            b(t.swap_bytes),
            t.oom_score_adj.map_or("?".to_owned(), |a| a.to_string()),
            esc(&t.name)
        );
    }
    s.push_str("</table>");
    s
}

fn evidence_html(ep: &Episode) -> String {
    let Some(d) = &ep.diagnosis else { return String::new() };
    let e = &d.evidence;
    let mut cells = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            cells.push(format!("<tr><th>{k}</th><td>{}</td></tr>", esc(&v)));
        }
    };
    add("total", e.total_bytes.map(human_bytes));
    add(
        "limit",
        (e.limit_bytes.is_some() || e.unlimited).then(|| limit_text(e.limit_bytes, e.unlimited)),
    );
    add("processes' RSS", e.task_rss_bytes.map(human_bytes));
    add("in no process's RSS", e.unattributed_bytes.map(human_bytes));
    add(
        "cause's share",
        e.share.map(|s| format!("{:.0}% of the total", s * 100.0)),
    );
    add(
        "top task",
        e.top_task.as_ref().map(|t| {
            format!(
                "{} (pid {}): RSS {}, charged {}{}",
                t.name,
                t.pid,
                human_bytes(t.rss_bytes),
                human_bytes(t.charged_bytes),
                t.share.map_or(String::new(), |s| format!(", {:.0}%", s * 100.0))
            )
        }),
    );
    let mut s = format!("<p>{}</p>", esc(&d.summary));
    if !cells.is_empty() {
        let _ = write!(s, "<table class=\"evidence\">{}</table>", cells.concat());
    }
    if !d.advice.is_empty() {
        s.push_str("<p>Advice:</p><ol>");
        for a in &d.advice {
            let _ = write!(s, "<li>{}</li>", esc(a));
        }
        s.push_str("</ol>");
    }
    s
}

/// An episode in full.
pub(super) fn details(n: u64, ep: &Episode) -> String {
    let scope = ep.scope.map_or("?", |s| s.as_str());
    let mut s = format!(
        "<section class=\"ep\" id=\"ep{n}\"><h3>#{n} {} · {scope} · {} · {}</h3>",
        esc(&compact_time(&ep.time)),
        esc(&group_name(ep)),
        cause_html(ep)
    );
    let _ = write!(s, "<p>Killed: {}</p>", victim_html(ep));
    let _ = write!(
        s,
        "<p class=\"note\">{}, lines {}–{}{}</p>",
        esc(&ep.source.file),
        ep.source.first_line,
        ep.source.last_line,
        ep.time
            .wall
            .as_deref()
            .map_or(String::new(), |w| format!(", {}", esc(w)))
    );
    if let Some(m) = &ep.memcg {
        let _ = write!(
            s,
            "<p>Memory cgroup <span class=\"mono\">{}</span>: usage {} of {}</p>",
            esc(m.path.as_deref().unwrap_or("?")),
            m.usage_bytes.map_or("?".to_owned(), human_bytes),
            limit_text(m.limit_bytes, m.unlimited)
        );
    }
    s.push_str(&evidence_html(ep));
    s.push_str(&breakdown_svg(ep));
    s.push_str(&tasks_html(ep));
    s.push_str("</section>\n");
    s
}

/// An episode as one row of the list.
pub(super) fn row(n: u64, ep: &Episode) -> String {
    let (used, limit) = match &ep.memcg {
        Some(m) => (
            m.usage_bytes.map_or("?".to_owned(), compact_bytes),
            if m.unlimited {
                "∞".to_owned()
            } else {
                m.limit_bytes.map_or("?".to_owned(), compact_bytes)
            },
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    format!(
        "<tr><td class=\"n\">{n}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"n\">{used}</td><td class=\"n\">{limit}</td><td>{}</td><td>{}</td></tr>\n",
        esc(&compact_time(&ep.time)),
        ep.scope.map_or("?", |s| s.as_str()),
        esc(&group_name(ep)),
        victim_html(ep),
        cause_html(ep)
    )
}

pub(super) const LIST_HEAD: &str = "<h2>More episodes, one line each</h2><table id=\"list\"><tr><th class=\"n\">#</th><th>time</th><th>scope</th><th>pod or cgroup</th><th class=\"n\">used</th><th class=\"n\">limit</th><th>victim</th><th>cause</th></tr>\n";
