//! The causes that are not the largest part of memory: what bound, rather
//! than what filled. Each is decided before the split names a kind, from
//! the report's counters and its header:
//! - `limit_lowered`: usage above the limit, and the OOM invoked by a writer
//!   of the limit (a shell or manager, or a task outside the cgroup);
//! - `memsw`: cgroup v1's memory+swap counter at its limit while memory is
//!   below its own;
//! - `constrained`: a cpuset or memory policy OOM while the machine had
//!   memory free elsewhere;
//! - `unevictable`: mlocked or otherwise unevictable pages are most of it.
//!
//! Each returns the summary's first sentence and its advice; the caller
//! adds what filled the memory and the ending.

use super::{share, AT_LIMIT};
use crate::model::{Episode, Evidence, Scope, StatsFormat};
use crate::units::{human_bytes, percent};

/// Usage above the limit by more than this share of it (and by more than
/// [`LOWERED_OVER_MIN`]) cannot be a charge's overshoot: the limit moved.
pub const LOWERED_OVER_SHARE: f64 = 0.01;
/// ...and by more than this many bytes (a charge batch is 64 pages).
pub const LOWERED_OVER_MIN: u64 = 1 << 20;
/// Free memory at or above this share of RAM during a cpuset or mempolicy
/// OOM means the machine had memory elsewhere.
pub const CONSTRAINED_FREE_SHARE: f64 = 0.10;
/// Unevictable pages at or above this share of the total name the cause.
pub const UNEVICTABLE_SHARE: f64 = 0.50;
/// hugetlbfs reservations at or above this share of RAM name the cause.
pub const HUGETLB_SHARE: f64 = 0.50;

/// Programs that write cgroup limits: shells (`echo 32M > memory.max`),
/// `tee`, and the managers that resize cgroups.
const WRITERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "ash",
    "zsh",
    "busybox",
    "echo",
    "tee",
    "systemd",
    "systemctl",
    "kubelet",
    "containerd",
    "runc",
    "crun",
    "dockerd",
    "podman",
    "cgset",
];

/// The cgroup's limit was lowered below its usage: the OOM was invoked by
/// the write itself (cgroup v2's memory_max_write kills until usage fits).
pub fn limit_lowered(ep: &Episode) -> Option<(String, Vec<String>)> {
    let m = ep.memcg.as_ref()?;
    let (usage, limit) = (m.usage_bytes?, m.limit_bytes?);
    let over = usage.checked_sub(limit)?;
    if over <= LOWERED_OVER_MIN || (over as f64) <= LOWERED_OVER_SHARE * limit as f64 {
        return None;
    }
    let t = ep.trigger.as_ref()?;
    let comm = t.comm.as_deref()?;
    // Outside the cgroup: not one of the tasks its table lists, by pid nor
    // by name (the header's pid is a thread's, which the table, listing
    // processes, does not show; threads mostly share their process's name).
    let outside = !ep.tasks.is_empty()
        && t.pid
            .is_some_and(|p| ep.tasks.iter().all(|r| r.pid != p && r.name.as_str() != comm));
    let writer = WRITERS.contains(&comm);
    if !outside && !writer {
        return None;
    }
    let who = match (t.pid, outside) {
        (Some(p), true) => format!("{comm} ({p}), a task outside the cgroup"),
        (Some(p), false) => format!("{comm} ({p})"),
        (None, _) => comm.to_owned(),
    };
    Some((
        format!(
            "The cgroup's limit was lowered below its usage: usage {} against a limit of {} ({} over), the OOM invoked by {who}, the writer of the new limit (memory.max on cgroup v2, memory.limit_in_bytes on v1); the kernel killed to fit the cgroup under it.",
            human_bytes(usage),
            human_bytes(limit),
            human_bytes(over),
        ),
        vec![
            format!("Find what lowered the limit ({comm}: a resize script, a vertical autoscaler, systemctl set-property) and lower it only to above the cgroup's usage."),
            "To shrink a cgroup without a kill, reclaim first (memory.reclaim on cgroup v2, memory.force_empty on v1), then lower the limit step by step.".to_owned(),
        ],
    ))
}

/// cgroup v1's memory+swap limit bound while memory was below its own.
pub fn memsw(ep: &Episode) -> Option<(String, Vec<String>)> {
    let sw = ep.memsw?;
    let sw_limit = sw.limit_bytes.filter(|&l| l > 0 && !sw.unlimited)?;
    if (sw.usage_bytes as f64) < AT_LIMIT * sw_limit as f64 {
        return None;
    }
    let m = ep.memcg.as_ref()?;
    let usage = m.usage_bytes?;
    let below = match m.limit_bytes {
        Some(l) => (usage as f64) < AT_LIMIT * l as f64,
        None => m.unlimited,
    };
    if !below {
        return None;
    }
    let memory = match m.limit_bytes {
        Some(l) => format!(
            "memory usage {} was below its own limit of {} ({} of that limit)",
            human_bytes(usage),
            human_bytes(l),
            percent(usage, l)
        ),
        None => format!("memory usage {} has no limit of its own", human_bytes(usage)),
    };
    Some((
        format!(
            "The memory+swap limit was the one hit: memory+swap usage {} at its limit of {}, while {memory}; the other {} were in swap, which could take no more.",
            human_bytes(sw.usage_bytes),
            human_bytes(sw_limit),
            human_bytes(sw.usage_bytes.saturating_sub(usage)),
        ),
        vec![
            "memory.memsw.limit_in_bytes counts swapped-out memory too: raise it above memory.limit_in_bytes by the swap the workload may use, or find what grows (swapped out, it still counts).".to_owned(),
            "Lower memory.swappiness for this cgroup if swapping only delays the kill.".to_owned(),
        ],
    ))
}

/// A cpuset or memory policy OOM while the machine had memory free.
pub fn constrained(ep: &Episode, ev: &Evidence) -> Option<(String, Vec<String>, f64)> {
    let how = match ep.scope? {
        Scope::Cpuset => "cpuset",
        Scope::Mempolicy => "memory policy",
        _ => return None,
    };
    let free = ev.free_bytes?;
    let ram = ep.mem_info.as_ref()?.ram_bytes?;
    if ram == 0 || (free as f64) < CONSTRAINED_FREE_SHARE * ram as f64 {
        return None;
    }
    let t = ep.trigger.as_ref();
    let nodes = t
        .and_then(|t| t.nodemask.as_deref().or(t.mems_allowed.as_deref()))
        .map(|n| format!(" (nodes {n})"))
        .unwrap_or_default();
    Some((
        format!(
            "The allocation was confined by its {how}{nodes} to memory that was full, while the machine had {} free ({} of its {} of RAM) elsewhere: the constraint ran out, not the machine.",
            human_bytes(free),
            percent(free, ram),
            human_bytes(ram),
        ),
        vec![
            format!("Widen the {how} (cpuset.mems, or numactl --preferred instead of --membind) or size the workload to the memory of the nodes it may use."),
            "Read the report's per-node lines (Node N … free:) for the nodes that ran out.".to_owned(),
        ],
        share(free, ram)?,
    ))
}

/// Unevictable pages (mlocked, locked shmem, ramfs) at the base the
/// evidence is of: Mem-Info's `unevictable:` for the machine, the memcg
/// stats' `unevictable` (v1 `total_unevictable` preferred; the one-line
/// form summed over its blocks) for a cgroup.
pub fn unevictable_bytes(ep: &Episode, memcg: bool) -> Option<u64> {
    if !memcg {
        return ep.mem_info.as_ref()?.counters_bytes.get("unevictable").copied();
    }
    let first = ep.memcg_stats.iter().find(|s| !s.stats.is_empty())?;
    let get = |s: &crate::model::MemcgStats, k: &str| s.stats.get(k).copied().flatten();
    match first.format {
        StatsFormat::V1Oneline => Some(crate::units::sat_sum(
            ep.memcg_stats
                .iter()
                .filter(|s| s.format == StatsFormat::V1Oneline)
                .filter_map(|s| get(s, "unevictable")),
        )),
        _ => get(first, "total_unevictable").or_else(|| get(first, "unevictable")),
    }
}

/// Unevictable memory at or above [`UNEVICTABLE_SHARE`] of the total.
pub fn unevictable(ep: &Episode, ev: &Evidence, memcg: bool) -> Option<(String, Vec<String>, f64)> {
    let total = ev.total_bytes.filter(|&t| t > 0)?;
    let u = unevictable_bytes(ep, memcg)?;
    if (u as f64) < UNEVICTABLE_SHARE * total as f64 {
        return None;
    }
    // The largest process is the usual locker (a database, a JVM).
    let top = ev
        .top_task
        .as_ref()
        .map(|t| {
            format!(
                " The largest process, {} ({}), had {} resident.",
                t.name,
                t.pid,
                human_bytes(t.rss_bytes)
            )
        })
        .unwrap_or_default();
    Some((
        format!(
            "Unevictable memory (mlocked pages, locked shared memory, ramfs) filled {} memory: {}, {}; neither reclaim nor swap can take it.{top}",
            if memcg { "the cgroup's" } else { "the machine's" },
            human_bytes(u),
            super::of_total(Some(u), ev, ep),
        ),
        vec![
            "Find who locks memory: mlock/mlockall callers (databases, JVMs with -XX:+AlwaysPreTouch and locking, real-time tasks), SHM_LOCK segments, ramfs mounts; cap them with RLIMIT_MEMLOCK (ulimit -l).".to_owned(),
            match memcg {
                true => "Size the limit for the locked memory plus the workload's own: locked pages never leave.",
                false => "Give the machine memory for the locked memory plus the rest of its work: locked pages never leave.",
            }
            .to_owned(),
        ],
        share(u, total)?,
    ))
}

/// A global OOM whose hugetlbfs reservations (`Node N hugepages_total=…`,
/// total × size, summed over nodes) held at least [`HUGETLB_SHARE`] of
/// RAM: memory no ordinary allocation can use, free or not.
pub fn hugetlb(ep: &Episode, ev: &Evidence) -> Option<(String, Vec<String>, f64)> {
    let mi = ep.mem_info.as_ref()?;
    let (reserved, free) = (mi.hugetlb_bytes?, mi.hugetlb_free_bytes.unwrap_or(0));
    let ram = ev.total_bytes.filter(|&t| t > 0)?;
    if (reserved as f64) < HUGETLB_SHARE * ram as f64 {
        return None;
    }
    let unused = free > 0 && free as f64 >= 0.25 * reserved as f64;
    Some((
        format!(
            "Huge pages reserved for hugetlbfs held {}, {}, which no ordinary allocation can use; {} of them were free{}.",
            human_bytes(reserved),
            super::of_total(Some(reserved), ev, ep),
            human_bytes(free),
            if unused { ": reserved but not in use" } else { "" },
        ),
        vec![
            match unused {
                true => format!(
                    "Lower vm.nr_hugepages (or the boot's hugepages=) to what the applications map: {} of the reservation was free.",
                    human_bytes(free)
                ),
                false => "The huge pages are in use: size the machine for them plus the rest of its work, or give the applications that map them less (a database's shared buffers, a JVM's -XX:+UseLargePages heap).".to_owned(),
            },
            "Check /proc/meminfo's HugePages_Total, HugePages_Free and HugePages_Rsvd against what the applications need.".to_owned(),
        ],
        share(reserved, ram)?,
    ))
}
