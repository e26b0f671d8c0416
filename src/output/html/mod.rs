//! `html` sink: one self-contained page (no script, no network, inline CSS
//! and SVG) to paste into a postmortem or print. Streamed: the first
//! [`DETAILS`] episodes are written in full as they come (memory
//! breakdown chart, top tasks, cause, evidence, advice), the next
//! [`ROWS`] as one table row each, later ones only counted. At the end
//! come the timeline (episodes per pod or cgroup over time, inline SVG)
//! and the group summary, which CSS puts at the top of the page. What is
//! held for them is bounded: at most [`GROUPS_MAX`] groups and
//! [`POINTS_MAX`] timeline points (time, group, cause: 24 bytes each).
//! Every text is HTML-escaped ([`esc`]) after the text gate.

mod episode;

use self::episode::{details, row, LIST_HEAD};
use super::cells;
use super::group::{causes_text, Acc};
use super::{Sink, Summary};
use crate::model::{Episode, GroupRow};
use crate::units::{human_bytes, limit_text};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Episodes shown in full.
pub const DETAILS: u64 = 100;
/// Episodes after those listed as one table row each; more are counted.
pub const ROWS: u64 = 5_000;
/// Groups (pods or cgroups) counted apart in the summary and timeline.
pub const GROUPS_MAX: usize = 10_000;
/// Episodes placed on the timeline; later ones are counted, not drawn.
pub const POINTS_MAX: usize = 100_000;
/// Groups drawn on the timeline and listed in the summary.
const SHOWN: usize = 30;

/// `s` safe as HTML text and in a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // The text gate escaped these already; a second guard costs nothing.
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

pub const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;display:flex;flex-direction:column}
h1{font-size:1.4em;margin:0 0 .5em}h2{font-size:1.15em;margin:1.2em 0 .4em}
h1{order:-2}#overview{order:-1}td{white-space:nowrap}td.mono{white-space:normal}
table{border-collapse:collapse;margin:.3em 0}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
section.ep{border:1px solid #ccc;border-radius:4px;padding:.5em 1em;margin:.6em 0;break-inside:avoid}
section.ep h3{margin:.2em 0;font-size:1.05em}
.cause{font-weight:bold}.anon{color:#b00}.page_cache,.write_cache{color:#a60}.shmem{color:#909}.kernel{color:#077}.fragmentation{color:#00a}.unknown,.manual{color:#666}
.victim{font-weight:bold}.mono{font-family:ui-monospace,monospace;word-break:break-all}
.note{color:#555}svg text{font:11px system-ui,sans-serif}
@media print{body{margin:0;font-size:11px}section.ep{page-break-inside:avoid}#list tr{page-break-inside:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

/// Colours of causes in the charts (as the terminal's, darker).
fn cause_color(cause: &str) -> &'static str {
    match cause {
        "anon" => "#c33",
        "page_cache" | "write_cache" => "#c80",
        "shmem" => "#a3a",
        "kernel" => "#199",
        "fragmentation" => "#33c",
        "constrained" => "#36a",
        "limit_lowered" => "#393",
        "memsw" => "#6a3",
        "unevictable" => "#836",
        "hugetlb" => "#a63",
        _ => "#888",
    }
}

/// One episode on the timeline.
struct Point {
    t: f64,
    group: u32,
    cause: &'static str,
}

pub struct HtmlSink<'w> {
    out: Box<dyn Write + 'w>,
    n: u64,
    started: bool,
    /// Group name → (index, counts).
    groups: HashMap<String, usize>,
    accs: Vec<(String, Acc)>,
    rest: Acc,
    /// Wall-clock points and uptime points; the axis is the larger set's.
    wall: Vec<Point>,
    uptime: Vec<Point>,
    unplaced: u64,
}

impl<'w> HtmlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        HtmlSink {
            out,
            n: 0,
            started: false,
            groups: HashMap::new(),
            accs: Vec::new(),
            rest: Acc::default(),
            wall: Vec::new(),
            uptime: Vec::new(),
            unplaced: 0,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            write!(
                self.out,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\">\
                 <title>OOM episodes (oomctl)</title><style>\n{STYLE}</style></head><body>\n\
                 <h1>OOM-killer episodes</h1>\n"
            )?;
        }
        Ok(())
    }

    /// Count the episode in its group and place it on the timeline.
    fn count(&mut self, ep: &Episode) {
        let name = group_name(ep);
        let i = match self.groups.get(&name) {
            Some(&i) => Some(i),
            None if self.accs.len() < GROUPS_MAX => {
                self.groups.insert(name.clone(), self.accs.len());
                self.accs.push((name, Acc::default()));
                Some(self.accs.len() - 1)
            }
            None => None,
        };
        match i {
            Some(i) => self.accs[i].1.add(ep),
            None => self.rest.add(ep),
        }
        let cause = ep.diagnosis.as_ref().map_or("unknown", |d| d.cause.as_str());
        let wall = ep.time.wall.as_deref().and_then(epoch_s);
        let room = self.wall.len() + self.uptime.len() < POINTS_MAX;
        match (i, wall, ep.time.uptime_s) {
            (Some(g), Some(t), _) if room => self.wall.push(Point {
                t,
                group: g as u32,
                cause,
            }),
            (Some(g), None, Some(t)) if room => self.uptime.push(Point {
                t,
                group: g as u32,
                cause,
            }),
            _ => self.unplaced += 1,
        }
    }
}

/// Seconds since the epoch of an ISO 8601 wall clock (no offset: as if UTC).
fn epoch_s(w: &str) -> Option<f64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(w) {
        return Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6);
    }
    let t = chrono::NaiveDateTime::parse_from_str(w, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let t = t.and_utc();
    Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
}

/// The timeline's and summary's group: the pod where the cgroup names
/// one, else the cgroup, else the workload as the table names it.
fn group_name(ep: &Episode) -> String {
    if let Some(k) = &ep.k8s {
        return format!("pod {}", k.pod_name());
    }
    match ep.cgroup() {
        Some(p) => p.to_owned(),
        None => match cells::workload(ep).fit(200) {
            w if w == "-" => "(no cgroup in the log)".to_owned(),
            w => w,
        },
    }
}

impl Sink for HtmlSink<'_> {
    fn episode(&mut self, ep: &Episode) -> io::Result<()> {
        self.start()?;
        self.n += 1;
        self.count(ep);
        let n = self.n;
        if n <= DETAILS {
            return self.out.write_all(details(n, ep).as_bytes());
        }
        if n == DETAILS + 1 {
            self.out.write_all(LIST_HEAD.as_bytes())?;
        }
        if n <= DETAILS + ROWS {
            return self.out.write_all(row(n, ep).as_bytes());
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        self.start()?;
        let mut page = String::new();
        if self.n > DETAILS {
            page.push_str("</table>\n");
        }
        if self.n > DETAILS + ROWS {
            let _ = writeln!(
                page,
                "<p class=\"note\">{} more episodes are counted in the summary but not listed: the page shows the first {DETAILS} in full and {ROWS} more as rows (use -f jsonl for all).</p>",
                self.n - DETAILS - ROWS
            );
        }
        page.push_str("<div id=\"overview\">");
        page.push_str(&overview(self, s));
        page.push_str("</div>\n</body></html>\n");
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The summary line, the timeline and the groups: written last, shown first.
fn overview(h: &HtmlSink<'_>, s: &Summary) -> String {
    let mut rows: Vec<(&str, GroupRow)> = h
        .accs
        .iter()
        .map(|(name, a)| (name.as_str(), a.row(Default::default(), false)))
        .collect();
    rows.sort_by(|a, b| b.1.episodes.cmp(&a.1.episodes).then_with(|| a.0.cmp(b.0)));
    let mut p = format!(
        "<p>{} episode{} in {} file{}; {} incomplete; {} pod{} or cgroup{}; {}; {} malformed line{}.{}</p>",
        s.episodes,
        if s.episodes == 1 { "" } else { "s" },
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.incomplete,
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if rows.len() == 1 { "" } else { "s" },
        esc(&super::duplicates_phrase(s)),
        s.malformed_lines,
        if s.malformed_lines == 1 { "" } else { "s" },
        match h.n > DETAILS {
            true => format!(" The first {DETAILS} are shown in full, the next as rows."),
            false => String::new(),
        }
    );
    p.push_str(&timeline(h, &rows));
    p.push_str("<h2>By pod or cgroup</h2><table><tr><th class=\"n\">episodes</th><th>pod or cgroup</th><th>first</th><th>last</th><th>causes</th><th>victim most killed</th><th class=\"n\">peak usage</th><th class=\"n\">limit</th></tr>");
    let t = |g: &crate::model::GroupTime| {
        esc(g
            .wall
            .as_deref()
            .map_or_else(
                || g.uptime_s.map_or("-".to_owned(), |u| format!("{u:.3}s")),
                str::to_owned,
            )
            .as_str())
    };
    for (name, r) in rows.iter().take(SHOWN) {
        let _ = write!(
            p,
            "<tr><td class=\"n\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            r.episodes,
            esc(name),
            t(&r.first),
            t(&r.last),
            esc(&causes_text(r, ", ", " ")),
            r.victim.as_ref().map_or("-".to_owned(), |v| format!("{} ×{}", esc(&v.comm), v.kills)),
            r.peak_usage_bytes.map_or("-".to_owned(), human_bytes),
            match r.peak_usage_bytes {
                Some(_) => limit_text(r.limit_bytes, r.unlimited),
                None => "-".to_owned(),
            }
        );
    }
    p.push_str("</table>");
    let hidden = rows.len().saturating_sub(SHOWN);
    if hidden > 0 {
        let eps: u64 = rows.iter().skip(SHOWN).map(|r| r.1.episodes).sum();
        let _ = write!(
            p,
            "<p class=\"note\">{eps} more episodes in {hidden} more pods or cgroups, not listed.</p>"
        );
    }
    let rest = h.rest.row(Default::default(), true).episodes;
    if rest > 0 {
        let _ = write!(
            p,
            "<p class=\"note\">{rest} episodes of pods or cgroups past the first {GROUPS_MAX}, counted together, not listed.</p>"
        );
    }
    p
}

/// Episodes per group over time: one line per group (the most episodes
/// first), a dot per episode coloured by cause.
fn timeline(h: &HtmlSink<'_>, rows: &[(&str, GroupRow)]) -> String {
    let (points, axis) = match h.wall.len() >= h.uptime.len() {
        true => (&h.wall, "wall clock (UTC where the log says no zone)"),
        false => (&h.uptime, "seconds since boot"),
    };
    if points.is_empty() {
        return "<p class=\"note\">No episode has a time to draw a timeline with.</p>".to_owned();
    }
    let shown: HashMap<usize, usize> = rows
        .iter()
        .take(SHOWN)
        .enumerate()
        .filter_map(|(line, (name, _))| h.groups.get(*name).map(|&g| (g, line)))
        .collect();
    let (lo, hi) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.t), hi.max(p.t)));
    let span = (hi - lo).max(1.0);
    const LABEL: f64 = 260.0;
    const PLOT: f64 = 620.0;
    let height = shown.len() * 16 + 24;
    let mut s = format!(
        "<h2>Timeline</h2><svg width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"timeline\">",
        LABEL + PLOT + 10.0
    );
    for (name, _) in rows.iter().take(SHOWN) {
        let Some(line) = h.groups.get(*name).and_then(|g| shown.get(g)) else {
            continue;
        };
        let y = line * 16 + 12;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{y}\">{}</text><line x1=\"{LABEL}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
            esc(&cells::cut_path(name, 40)),
            LABEL + PLOT,
            y - 4,
            y - 4
        );
    }
    let mut drawn = 0u64;
    for p in points {
        let Some(line) = shown.get(&(p.group as usize)) else {
            continue;
        };
        let x = LABEL + (p.t - lo) / span * PLOT;
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>",
            line * 16 + 8,
            cause_color(p.cause)
        );
        drawn += 1;
    }
    let fmt = |t: f64| match axis.starts_with("wall") {
        true => chrono::DateTime::from_timestamp(t as i64, 0)
            .map_or(String::new(), |d| d.format("%Y-%m-%d %H:%M:%S").to_string()),
        false => format!("{t:.0}s"),
    };
    let y = shown.len() * 16 + 18;
    let _ = write!(
        s,
        "<text x=\"{LABEL}\" y=\"{y}\">{}</text><text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text></svg>",
        fmt(lo),
        LABEL + PLOT,
        fmt(hi)
    );
    let off = h.n.saturating_sub(drawn);
    let _ = write!(
        s,
        "<p class=\"note\">Axis: {axis}. Colours: <span class=\"anon\">anon</span>, <span class=\"page_cache\">page cache</span>, <span class=\"shmem\">shmem</span>, <span class=\"kernel\">kernel</span>, <span class=\"fragmentation\">fragmentation</span>, <span class=\"unknown\">unknown</span>.{}</p>",
        match off {
            0 => String::new(),
            n => format!(" {n} episodes not drawn (another clock, no time, or beyond the {SHOWN} largest groups)."),
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_that_names_a_reason_has_its_colour() {
        use crate::model::Cause;
        // Page cache shares write cache's colour: both are page cache.
        let causes: Vec<Cause> = Cause::ALL
            .into_iter()
            .filter(|c| c.names_a_reason() && *c != Cause::PageCache)
            .collect();
        let colours: std::collections::BTreeSet<_> = causes.iter().map(|c| cause_color(c.as_str())).collect();
        assert_eq!(colours.len(), causes.len(), "{colours:?}");
        assert!(!colours.contains(cause_color("unknown")));
    }

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc("a&b \"c\" 'd'"), "a&amp;b &quot;c&quot; &#39;d&#39;");
        assert_eq!(esc("x\u{1b}y\u{7}"), "x\\x1by\\x07");
    }

    #[test]
    fn wall_clocks_read_with_and_without_zone() {
        assert_eq!(epoch_s("1970-01-01T00:01:00Z"), Some(60.0));
        assert_eq!(epoch_s("1970-01-01T01:01:00+01:00"), Some(60.0));
        assert_eq!(epoch_s("1970-01-01T00:01:00.5"), Some(60.5));
        assert_eq!(epoch_s("Nov 22"), None);
    }
}
