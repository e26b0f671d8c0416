//! `table` sink: one row per episode for a person at a terminal, and a
//! summary line. Rows are kept (a few short strings each) so column widths
//! fit, up to `PAGE` of them: past that a new table with its own header
//! starts, so memory stays bounded. Every cell comes from cleaned episode
//! text, so no log byte reaches the terminal raw.

use super::{Sink, Summary};
use crate::model::{Episode, Killer};
use crate::units::{human_bytes, limit_text};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use std::io::{self, Write};

pub struct TableSink<'w> {
    out: Box<dyn Write + 'w>,
    rows: Vec<[String; 8]>,
}

impl<'w> TableSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        TableSink { out, rows: Vec::new() }
    }
}

/// The cgroup cell: `namespace/pod/container` when `--pods` named them,
/// else `pod <uid> / <container id>` for a pod's cgroup, else the path.
pub(crate) fn cgroup_cell(ep: &Episode) -> String {
    if let Some(k) = &ep.k8s {
        let c = match (&k.container_name, &ep.container) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(c)) => Some(c.id.chars().take(12).collect()),
            (None, None) => None,
        };
        let pod = match (&k.namespace, &k.pod) {
            (Some(ns), Some(p)) => format!("{ns}/{p}"),
            _ => format!("pod {}", k.pod_uid),
        };
        return match c {
            Some(c) => format!("{pod} / {c}"),
            None => pod,
        };
    }
    ep.memcg
        .as_ref()
        .and_then(|m| m.path.as_deref())
        .or(ep.task_memcg.as_deref())
        .map_or("-".to_owned(), str::to_owned)
}

fn time_cell(ep: &Episode) -> String {
    match (&ep.time.wall, &ep.time.wall_raw, ep.time.uptime_s) {
        (Some(w), _, _) => w.to_string(),
        (None, Some(w), _) => w.to_string(),
        (None, None, Some(u)) => format!("{u:.6}s"),
        _ => "-".to_owned(),
    }
}

fn row(ep: &Episode) -> [String; 8] {
    let mut scope = ep.scope.map_or("?".to_owned(), |s| s.as_str().to_owned());
    if ep.manual {
        scope.push_str(" (manual)");
    }
    if !ep.complete {
        scope.push_str(" incomplete");
    }
    let usage = match ep.memcg.as_ref() {
        Some(m) => {
            let u = m.usage_bytes.map_or("?".to_owned(), human_bytes);
            let l = limit_text(m.limit_bytes, m.unlimited);
            format!("{u} / {l}")
        }
        None => "-".to_owned(),
    };
    let victims: Vec<String> = ep
        .victims
        .iter()
        .map(|v| {
            let parts = [v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes];
            if parts.iter().all(Option::is_none) {
                // 2.4/2.6 kill lines print no sizes.
                return format!("{} {}", v.pid, v.comm);
            }
            let rss = crate::units::sat_sum(parts.iter().flatten().copied());
            format!("{} {} ({})", v.pid, v.comm, human_bytes(rss))
        })
        .collect();
    let victim = if ep.no_killable {
        "none killable".to_owned()
    } else if let (true, Some(s)) = (victims.is_empty(), &ep.selected) {
        format!("{} {} (chosen)", s.pid, s.comm)
    } else if victims.is_empty() {
        "-".to_owned()
    } else {
        victims.join("\n")
    };
    let victim = match (&ep.killer, &ep.guard) {
        (Killer::OomGuard, _) if !ep.victims.is_empty() => format!("{victim}\n(killed by oom-guard)"),
        (Killer::OomGuard, Some(g)) => format!("{victim}\n(oom-guard: {}, nothing killed)", g.action),
        (Killer::OomGuard, None) => format!("{victim}\n(oom-guard: nothing killed)"),
        _ => victim,
    };
    let cause = ep
        .diagnosis
        .as_ref()
        .map_or("-".to_owned(), |d| d.cause.as_str().to_owned());
    let cause = match ep.printed {
        crate::model::Printed::Report => cause,
        crate::model::Printed::KillLine => format!("{cause} (kill line only)"),
        crate::model::Printed::Nothing => format!("{cause} (counted only)"),
    };
    let trigger = ep.trigger.as_ref().map_or("-".to_owned(), |t| {
        let comm = t.comm.as_deref().unwrap_or("?");
        let pid = t.pid.map_or(String::new(), |p| format!(" ({p})"));
        let order = t.order.map_or(String::new(), |o| format!(" order={o}"));
        format!("{comm}{pid}{order}")
    });
    [
        time_cell(ep),
        scope,
        cgroup_cell(ep),
        usage,
        victim,
        cause,
        trigger,
        format!("{}:{}", ep.source.file, ep.source.first_line),
    ]
}

/// Rows per table: past this many a new table (with its header) starts.
/// comfy-table needs all rows of a table at once, ~3 KiB each.
pub(crate) const PAGE: usize = 1000;

/// Write `rows` (emptying it) as one table under `header`; nothing if empty.
pub(crate) fn write_page<const N: usize>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: &mut Vec<[String; N]>,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header);
    for r in rows.drain(..) {
        t.add_row(r);
    }
    writeln!(out, "{t}")
}

const HEADER: [&str; 8] = [
    "time",
    "scope",
    "cgroup",
    "usage / limit",
    "victim (RSS)",
    "cause",
    "trigger",
    "source",
];

impl Sink for TableSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.rows.push(row(ep));
        if self.rows.len() >= PAGE {
            write_page(&mut self.out, HEADER, &mut self.rows)?;
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        write_page(&mut self.out, HEADER, &mut self.rows)?;
        let scopes: Vec<String> = s.by_scope.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let scopes = if scopes.is_empty() {
            String::new()
        } else {
            format!(" ({})", scopes.join(", "))
        };
        writeln!(
            self.out,
            "{} episode{}{}, {} incomplete, in {} file{}; {}; {} malformed line{}",
            s.episodes,
            if s.episodes == 1 { "" } else { "s" },
            scopes,
            s.incomplete,
            s.files,
            if s.files == 1 { "" } else { "s" },
            super::duplicates_phrase(s),
            s.malformed_lines,
            if s.malformed_lines == 1 { "" } else { "s" },
        )?;
        self.out.flush()
    }
}
