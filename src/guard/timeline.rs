//! The guard over time (`oomctl simulate --over-time`): every setting of
//! the guard run over each sampled cgroup's usage, beside the kernel's OOMs
//! of that cgroup. Pure: samples and OOMs come in, outcomes go out.
//!
//! Per cgroup and setting, a *crossing* runs from the first sample at or
//! above the threshold (`limit − margin`) to the first one below the
//! reclaim mark (`limit − 2 × margin`, where the live guard disarms), or
//! the end of the samples. At each sample of a crossing at or above the
//! threshold the guard looks as the live guard does: the cache rule holds it back while clean
//! page cache is at least `cache_hold_ratio × limit`, else it acts (once
//! per crossing). Each crossing is one outcome:
//! - `prevented` (noop: `warned`): it acted, and a kernel OOM of the
//!   cgroup followed during the crossing; `lead_s` is how much earlier;
//! - `false_kill` (noop: `false_alarm`): it acted, and no kernel OOM
//!   followed before usage fell below the reclaim mark, or the samples
//!   ended;
//! - `held_back`: the cache rule held it back until a kernel OOM came, or
//!   for the whole crossing (`oom_at` null).
//!
//! A kernel OOM of a sampled cgroup outside any crossing is `missed`, with
//! its reason: no sample before it, the last sample more than two
//! intervals old (a gap), the last one below the threshold within the
//! interval (growth faster than the sampling), or no limit.
//!
//! The samples are what was recorded, where the guard did nothing: what
//! follows a kill the guard would have made is not known, and a crossing
//! whose OOM the guard prevented is judged by the OOM that did happen.
//!
//! Streaming: samples wait [`DELAY_S`] (of their own clock) before they
//! are judged, so that an OOM the pipeline finishes after later samples
//! were read still comes first; memory holds that window, one state per
//! cgroup and setting, and the lead times of the summaries.

use super::{choose, Candidate, GuardPolicy};
use crate::model::{
    MissReason, Policy, Proc, Process, Snapshot, StatsFormat, Text, TimelineOutcome, TimelineSummary, Verdict,
    VictimFrom,
};
use crate::recording::Compact;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// Seconds a sample waits for OOMs stamped before it.
pub const DELAY_S: f64 = 5.0;

/// A cgroup at one instant, as the guard reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Seconds since boot.
    pub up: f64,
    pub usage: Option<u64>,
    /// None when unknown or unlimited.
    pub limit: Option<u64>,
    /// Clean, reclaimable page cache (the cache rule's).
    pub clean: Option<u64>,
    /// The cgroup's processes, from a whole sample.
    pub procs: Option<Vec<Candidate>>,
}

impl Point {
    /// A compact sample; None without a time.
    pub fn compact(c: &Compact) -> Option<Point> {
        Some(Point {
            up: c.up?,
            usage: c.usage,
            limit: c.limit,
            clean: c.clean_cache(),
            procs: None,
        })
    }

    /// A whole sample; None without a time.
    pub fn snapshot(s: &Snapshot) -> Option<Point> {
        let format = if s.version == "v2" {
            StatsFormat::V2
        } else {
            StatsFormat::V1
        };
        Some(Point {
            up: s.uptime_s?,
            usage: s.usage_bytes,
            limit: s.limit_bytes,
            clean: super::clean_cache(format, &s.stat),
            procs: Some(s.processes.iter().map(candidate).collect()),
        })
    }
}

/// A process of a whole sample as the guard sees it (RSS, no swap or page
/// tables: what the sample has).
fn candidate(p: &Process) -> Candidate {
    Candidate {
        pid: p.pid,
        comm: p.comm.clone(),
        rss_swap_bytes: p.rss_bytes.unwrap_or(0),
        pgtables_bytes: 0,
        oom_score_adj: p.oom_score_adj.unwrap_or(0),
        protected: p.pid <= 1,
    }
}

/// A kernel OOM of a memcg.
#[derive(Debug, Clone, PartialEq)]
pub struct Oom {
    /// The memcg whose limit was hit.
    pub cgroup: Text,
    /// Seconds since boot.
    pub up: f64,
    pub kernel_victim: Option<Proc>,
    /// The report's task table.
    pub tasks: Vec<Candidate>,
}

/// Counts of the run that are the same for every setting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Cgroups with at least one sample.
    pub cgroups: u64,
    pub samples: u64,
    /// Samples without a time, or older than one already judged.
    pub samples_dropped: u64,
    /// Kernel OOMs of sampled cgroups.
    pub ooms: u64,
    /// Memcg OOMs of cgroups that were never sampled.
    pub ooms_unsampled: u64,
    /// OOMs that came after samples stamped later than them had been
    /// judged (more than `DELAY_S` late): judged where they came.
    pub ooms_late: u64,
    /// First and last sample time.
    pub span: Option<(f64, f64)>,
}

/// A crossing in progress, for one setting.
#[derive(Debug, Clone)]
struct Run {
    crossed_at: f64,
    limit: u64,
    margin: u64,
    threshold: u64,
    peak: u64,
    fired: Option<Fired>,
    oom: Option<OomHit>,
    ooms: u32,
}

#[derive(Debug, Clone)]
struct Fired {
    at: f64,
    /// The choice, and when its process list was read.
    choice: Option<Choice>,
}

#[derive(Debug, Clone)]
struct Choice {
    victim: Proc,
    killed: Vec<Proc>,
    from: VictimFrom,
    at: f64,
}

#[derive(Debug, Clone)]
struct OomHit {
    at: f64,
    kernel_victim: Option<Proc>,
    /// The guard's choice from the report's task table.
    report: Option<Choice>,
}

/// One sampled cgroup.
#[derive(Debug)]
struct Cgroup {
    path: Text,
    sampled: bool,
    last: Option<Point>,
    /// Seconds between its last two samples.
    spacing: Option<f64>,
    /// The latest whole sample's processes, and its time.
    procs: Option<(f64, Vec<Candidate>)>,
    /// Per setting.
    runs: Vec<Option<Run>>,
}

/// Per setting, what its summary counts; tallies of several timelines add
/// up ([`Tally::add`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    counts: HashMap<Verdict, u64>,
    held_back_oom: u64,
    leads: Vec<f64>,
    same: u64,
    other: u64,
}

impl Tally {
    pub fn add(&mut self, o: Tally) {
        for (k, v) in o.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.held_back_oom += o.held_back_oom;
        self.leads.extend(o.leads);
        self.same += o.same;
        self.other += o.other;
    }

    /// The summary of setting `p`.
    pub fn summary(&self, p: &GuardPolicy) -> TimelineSummary {
        let n = |v| self.counts.get(&v).copied().unwrap_or(0);
        let mut leads = self.leads.clone();
        leads.sort_by(f64::total_cmp);
        let median = match leads.len() {
            0 => None,
            k if k % 2 == 1 => Some(leads[k / 2]),
            k => Some(secs((leads[k / 2 - 1] + leads[k / 2]) / 2.0)),
        };
        TimelineSummary {
            policy: p.policy,
            margin_ratio: p.margin_ratio,
            min_margin_bytes: p.min_margin,
            max_margin_bytes: p.max_margin,
            cache_hold_ratio: p.cache_hold_ratio,
            prevented: n(Verdict::Prevented),
            false_kill: n(Verdict::FalseKill),
            warned: n(Verdict::Warned),
            false_alarm: n(Verdict::FalseAlarm),
            held_back: n(Verdict::HeldBack),
            held_back_oom: self.held_back_oom,
            missed: n(Verdict::Missed),
            median_lead_s: median,
            same_victim: self.same,
            other_victim: self.other,
        }
    }
}

impl Totals {
    pub fn add(&mut self, t: &Totals) {
        self.cgroups += t.cgroups;
        self.samples += t.samples;
        self.samples_dropped += t.samples_dropped;
        self.ooms += t.ooms;
        self.ooms_unsampled += t.ooms_unsampled;
        self.ooms_late += t.ooms_late;
        self.span = match (self.span, t.span) {
            (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
            (x, y) => x.or(y),
        };
    }
}

/// An OOM waiting for the samples' clock to pass it.
#[derive(Debug)]
struct Queued {
    up: f64,
    seq: u64,
    oom: Oom,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    /// Reversed: the heap's top is the earliest.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.up.total_cmp(&self.up).then(o.seq.cmp(&self.seq))
    }
}

/// The guard's settings run over samples and OOMs.
pub struct Timeline {
    settings: Vec<GuardPolicy>,
    page_size: u64,
    boot_time_us: Option<i64>,
    /// Seconds between samples, when the recording says.
    interval_s: Option<f64>,
    index: HashMap<Text, usize>,
    cgroups: Vec<Cgroup>,
    waiting: VecDeque<(usize, Point)>,
    ooms: BinaryHeap<Queued>,
    seq: u64,
    /// The time of the last sample judged.
    clock: f64,
    /// The newest sample time seen.
    newest: f64,
    tally: Vec<Tally>,
    totals: Totals,
}

type Out<'a> = &'a mut dyn FnMut(TimelineOutcome);

impl Timeline {
    pub fn new(settings: Vec<GuardPolicy>, page_size: u64, boot_time_us: Option<i64>) -> Timeline {
        let tally = vec![Tally::default(); settings.len()];
        Timeline {
            settings,
            page_size: page_size.max(1),
            boot_time_us,
            interval_s: None,
            index: HashMap::new(),
            cgroups: Vec::new(),
            waiting: VecDeque::new(),
            ooms: BinaryHeap::new(),
            seq: 0,
            clock: f64::NEG_INFINITY,
            newest: f64::NEG_INFINITY,
            tally,
            totals: Totals::default(),
        }
    }

    /// The recording's sampling interval (its `sampling` entry).
    pub fn interval(&mut self, s: f64) {
        if s.is_finite() && s > 0.0 {
            self.interval_s = Some(s);
        }
    }

    fn cgroup(&mut self, path: &Text) -> usize {
        if let Some(&i) = self.index.get(path) {
            return i;
        }
        let i = self.cgroups.len();
        self.cgroups.push(Cgroup {
            path: path.clone(),
            sampled: false,
            last: None,
            spacing: None,
            procs: None,
            runs: vec![None; self.settings.len()],
        });
        self.index.insert(path.clone(), i);
        i
    }

    /// A cgroup that sampling names: its OOMs are judged even before its
    /// first sample. Its index, for [`Timeline::sample_of`].
    pub fn declare(&mut self, path: &Text) -> usize {
        let i = self.cgroup(path);
        self.cgroups[i].sampled = true;
        i
    }

    /// A sample of `path`.
    pub fn sample(&mut self, path: &Text, p: Point, out: Out<'_>) {
        let i = self.declare(path);
        self.sample_of(i, p, out);
    }

    /// A sample of the cgroup [`Timeline::declare`] gave index `i`.
    pub fn sample_of(&mut self, i: usize, p: Point, out: Out<'_>) {
        if !p.up.is_finite() {
            self.totals.samples_dropped += 1;
            return;
        }
        if p.up < self.newest - DELAY_S {
            // Older than the window (a second recording of an earlier
            // hour): judged now, as out of order if it is, not queued
            // behind the window.
            self.judge_sample(i, p, out);
            return;
        }
        self.newest = self.newest.max(p.up);
        self.waiting.push_back((i, p));
        self.release(false, out);
    }

    /// A kernel OOM; judged when the samples' clock passes it.
    pub fn oom(&mut self, oom: Oom, out: Out<'_>) {
        if !oom.up.is_finite() {
            return;
        }
        self.seq += 1;
        self.ooms.push(Queued {
            up: oom.up,
            seq: self.seq,
            oom,
        });
        self.release(false, out);
    }

    /// Judge what waited long enough (`all`: everything).
    fn release(&mut self, all: bool, out: Out<'_>) {
        let newest = self.newest;
        while let Some((_, p)) = self.waiting.front() {
            if !all && p.up > newest - DELAY_S {
                break;
            }
            let (i, p) = self.waiting.pop_front().expect("front");
            while self.ooms.peek().is_some_and(|q| q.up <= p.up) {
                let q = self.ooms.pop().expect("peeked");
                self.judge_oom(q.oom, out);
            }
            self.judge_sample(i, p, out);
        }
        if all {
            while let Some(q) = self.ooms.pop() {
                self.judge_oom(q.oom, out);
            }
        }
    }

    fn judge_sample(&mut self, i: usize, mut p: Point, out: Out<'_>) {
        if p.up < self.clock {
            // Out of order (a second recording of an earlier time).
            self.totals.samples_dropped += 1;
            return;
        }
        self.clock = p.up;
        self.totals.samples += 1;
        self.totals.span = Some(self.totals.span.map_or((p.up, p.up), |(a, _)| (a, p.up)));
        let page_size = self.page_size;
        let cg = &mut self.cgroups[i];
        if cg.last.is_none() {
            self.totals.cgroups += 1;
        }
        if let Some(procs) = p.procs.take() {
            cg.procs = Some((p.up, procs));
        }
        for (s, set) in self.settings.iter().enumerate() {
            // A crossing starts at the threshold and lasts until usage
            // falls below the reclaim mark, one margin lower (where the
            // live guard disarms): a cgroup that hovers around its
            // threshold is one crossing, not one per dip.
            let marks = p
                .limit
                .zip(p.usage)
                .map(|(l, u)| (l, u, set.threshold(l), set.reclaim_at(l)));
            let (limit, usage, thr) = match (marks, &cg.runs[s]) {
                (Some((l, u, thr, _)), None) if u >= thr => (l, u, thr),
                (Some((l, u, thr, low)), Some(_)) if u >= low => (l, u, thr),
                (_, run) => {
                    if run.is_some() {
                        let run = cg.runs[s].take().expect("some");
                        let row = close(&cg.path, set, run, Some(p.up), self.boot_time_us);
                        tally(&mut self.tally[s], &row);
                        out(row);
                    }
                    continue;
                }
            };
            let run = cg.runs[s].get_or_insert(Run {
                crossed_at: p.up,
                limit,
                margin: set.margin(limit),
                threshold: thr,
                peak: usage,
                fired: None,
                oom: None,
                ooms: 0,
            });
            run.peak = run.peak.max(usage);
            // The live guard looks again at every sample at or above the
            // threshold until it acts; once the kernel has killed, the
            // crossing is over.
            if usage >= thr && run.fired.is_none() && run.oom.is_none() && !set.holds_back(limit, p.clean) {
                let choice = cg
                    .procs
                    .as_ref()
                    .and_then(|(at, procs)| choice(set, procs, limit, page_size, VictimFrom::Sample, *at));
                run.fired = Some(Fired { at: p.up, choice });
            }
        }
        cg.spacing = cg.last.as_ref().map(|l| p.up - l.up).or(cg.spacing);
        cg.last = Some(p);
    }

    fn judge_oom(&mut self, oom: Oom, out: Out<'_>) {
        if oom.up < self.clock {
            self.totals.ooms_late += 1;
        }
        let Some(&i) = self.index.get(&oom.cgroup).filter(|&&i| self.cgroups[i].sampled) else {
            self.totals.ooms_unsampled += 1;
            return;
        };
        self.totals.ooms += 1;
        let page_size = self.page_size;
        let interval = self.interval_s;
        let cg = &mut self.cgroups[i];
        for (s, set) in self.settings.iter().enumerate() {
            match &mut cg.runs[s] {
                Some(run) if run.oom.is_some() => run.ooms += 1,
                Some(run) => {
                    run.ooms += 1;
                    let report = (!oom.tasks.is_empty())
                        .then(|| choice(set, &oom.tasks, run.limit, page_size, VictimFrom::Report, oom.up))
                        .flatten();
                    run.oom = Some(OomHit {
                        at: oom.up,
                        kernel_victim: oom.kernel_victim.clone(),
                        report,
                    });
                }
                None => {
                    let every = interval.or(cg.spacing);
                    let row = missed(&cg.path, cg.last.as_ref(), set, &oom, every, self.boot_time_us);
                    tally(&mut self.tally[s], &row);
                    out(row);
                }
            }
        }
    }

    /// The end of the samples: judge everything, close every crossing; the
    /// counts, and a tally per setting (in the order given).
    pub fn finish(mut self, out: Out<'_>) -> (Totals, Vec<Tally>) {
        self.release(true, out);
        for cg in &mut self.cgroups {
            for (s, set) in self.settings.iter().enumerate() {
                if let Some(run) = cg.runs[s].take() {
                    let row = close(&cg.path, set, run, None, self.boot_time_us);
                    tally(&mut self.tally[s], &row);
                    out(row);
                }
            }
        }
        (self.totals, self.tally)
    }
}

/// The guard's victim among `procs` (and, for a container kill, every
/// killable process).
fn choice(
    p: &GuardPolicy,
    procs: &[Candidate],
    limit: u64,
    page_size: u64,
    from: VictimFrom,
    at: f64,
) -> Option<Choice> {
    let total = limit / page_size.max(1);
    let c = choose(procs, total, page_size)?;
    let proc_of = |c: &Candidate| Proc {
        pid: c.pid,
        comm: c.comm.clone(),
    };
    let killed = match p.policy {
        Policy::Container => procs
            .iter()
            .filter(|c| super::badness(c, total, page_size).is_some())
            .map(proc_of)
            .collect(),
        _ => Vec::new(),
    };
    Some(Choice {
        victim: proc_of(c),
        killed,
        from,
        at,
    })
}

/// Seconds, to the microsecond (the clocks' own precision at best).
fn secs(s: f64) -> f64 {
    (s * 1e6).round() / 1e6
}

/// A time since boot in a note: to the hundredth, as samples are taken.
fn t2(s: f64) -> String {
    format!("{s:.2}")
}

fn wall(boot_time_us: Option<i64>, up: f64) -> Option<Text> {
    let us = boot_time_us?.saturating_add((up * 1e6).round() as i64);
    crate::envelope::epoch_us_iso(us).map(Text::from)
}

fn row(cgroup: &Text, p: &GuardPolicy, outcome: Verdict) -> TimelineOutcome {
    TimelineOutcome {
        cgroup: cgroup.clone(),
        policy: p.policy,
        margin_ratio: p.margin_ratio,
        cache_hold_ratio: p.cache_hold_ratio,
        outcome,
        reason: None,
        limit_bytes: None,
        margin_bytes: None,
        threshold_bytes: None,
        crossed_at: None,
        fired_at: None,
        oom_at: None,
        lead_s: None,
        below_at: None,
        peak_bytes: None,
        ooms: 0,
        victim: None,
        killed: Vec::new(),
        victim_from: None,
        kernel_victim: None,
        same_victim: None,
        wall: None,
        note: Text::default(),
    }
}

/// The outcome of a crossing that ended at `below_at` (None: the samples
/// ended).
fn close(cgroup: &Text, p: &GuardPolicy, run: Run, below_at: Option<f64>, boot: Option<i64>) -> TimelineOutcome {
    let noop = p.policy == Policy::Noop;
    let outcome = match (&run.fired, &run.oom) {
        (Some(_), Some(_)) if noop => Verdict::Warned,
        (Some(_), Some(_)) => Verdict::Prevented,
        (Some(_), None) if noop => Verdict::FalseAlarm,
        (Some(_), None) => Verdict::FalseKill,
        (None, _) => Verdict::HeldBack,
    };
    let mut r = row(cgroup, p, outcome);
    r.limit_bytes = Some(run.limit);
    r.margin_bytes = Some(run.margin);
    r.threshold_bytes = Some(run.threshold);
    r.crossed_at = Some(secs(run.crossed_at));
    r.below_at = below_at.map(secs);
    r.peak_bytes = Some(run.peak);
    r.ooms = run.ooms;
    r.oom_at = run.oom.as_ref().map(|o| secs(o.at));
    r.kernel_victim = run.oom.as_ref().and_then(|o| o.kernel_victim.clone());
    let human = crate::units::human_bytes;
    let ended = match below_at {
        Some(t) => format!("usage fell below the reclaim mark at {t:.2} s"),
        None => "usage was still above the reclaim mark when the samples ended".to_owned(),
    };
    let threshold = format!("the threshold (the limit less {})", human(run.margin));
    let Some(fired) = run.fired else {
        r.wall = wall(boot, run.crossed_at);
        r.note = match &run.oom {
            Some(o) => format!(
                "usage reached {threshold} at {} s; clean page cache held the guard back, and the kernel killed \
                 at {} s anyway",
                t2(run.crossed_at),
                t2(o.at)
            ),
            None => format!(
                "usage reached {threshold} at {} s; clean page cache held the guard back, and no kernel OOM \
                 followed: {ended}",
                t2(run.crossed_at)
            ),
        }
        .into();
        return r;
    };
    r.fired_at = Some(secs(fired.at));
    r.wall = wall(boot, fired.at);
    // The process list nearest the moment the guard acted.
    let choice = match (fired.choice, run.oom.as_ref().and_then(|o| o.report.clone())) {
        (Some(s), Some(rep)) => Some(if (rep.at - fired.at).abs() < (fired.at - s.at).abs() {
            rep
        } else {
            s
        }),
        (s, rep) => s.or(rep),
    };
    if let Some(c) = choice {
        r.victim = Some(c.victim);
        r.killed = c.killed;
        r.victim_from = Some(c.from);
    }
    let whom = r
        .victim
        .as_ref()
        .map_or("a process (no process list was sampled)".to_owned(), |v| {
            format!("{} ({})", v.comm, v.pid)
        });
    let act = match p.policy {
        Policy::Process => format!("the guard kills {whom}"),
        Policy::Container => format!("the guard kills the container of {whom}"),
        Policy::Noop => format!("the guard reports (it would name {whom})"),
    };
    r.note = match &run.oom {
        Some(o) => {
            let lead = secs(o.at - fired.at);
            r.lead_s = Some(lead);
            r.same_victim = r
                .victim
                .as_ref()
                .zip(r.kernel_victim.as_ref())
                .map(|(a, b)| a.pid == b.pid);
            format!(
                "at {} s usage was at {threshold}: {act}, {lead:.2} s before the kernel's OOM",
                t2(fired.at)
            )
        }
        None => format!(
            "at {} s usage was at {threshold}: {act}; the kernel never had to: usage peaked at {} of {}, and {ended}",
            t2(fired.at),
            human(run.peak),
            human(run.limit)
        ),
    }
    .into();
    r
}

/// A kernel OOM that no crossing came before.
fn missed(
    cgroup: &Text,
    last: Option<&Point>,
    p: &GuardPolicy,
    oom: &Oom,
    interval: Option<f64>,
    boot: Option<i64>,
) -> TimelineOutcome {
    let mut r = row(cgroup, p, Verdict::Missed);
    r.oom_at = Some(secs(oom.up));
    r.ooms = 1;
    r.kernel_victim = oom.kernel_victim.clone();
    r.wall = wall(boot, oom.up);
    let human = crate::units::human_bytes;
    let (reason, note) = match last {
        None => (
            MissReason::NoSample,
            "no sample of the cgroup came before the OOM".to_owned(),
        ),
        Some(l) => {
            let ago = format!("{:.2}", oom.up - l.up);
            match l.limit {
                None => (
                    MissReason::NoLimit,
                    format!("the last sample, {ago} s before, showed no limit: no threshold"),
                ),
                Some(limit) => {
                    r.limit_bytes = Some(limit);
                    r.margin_bytes = Some(p.margin(limit));
                    r.threshold_bytes = Some(p.threshold(limit));
                    let usage = l.usage.map_or("unknown".to_owned(), human);
                    // Jitter of the sampler: half an interval.
                    let gap = interval.map(|i| 2.5 * i);
                    if gap.is_none_or(|g| oom.up - l.up > g) {
                        let every = interval.map_or(String::new(), |i| format!(" (every {i} s)"));
                        (
                            MissReason::SamplingGap,
                            format!("the last sample{every} was {ago} s before the OOM, at {usage}"),
                        )
                    } else {
                        (
                            MissReason::TooFast,
                            format!(
                                "{ago} s before the OOM usage was {usage}, below the threshold {}: it grew to the \
                                 limit between two samples",
                                human(p.threshold(limit))
                            ),
                        )
                    }
                }
            }
        }
    };
    r.reason = Some(reason);
    r.note = note.into();
    r
}

fn tally(t: &mut Tally, r: &TimelineOutcome) {
    *t.counts.entry(r.outcome).or_default() += 1;
    if r.outcome == Verdict::HeldBack && r.oom_at.is_some() {
        t.held_back_oom += 1;
    }
    if let Some(l) = r.lead_s {
        t.leads.push(l);
    }
    match r.same_victim {
        Some(true) => t.same += 1,
        Some(false) => t.other += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests;
