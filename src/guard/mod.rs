//! The oom-guard policy model (seed 002), shared by `oomctl simulate` (pure,
//! on recorded episodes) and `oomctl guard` (live).
//!
//! Per memcg: `margin = clamp(limit × margin_ratio, min_margin, max_margin)`
//! and `threshold = limit − margin`. Reclaim is requested at
//! `limit − 2 × margin`. At the threshold the guard holds back while clean,
//! reclaimable page cache is at least `cache_hold_ratio × limit` (the kernel
//! can still reclaim it), else it acts by policy: `process` kills the task
//! with the highest badness (the kernel's own `oom_badness`), `container`
//! kills every task of that task's container, `noop` only reports.
//!
//! Never chosen: pid 1, kernel threads, tasks with oom_score_adj −1000, and
//! (live) anything outside the guarded subtree and oomctl itself.

use crate::model::{Episode, MemcgStats, StatsFormat, TaskRow, Text};
pub use crate::model::{GuardOutcome, Policy, Proc};
use serde::{Deserialize, Serialize};

pub mod timeline;

/// OOM_SCORE_ADJ_MIN: never killed.
pub const ADJ_MIN: i32 = -1000;

/// The guard's settings (oom-guard's flags and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardPolicy {
    pub margin_ratio: f64,
    pub min_margin: u64,
    pub max_margin: u64,
    pub policy: Policy,
    /// Hold back while clean page cache ≥ this share of the limit.
    pub cache_hold_ratio: f64,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        GuardPolicy {
            margin_ratio: 0.02,
            min_margin: 1 << 20,
            max_margin: 30 << 20,
            policy: Policy::Process,
            cache_hold_ratio: 0.10,
        }
    }
}

impl GuardPolicy {
    /// `clamp(limit × margin_ratio, min_margin, max_margin)`, never more
    /// than the limit.
    pub fn margin(&self, limit: u64) -> u64 {
        let m = (limit as f64 * self.margin_ratio) as u64;
        m.clamp(self.min_margin, self.max_margin.max(self.min_margin))
            .min(limit)
    }

    pub fn threshold(&self, limit: u64) -> u64 {
        limit - self.margin(limit)
    }

    /// Where reclaim is requested, one more margin below the threshold.
    pub fn reclaim_at(&self, limit: u64) -> u64 {
        self.threshold(limit).saturating_sub(self.margin(limit))
    }

    /// The cache rule: true when clean page cache is large enough for the
    /// kernel to reclaim its way out.
    pub fn holds_back(&self, limit: u64, clean_cache: Option<u64>) -> bool {
        clean_cache.is_some_and(|c| c as f64 >= self.cache_hold_ratio * limit as f64)
    }
}

/// The `memory.stat` keys of the cache rule, v2: cache, shmem, dirty,
/// writeback, each the first key present of its list.
pub const CACHE_KEYS_V2: [&[&str]; 4] = [&["file"], &["shmem"], &["file_dirty"], &["file_writeback"]];
/// v1's: the hierarchical `total_*` key, else the cgroup's own.
pub const CACHE_KEYS_V1: [&[&str]; 4] = [
    &["total_cache", "cache"],
    &["total_shmem", "shmem"],
    &["total_dirty", "dirty"],
    &["total_writeback", "writeback"],
];

/// The keys of the cache rule for stats of `format`.
pub fn cache_keys(format: StatsFormat) -> [&'static [&'static str]; 4] {
    match format {
        StatsFormat::V2 => CACHE_KEYS_V2,
        _ => CACHE_KEYS_V1,
    }
}

/// Clean, reclaimable page cache from `memory.stat` keys (v1 or v2).
pub fn clean_cache(format: StatsFormat, s: &std::collections::BTreeMap<Text, Option<u64>>) -> Option<u64> {
    let get = |keys: &[&str]| keys.iter().find_map(|k| s.get(*k).copied().flatten());
    let [cache, shmem, dirty, wb] = cache_keys(format);
    let (cache, shmem, dirty, wb) = (get(cache)?, get(shmem), get(dirty), get(wb));
    Some(
        cache
            .saturating_sub(shmem.unwrap_or(0))
            .saturating_sub(dirty.unwrap_or(0))
            .saturating_sub(wb.unwrap_or(0)),
    )
}

/// A process as the guard sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pid: u32,
    pub comm: Text,
    /// RSS + swap, bytes.
    pub rss_swap_bytes: u64,
    pub pgtables_bytes: u64,
    pub oom_score_adj: i32,
    /// Kernel thread or otherwise never to be killed.
    pub protected: bool,
}

impl Candidate {
    /// From a kernel task-table row.
    pub fn from_row(t: &TaskRow, page_size: u64) -> Candidate {
        let pgtables = t
            .pgtables_bytes
            .or_else(|| {
                let pages = t.nr_ptes.unwrap_or(0).saturating_add(t.nr_pmds.unwrap_or(0));
                (pages > 0).then(|| pages.saturating_mul(page_size))
            })
            .unwrap_or(0);
        Candidate {
            pid: t.pid,
            comm: t.name.clone(),
            rss_swap_bytes: t.rss_bytes.unwrap_or(0).saturating_add(t.swap_bytes.unwrap_or(0)),
            pgtables_bytes: pgtables,
            oom_score_adj: t
                .oom_score_adj
                .or(t.oom_adj.map(|a| a.saturating_mul(1000) / 17))
                .unwrap_or(0),
            protected: t.pid <= 1,
        }
    }
}

/// The kernel's `oom_badness` in pages: RSS + swap + page tables, plus
/// `oom_score_adj × total / 1000`; None for tasks never killed.
pub fn badness(c: &Candidate, total_pages: u64, page_size: u64) -> Option<i64> {
    if c.protected || c.oom_score_adj <= ADJ_MIN {
        return None;
    }
    let ps = page_size.max(1);
    let points = i64::try_from((c.rss_swap_bytes / ps).saturating_add(c.pgtables_bytes / ps)).unwrap_or(i64::MAX);
    let total = i64::try_from(total_pages).unwrap_or(i64::MAX);
    Some(points.saturating_add(i64::from(c.oom_score_adj).saturating_mul(total) / 1000))
}

/// The task the kernel's rule picks: the highest badness; on a tie the later
/// one in iteration order, as `select_bad_process` does.
pub fn choose(cands: &[Candidate], total_pages: u64, page_size: u64) -> Option<&Candidate> {
    let mut best: Option<(&Candidate, i64)> = None;
    for c in cands {
        if let Some(p) = badness(c, total_pages, page_size) {
            if best.is_none_or(|(_, b)| p >= b) {
                best = Some((c, p));
            }
        }
    }
    best.map(|(c, _)| c)
}

fn stats_of(ep: &Episode) -> Option<&MemcgStats> {
    ep.memcg_stats.iter().find(|s| !s.stats.is_empty())
}

/// Simulate `p` on one memcg episode. Global OOMs and episodes without a
/// known limit get an outcome that says why nothing can be said.
pub fn simulate(ep: &Episode, p: &GuardPolicy) -> GuardOutcome {
    let kernel_victim = ep.victims.first().map(|v| Proc {
        pid: v.pid,
        comm: v.comm.clone(),
    });
    let mut o = GuardOutcome {
        policy: p.policy,
        margin_bytes: None,
        threshold_bytes: None,
        fired: false,
        held_back: false,
        action: Text::new("none"),
        victim: None,
        killed: Vec::new(),
        kernel_victim: kernel_victim.clone(),
        same_victim: None,
        note: Text::default(),
    };
    let Some(limit) = ep.memcg.as_ref().and_then(|m| m.limit_bytes) else {
        o.note = if ep.memcg.as_ref().is_some_and(|m| m.unlimited) {
            "the memcg has no limit: a memcg guard has no threshold here".into()
        } else {
            "not a memcg OOM with a known limit: a memcg guard has no threshold here".into()
        };
        return o;
    };
    o.margin_bytes = Some(p.margin(limit));
    o.threshold_bytes = Some(p.threshold(limit));
    let usage = ep.memcg.as_ref().and_then(|m| m.usage_bytes).unwrap_or(limit);
    o.fired = usage >= p.threshold(limit);
    if !o.fired {
        o.note = "usage never reached the threshold in the report".into();
        return o;
    }
    let clean = stats_of(ep).and_then(|s| clean_cache(s.format, &s.stats)).or_else(|| {
        ep.snapshots.iter().rev().find_map(|s| {
            let f = if s.version == "v2" {
                StatsFormat::V2
            } else {
                StatsFormat::V1
            };
            clean_cache(f, &s.stat)
        })
    });
    o.held_back = p.holds_back(limit, clean);
    if o.held_back {
        o.note = format!(
            "clean page cache {} ≥ {:.0}% of the limit: the guard leaves reclaim to the kernel",
            crate::units::human_bytes(clean.unwrap_or(0)),
            p.cache_hold_ratio * 100.0
        )
        .into();
        return o;
    }
    let page_size = ep.page_size.max(1);
    let cands: Vec<Candidate> = ep.tasks.iter().map(|t| Candidate::from_row(t, page_size)).collect();
    let chosen = choose(&cands, limit / page_size, page_size).map(|c| Proc {
        pid: c.pid,
        comm: c.comm.clone(),
    });
    if chosen.is_none() {
        o.note = if ep.tasks.is_empty() {
            "the report has no task table to choose from".into()
        } else {
            "no killable task (all protected or oom_score_adj -1000)".into()
        };
        return o;
    }
    o.same_victim = chosen.as_ref().zip(kernel_victim.as_ref()).map(|(a, b)| a.pid == b.pid);
    match p.policy {
        Policy::Noop => {
            o.note = "policy noop: reported only".into();
            o.victim = chosen;
        }
        Policy::Process => {
            o.action = "kill_process".into();
            o.victim = chosen;
            o.note = format!(
                "at {} the guard kills the task with the highest badness",
                crate::units::human_bytes(p.threshold(limit))
            )
            .into();
        }
        Policy::Container => {
            o.action = "kill_container".into();
            o.killed = cands
                .iter()
                .filter(|c| badness(c, limit / page_size, page_size).is_some())
                .map(|c| Proc {
                    pid: c.pid,
                    comm: c.comm.clone(),
                })
                .collect();
            o.victim = chosen;
            o.note = "the task table lists the OOM cgroup's tasks; a container kill takes every killable one".into();
        }
    }
    o
}

#[cfg(test)]
mod tests;
