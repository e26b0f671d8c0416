//! Diagnosis: why an OOM happened, with the numbers that decided it and
//! what to do about it.
//!
//! Pure: takes a finished [`Episode`] and returns a [`Diagnosis`]. The
//! memory of the cgroup (or, for a global OOM, of the machine) is split into
//! anonymous, page cache, shared memory and kernel memory from whichever
//! source the report has ([`breakdown`]); the largest part names the cause,
//! with page cache split by how much of it was dirty or under writeback
//! (cache that cannot be dropped quickly). The thresholds are the constants
//! below, documented in README "Diagnosis" and tested at their edges.

mod breakdown;
mod causes;
mod fit;
mod kill_line;
mod write;

pub use crate::model::{Cause, Diagnosis, Evidence, EvidenceSource as Source, TopTask};
pub use breakdown::{breakdown, Breakdown};
pub use causes::{CONSTRAINED_FREE_SHARE, HUGETLB_SHARE, LOWERED_OVER_MIN, LOWERED_OVER_SHARE, UNEVICTABLE_SHARE};
pub use kill_line::KILL_LINE_DECIDES;

use crate::model::{Episode, Printed, Scope, Text};

/// Dirty + writeback at or above this share of page cache makes the cache
/// "write cache": it cannot be reclaimed until written back.
pub const DIRTY_SHARE_OF_CACHE: f64 = 0.30;
/// ...or at or above this share of all usage.
pub const DIRTY_SHARE_OF_USAGE: f64 = 0.10;
/// Without stats: the task table's RSS explaining at most this share of a
/// memcg's usage at its limit means the rest was page cache the kernel could
/// not reclaim (the seed 004 case).
pub const RSS_EXPLAINS_AT_MOST: f64 = 0.50;
/// Usage within this share of the limit counts as "at the limit".
pub const AT_LIMIT: f64 = 0.95;
/// Allocations of at least this order need contiguous pages. (The kernel
/// never OOM-kills for orders above 3, PAGE_ALLOC_COSTLY_ORDER, so every
/// high-order OOM is of order 1 to 3.)
pub const HIGH_ORDER: i32 = 1;
/// Free memory at or above this share of RAM when a high-order allocation
/// failed globally means fragmentation, not exhaustion.
pub const FRAGMENTED_FREE_SHARE: f64 = 0.02;

impl Diagnosis {
    /// A diagnosis whose sentences pass the model's text gate: they quote
    /// names and paths from the log.
    fn new(cause: Cause, summary: String, evidence: Evidence, advice: Vec<String>) -> Diagnosis {
        Diagnosis {
            cause,
            summary: summary.into(),
            evidence,
            advice: advice.into_iter().map(Text::from).collect(),
        }
    }
}

/// `part` as a share of `total`, rounded to 0.1 %, never above 1: a part
/// read from another counter than the total (RSS counts shared pages in
/// every process that maps them) is taken as all of it at most.
fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (part.min(total) as f64 / total as f64 * 1000.0).round() / 1000.0)
}

/// `part` as a share of the total the evidence is of, naming that base:
/// "12% of its 32.0 MiB usage", "80% of its 16.0 GiB of RAM".
fn of_total(part: Option<u64>, ev: &Evidence, ep: &Episode) -> String {
    let total = ev.total_bytes.unwrap_or(0);
    format!(
        "{} of its {} {}{}",
        part.map_or("?".to_owned(), |p| crate::units::percent(p, total)),
        crate::units::human_bytes(total),
        base_word(ep),
        // A joined snapshot's numbers are of its own moment.
        if ev.source == Some(Source::Snapshot) {
            " in the snapshot"
        } else {
            ""
        }
    )
}

/// True for an OOM of a memory cgroup's limit: its `oom-kill:` line says
/// CONSTRAINT_MEMCG, or the report prints the memcg's `memory: usage …`
/// counter or `Task in … killed as a result of limit of …`, as memcg OOMs
/// of old kernels do whose constraint reads CONSTRAINT_NONE.
fn memcg_oom(ep: &Episode) -> bool {
    ep.scope == Some(Scope::Memcg) || ep.memcg.is_some()
}

/// What the evidence's total is: a memcg's usage, or the machine's RAM.
fn base_word(ep: &Episode) -> &'static str {
    if memcg_oom(ep) {
        "usage"
    } else {
        "of RAM"
    }
}

/// Explain a finished episode: the pod, container or unit its cgroups name
/// (`k8s`), and why it happened. Every producer of episodes (analyze,
/// replay, watch, the guard) calls this on each one it emits, so all give
/// the same fields.
pub fn explain(ep: &mut Episode) {
    crate::k8s::attribute_episode(ep);
    // "Kernel panic - not syncing: Out of memory and no killable
    // processes...": the panic is the ending of a report with nothing to
    // kill, and says so.
    ep.no_killable = fit::no_killable(ep);
    ep.diagnosis = Some(diagnose(ep));
}

/// Diagnose one episode.
pub fn diagnose(ep: &Episode) -> Diagnosis {
    if !from_guard(ep) {
        return diagnose_report(ep);
    }
    // An oom-guard event: its numbers are the guard's reading of the
    // cgroup, not a kernel report.
    let b = breakdown(ep);
    if ep.guard.as_ref().is_some_and(|g| g.action.as_str() == "kernel_first") {
        return Diagnosis::new(
            Cause::Unknown,
            "The kernel's OOM killer came first: the guard read the cgroup after that kill, so its numbers do not say what filled it; the kernel's own report (dmesg) does.".to_owned(),
            b.evidence(ep),
            vec![
                "Give the guard more time: a larger --min-margin or --margin-ratio; on cgroup v1 the margin is all the time it has (on v2 memory.high throttles the grower at the threshold).".to_owned(),
            ],
        );
    }
    diagnose_report(ep)
}

/// True for an oom-guard event's episode: no kernel report is involved, so
/// nothing about the kernel's task dump applies.
fn from_guard(ep: &Episode) -> bool {
    ep.killer == crate::model::Killer::OomGuard
}

/// Diagnose a kernel report's episode.
fn diagnose_report(ep: &Episode) -> Diagnosis {
    let mut b = breakdown(ep);
    if b.source.is_none() && memcg_oom(ep) {
        if let Some(k) = kill_line::from_kill_line(ep) {
            b = k;
        }
    }
    let mut ev = b.evidence(ep);
    if b.source == Some(Source::KillLine) {
        ev.top_task = kill_line::victim_task(ep, ev.total_bytes.unwrap_or(0));
    }
    if ep.manual {
        return Diagnosis::new(
            Cause::Manual,
            "A manual OOM kill (sysrq-f): nothing ran out of memory.".to_owned(),
            ev,
            vec!["Find who triggered sysrq-f (an operator, a watchdog); no memory setting needs changing.".to_owned()],
        );
    }
    let total = ev.total_bytes.unwrap_or(0);
    // What bound, before what filled: a lowered limit, memory+swap, a
    // cpuset or mempolicy with memory elsewhere.
    let bound = if memcg_oom(ep) {
        causes::limit_lowered(ep)
            .map(|(s, a)| (Cause::LimitLowered, s, a, None))
            .or_else(|| causes::memsw(ep).map(|(s, a)| (Cause::Memsw, s, a, None)))
    } else {
        causes::constrained(ep, &ev).map(|(s, a, sh)| (Cause::Constrained, s, a, Some(sh)))
    };
    if let Some((cause, summary, advice, sh)) = bound {
        let summary = match held(ep, &ev) {
            Some(h) => format!("{summary} {h}"),
            None => summary,
        };
        ev.share = sh;
        let (summary, advice) = ending(ep, summary, advice);
        return Diagnosis::new(cause, summary, ev, advice);
    }
    if !memcg_oom(ep) {
        if let Some(d) = fragmentation(ep, &ev) {
            return d;
        }
    }
    if !memcg_oom(ep) {
        if let Some((summary, advice, sh)) = causes::hugetlb(ep, &ev) {
            ev.share = Some(sh);
            let (summary, advice) = ending(ep, summary, advice);
            return Diagnosis::new(Cause::Hugetlb, summary, ev, advice);
        }
    }
    if let Some((summary, advice, sh)) = causes::unevictable(ep, &ev, memcg_oom(ep)) {
        ev.share = Some(sh);
        let (summary, advice) = ending(ep, summary, advice);
        return Diagnosis::new(Cause::Unevictable, summary, ev, advice);
    }
    let parts = [
        (Cause::Anon, ev.anon_bytes),
        (Cause::PageCache, ev.file_bytes),
        (Cause::Shmem, ev.shmem_bytes),
        (Cause::Kernel, ev.kernel_bytes),
    ];
    let largest = parts
        .iter()
        .filter_map(|(c, v)| v.map(|v| (*c, v)))
        .max_by_key(|(_, v)| *v);
    let (mut cause, part) = match largest {
        // The kill line shows the victims' RSS, not the rest of usage: it
        // decides only when one kind of it is nearly all of usage.
        Some((_, v)) if b.source == Some(Source::KillLine) && !kill_line::decides(v, total) => {
            ev.share = share(v, total);
            let (summary, advice) = ending(ep, kill_line_short(ep, &ev), unknown_text(ep).1);
            return Diagnosis::new(Cause::Unknown, summary, ev, advice);
        }
        Some((c, v)) if v > 0 && total > 0 => (c, v),
        _ => (Cause::Unknown, 0),
    };
    if cause == Cause::PageCache {
        let dirty = ev
            .dirty_bytes
            .unwrap_or(0)
            .saturating_add(ev.writeback_bytes.unwrap_or(0));
        let of_cache = dirty as f64 / part.max(1) as f64;
        let of_usage = dirty as f64 / total.max(1) as f64;
        // Dirty counts unknown (stats that do not print them) and the
        // allocation that failed was itself a page-cache write.
        let writing = ev.dirty_bytes.is_none() && write::page_cache_write(ep) == Some(true);
        if of_cache >= DIRTY_SHARE_OF_CACHE
            || of_usage >= DIRTY_SHARE_OF_USAGE
            || b.source == Some(Source::TaskTable)
            || writing
        {
            // From the task table alone the non-RSS part is inferred to be
            // cache the kernel could not drop: dirty or under writeback.
            cause = Cause::WriteCache;
        }
    }
    ev.share = share(part, total);
    let scope_word = match fit::whose(ep) {
        fit::Whose::Cgroup => "the cgroup's",
        fit::Whose::Pods => "the pods' (node allocatable)",
        fit::Whose::Machine => "the machine's",
    };
    let (summary, advice) = match cause {
        Cause::WriteCache => write_cache_text(ep, &ev, scope_word),
        Cause::PageCache => (
            match ev.source {
                Some(Source::KillLine) => format!(
                    "Files the victim mapped filled {} memory: {} was its file-rss{}, which could not be reclaimed while mapped; the report does not say how much was dirty.",
                    scope_word,
                    of_total(ev.file_bytes, &ev, ep),
                    rests_on(&ev)
                ),
                _ => format!(
                    "Page cache filled {} memory ({}) yet could not be reclaimed in time; little of it was dirty.",
                    scope_word,
                    of_total(ev.file_bytes, &ev, ep)
                ),
            },
            vec![
                "Check for mlocked or actively re-read files (unevictable, active_file) and for memory.min/low protection.".to_owned(),
                match (fit::whose(ep), cgroup_version(ep)) {
                    (fit::Whose::Machine, _) => "The machine has no limit to reclaim at: raise vm.min_free_kbytes or vm.watermark_scale_factor so kswapd reclaims sooner, and look for what keeps the cache in use (mapped or locked files).".to_owned(),
                    (_, Some(1)) => "cgroup v1 reclaims only at the limit: leave room above the cache the workload keeps hot, or move to cgroup v2 and set memory.high below memory.max so reclaim starts earlier.".to_owned(),
                    (_, Some(_)) => "Set memory.high below memory.max so reclaim starts before the OOM.".to_owned(),
                    (_, None) => "Reclaim starts only at the limit: leave room above the cache the workload keeps hot.".to_owned(),
                },
            ],
        ),
        Cause::Anon => anon_text(ep, &ev, scope_word),
        Cause::Shmem => (
            match ev.source {
                Some(Source::KillLine) => format!(
                    "Shared memory (tmpfs, /dev/shm, memfd) filled {} memory: {} was the victim's shmem-rss{}; it cannot be reclaimed without swap.",
                    scope_word,
                    of_total(ev.shmem_bytes, &ev, ep),
                    rests_on(&ev)
                ),
                _ => format!(
                    "Shared memory (tmpfs, /dev/shm, memfd) filled {} memory ({}); it cannot be reclaimed without swap.",
                    scope_word,
                    of_total(ev.shmem_bytes, &ev, ep)
                ),
            },
            vec![
                "Find large files in tmpfs mounts (emptyDir medium: Memory, /dev/shm) and size-limit them.".to_owned(),
                "Count tmpfs usage in the memory limit or move the data to disk.".to_owned(),
            ],
        ),
        Cause::Kernel => (
            format!("Kernel memory (slab, sockets, stacks, page tables) filled {} memory ({}).", scope_word, of_total(ev.kernel_bytes, &ev, ep)),
            vec![
                "Look for socket buffers or dentry/inode slab growth (many connections or files).".to_owned(),
                match (fit::whose(ep), cgroup_version(ep)) {
                    (fit::Whose::Machine, _) => "Read slabtop or /proc/slabinfo for the cache that grows, and the socket counts (ss -s).",
                    (_, Some(2)) => "cgroup v2 already counts kernel memory in memory.max: read memory.stat's slab, sock and kernel_stack for the part that grows.",
                    _ => "On cgroup v1 set a kmem limit or move to cgroup v2, which accounts kernel memory with the rest.",
                }
                .to_owned(),
            ],
        ),
        _ => unknown_text(ep),
    };
    let (summary, advice) = ending(ep, summary, advice);
    Diagnosis::new(cause, summary, ev, advice)
}

/// What the memory held, by its largest part, for a cause that names what
/// bound rather than what filled: "It held: 99% of its 64.2 MiB usage was
/// anonymous."
fn held(ep: &Episode, ev: &Evidence) -> Option<String> {
    let parts = [
        ("anonymous", ev.anon_bytes),
        ("page cache", ev.file_bytes),
        ("shared memory", ev.shmem_bytes),
        ("kernel memory", ev.kernel_bytes),
    ];
    let (kind, v) = parts
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .max_by_key(|(_, v)| *v)
        .filter(|(_, v)| *v > 0 && ev.total_bytes.unwrap_or(0) > 0)?;
    Some(format!(
        "It held: {} was {kind}{}.",
        of_total(Some(v), ev, ep),
        rests_on(ev)
    ))
}

/// The kill line's RSS does not decide: say what it shows.
fn kill_line_short(ep: &Episode, ev: &Evidence) -> String {
    format!(
        "Usage was at the limit, but the report keeps only the kill line: the victim's RSS (anon {}, file {}, shmem {}) is, in its largest part, {}, too little to say what filled the rest.",
        ev.anon_bytes.map_or("?".to_owned(), crate::units::human_bytes),
        ev.file_bytes.map_or("?".to_owned(), crate::units::human_bytes),
        ev.shmem_bytes.map_or("?".to_owned(), crate::units::human_bytes),
        of_total(ev.anon_bytes.max(ev.file_bytes).max(ev.shmem_bytes), ev, ep)
    )
}

/// What a share rests on, where that is not the report's own split: the
/// victim's kill line.
fn rests_on(ev: &Evidence) -> &'static str {
    match ev.source {
        Some(Source::KillLine) => " (by the kill line alone: the report keeps no stats or task table)",
        _ => "",
    }
}

/// Why nothing can be said, and what would let the next one be diagnosed:
/// a report without the numbers, only a kill line, or only a counter.
fn unknown_text(ep: &Episode) -> (String, Vec<String>) {
    let victim = ep.victims.first().map(|v| format!("{} ({})", v.comm, v.pid));
    match ep.printed {
        Printed::KillLine => (
            format!(
                "Only the kill line of this OOM was printed ({} was killed): the kernel prints at most 10 whole OOM reports per 5 s and shrinks the rest to their kill line (\"oom_kill_process: N callbacks suppressed\" follows), or the log lost the rest.",
                victim.unwrap_or_else(|| "a process".to_owned())
            ),
            std::iter::once("Read the whole reports printed around it: the OOMs of one burst usually share their cause.".to_owned())
                // Where watch already named the cgroup, it has done this.
                .chain(ep.task_memcg.is_none().then(|| {
                    "On cgroup v2, oomctl watch names the cgroup of such kills from memory.events.local.".to_owned()
                }))
                .collect(),
        ),
        Printed::Nothing => (
            format!(
                "An OOM kill counted in {}'s memory.events.local that no line of the kernel log shows: a record lost to an overrun, or a log the reader could not read.",
                ep.task_memcg.as_deref().unwrap_or("a cgroup")
            ),
            vec![
                "Give the watcher CAP_SYSLOG (or kernel.dmesg_restrict=0) and a large enough log buffer (log_buf_len) to read every report.".to_owned(),
            ],
        ),
        Printed::Report if from_guard(ep) => (
            "The report does not carry enough numbers to tell why memory ran out.".to_owned(),
            Vec::new(),
        ),
        Printed::Report => (
            "The report does not carry enough numbers to tell why memory ran out.".to_owned(),
            vec!["Keep vm.oom_dump_tasks=1 and capture cgroup snapshots (oomctl snapshot) so the next report can be diagnosed.".to_owned()],
        ),
    }
}

/// Reports that ended without a kill say so after the cause.
fn ending(ep: &Episode, mut summary: String, mut advice: Vec<String>) -> (String, Vec<String>) {
    let machine = fit::whose(ep) == fit::Whose::Machine;
    // A no-killable panic's advice says it all.
    let panic_says = ep.panic.as_deref().is_some_and(|p| p.contains("no killable process"));
    if fit::no_killable(ep) {
        summary.push_str(match machine {
            true => " No process could be killed (all unkillable, oom_score_adj -1000, or already exiting; or none yet, early in boot).",
            false => " No process could be killed (all unkillable, oom_score_adj -1000, or already exiting): the cgroup stays at its limit and its allocations stall or fail.",
        });
        advice.insert(
            0,
            match machine {
                _ if panic_says => "",
                true => "Do not give every process oom_score_adj -1000; leave the kernel something to kill.",
                false => "Do not give every process of a limited cgroup oom_score_adj -1000; leave the kernel something to kill, or raise the limit.",
            }
            .to_owned(),
        );
    }
    if let Some(p) = &ep.panic {
        summary.push_str(&format!(" The kernel panicked instead of killing ({p})."));
        advice.insert(0, fit::panic_advice(p));
    }
    advice.retain(|a| !a.is_empty());
    (summary, advice)
}

/// The cgroup version the report shows: v1 by its `memory+swap`/`kmem`
/// counters, v1 stats or a kernel older than 4.5, v2 by its `swap:`
/// counter; None when it shows neither (a kill line, a task table alone,
/// stats in 5.3+'s key names, which v1 prints too).
fn cgroup_version(ep: &Episode) -> Option<u8> {
    use crate::model::StatsFormat;
    let v1 = ep.memsw.is_some()
        || ep.kmem.is_some()
        || ep
            .memcg_stats
            .iter()
            .any(|s| matches!(s.format, StatsFormat::V1 | StatsFormat::V1Oneline));
    // Not the stats' key names: 5.3+ kernels print memory.stat's v2 keys
    // on cgroup v1 too. v2's own counter is `swap:`.
    let v2 = ep.swap.is_some();
    // A kernel older than cgroup v2's memory controller (4.5) has only v1.
    let v1 = v1 || (!v2 && fit::before_cgroup_v2(ep));
    match (v1, v2) {
        (true, false) => Some(1),
        (false, true) => Some(2),
        _ => None,
    }
}

/// How to slow a growing cgroup down before its kill, in the words of its
/// cgroup version: v1 has no memory.high.
fn throttle_advice(ep: &Episode) -> String {
    match cgroup_version(ep) {
        Some(2) => "Set memory.high a little below memory.max to throttle the growth and observe it before the kill.".to_owned(),
        Some(_) => "cgroup v1 has no memory.high: alert before the limit instead (a memory.usage_in_bytes threshold, or oomctl guard), or move to cgroup v2 and set memory.high below memory.max.".to_owned(),
        // memory.high only where the report shows cgroup v2.
        None => "Alert before the limit (oomctl guard, or a usage threshold) to see the growth before the kill.".to_owned(),
    }
}

/// To watch the process that held most of it.
fn profile_advice(t: &crate::model::TopTask, whose: fit::Whose) -> String {
    format!(
        "Profile {} ({}): if its memory grows without bound it leaks; if it plateaus, {}.",
        t.name,
        t.pid,
        match whose {
            fit::Whose::Machine => "give the machine more memory or move work off it",
            fit::Whose::Pods => "give its pod a memory limit above that plateau",
            fit::Whose::Cgroup => "raise the limit above that plateau",
        }
    )
}

/// When the memory was the workload's own and legitimate.
fn peak_advice(machine: bool) -> String {
    match machine {
        true => "Give the machine memory for the workload's peak if it is legitimate.",
        false => "Raise the limit to the workload's peak if it is legitimate.",
    }
    .to_owned()
}

/// The second advice on process memory: for a cgroup, throttle it before
/// its limit; for the machine (no limit to raise), give the workload a
/// limit of its own so it is killed alone.
fn limit_advice(ep: &Episode, machine: bool) -> String {
    match machine {
        true => "Give the workload a memory limit of its own (memory.max on cgroup v2, memory.limit_in_bytes on v1) so it is killed alone before the machine runs out.".to_owned(),
        false => throttle_advice(ep),
    }
}

fn write_cache_text(ep: &Episode, ev: &Evidence, scope_word: &str) -> (String, Vec<String>) {
    let victim = ep
        .victims
        .first()
        .map(|v| format!("{} ({})", v.comm, v.pid))
        .unwrap_or_else(|| "a process".to_owned());
    let rss = ev
        .task_rss_bytes
        .map(crate::units::human_bytes)
        .unwrap_or_else(|| "?".to_owned());
    let summary = match ev.dirty_bytes.zip(ev.writeback_bytes) {
        Some((d, w)) => format!(
            "Write cache filled {} memory: page cache was {}, {} of it dirty or under writeback, while processes held {}; {} was killed for memory it did not use.",
            scope_word,
            of_total(ev.file_bytes, ev, ep),
            crate::units::human_bytes(d.saturating_add(w)),
            rss,
            victim
        ),
        None => format!(
            "Page cache from writes most likely filled {} memory: processes held {} ({}) and the rest, {}, was {}; {} was killed for memory it did not use.",
            scope_word,
            rss,
            of_total(ev.task_rss_bytes, ev, ep),
            ev.unattributed_bytes.map(crate::units::human_bytes).unwrap_or_else(|| "?".to_owned()),
            // The same parts the chart shows: kernel memory is no cache.
            match (ev.file_bytes, ev.kernel_bytes) {
                (Some(f), Some(k)) if k > 0 => format!(
                    "cache the kernel could not reclaim ({}) and kernel memory ({})",
                    crate::units::human_bytes(f),
                    crate::units::human_bytes(k)
                ),
                _ => "cache the kernel could not reclaim".to_owned(),
            },
            victim
        ),
    };
    // What failed and where, before the victim's clause.
    let summary = match write::clause(ep) {
        Some(c) => match summary.rsplit_once("; ") {
            Some((head, tail)) => format!("{head}; {c}; {tail}"),
            None => format!("{summary} ({c})"),
        },
        None => summary,
    };
    // A machine has no limit to raise, and no cgroup version to speak of.
    let machine = fit::whose(ep) == fit::Whose::Machine;
    let version = if machine { None } else { cgroup_version(ep) };
    (summary, write::advice(ep, version, !machine))
}

/// Process memory, said with what the report shows beside it: the top
/// task's swap and swap's exhaustion; for the pods' node-allocatable
/// cgroup, the advice that fits it.
fn anon_text(ep: &Episode, ev: &Evidence, scope_word: &str) -> (String, Vec<String>) {
    let (mut summary, mut advice) = process_text(ep, ev, scope_word);
    let note = match &ev.top_task {
        Some(t) => fit::swap_note(ep, t.pid),
        None => fit::swap_exhausted(ep).map(|why| format!("swap was exhausted ({why})")),
    };
    if let Some(note) = note {
        if summary.ends_with('.') {
            summary.pop();
        }
        summary.push_str(&format!("; {note}."));
    }
    if fit::whose(ep) == fit::Whose::Pods {
        advice.retain(|a| a.starts_with("Profile ") || a.starts_with("Keep vm.oom_dump_tasks"));
        for (i, a) in fit::pods_advice().into_iter().enumerate() {
            advice.insert(i, a);
        }
    }
    (summary, advice)
}

fn process_text(ep: &Episode, ev: &Evidence, scope_word: &str) -> (String, Vec<String>) {
    // From the task table alone the processes' part is their charged RSS
    // (anonymous and shared where the kernel splits it).
    let what = if ev.source == Some(Source::TaskTable) {
        if ep.tasks.iter().all(|t| t.rss_anon_bytes.is_some()) {
            "the processes' anonymous and shared memory (task table; the report has no stats)"
        } else {
            "the processes' resident memory (task table; the report has no stats)"
        }
    } else {
        "anonymous"
    };
    let filled = format!(
        "Process memory filled {} memory: {} was {}",
        scope_word,
        of_total(ev.anon_bytes, ev, ep),
        what
    );
    let whose = fit::whose(ep);
    let machine = whose == fit::Whose::Machine;
    let ending = match whose {
        fit::Whose::Machine => "a leak, or more than this machine holds",
        fit::Whose::Pods => "a leak, or a pod without a limit of its own outgrowing the node's allocatable memory",
        fit::Whose::Cgroup => "a leak or a limit too small for it",
    };
    let total = ev.total_bytes.unwrap_or(0);
    if let (Some(Source::KillLine), Some(t)) = (ev.source, &ev.top_task) {
        // The victim is the only process the report shows: its anon-rss is
        // the whole figure, said once.
        return (
            format!(
                "Process memory filled {scope_word} memory: the victim {} ({}) held {} of anonymous memory, {}, by its kill line's anon-rss (the report keeps no stats or task table): {ending}.",
                t.name,
                t.pid,
                ev.anon_bytes.map_or("?".to_owned(), crate::units::human_bytes),
                of_total(ev.anon_bytes, ev, ep),
            ),
            vec![profile_advice(t, whose), limit_advice(ep, machine)],
        );
    }
    match &ev.top_task {
        // Its own memory is more than all there was: its RSS counts file
        // pages charged elsewhere, so no share of the total can be said.
        Some(t) if t.charged_bytes > total && total > 0 => (
            format!(
                "{filled}; {} ({}) had {} resident, more than all of it: its RSS counts file pages charged elsewhere.",
                t.name,
                t.pid,
                crate::units::human_bytes(t.rss_bytes)
            ),
            vec![profile_advice(t, whose), limit_advice(ep, machine)],
        ),
        Some(t) if t.share.is_some_and(|s| s >= 0.5) => (
            format!(
                "{filled}; {} ({}) alone held {} of it ({}{}): {ending}.",
                t.name,
                t.pid,
                crate::units::human_bytes(t.charged_bytes),
                of_total(Some(t.charged_bytes), ev, ep),
                // Without the kernel's split its file pages count too.
                if fit::rss_split(ep, t.pid) {
                    ""
                } else {
                    "; its whole RSS: the report does not split out its file pages"
                },
            ),
            vec![profile_advice(t, whose), limit_advice(ep, machine)],
        ),
        None if from_guard(ep) => (
            format!("{filled}; the guard's event lists no task sizes to say whose."),
            vec![peak_advice(machine)],
        ),
        None => (
            format!("{filled}; the report lists no tasks to say whose."),
            vec![
                "Keep vm.oom_dump_tasks=1 so reports list the tasks, or capture them with oomctl snapshot.".to_owned(),
                peak_advice(machine),
            ],
        ),
        _ => (
            format!(
                "{filled}, spread over several processes: the {} is too small for the workload.",
                match whose {
                    fit::Whose::Machine => "machine",
                    fit::Whose::Pods => "node's allocatable memory",
                    fit::Whose::Cgroup => "limit",
                }
            ),
            vec![
                match machine {
                    true => {
                        "Give the machine memory for the workload's peak, or reduce the number of processes/workers."
                    }
                    false => "Raise the limit to the workload's peak, or reduce the number of processes/workers.",
                }
                .to_owned(),
                "Check each process's growth over time; no single one dominates.".to_owned(),
            ],
        ),
    }
}

/// A global high-order allocation failing while memory was free, judged as
/// the kernel judges it: from each usable zone's free memory against its
/// min watermark and lowmem reserve, and its buddy lists
/// ([`breakdown::zone_verdict`]). Only a report without zone lines falls
/// back to free memory ≥ [`FRAGMENTED_FREE_SHARE`] of RAM.
fn fragmentation(ep: &Episode, ev: &Evidence) -> Option<Diagnosis> {
    use breakdown::ZoneVerdict;
    let order = ep.trigger.as_ref()?.order?;
    if order < HIGH_ORDER {
        return None;
    }
    let ram = ep.mem_info.as_ref()?.ram_bytes.or(ev.total_bytes);
    let h = crate::units::human_bytes;
    let (free, summary) = match breakdown::zone_verdict(ep, order) {
        // A report cut before its zone lines: by free memory alone.
        None => {
            let free = ev.free_bytes?;
            if (free as f64) < FRAGMENTED_FREE_SHARE * ram? as f64 {
                return None;
            }
            (
                free,
                format!(
                    "An order-{order} allocation ({} contiguous) failed while {} was free: memory was fragmented, not exhausted (the report prints no zones to confirm it).",
                    h(ep.page_size << order.clamp(0, 20)),
                    h(free)
                ),
            )
        }
        Some(ZoneVerdict::Exhausted { .. } | ZoneVerdict::Fits) => return None,
        Some(ZoneVerdict::Fragmented {
            zone,
            free,
            min,
            largest,
            wanted,
        }) => (
            ev.free_bytes.unwrap_or(free),
            format!(
                "An order-{order} allocation ({} contiguous) failed while zone {zone} had {} free, above its min watermark of {}, {}: memory was fragmented, not exhausted.",
                h(wanted),
                h(free),
                h(min),
                match largest {
                    Some(0) => "but no free block at all".to_owned(),
                    Some(l) => format!("but its largest free block was {}", h(l)),
                    None => "and no block that large (the report prints no buddy lists)".to_owned(),
                }
            ),
        ),
    };
    Some(Diagnosis::new(
        Cause::Fragmentation,
        summary,
        Evidence {
            share: ram.and_then(|r| share(free, r)),
            ..ev.clone()
        },
        vec![
            "Find the caller of the high-order allocation (the trigger's call trace) and make it use smaller or vmalloc'd buffers.".to_owned(),
            "Raise vm.min_free_kbytes and enable proactive compaction (vm.compaction_proactiveness).".to_owned(),
        ],
    ))
}

#[cfg(test)]
mod cause_tests;
#[cfg(test)]
mod tests;
