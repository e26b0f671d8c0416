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

pub use crate::model::{Cause, Diagnosis, Evidence, EvidenceSource as Source, TopTask};
pub use breakdown::{breakdown, Breakdown};

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

/// What the evidence's total is: a memcg's usage, or the machine's RAM.
fn base_word(ep: &Episode) -> &'static str {
    if ep.scope == Some(Scope::Memcg) || ep.memcg.is_some() {
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
    let b = breakdown(ep);
    let mut ev = b.evidence(ep);
    if ep.manual {
        return Diagnosis::new(
            Cause::Manual,
            "A manual OOM kill (sysrq-f): nothing ran out of memory.".to_owned(),
            ev,
            vec!["Find who triggered sysrq-f (an operator, a watchdog); no memory setting needs changing.".to_owned()],
        );
    }
    let total = ev.total_bytes.unwrap_or(0);
    if ep.scope != Some(Scope::Memcg) {
        if let Some(d) = fragmentation(ep, &ev) {
            return d;
        }
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
        if of_cache >= DIRTY_SHARE_OF_CACHE || of_usage >= DIRTY_SHARE_OF_USAGE || b.source == Some(Source::TaskTable) {
            // From the task table alone the non-RSS part is inferred to be
            // cache the kernel could not drop: dirty or under writeback.
            cause = Cause::WriteCache;
        }
    }
    ev.share = share(part, total);
    let scope_word = if ep.scope == Some(Scope::Memcg) {
        "the cgroup's"
    } else {
        "the machine's"
    };
    let (summary, advice) = match cause {
        Cause::WriteCache => write_cache_text(ep, &ev, scope_word),
        Cause::PageCache => (
            format!(
                "Page cache filled {} memory ({}) yet could not be reclaimed in time; little of it was dirty.",
                scope_word,
                of_total(ev.file_bytes, &ev, ep)
            ),
            vec![
                "Check for mlocked or actively re-read files (unevictable, active_file) and for memory.min/low protection.".to_owned(),
                match cgroup_version(ep) {
                    Some(1) => "cgroup v1 reclaims only at the limit: leave room above the cache the workload keeps hot, or move to cgroup v2 and set memory.high below memory.max so reclaim starts earlier.".to_owned(),
                    Some(_) => "Set memory.high below memory.max so reclaim starts before the OOM.".to_owned(),
                    None => "On cgroup v2, set memory.high below memory.max so reclaim starts before the OOM.".to_owned(),
                },
            ],
        ),
        Cause::Anon => anon_text(ep, &ev, scope_word),
        Cause::Shmem => (
            format!("Shared memory (tmpfs, /dev/shm, memfd) filled {} memory ({}); it cannot be reclaimed without swap.", scope_word, of_total(ev.shmem_bytes, &ev, ep)),
            vec![
                "Find large files in tmpfs mounts (emptyDir medium: Memory, /dev/shm) and size-limit them.".to_owned(),
                "Count tmpfs usage in the memory limit or move the data to disk.".to_owned(),
            ],
        ),
        Cause::Kernel => (
            format!("Kernel memory (slab, sockets, stacks, page tables) filled {} memory ({}).", scope_word, of_total(ev.kernel_bytes, &ev, ep)),
            vec![
                "Look for socket buffers or dentry/inode slab growth (many connections or files).".to_owned(),
                "On cgroup v1 set a kmem limit or move to cgroup v2, which accounts kernel memory with the rest.".to_owned(),
            ],
        ),
        _ => unknown_text(ep),
    };
    let (summary, advice) = ending(ep, summary, advice);
    Diagnosis::new(cause, summary, ev, advice)
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
    if ep.no_killable {
        summary.push_str(
            " No process could be killed (all unkillable, oom_score_adj -1000, or already exiting): the cgroup stays at its limit and its allocations stall or fail.",
        );
        advice.insert(
            0,
            "Do not give every process of a limited cgroup oom_score_adj -1000; leave the kernel something to kill, or raise the limit.".to_owned(),
        );
    }
    if let Some(p) = &ep.panic {
        summary.push_str(&format!(" The kernel panicked instead of killing ({p})."));
        advice.insert(
            0,
            "vm.panic_on_oom is set: the machine reboots on every OOM; set it to 0 unless a reboot is really wanted."
                .to_owned(),
        );
    }
    (summary, advice)
}

/// The cgroup version the report shows: v1 by its `memory+swap`/`kmem`
/// counters or v1 stats, v2 by its `swap:` counter or v2 stats; None when
/// it shows neither (a kill line, a task table alone).
fn cgroup_version(ep: &Episode) -> Option<u8> {
    use crate::model::StatsFormat;
    let v1 = ep.memsw.is_some()
        || ep.kmem.is_some()
        || ep
            .memcg_stats
            .iter()
            .any(|s| matches!(s.format, StatsFormat::V1 | StatsFormat::V1Oneline));
    let v2 = ep.swap.is_some() || ep.memcg_stats.iter().any(|s| s.format == StatsFormat::V2);
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
        None => "On cgroup v2, set memory.high a little below memory.max to throttle the growth and observe it before the kill (v1 has no memory.high: alert on usage instead).".to_owned(),
    }
}

/// To watch the process that held most of it.
fn profile_advice(t: &crate::model::TopTask, machine: bool) -> String {
    format!(
        "Profile {} ({}): if its memory grows without bound it leaks; if it plateaus, {}.",
        t.name,
        t.pid,
        match machine {
            true => "give the machine more memory or move work off it",
            false => "raise the limit above that plateau",
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
    let advice = vec![
        "Write with O_DIRECT or sync in bounded chunks in the writer (qemu-img: -t none or -t directsync instead of writeback; dd: oflag=direct).".to_owned(),
        "Lower the dirty thresholds (vm.dirty_bytes / vm.dirty_background_bytes) so writeback starts sooner, or use cgroup v2, whose writeback is throttled per cgroup.".to_owned(),
        "Raise the limit only as a stopgap: the cache grows to any limit while the disk is slower than the writer.".to_owned(),
    ];
    (summary, advice)
}

fn anon_text(ep: &Episode, ev: &Evidence, scope_word: &str) -> (String, Vec<String>) {
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
    let machine = base_word(ep) != "usage";
    let ending = if machine {
        "a leak, or more than this machine holds"
    } else {
        "a leak or a limit too small for it"
    };
    let total = ev.total_bytes.unwrap_or(0);
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
            vec![profile_advice(t, machine), limit_advice(ep, machine)],
        ),
        Some(t) if t.share.is_some_and(|s| s >= 0.5) => (
            format!(
                "{filled}; {} ({}) alone held {} of it ({}): {ending}.",
                t.name,
                t.pid,
                crate::units::human_bytes(t.charged_bytes),
                of_total(Some(t.charged_bytes), ev, ep),
            ),
            vec![profile_advice(t, machine), limit_advice(ep, machine)],
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
                if machine { "machine" } else { "limit" }
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
mod tests;
