//! Splitting an episode's memory into anonymous, page cache, shared memory
//! and kernel memory, from the best source the report has:
//! 1. memcg stats — v1 keys (`rss`, `cache`, `shmem`, `dirty`, with the
//!    hierarchical `total_*` twins preferred), v2 keys (`anon`, `file`,
//!    `file_dirty`, `kernel`…; v2 `file` includes shmem), or the pre-5.3
//!    one-line blocks summed over the hierarchy;
//! 2. Mem-Info for a global OOM (shmem sits on the anon LRU there);
//! 3. a cgroup snapshot of the OOM memcg joined by `analyze --snapshots`;
//! 4. the task table: Σ RSS against usage, the rest unattributed.

use super::{share, Evidence, Source, TopTask, AT_LIMIT, RSS_EXPLAINS_AT_MOST};
use crate::model::{Episode, MemcgStats, Scope, StatsFormat, TaskRow, Text};
use crate::units::sat_sum;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Bytes by kind; None where the source does not say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakdown {
    pub source: Option<Source>,
    pub total: Option<u64>,
    pub anon: Option<u64>,
    /// Page cache without shmem.
    pub file: Option<u64>,
    pub dirty: Option<u64>,
    pub writeback: Option<u64>,
    pub shmem: Option<u64>,
    pub kernel: Option<u64>,
    pub free: Option<u64>,
}

/// The first of `keys` that has a value (memory.stat's `*_limit` keys
/// may hold none: no limit).
fn get<V: Copy + Into<Option<u64>>>(s: &BTreeMap<Text, V>, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| s.get(*k).copied().and_then(Into::into))
}

/// A memcg stats block: each key's value, where it has one.
type Stats = BTreeMap<Text, Option<u64>>;

/// The stats of the OOM memcg: the first block (borrowed), or for the
/// one-line form the sum over every block printed (one per descendant,
/// local values).
fn memcg_stats(ep: &Episode) -> Option<(StatsFormat, Cow<'_, Stats>)> {
    let first: &MemcgStats = ep.memcg_stats.iter().find(|s| !s.stats.is_empty())?;
    if first.format != StatsFormat::V1Oneline {
        return Some((first.format, Cow::Borrowed(&first.stats)));
    }
    let mut sum = BTreeMap::new();
    for b in ep.memcg_stats.iter().filter(|s| s.format == StatsFormat::V1Oneline) {
        for (k, v) in &b.stats {
            let e = sum.entry(k.clone()).or_insert(Some(0u64));
            *e = e.zip(*v).map(|(a, b)| a.saturating_add(b));
        }
    }
    Some((StatsFormat::V1Oneline, Cow::Owned(sum)))
}

fn from_stats(ep: &Episode, format: StatsFormat, s: &Stats) -> Breakdown {
    let mut b = Breakdown {
        source: Some(Source::MemcgStats),
        ..Breakdown::default()
    };
    match format {
        StatsFormat::V2 => {
            let shmem = get(s, &["shmem"]).unwrap_or(0);
            b.anon = get(s, &["anon"]);
            b.file = get(s, &["file"]).map(|f| f.saturating_sub(shmem));
            b.shmem = Some(shmem);
            b.dirty = get(s, &["file_dirty"]);
            b.writeback = get(s, &["file_writeback"]);
            b.kernel = get(s, &["kernel"]).or_else(|| {
                let slab = get(s, &["slab"]).or_else(|| {
                    Some(get(s, &["slab_reclaimable"])?.saturating_add(get(s, &["slab_unreclaimable"]).unwrap_or(0)))
                });
                let parts = [
                    get(s, &["kernel_stack"]),
                    get(s, &["pagetables"]),
                    get(s, &["percpu"]),
                    get(s, &["sock"]),
                    slab,
                ];
                parts
                    .iter()
                    .any(Option::is_some)
                    .then(|| sat_sum(parts.iter().flatten().copied()))
            });
        }
        StatsFormat::V1 | StatsFormat::V1Oneline => {
            let shmem = get(s, &["total_shmem", "shmem"]);
            b.anon = get(s, &["total_rss", "rss"]);
            b.file = get(s, &["total_cache", "cache"]).map(|c| c.saturating_sub(shmem.unwrap_or(0)));
            b.shmem = shmem;
            b.dirty = get(s, &["total_dirty", "dirty"]);
            b.writeback = get(s, &["total_writeback", "writeback"]);
            b.kernel = ep.kmem.map(|k| k.usage_bytes);
        }
    }
    b
}

/// The latest snapshot of the OOM memcg itself, read like the report's stats.
fn from_snapshot(ep: &Episode, usage: Option<u64>) -> Option<Breakdown> {
    let path = ep.memcg.as_ref()?.path.as_deref()?;
    let snap = ep
        .snapshots
        .iter()
        .rev()
        .find(|s| crate::cgroup::same_cgroup(&s.path, path) && !s.stat.is_empty())?;
    let format = if snap.version == "v2" {
        StatsFormat::V2
    } else {
        StatsFormat::V1
    };
    let mut b = from_stats(ep, format, &snap.stat);
    b.source = Some(Source::Snapshot);
    // The snapshot's own usage: its stats are of its moment, which may be
    // after the report's (a periodic snapshot); one base for both.
    b.total = snap.usage_bytes.or(usage);
    (b.anon.is_some() || b.file.is_some()).then_some(b)
}

fn from_mem_info(ep: &Episode) -> Option<Breakdown> {
    let mi = ep.mem_info.as_ref()?;
    let c = &mi.counters_bytes;
    if c.is_empty() {
        return None;
    }
    let shmem = get(c, &["shmem"]);
    let anon = get(c, &["active_anon"])
        .zip(get(c, &["inactive_anon"]))
        .map(|(a, i)| a.saturating_add(i).saturating_sub(shmem.unwrap_or(0)));
    let mut file = get(c, &["active_file"])
        .zip(get(c, &["inactive_file"]))
        .map(|(a, i)| a.saturating_add(i));
    let mut anon = anon;
    if anon.is_none() && file.is_none() {
        // Before 2.6.28 one LRU held anon and file pages (`Active:`,
        // `inactive:`): the page cache (`N total pagecache pages`) is the
        // file part, the rest anonymous.
        if let (Some(lru), Some(cache)) = (
            get(c, &["active"])
                .zip(get(c, &["inactive"]))
                .map(|(a, i)| a.saturating_add(i)),
            mi.pagecache_bytes,
        ) {
            file = Some(cache.min(lru));
            anon = Some(lru.saturating_sub(cache));
        }
    }
    let slab = [
        get(c, &["slab_reclaimable"]),
        get(c, &["slab_unreclaimable"]),
        // Before 2.6.30 one `slab:` counter.
        get(c, &["slab"]),
        get(c, &["pagetables"]),
    ];
    // The RAM the shares are of: `N pages RAM`, or where it was cut away
    // the zones' own sizes.
    let zones_ram = (!mi.zones.is_empty() && mi.zones.iter().all(|z| z.managed_bytes.is_some()))
        .then(|| sat_sum(mi.zones.iter().filter_map(|z| z.managed_bytes)));
    // Without the LRU's split by kind no part can be compared with the
    // others: kernel memory alone is never the largest by default.
    let split = anon.is_some() || file.is_some();
    Some(Breakdown {
        source: Some(Source::MemInfo),
        total: mi.ram_bytes.or(zones_ram),
        anon,
        file,
        dirty: get(c, &["dirty"]),
        writeback: get(c, &["writeback"]),
        shmem: shmem.filter(|_| split),
        kernel: (split && slab.iter().any(Option::is_some)).then(|| sat_sum(slab.iter().flatten().copied())),
        free: get(c, &["free"]),
    })
}

fn task_rss(ep: &Episode) -> Option<u64> {
    if ep.tasks.is_empty() {
        return None;
    }
    Some(sat_sum(ep.tasks.iter().map(|t| t.rss_bytes.unwrap_or(0))))
}

/// The part of a task's RSS charged to its cgroup as its own: anonymous +
/// shared memory where the kernel splits RSS (6.8+ rows, or the victim's
/// kill line), else all of it.
fn charged(ep: &Episode, t: &TaskRow) -> u64 {
    if let Some(a) = t.rss_anon_bytes {
        return a.saturating_add(t.rss_shmem_bytes.unwrap_or(0));
    }
    let victim = ep.victims.iter().find(|v| v.pid == t.pid);
    match victim.and_then(|v| v.anon_rss_bytes) {
        Some(a) => a.saturating_add(victim.and_then(|v| v.shmem_rss_bytes).unwrap_or(0)),
        None => t.rss_bytes.unwrap_or(0),
    }
}

fn from_tasks(ep: &Episode) -> Option<Breakdown> {
    let rss = task_rss(ep)?;
    let m = ep.memcg.as_ref()?;
    let (usage, limit) = (m.usage_bytes?, m.limit_bytes?);
    if (usage as f64) < AT_LIMIT * limit as f64 {
        return None;
    }
    let kmem = ep.kmem.map(|k| k.usage_bytes);
    let rest = usage.saturating_sub(rss).saturating_sub(kmem.unwrap_or(0));
    let explains_little = (rss as f64) <= RSS_EXPLAINS_AT_MOST * usage as f64;
    // What the processes hold of usage: their charged RSS, and never more
    // than usage (RSS counts a shared page in every process mapping it).
    let held = sat_sum(ep.tasks.iter().map(|t| charged(ep, t))).min(usage.saturating_sub(kmem.unwrap_or(0)));
    Some(Breakdown {
        source: Some(Source::TaskTable),
        total: Some(usage),
        anon: Some(held),
        file: explains_little.then_some(rest),
        kernel: kmem,
        ..Breakdown::default()
    })
}

/// The best breakdown the episode supports.
pub fn breakdown(ep: &Episode) -> Breakdown {
    let usage = ep.memcg.as_ref().and_then(|m| m.usage_bytes);
    if ep.scope == Some(Scope::Memcg) || ep.memcg.is_some() {
        if let Some((format, s)) = memcg_stats(ep) {
            let mut b = from_stats(ep, format, &s);
            let parts = [b.anon, b.file, b.shmem, b.kernel];
            b.total = usage.or_else(|| {
                parts
                    .iter()
                    .any(Option::is_some)
                    .then(|| sat_sum(parts.iter().flatten().copied()))
            });
            if b.anon.is_some() || b.file.is_some() {
                return b;
            }
        }
        if let Some(b) = from_snapshot(ep, usage) {
            return b;
        }
        return from_tasks(ep).unwrap_or(Breakdown {
            total: usage,
            ..Breakdown::default()
        });
    }
    from_mem_info(ep).unwrap_or_default()
}

impl Breakdown {
    /// The evidence record: the breakdown plus task-table figures.
    pub fn evidence(&self, ep: &Episode) -> Evidence {
        let rss = task_rss(ep);
        let limit = ep.memcg.as_ref().and_then(|m| m.limit_bytes);
        let unlimited = ep.memcg.as_ref().is_some_and(|m| m.unlimited);
        let usage = ep.memcg.as_ref().and_then(|m| m.usage_bytes);
        // Every share is of the total (usage, or RAM): the one base the
        // summary's figures share. (Usage is above the limit when the
        // limit was lowered below it.)
        let base = self.total;
        let top_task = ep
            .tasks
            .iter()
            .max_by_key(|t| (t.rss_bytes.unwrap_or(0), std::cmp::Reverse(t.pid)))
            .map(|t| {
                // The share is of the memory charged to the cgroup: a task's
                // file RSS (its binary, shared libraries) is mostly page
                // cache charged to whoever read it first.
                let charged = charged(ep, t);
                TopTask {
                    pid: t.pid,
                    name: t.name.clone(),
                    rss_bytes: t.rss_bytes.unwrap_or(0),
                    charged_bytes: charged,
                    share: base.and_then(|b| share(charged, b)),
                }
            });
        Evidence {
            source: self.source,
            total_bytes: self.total,
            limit_bytes: limit,
            unlimited,
            anon_bytes: self.anon,
            file_bytes: self.file,
            dirty_bytes: self.dirty,
            writeback_bytes: self.writeback,
            shmem_bytes: self.shmem,
            kernel_bytes: self.kernel,
            free_bytes: self.free,
            task_rss_bytes: rss,
            unattributed_bytes: usage.zip(rss).map(|(u, r)| u.saturating_sub(r)),
            share: None,
            top_task,
        }
    }
}

/// Zones in the kernel's order: an allocation may use its highest zone and
/// every zone below it.
const ZONE_ORDER: [&str; 6] = ["DMA", "DMA32", "Normal", "HighMem", "Movable", "Device"];

fn zone_rank(name: &str) -> Option<usize> {
    ZONE_ORDER.iter().position(|z| *z == name)
}

/// The highest zone an allocation may use, from its gfp mask's zone bits
/// (`__GFP_DMA` 0x01, `__GFP_HIGHMEM` 0x02, `__GFP_DMA32` 0x04,
/// `__GFP_MOVABLE` 0x08, the same from 2.6.23 to 6.x: `gfp_zone()`); Normal
/// where the mask is not printed.
fn highest_zone(ep: &Episode) -> usize {
    let mask = ep
        .trigger
        .as_ref()
        .and_then(|t| t.gfp_mask.as_deref())
        .and_then(|m| u64::from_str_radix(m.trim_start_matches("0x"), 16).ok());
    match mask {
        Some(m) if m & 0x01 != 0 => 0,
        Some(m) if m & 0x04 != 0 => 1,
        Some(m) if m & 0x02 != 0 && m & 0x08 != 0 => 4,
        Some(m) if m & 0x02 != 0 => 3,
        _ => 2,
    }
}

/// The nodes the allocation was allowed: its `nodemask=` (a mempolicy),
/// else its cpuset's `mems_allowed=` (a node list, `0-1,3`); None where
/// neither is printed or readable.
fn allowed_nodes(ep: &Episode) -> Option<Vec<u32>> {
    let t = ep.trigger.as_ref()?;
    let list = t.nodemask.as_deref().or(t.mems_allowed.as_deref())?;
    let mut nodes = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b) = (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?);
        if b < a || b - a > 1024 {
            return None;
        }
        nodes.extend(a..=b);
    }
    Some(nodes)
}

/// What the zones say of a failed allocation of `order`.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneVerdict {
    /// Every zone the allocation may use was at or below its min watermark
    /// plus its lowmem reserve: memory ran out. The zone with the most
    /// free memory: its name, free bytes and the floor it needed to pass.
    Exhausted { zone: String, free: u64, floor: u64 },
    /// A usable zone had free memory above its watermark but no free
    /// block of `wanted` bytes or more: the one with most free memory,
    /// its min watermark and its largest free block (None where the
    /// report prints no buddy lists).
    Fragmented {
        zone: String,
        free: u64,
        min: u64,
        largest: Option<u64>,
        wanted: u64,
    },
    /// A usable zone above its watermark had a block large enough: the
    /// report, printed after the failure, does not show why it failed.
    Fits,
}

/// The kernel's watermark test (`__zone_watermark_ok`) on every zone the
/// allocation may use (its zones by the gfp mask, on its allowed nodes):
/// `free − (2^order − 1) pages > min + lowmem_reserve`,
/// and for order ≥ 1 a free block of the requested order or larger. None
/// where the report has no zone lines with their watermarks.
///
/// The reserve is the entry of `lowmem_reserve[]` at the index of the
/// highest usable zone, counted among the zones printed (an unpopulated
/// zone between them is not printed, which would shift it).
pub fn zone_verdict(ep: &Episode, order: i32) -> Option<ZoneVerdict> {
    let zones = &ep.mem_info.as_ref()?.zones;
    let order = u32::try_from(order).ok()?.min(20);
    let top = highest_zone(ep);
    let nodes = allowed_nodes(ep);
    let usable: Vec<_> = zones
        .iter()
        .filter(|z| zone_rank(&z.name).is_some_and(|r| r <= top))
        .filter(|z| match (&nodes, z.node) {
            (Some(set), Some(n)) => set.contains(&n),
            _ => true,
        })
        .filter(|z| z.free_bytes.is_some() && z.min_bytes.is_some())
        .collect();
    let preferred = usable.iter().filter_map(|z| zone_rank(&z.name)).max()?;
    // The reserve's index: how many distinct zones printed rank below it.
    let mut below: Vec<usize> = zones
        .iter()
        .filter_map(|z| zone_rank(&z.name))
        .filter(|r| *r < preferred)
        .collect();
    below.sort_unstable();
    below.dedup();
    let page = |z: &crate::model::Zone| z.free_blocks.first().map_or(ep.page_size, |b| b.size_bytes);
    let name = |z: &crate::model::Zone| match z.node {
        Some(n) => format!("{} (node {n})", z.name),
        None => z.name.to_string(),
    };
    let floor = |z: &crate::model::Zone| {
        let reserve = if zone_rank(&z.name) == Some(preferred) {
            0
        } else {
            z.lowmem_reserve_pages.get(below.len()).copied().unwrap_or(0)
        };
        z.min_bytes.unwrap_or(0).saturating_add(reserve.saturating_mul(page(z)))
    };
    let need = |z: &crate::model::Zone| {
        z.free_bytes
            .unwrap_or(0)
            .saturating_sub(((1u64 << order) - 1).saturating_mul(page(z)))
    };
    let above: Vec<_> = usable.iter().filter(|z| need(z) > floor(z)).collect();
    if above.is_empty() {
        let z = most_free(usable.iter().copied())?;
        return Some(ZoneVerdict::Exhausted {
            zone: name(z),
            free: z.free_bytes.unwrap_or(0),
            floor: floor(z),
        });
    }
    if order == 0 {
        return Some(ZoneVerdict::Fits);
    }
    let largest = |z: &crate::model::Zone| z.free_blocks.iter().filter(|b| b.count > 0).map(|b| b.size_bytes).max();
    let wanted = |z: &crate::model::Zone| page(z) << order;
    if above
        .iter()
        .any(|z| !z.free_blocks.is_empty() && largest(z).is_some_and(|l| l >= wanted(z)))
    {
        return Some(ZoneVerdict::Fits);
    }
    let z = most_free(above.iter().map(|z| **z))?;
    Some(ZoneVerdict::Fragmented {
        zone: name(z),
        free: z.free_bytes.unwrap_or(0),
        min: z.min_bytes.unwrap_or(0),
        largest: largest(z).or(if z.free_blocks.is_empty() { None } else { Some(0) }),
        wanted: wanted(z),
    })
}

/// The zone with the most free memory (the lower one of equals).
fn most_free<'a>(zs: impl Iterator<Item = &'a crate::model::Zone>) -> Option<&'a crate::model::Zone> {
    zs.max_by_key(|z| (z.free_bytes.unwrap_or(0), std::cmp::Reverse(zone_rank(&z.name))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FreeBlocks, MemInfo, Trigger, Zone};

    const KIB: u64 = 1024;

    fn zone(name: &str, free_kb: u64, min_kb: u64, reserve: &[u64], blocks: &[u64]) -> Zone {
        Zone {
            node: Some(0),
            name: name.into(),
            free_bytes: Some(free_kb * KIB),
            min_bytes: Some(min_kb * KIB),
            lowmem_reserve_pages: reserve.to_vec(),
            free_blocks: blocks
                .iter()
                .enumerate()
                .map(|(o, &count)| FreeBlocks {
                    size_bytes: 4096 << o,
                    count,
                })
                .collect(),
            ..Zone::default()
        }
    }

    fn ep(gfp: &str, order: i32, zones: Vec<Zone>) -> Episode {
        Episode {
            page_size: 4096,
            trigger: Some(Trigger {
                gfp_mask: Some(gfp.into()),
                order: Some(order),
                ..Trigger::default()
            }),
            mem_info: Some(MemInfo {
                zones,
                ..MemInfo::default()
            }),
            ..Episode::default()
        }
    }

    #[test]
    fn watermark_edge_is_the_kernels() {
        // Order 0: free must be above min (+ reserve), at it is exhausted.
        let at = ep("0xcc0", 0, vec![zone("Normal", 1000, 1000, &[0, 0, 0], &[250])]);
        assert!(matches!(zone_verdict(&at, 0), Some(ZoneVerdict::Exhausted { free, floor, .. }) if free == floor));
        let above = ep("0xcc0", 0, vec![zone("Normal", 1004, 1000, &[0, 0, 0], &[251])]);
        assert_eq!(zone_verdict(&above, 0), Some(ZoneVerdict::Fits));
        // Order 2 takes its own 3 extra pages off first: 1012 kB - 12 = min.
        let o2 = ep("0xcc0", 2, vec![zone("Normal", 1012, 1000, &[0, 0, 0], &[1, 1, 10])]);
        assert!(matches!(zone_verdict(&o2, 2), Some(ZoneVerdict::Exhausted { .. })));
        let o2 = ep("0xcc0", 2, vec![zone("Normal", 1016, 1000, &[0, 0, 0], &[2, 1, 10])]);
        assert_eq!(zone_verdict(&o2, 2), Some(ZoneVerdict::Fits));
    }

    #[test]
    fn fragmented_when_above_the_watermark_without_a_block_that_large() {
        // 8 MiB free in 4 and 8 kB blocks, order 2 wants 16 kB.
        let e = ep(
            "0x40cc0",
            2,
            vec![zone("Normal", 8192, 1000, &[0, 0, 0], &[1024, 512, 0, 0])],
        );
        assert_eq!(
            zone_verdict(&e, 2),
            Some(ZoneVerdict::Fragmented {
                zone: "Normal (node 0)".to_owned(),
                free: 8192 * KIB,
                min: 1000 * KIB,
                largest: Some(8 * KIB),
                wanted: 16 * KIB,
            })
        );
        // One block of the order is enough.
        let e = ep(
            "0x40cc0",
            2,
            vec![zone("Normal", 8192, 1000, &[0, 0, 0], &[1020, 512, 1, 0])],
        );
        assert_eq!(zone_verdict(&e, 2), Some(ZoneVerdict::Fits));
        // No buddy lists printed: the kernel's own test failed above the watermark.
        let e = ep("0x40cc0", 2, vec![zone("Normal", 8192, 1000, &[0, 0, 0], &[])]);
        assert!(matches!(
            zone_verdict(&e, 2),
            Some(ZoneVerdict::Fragmented { largest: None, .. })
        ));
    }

    #[test]
    fn lower_zones_keep_their_reserve_and_the_mask_limits_the_zones() {
        // DMA32 (the preferred zone of a GFP_KERNEL allocation on a 2 GiB
        // machine) below min; DMA above its min but not above min + its
        // reserve against DMA32 (index 1 among the zones printed).
        let zones = vec![
            zone("DMA", 7980, 520, &[0, 1952, 1952, 1952], &[1, 1, 1, 1]),
            zone("DMA32", 52840, 66968, &[0, 0, 0, 0], &[100, 100, 100, 100]),
        ];
        assert!(matches!(
            zone_verdict(&ep("0x40cc0", 2, zones.clone()), 2),
            Some(ZoneVerdict::Exhausted { zone, .. }) if zone == "DMA32 (node 0)"
        ));
        // A GFP_DMA allocation may use DMA alone: its own reserve entry is 0.
        assert_eq!(zone_verdict(&ep("0x1", 0, zones.clone()), 0), Some(ZoneVerdict::Fits));
        // A HighMem zone is beyond a GFP_KERNEL allocation.
        let mut with_high = zones;
        with_high.push(zone("HighMem", 900_000, 512, &[0, 0, 0, 0], &[0, 0, 0, 1000]));
        assert!(matches!(
            zone_verdict(&ep("0xcc0", 2, with_high.clone()), 2),
            Some(ZoneVerdict::Exhausted { .. })
        ));
        // GFP_HIGHUSER_MOVABLE (0x...ca: HIGHMEM | MOVABLE) may use it.
        assert_eq!(zone_verdict(&ep("0x201da", 2, with_high), 2), Some(ZoneVerdict::Fits));
    }

    #[test]
    fn only_the_allowed_nodes_count() {
        let mut far = zone("Normal", 900_000, 1000, &[0, 0, 0], &[0, 0, 0, 100]);
        far.node = Some(1);
        let near = zone("Normal", 900, 1000, &[0, 0, 0], &[0, 0, 0, 0]);
        let mut e = ep("0xcc0", 2, vec![near, far]);
        // The whole machine: node 1 could take it.
        assert_eq!(zone_verdict(&e, 2), Some(ZoneVerdict::Fits));
        // A cpuset confined to node 0 (or a policy's nodemask): exhausted.
        e.trigger.as_mut().unwrap().mems_allowed = Some("0".into());
        assert!(matches!(zone_verdict(&e, 2), Some(ZoneVerdict::Exhausted { .. })));
        e.trigger.as_mut().unwrap().mems_allowed = Some("0-1".into());
        assert_eq!(zone_verdict(&e, 2), Some(ZoneVerdict::Fits));
        e.trigger.as_mut().unwrap().nodemask = Some("0".into());
        assert!(matches!(zone_verdict(&e, 2), Some(ZoneVerdict::Exhausted { .. })));
        // An unreadable list limits nothing.
        e.trigger.as_mut().unwrap().nodemask = Some("(null)x".into());
        assert_eq!(zone_verdict(&e, 2), Some(ZoneVerdict::Fits));
    }

    #[test]
    fn no_zones_no_verdict() {
        assert_eq!(zone_verdict(&ep("0xcc0", 1, Vec::new()), 1), None);
        // Zone lines cut before their watermarks.
        let mut z = zone("Normal", 100, 0, &[], &[]);
        z.min_bytes = None;
        assert_eq!(zone_verdict(&ep("0xcc0", 1, vec![z]), 1), None);
    }

    #[test]
    fn pre_2_6_28_lru_splits_by_the_pagecache_total() {
        let c = |kv: &[(&str, u64)]| kv.iter().map(|(k, v)| (Text::new(k), *v)).collect();
        let mut e = Episode {
            mem_info: Some(MemInfo {
                counters_bytes: c(&[("active", 700), ("inactive", 300), ("slab", 50), ("pagetables", 10)]),
                pagecache_bytes: Some(200),
                ram_bytes: Some(2000),
                ..MemInfo::default()
            }),
            ..Episode::default()
        };
        let b = from_mem_info(&e).unwrap();
        assert_eq!((b.anon, b.file, b.kernel), (Some(800), Some(200), Some(60)));
        // Without the pagecache total no part is named, not even kernel.
        e.mem_info.as_mut().unwrap().pagecache_bytes = None;
        let b = from_mem_info(&e).unwrap();
        assert_eq!((b.anon, b.file, b.kernel, b.total), (None, None, None, Some(2000)));
        // RAM from the zones where `pages RAM` was cut.
        let mi = e.mem_info.as_mut().unwrap();
        mi.ram_bytes = None;
        mi.zones = vec![
            Zone {
                managed_bytes: Some(1000),
                ..Zone::default()
            },
            Zone {
                managed_bytes: Some(500),
                ..Zone::default()
            },
        ];
        assert_eq!(from_mem_info(&e).unwrap().total, Some(1500));
    }
}
