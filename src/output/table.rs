//! `table` sink: one line per episode for a person at a terminal, as wide
//! as the terminal and never wider (values are cut with `…`, not wrapped),
//! written as each episode comes; then the episodes grouped by workload
//! and a summary line. Column widths depend on the width only, so nothing
//! is held back. Every cell comes from cleaned episode text, so no log
//! byte reaches the terminal raw.

use super::cells::{self, compact_bytes, compact_time, cut_end, pad, pad_left, Paint, Style, Workload};
use super::{Sink, Summary};
use crate::model::{Episode, Killer, Printed};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Workloads counted apart in the summary; more are counted together.
const GROUPS_MAX: usize = 10_000;
/// Workloads listed in the summary (the most episodes first).
const GROUPS_SHOWN: usize = 10;

pub struct TableSink<'w> {
    out: Box<dyn Write + 'w>,
    style: Style,
    cols: Columns,
    header_written: bool,
    /// Per workload: episodes by cause.
    groups: BTreeMap<Workload, BTreeMap<&'static str, u64>>,
    /// Episodes of workloads past [`GROUPS_MAX`].
    others: u64,
}

impl<'w> TableSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, style: Style) -> Self {
        TableSink {
            out,
            style,
            cols: Columns::for_width(style.width),
            header_written: false,
            groups: BTreeMap::new(),
            others: 0,
        }
    }
}

/// Widths of the columns: fixed for time, scope, sizes and cause; the rest
/// shared by workload and victim. The victims' RSS shows from [`RSS_FROM`]
/// columns on; below [`FULL_FROM`] only time, workload, victim and cause;
/// below [`TIME_FROM`] not the time either.
#[derive(Debug, Clone, Copy)]
struct Columns {
    workload: usize,
    victim: usize,
    time: bool,
    /// Scope, usage and limit.
    full: bool,
    rss: bool,
}

const TIME: usize = 14;
const SCOPE: usize = 6;
const SIZE: usize = 5;
/// `fragmentation`, the longest cause.
const CAUSE: usize = 13;
const RSS_FROM: usize = 100;
const FULL_FROM: usize = 70;
const TIME_FROM: usize = 40;

impl Columns {
    fn for_width(width: usize) -> Columns {
        let time = width >= TIME_FROM;
        let full = width >= FULL_FROM;
        let rss = width >= RSS_FROM;
        // Each column and the blank after it; the flexible two and the last
        // (cause) counted in `fixed` by their blanks only.
        let mut fixed = CAUSE + 2;
        if time {
            fixed += TIME + 1;
        }
        if full {
            fixed += SCOPE + 1 + 2 * (SIZE + 1);
        }
        if rss {
            fixed += SIZE + 1;
        }
        let flex = width.saturating_sub(fixed).max(2);
        // A process name is at most 15 characters (TASK_COMM_LEN).
        let victim = (flex / 3).max(flex.min(30) / 2).clamp(1, 20);
        Columns {
            workload: (flex - victim).min(72),
            victim,
            time,
            full,
            rss,
        }
    }
}

/// The victim cell: the first victim's name (`+N` more), or what stands
/// in for one.
fn victim_cell(ep: &Episode) -> String {
    if ep.no_killable {
        return "none killable".to_owned();
    }
    match (ep.victims.first(), &ep.selected) {
        (Some(v), _) if ep.victims.len() > 1 => format!("{} +{}", v.comm, ep.victims.len() - 1),
        (Some(v), _) => v.comm.to_string(),
        (None, Some(s)) => format!("({})", s.comm),
        (None, None) if ep.killer == Killer::OomGuard => "(none)".to_owned(),
        (None, None) => "(no kill)".to_owned(),
    }
}

/// The victims' resident memory, when the kill line printed it.
fn rss_cell(ep: &Episode) -> String {
    let parts = ep
        .victims
        .iter()
        .flat_map(|v| [v.anon_rss_bytes, v.file_rss_bytes, v.shmem_rss_bytes])
        .flatten();
    let mut any = false;
    let sum = crate::units::sat_sum(parts.inspect(|_| any = true));
    match any {
        true => compact_bytes(sum),
        false => "-".to_owned(),
    }
}

/// The cause as the table shows it.
fn cause_name(ep: &Episode) -> &'static str {
    match ep.printed {
        Printed::KillLine => "kill line",
        Printed::Nothing => "counted",
        Printed::Report => ep.diagnosis.as_ref().map_or("-", |d| d.cause.as_str()),
    }
}

fn scope_cell(ep: &Episode) -> &'static str {
    if ep.killer == Killer::OomGuard {
        return "guard";
    }
    if ep.manual {
        return "manual";
    }
    match ep.scope {
        Some(crate::model::Scope::Mempolicy) => "mempol",
        Some(s) => s.as_str(),
        None => "?",
    }
}

fn sizes(ep: &Episode) -> (String, String) {
    match ep.memcg.as_ref() {
        Some(m) => (
            m.usage_bytes.map_or("?".to_owned(), compact_bytes),
            match (m.limit_bytes, m.unlimited) {
                (_, true) => "∞".to_owned(),
                (Some(l), false) => compact_bytes(l),
                (None, false) => "?".to_owned(),
            },
        ),
        None => ("-".to_owned(), "-".to_owned()),
    }
}

impl TableSink<'_> {
    fn header(&mut self) -> io::Result<()> {
        let c = self.cols;
        let mut cells = Vec::new();
        if c.time {
            cells.push(pad("TIME", TIME));
        }
        if c.full {
            cells.push(pad("SCOPE", SCOPE));
        }
        cells.push(pad(&cut_end("WORKLOAD", c.workload), c.workload));
        if c.full {
            cells.extend([pad_left("USED", SIZE), pad_left("LIMIT", SIZE)]);
        }
        cells.push(pad(&cut_end("VICTIM", c.victim), c.victim));
        if c.rss {
            cells.push(pad_left("RSS", SIZE));
        }
        cells.push("CAUSE".to_owned());
        let line = cells.join(" ");
        writeln!(self.out, "{}", Paint::Bold.paint(&line, self.style.color))
    }

    fn row(&self, ep: &Episode, workload: &Workload) -> String {
        let c = self.cols;
        let color = self.style.color;
        let (used, limit) = sizes(ep);
        let scope = scope_cell(ep);
        let scope = pad(scope, SCOPE);
        let scope = match ep.scope {
            Some(crate::model::Scope::Global) => Paint::BoldRed.paint(&scope, color),
            _ => scope,
        };
        let cause = cause_name(ep);
        let cause = match cells::cause_paint(cause) {
            Some(p) => p.paint(cause, color),
            None => cause.to_owned(),
        };
        let victim = cut_end(&victim_cell(ep), c.victim);
        let mut cells = Vec::new();
        if c.time {
            cells.push(pad(&compact_time(&ep.time), TIME));
        }
        if c.full {
            cells.push(scope);
        }
        cells.push(pad(&workload.fit(c.workload), c.workload));
        if c.full {
            cells.extend([pad_left(&used, SIZE), pad_left(&limit, SIZE)]);
        }
        cells.push(format!(
            "{}{}",
            Paint::Bold.paint(&victim, color),
            " ".repeat(c.victim - cells::width(&victim))
        ));
        if c.rss {
            cells.push(pad_left(&rss_cell(ep), SIZE));
        }
        cells.push(cause);
        cells.join(" ")
    }

    /// The episodes by workload, the most first: `27 × anon in ns/pod/c`.
    fn groups(&mut self) -> io::Result<()> {
        let mut groups: Vec<(u64, &Workload, &BTreeMap<&str, u64>)> =
            self.groups.iter().map(|(w, c)| (c.values().sum(), w, c)).collect();
        groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let width = self.style.width;
        let mut lines = Vec::new();
        for (_, w, causes) in groups.iter().take(GROUPS_SHOWN) {
            let mut causes: Vec<(&&str, &u64)> = causes.iter().collect();
            causes.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let causes: Vec<String> = causes.iter().map(|(c, n)| format!("{n} × {c}")).collect();
            let head = format!("  {} in ", causes.join(", "));
            let room = width.saturating_sub(cells::width(&head)).max(8);
            let name = match w {
                Workload::Name(n) if n == "-" => "(no cgroup in the log)".to_owned(),
                w => w.fit(room),
            };
            lines.push(cut_end(&format!("{head}{name}"), width));
        }
        let more = groups.len().saturating_sub(GROUPS_SHOWN);
        if more > 0 || self.others > 0 {
            let hidden: u64 = groups.iter().skip(GROUPS_SHOWN).map(|g| g.0).sum::<u64>() + self.others;
            lines.push(format!(
                "  {hidden} more in {} other workloads",
                more + usize::from(self.others > 0)
            ));
        }
        writeln!(self.out)?;
        writeln!(self.out, "{}", Paint::Bold.paint("By workload:", self.style.color))?;
        for l in lines {
            writeln!(self.out, "{l}")?;
        }
        Ok(())
    }
}

impl Sink for TableSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.header()?;
        }
        let workload = cells::workload(ep);
        let line = self.row(ep, &workload);
        writeln!(self.out, "{line}")?;
        let cause = cause_name(ep);
        let room = self.groups.len() < GROUPS_MAX;
        match self.groups.get_mut(&workload) {
            Some(g) => *g.entry(cause).or_default() += 1,
            None if room => {
                self.groups.insert(workload, BTreeMap::from([(cause, 1)]));
            }
            None => self.others += 1,
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        if s.episodes > 1 {
            self.groups()?;
        }
        let scopes: Vec<String> = s.by_scope.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let scopes = if scopes.is_empty() {
            String::new()
        } else {
            format!(" ({})", scopes.join(", "))
        };
        let line = format!(
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
        );
        for l in cells::wrap(&line, self.style.width, "") {
            writeln!(self.out, "{l}")?;
        }
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
