//! `oomctl simulate --over-time`'s output: one row per outcome
//! ([`TimelineOutcome`]) as it is decided, then a summary per setting
//! ([`TimelineSummary`]); with `--sweep`, only the summaries, which the
//! terminal's report and the html page draw as the trade-off a user tunes
//! by. The rows' and summaries' fields are the schema's (README "Guard
//! over time"); CSV columns are [`OUTCOME_HEADER`] and [`SUMMARY_HEADER`].

use super::cells::{self, compact_bytes, cut_end, cut_path, pad, pad_left, Paint, Style};
use super::csv::opt;
use super::html::esc;
use crate::guard::timeline::Totals;
use crate::model::{Proc, TimelineOutcome, TimelineSummary, Verdict};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The formats of `--over-time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    Table,
    Report,
    /// One JSON document: outcomes, settings, totals.
    Json,
    /// Outcomes (`--sweep`: settings), one object per line.
    Jsonl,
    Csv,
    Html,
}

/// How the run asked for its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub format: TimelineFormat,
    pub style: Style,
    /// Only the summaries: one per setting.
    pub sweep: bool,
}

/// How many inputs of each kind were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    pub recordings: u64,
    pub logs: u64,
    /// `--samples` recordings.
    pub samples: u64,
}

/// The whole run, for the end of the output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub totals: Totals,
    /// Global OOMs and oom-guard events: a memcg guard has no threshold.
    pub not_memcg: u64,
    /// Memcg OOMs of logs that no `--samples` came with.
    pub no_samples: u64,
    pub sources: Sources,
    pub timelines: u64,
    /// One per setting, in the order given.
    pub settings: Vec<TimelineSummary>,
}

/// `totals` of the JSON document (stable; append only).
#[derive(Debug, Serialize)]
struct TotalsJson {
    cgroups: u64,
    samples: u64,
    samples_dropped: u64,
    first_sample_at: Option<f64>,
    last_sample_at: Option<f64>,
    /// Kernel memcg OOMs of sampled cgroups: the ones judged.
    ooms_judged: u64,
    ooms_unsampled: u64,
    ooms_not_memcg: u64,
    ooms_without_samples: u64,
    ooms_late: u64,
    sources: Sources,
}

impl TotalsJson {
    fn of(r: &Run) -> TotalsJson {
        let t = &r.totals;
        TotalsJson {
            cgroups: t.cgroups,
            samples: t.samples,
            samples_dropped: t.samples_dropped,
            first_sample_at: t.span.map(|s| s.0),
            last_sample_at: t.span.map(|s| s.1),
            ooms_judged: t.ooms,
            ooms_unsampled: t.ooms_unsampled,
            ooms_not_memcg: r.not_memcg,
            ooms_without_samples: r.no_samples,
            ooms_late: t.ooms_late,
            sources: r.sources,
        }
    }
}

/// CSV columns of an outcome (stable; append only).
pub const OUTCOME_HEADER: [&str; 26] = [
    "cgroup",
    "policy",
    "margin_ratio",
    "cache_hold_ratio",
    "outcome",
    "reason",
    "limit_bytes",
    "margin_bytes",
    "threshold_bytes",
    "crossed_at",
    "fired_at",
    "oom_at",
    "lead_s",
    "below_at",
    "peak_bytes",
    "ooms",
    "victim",
    "victim_pid",
    "killed_pids",
    "victim_from",
    "kernel_victim",
    "kernel_victim_pid",
    "same_victim",
    "wall",
    "note",
    "unlimited_limit",
];

/// CSV columns of a setting's summary (stable; append only).
pub const SUMMARY_HEADER: [&str; 15] = [
    "policy",
    "margin_ratio",
    "min_margin_bytes",
    "max_margin_bytes",
    "cache_hold_ratio",
    "prevented",
    "false_kill",
    "warned",
    "false_alarm",
    "held_back",
    "held_back_oom",
    "missed",
    "median_lead_s",
    "same_victim",
    "other_victim",
];

fn outcome_record(r: &TimelineOutcome) -> [String; 26] {
    let text = super::csv::text_cell;
    [
        text(&r.cgroup),
        r.policy.as_str().to_owned(),
        r.margin_ratio.to_string(),
        r.cache_hold_ratio.to_string(),
        r.outcome.as_str().to_owned(),
        opt(r.reason.map(|x| x.as_str())),
        opt(r.limit_bytes),
        opt(r.margin_bytes),
        opt(r.threshold_bytes),
        opt(r.crossed_at),
        opt(r.fired_at),
        opt(r.oom_at),
        opt(r.lead_s),
        opt(r.below_at),
        opt(r.peak_bytes),
        r.ooms.to_string(),
        text(r.victim.as_ref().map_or("", |v| v.comm.as_str())),
        opt(r.victim.as_ref().map(|v| v.pid)),
        r.killed.iter().map(|k| k.pid.to_string()).collect::<Vec<_>>().join(" "),
        opt(r.victim_from.map(|f| match f {
            crate::model::VictimFrom::Sample => "sample",
            crate::model::VictimFrom::Report => "report",
        })),
        text(r.kernel_victim.as_ref().map_or("", |v| v.comm.as_str())),
        opt(r.kernel_victim.as_ref().map(|v| v.pid)),
        opt(r.same_victim),
        text(r.wall.as_deref().unwrap_or("")),
        text(&r.note),
        // Missed for no limit: the limit column is empty for that reason.
        (r.reason == Some(crate::model::MissReason::NoLimit)).to_string(),
    ]
}

fn summary_record(s: &TimelineSummary) -> [String; 15] {
    [
        s.policy.as_str().to_owned(),
        s.margin_ratio.to_string(),
        s.min_margin_bytes.to_string(),
        s.max_margin_bytes.to_string(),
        s.cache_hold_ratio.to_string(),
        s.prevented.to_string(),
        s.false_kill.to_string(),
        s.warned.to_string(),
        s.false_alarm.to_string(),
        s.held_back.to_string(),
        s.held_back_oom.to_string(),
        s.missed.to_string(),
        opt(s.median_lead_s),
        s.same_victim.to_string(),
        s.other_victim.to_string(),
    ]
}

/// Outcomes drawn on the html page; later ones are counted.
const HTML_ROWS: usize = 5_000;

/// Writes outcomes as they come, and the run's end.
pub struct TimelineSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    /// JSON and html: the outcomes kept for the end (html: at most
    /// [`HTML_ROWS`]).
    kept: Vec<TimelineOutcome>,
    rows: u64,
    csv: Option<csv::Writer<Vec<u8>>>,
}

impl<'w> TimelineSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, opts: Options) -> Self {
        let csv = (opts.format == TimelineFormat::Csv).then(|| {
            let mut w = csv::Writer::from_writer(Vec::new());
            // Into memory: cannot fail.
            let _ = match opts.sweep {
                true => w.write_record(SUMMARY_HEADER),
                false => w.write_record(OUTCOME_HEADER),
            };
            w
        });
        TimelineSink {
            out,
            opts,
            kept: Vec::new(),
            rows: 0,
            csv,
        }
    }

    fn drain_csv(&mut self) -> io::Result<()> {
        super::csv::drain(&mut self.csv, &mut *self.out)
    }

    /// One outcome, as soon as it is decided.
    pub fn outcome(&mut self, r: &TimelineOutcome) -> io::Result<()> {
        self.rows += 1;
        if self.opts.sweep {
            return Ok(());
        }
        let style = self.opts.style;
        match self.opts.format {
            TimelineFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, r)?;
                writeln!(self.out)
            }
            TimelineFormat::Csv => {
                if let Some(w) = &mut self.csv {
                    w.write_record(outcome_record(r))?;
                    if w.get_ref().len() >= 1 << 16 {
                        self.drain_csv()?;
                    }
                }
                Ok(())
            }
            TimelineFormat::Json => {
                self.kept.push(r.clone());
                Ok(())
            }
            TimelineFormat::Html => {
                if self.kept.len() < HTML_ROWS {
                    self.kept.push(r.clone());
                }
                Ok(())
            }
            TimelineFormat::Table => {
                if self.rows == 1 {
                    let h = table_header(style);
                    writeln!(self.out, "{}", Paint::Bold.paint(&h, style.color))?;
                }
                writeln!(self.out, "{}", table_line(r, style).trim_end())
            }
            TimelineFormat::Report => {
                for l in report_block(r, style) {
                    writeln!(self.out, "{l}")?;
                }
                Ok(())
            }
        }
    }

    /// The end: the settings' summaries and the run's totals.
    pub fn finish(mut self, run: &Run) -> io::Result<()> {
        let style = self.opts.style;
        match self.opts.format {
            TimelineFormat::Jsonl if self.opts.sweep => {
                for s in &run.settings {
                    serde_json::to_writer(&mut self.out, s)?;
                    writeln!(self.out)?;
                }
            }
            TimelineFormat::Jsonl => {}
            TimelineFormat::Csv => {
                if self.opts.sweep {
                    if let Some(w) = &mut self.csv {
                        for s in &run.settings {
                            w.write_record(summary_record(s))?;
                        }
                    }
                }
                self.drain_csv()?;
            }
            TimelineFormat::Json => {
                #[derive(Serialize)]
                struct Doc<'a> {
                    #[serde(skip_serializing_if = "Option::is_none")]
                    outcomes: Option<&'a [TimelineOutcome]>,
                    settings: &'a [TimelineSummary],
                    totals: TotalsJson,
                }
                let doc = Doc {
                    outcomes: (!self.opts.sweep).then_some(&self.kept[..]),
                    settings: &run.settings,
                    totals: TotalsJson::of(run),
                };
                serde_json::to_writer_pretty(&mut self.out, &doc)?;
                writeln!(self.out)?;
            }
            TimelineFormat::Table | TimelineFormat::Report => {
                let mut lines = Vec::new();
                if self.rows == 0 && !self.opts.sweep {
                    lines.push("No crossing of the threshold and no kernel OOM in the sampled cgroups.".to_owned());
                }
                if self.opts.sweep || self.opts.format == TimelineFormat::Report || run.settings.len() > 1 {
                    lines.extend(tradeoff(
                        &run.settings,
                        style,
                        self.opts.format == TimelineFormat::Report,
                    ));
                } else if let Some(s) = run.settings.first() {
                    lines.extend(cells::wrap(&summary_line(s), style.width, ""));
                }
                lines.extend(cells::wrap(&totals_line(run), style.width, ""));
                if !self.opts.sweep && self.rows > 0 && self.opts.format == TimelineFormat::Table {
                    lines.extend(cells::wrap(LEGEND, style.width, ""));
                }
                for l in lines {
                    writeln!(self.out, "{l}")?;
                }
            }
            TimelineFormat::Html => {
                let page = html_page(run, &self.kept, self.rows, self.opts.sweep);
                self.out.write_all(page.as_bytes())?;
            }
        }
        self.out.flush()
    }
}

/// What the table's short outcomes mean.
const LEGEND: &str = "OUTCOME: prevented = the guard acted before the kernel's OOM (LEAD: how much earlier); \
     false kill = it acted and the kernel never had to; held back = its cache rule waited (→oom: the kernel killed \
     anyway); missed = an OOM with no crossing before it (fast: between two samples; gap: samples missing).";

/// The table's name of an outcome.
fn short(r: &TimelineOutcome) -> String {
    use crate::model::MissReason as M;
    match (r.outcome, r.reason) {
        (Verdict::HeldBack, _) if r.oom_at.is_some() => "held→oom".to_owned(),
        (Verdict::Missed, Some(M::TooFast)) => "missed fast".to_owned(),
        (Verdict::Missed, Some(M::SamplingGap)) => "missed gap".to_owned(),
        (Verdict::Missed, Some(M::NoSample)) => "missed: none".to_owned(),
        (Verdict::Missed, Some(M::NoLimit)) => "missed: ∞".to_owned(),
        (v, _) => v.as_str().replace('_', " "),
    }
}

fn paint_of(v: Verdict) -> Option<Paint> {
    match v {
        Verdict::Prevented | Verdict::Warned => Some(Paint::Cyan),
        Verdict::FalseKill | Verdict::FalseAlarm => Some(Paint::BoldRed),
        Verdict::Missed => Some(Paint::Yellow),
        Verdict::HeldBack => None,
    }
}

/// Seconds since boot, as the table prints them.
fn at(s: Option<f64>) -> String {
    s.map_or("-".to_owned(), |s| format!("{s:.2}s"))
}

/// The outcome's first moment: when the guard acted, else crossed, else
/// the OOM.
fn moment(r: &TimelineOutcome) -> Option<f64> {
    r.fired_at.or(r.crossed_at).or(r.oom_at)
}

fn time_cell(r: &TimelineOutcome) -> String {
    match &r.wall {
        // `2026-11-28T10:00:20.123456Z` → `11-28 10:00:20`.
        Some(w) if w.len() >= 19 => format!("{} {}", &w[5..10], &w[11..19]),
        _ => at(moment(r)),
    }
}

const TIME: usize = 14;
const OUTCOME: usize = 12;
const LEAD: usize = 6;
const SIZE: usize = 5;

/// The table's columns at a width: which are drawn, and the widths of
/// the cgroup and of the two victims. Below 100 columns no peak and
/// threshold, below 70 no victims, below 50 no time, below 32 no lead.
struct Layout {
    time: bool,
    lead: bool,
    sizes: bool,
    cgroup: usize,
    victim: usize,
}

fn layout(width: usize) -> Layout {
    let (time, lead, victims, sizes) = (width >= 50, width >= 32, width >= 70, width >= 100);
    let mut fixed = OUTCOME + 1;
    if time {
        fixed += TIME + 1;
    }
    if lead {
        fixed += LEAD + 1;
    }
    if sizes {
        fixed += 2 * (SIZE + 1);
    }
    let room = width.saturating_sub(fixed).max(6);
    let victim = if victims { (room / 4).clamp(2, 22) } else { 0 };
    let cgroup = room.saturating_sub(2 * (victim + 1) * usize::from(victims)).max(6);
    Layout {
        time,
        lead,
        sizes,
        cgroup,
        victim,
    }
}

fn table_header(style: Style) -> String {
    let l = layout(style.width);
    let mut cols = Vec::new();
    if l.time {
        cols.push(pad("TIME", TIME));
    }
    cols.extend([pad(&cut_end("CGROUP", l.cgroup), l.cgroup), pad("OUTCOME", OUTCOME)]);
    if l.lead {
        cols.push(pad_left("LEAD", LEAD));
    }
    if l.sizes {
        cols.extend([pad_left("PEAK", SIZE), pad_left("THRSH", SIZE)]);
    }
    if l.victim > 0 {
        cols.extend([
            pad(&cut_end("ITS VICTIM", l.victim), l.victim),
            cut_end("KERNEL'S", l.victim),
        ]);
    }
    cols.join(" ")
}

fn table_line(r: &TimelineOutcome, style: Style) -> String {
    let l = layout(style.width);
    let name = |p: Option<&Proc>| p.map_or("-".to_owned(), |p| format!("{} {}", p.comm, p.pid));
    let outcome = pad(&short(r), OUTCOME);
    let outcome = match paint_of(r.outcome) {
        Some(p) => p.paint(&outcome, style.color),
        None => outcome,
    };
    let mut cols = Vec::new();
    if l.time {
        cols.push(pad(&cut_end(&time_cell(r), TIME), TIME));
    }
    cols.extend([pad(&cut_path(&r.cgroup, l.cgroup), l.cgroup), outcome]);
    if l.lead {
        cols.push(pad_left(&r.lead_s.map_or("-".to_owned(), |s| format!("{s:.1}s")), LEAD));
    }
    if l.sizes {
        let size = |b: Option<u64>| b.map_or("-".to_owned(), compact_bytes);
        cols.extend([
            pad_left(&size(r.peak_bytes), SIZE),
            pad_left(&size(r.threshold_bytes), SIZE),
        ]);
    }
    if l.victim > 0 {
        let kernel = match r.same_victim {
            Some(true) => "(same)".to_owned(),
            _ => name(r.kernel_victim.as_ref()),
        };
        cols.extend([
            pad(&cut_end(&name(r.victim.as_ref()), l.victim), l.victim),
            cut_end(&kernel, l.victim),
        ]);
    }
    cols.join(" ")
}

/// `-f report`: the outcome's title line and its note, wrapped.
fn report_block(r: &TimelineOutcome, style: Style) -> Vec<String> {
    let title = format!("{} {} · {}", time_cell(r), r.outcome.as_str(), r.cgroup);
    let mut lines: Vec<String> = cells::wrap(&title, style.width, "  ");
    if let (Some(first), Some(p)) = (lines.first_mut(), paint_of(r.outcome)) {
        *first = p.paint(first, style.color);
    }
    let mut note = r.note.to_string();
    if r.victim.is_some() && r.kernel_victim.is_some() {
        let _ = write!(
            note,
            "; the kernel killed {}",
            match r.same_victim {
                Some(true) => "the same process".to_owned(),
                _ => r
                    .kernel_victim
                    .as_ref()
                    .map_or(String::new(), |k| format!("{} ({})", k.comm, k.pid)),
            }
        );
    } else if let Some(k) = &r.kernel_victim {
        let _ = write!(note, "; the kernel killed {} ({})", k.comm, k.pid);
    }
    let body = cells::wrap(&format!("{note}."), style.width.saturating_sub(2).max(10), "");
    lines.extend(body.into_iter().map(|l| format!("  {l}")));
    lines.push(String::new());
    lines
}

/// A ratio as the percentage it was meant to be (`0.07` → `7%`).
fn percent(r: f64) -> String {
    let s = format!("{:.2}", r * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn setting_name(policy: &str, margin: f64, hold: f64) -> String {
    format!("{policy}, margin {}, cache hold {}", percent(margin), percent(hold))
}

fn noop(s: &TimelineSummary) -> bool {
    s.policy == crate::model::Policy::Noop
}

/// Seconds for people: `0.43 s`, `12 s`.
fn human_s(s: f64) -> String {
    match s.abs() {
        a if a < 10.0 => format!("{s:.2} s"),
        a if a < 100.0 => format!("{s:.1} s"),
        _ => format!("{s:.0} s"),
    }
}

/// One setting's outcomes in a sentence.
fn summary_line(s: &TimelineSummary) -> String {
    let count = crate::units::count;
    let (hit, miss) = match noop(s) {
        true => (format!("{} warned", s.warned), count(s.false_alarm, "false alarm")),
        false => (format!("{} prevented", s.prevented), count(s.false_kill, "false kill")),
    };
    let lead = s
        .median_lead_s
        .map_or(String::new(), |l| format!(" (median lead {})", human_s(l)));
    let held = match (s.held_back, s.held_back_oom) {
        (0, _) => String::new(),
        (n, 0) => format!(", {n} held back by the cache rule"),
        (n, k) => format!(", {n} held back by the cache rule ({k} then killed by the kernel)"),
    };
    let victims = match s.same_victim + s.other_victim {
        0 => String::new(),
        n => format!("; its victim was the kernel's in {} of {n}", s.same_victim),
    };
    format!(
        "{}: {hit}{lead}, {miss}{held}, {} missed{victims}.",
        setting_name(s.policy.as_str(), s.margin_ratio, s.cache_hold_ratio),
        s.missed
    )
}

/// What was read and what was not judged.
fn totals_line(r: &Run) -> String {
    let t = &r.totals;
    let span = t
        .span
        .map_or(String::new(), |(a, b)| format!(" over {}", duration(b - a)));
    let mut s = format!(
        "Read {} of {}{span}; {} of them judged.",
        crate::units::count(t.samples, "sample"),
        crate::units::count(t.cgroups, "cgroup"),
        crate::units::count(t.ooms, "kernel OOM"),
    );
    let mut not = Vec::new();
    if t.ooms_unsampled > 0 {
        not.push(format!("{} in cgroups not sampled", t.ooms_unsampled));
    }
    if r.not_memcg > 0 {
        not.push(format!(
            "{} not of a memcg limit (global OOMs, oom-guard events)",
            r.not_memcg
        ));
    }
    if r.no_samples > 0 {
        not.push(format!("{} of logs without --samples", r.no_samples));
    }
    if !not.is_empty() {
        let _ = write!(s, " Not judged: {}.", not.join(", "));
    }
    if t.ooms_late > 0 {
        let _ = write!(
            s,
            " {} OOM(s) came more than {} s after later samples and were judged where they came.",
            t.ooms_late,
            crate::guard::timeline::DELAY_S
        );
    }
    if t.samples_dropped > 0 {
        let _ = write!(
            s,
            " {} sample(s) without a time or out of order were skipped.",
            t.samples_dropped
        );
    }
    s
}

fn duration(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.1} s"),
        s if s < 7200.0 => format!("{:.1} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// The trade-off: per policy and cache hold, a line per margin with bars
/// for what the guard prevented and whom it killed for nothing. `explain`
/// (the report) adds what the bars are.
fn tradeoff(settings: &[TimelineSummary], style: Style, explain: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let most = settings
        .iter()
        .flat_map(|s| [s.prevented + s.warned, s.false_kill + s.false_alarm, s.missed])
        .max()
        .unwrap_or(0)
        .max(1);
    // margin, hits, bar, false, bar, held, missed, lead.
    let label = 7;
    let num = 5;
    let fixed = label + 2 * num + 4 + 7 + 7 + 8 + 6;
    let bar = (style.width.saturating_sub(fixed) / 2).clamp(0, 24);
    let draw = |n: u64, ch: char| -> String {
        let w = ((n as f64 / most as f64) * bar as f64).round() as usize;
        let w = if n > 0 { w.max(1) } else { 0 };
        pad(&ch.to_string().repeat(w), bar)
    };
    if explain {
        lines.extend(cells::wrap(
            "The guard over time, per setting: how many OOMs it prevented (█: it acted first), how many \
             processes it killed that the kernel never had to (░), how many crossings its cache rule held \
             back, how many OOMs it missed, and its median lead over the kernel.",
            style.width,
            "",
        ));
    }
    for (key, rows) in groups(settings) {
        let is_noop = rows.first().is_some_and(|s| noop(s));
        lines.push(Paint::Bold.paint(&cut_end(&key, style.width), style.color));
        if style.width < 50 {
            // No room for bars: a sentence per margin.
            for s in rows {
                let line = format!(
                    "{}: {} {}, {} {}, {} held back, {} missed{}",
                    percent(s.margin_ratio),
                    if is_noop { s.warned } else { s.prevented },
                    if is_noop { "warned" } else { "prevented" },
                    if is_noop { s.false_alarm } else { s.false_kill },
                    if is_noop { "false alarms" } else { "false kills" },
                    s.held_back,
                    s.missed,
                    s.median_lead_s
                        .map_or(String::new(), |l| format!(", lead {}", human_s(l)))
                );
                lines.extend(cells::wrap(&line, style.width, "  "));
            }
            continue;
        }
        let (h, f) = if is_noop {
            ("warned", "false alarms")
        } else {
            ("prevented", "false kills")
        };
        // Each count's name over its number and bar.
        let head = format!(
            "{} {} {} {} {} {}",
            pad("margin", label),
            pad(&cut_end(h, num + 1 + bar), num + 1 + bar),
            pad(&cut_end(f, num + 1 + bar), num + 1 + bar),
            pad_left("held", 5),
            pad_left("missed", 6),
            pad_left("lead", 7),
        );
        lines.push(cut_end(head.trim_end(), style.width));
        for s in rows {
            let (hit, fk) = match is_noop {
                true => (s.warned, s.false_alarm),
                false => (s.prevented, s.false_kill),
            };
            let line = format!(
                "{} {} {} {} {} {} {} {}",
                pad(&percent(s.margin_ratio), label),
                pad_left(&hit.to_string(), num),
                Paint::Cyan.paint(&draw(hit, '█'), style.color),
                pad_left(&fk.to_string(), num),
                Paint::Red.paint(&draw(fk, '░'), style.color),
                pad_left(&s.held_back.to_string(), 5),
                pad_left(&s.missed.to_string(), 6),
                pad_left(&s.median_lead_s.map_or("-".to_owned(), |l| format!("{l:.1}s")), 7),
            );
            lines.push(line.trim_end().to_owned());
        }
    }
    if let Some(s) = settings.first() {
        let line = format!(
            "Margin: limit × ratio, within [{}, {}].",
            crate::units::human_bytes(s.min_margin_bytes),
            crate::units::human_bytes(s.max_margin_bytes)
        );
        lines.extend(cells::wrap(&line, style.width, ""));
    }
    lines
}

/// The html page: totals, the settings (a chart of the trade-off when
/// there are several), and the outcomes.
fn html_page(run: &Run, kept: &[TimelineOutcome], rows: u64, sweep: bool) -> String {
    let mut h = String::new();
    h.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>The guard over time (oomctl)</title><style>\n",
    );
    h.push_str(super::html::STYLE);
    h.push_str(
        ".prevented,.warned{color:#077}.false_kill,.false_alarm{color:#b00;font-weight:bold}.missed{color:#a60}\n",
    );
    h.push_str("</style></head><body>\n<h1>The guard over time</h1>\n");
    let _ = writeln!(h, "<p id=\"overview\">{}</p>", esc(&totals_line(run)));
    h.push_str("<h2>Settings</h2>\n");
    if run.settings.len() > 1 {
        h.push_str(&chart(&run.settings));
    }
    h.push_str(
        "<table><tr><th>policy</th><th class=n>margin</th><th class=n>cache hold</th><th class=n>prevented</th>\
         <th class=n>false kills</th><th class=n>held back</th><th class=n>then OOM</th><th class=n>missed</th>\
         <th class=n>median lead</th><th class=n>same victim</th><th class=n>other</th></tr>\n",
    );
    for s in &run.settings {
        let (hit, fk) = match noop(s) {
            true => (s.warned, s.false_alarm),
            false => (s.prevented, s.false_kill),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{hit}</td><td class=n>{fk}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td></tr>",
            s.policy.as_str(),
            percent(s.margin_ratio),
            percent(s.cache_hold_ratio),
            s.held_back,
            s.held_back_oom,
            s.missed,
            s.median_lead_s.map_or("-".to_owned(), human_s),
            s.same_victim,
            s.other_victim
        );
    }
    h.push_str("</table>\n");
    if !sweep {
        let _ = writeln!(h, "<h2>Outcomes ({rows})</h2>");
        h.push_str(
            "<table id=\"list\"><tr><th>time</th><th>cgroup</th><th>outcome</th><th class=n>lead</th>\
             <th>the guard's victim</th><th>the kernel's</th><th>why</th></tr>\n",
        );
        let name = |p: Option<&Proc>| p.map_or("-".to_owned(), |p| esc(&format!("{} ({})", p.comm, p.pid)));
        for r in kept {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=mono>{}</td><td class=\"{}\">{}</td><td class=n>{}</td><td>{}</td>\
                 <td>{}</td><td class=note>{}</td></tr>",
                esc(&time_cell(r)),
                esc(&r.cgroup),
                r.outcome.as_str(),
                esc(&short(r)),
                r.lead_s.map_or("-".to_owned(), human_s),
                name(r.victim.as_ref()),
                name(r.kernel_victim.as_ref()),
                esc(&r.note)
            );
        }
        h.push_str("</table>\n");
        if rows > kept.len() as u64 {
            let _ = writeln!(
                h,
                "<p class=note>{} more outcomes are not drawn: the jsonl and csv formats have every one.</p>",
                rows - kept.len() as u64
            );
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// Settings by policy and cache hold, in the order given: one line of the
/// plot (terminal) or one curve (html) each.
fn groups(settings: &[TimelineSummary]) -> Vec<(String, Vec<&TimelineSummary>)> {
    let mut groups: Vec<(String, Vec<&TimelineSummary>)> = Vec::new();
    for t in settings {
        let key = format!("{}, cache hold {}", t.policy.as_str(), percent(t.cache_hold_ratio));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(t),
            None => groups.push((key, vec![t])),
        }
    }
    groups
}

/// What each curve of the chart counts.
type Count = fn(&TimelineSummary) -> u64;

/// The trade-off as an SVG: per policy and cache hold, prevented OOMs,
/// false kills and missed OOMs against the margin ratio.
fn chart(settings: &[TimelineSummary]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 260.0;
    const L: f64 = 40.0;
    const B: f64 = 30.0;
    // Above the plot: the legend, one line per group.
    const TOP: f64 = 60.0;
    let curves: [(&str, &str, Count); 3] = [
        ("#077", "prevented", |t| t.prevented + t.warned),
        ("#b00", "false kills", |t| t.false_kill + t.false_alarm),
        ("#c80", "missed", |t| t.missed),
    ];
    let most = settings
        .iter()
        .flat_map(|t| curves.map(|(_, _, f)| f(t)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut ratios: Vec<f64> = settings.iter().map(|s| s.margin_ratio).collect();
    ratios.sort_by(f64::total_cmp);
    ratios.dedup();
    let x = |r: f64| {
        let i = ratios.iter().position(|&v| v == r).unwrap_or(0) as f64;
        L + (i + 0.5) * (W - L - 10.0) / ratios.len().max(1) as f64
    };
    let y = |n: u64| H - B - (n as f64 / most) * (H - B - TOP);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"prevented OOMs, false kills and missed OOMs by margin\">\n\
         <line x1=\"{L}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\n",
        H - B,
        W - 10.0,
        H - B
    );
    for r in &ratios {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">margin {}</text>",
            x(*r),
            H - B + 16.0,
            percent(*r)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"4\" y=\"{}\">{most}</text><text x=\"4\" y=\"{}\">0</text>",
        TOP + 4.0,
        H - B
    );
    let dashes = ["", "6 3", "2 3", "8 3 2 3"];
    for (g, (key, rows)) in groups(settings).iter().enumerate() {
        let dash = dashes[g % dashes.len()];
        for (color, what, f) in curves {
            let pts: Vec<String> = rows
                .iter()
                .map(|t| format!("{:.1},{:.1}", x(t.margin_ratio), y(f(t))))
                .collect();
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" \
                 points=\"{}\"><title>{} — {what}</title></polyline>",
                pts.join(" "),
                esc(key)
            );
        }
        let line = if dash.is_empty() { "solid" } else { "dashed" };
        let _ = writeln!(
            s,
            "<text x=\"{L}\" y=\"{}\">{} ({line})</text>",
            14.0 + 14.0 * g.min(3) as f64,
            esc(key)
        );
    }
    for (k, (color, what, _)) in curves.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"14\" fill=\"{color}\">{what}</text>",
            W - 230.0 + 80.0 * k as f64
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests;
