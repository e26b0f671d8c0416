//! Compact cgroup samples (recording version 3): what `record --cgroup …
//! --interval …` writes each interval, and the rule that decides when a
//! sample carries the whole snapshot instead. Pure: the live layer reads
//! the cgroup and hands the snapshot in with its uptime; nothing here
//! touches the machine.
//!
//! Every sample carries what the guard (`crate::guard`) judges by: usage,
//! limit, the failure and kill counters (v1 `failcnt` and `oom_control`'s
//! `oom_kill`, v2 `memory.events` `max` and `oom_kill`), and the four
//! `memory.stat` counters of its cache rule (`crate::guard::clean_cache`:
//! cache/`file`, shmem, dirty, writeback). The whole snapshot (all of
//! `memory.stat`, the processes) goes out as a `sample` entry only when
//! [`SampleRule::full`] says so:
//! - the first sample of a cgroup (and when its cgroup version changed);
//! - the first sample near the limit (see below) after a whole one that
//!   was not: so that the processes a guard would choose from near its
//!   threshold are on record (at most one more whole sample per whole one
//!   far from the limit: a cgroup hovering at the edge does not repeat it);
//! - at most every [`SampleRule::near_gap_s`] (30 s) while usage is within
//!   [`SampleRule::near_bytes`] of the limit: 2 × the guard's default
//!   `max_margin` (60 MiB), the reclaim point of the widest default margin,
//!   so the last full sample before an OOM shows the cgroup near it; and
//!   within a quarter of a limit smaller than 240 MiB (else every sample of
//!   a 32 MiB cgroup, its first included, would be "near");
//! - at most every `near_gap_s` when a failure or kill counter moved since
//!   the last full sample (the cgroup hit its limit);
//! - else every [`SampleRule::every_s`] (5 min), so that an episode of a
//!   cgroup far from its limit still finds recent full stats.
//!
//! A whole sample is ~1.2-2 KB (more with many processes), a compact one
//! ~120 bytes (it names its cgroup by index into the `sampling` entry, not
//! by path). At 1 s the worst case (near the limit all hour) is 3,600
//! compact + 120 whole samples, 0.6-0.75 MiB per cgroup-hour; the README
//! has the measurement.

use crate::model::{Snapshot, StatsFormat, Text};
use std::collections::BTreeMap;

pub use crate::recording::Compact;

/// Of each of the cache rule's counters, the value it reads in `s.stat`.
fn cache_stat(s: &Snapshot) -> [Option<u64>; 4] {
    let format = if s.version == "v2" {
        StatsFormat::V2
    } else {
        StatsFormat::V1
    };
    crate::guard::cache_keys(format).map(|keys| keys.iter().find_map(|k| s.stat.get(*k).copied().flatten()))
}

impl Compact {
    /// The compact form of a snapshot of cgroup `c`.
    pub fn of(c: usize, s: &Snapshot) -> Compact {
        let v2 = s.version == "v2";
        let counters = if v2 { &s.events } else { &s.oom_control };
        Compact {
            c,
            up: s.uptime_s,
            usage: s.usage_bytes,
            limit: s.limit_bytes,
            unlimited: s.unlimited,
            failcnt: s.failcnt,
            max: if v2 { s.events.get("max").copied() } else { None },
            oom_kill: counters.get("oom_kill").copied(),
            cache: cache_stat(s),
        }
    }

    /// Clean, reclaimable page cache, as `crate::guard::clean_cache` reads
    /// it from the whole `memory.stat`.
    pub fn clean_cache(&self) -> Option<u64> {
        let [cache, shmem, dirty, wb] = self.cache;
        Some(
            cache?
                .saturating_sub(shmem.unwrap_or(0))
                .saturating_sub(dirty.unwrap_or(0))
                .saturating_sub(wb.unwrap_or(0)),
        )
    }

    /// The failure and kill counters: a change means the cgroup hit its
    /// limit (or lost a process to the OOM killer) since.
    fn counters(&self) -> (Option<u64>, Option<u64>, Option<u64>) {
        (self.failcnt, self.max, self.oom_kill)
    }
}

/// When a sample is written whole. See the module's rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRule {
    /// "Near the limit": usage ≥ limit − this (or a quarter of the limit,
    /// if that is less).
    pub near_bytes: u64,
    /// Shortest time between full samples of a cgroup near its limit or
    /// whose counters moved.
    pub near_gap_s: f64,
    /// Longest time between full samples of a cgroup.
    pub every_s: f64,
}

impl Default for SampleRule {
    fn default() -> Self {
        SampleRule {
            near_bytes: 2 * crate::guard::GuardPolicy::default().max_margin,
            near_gap_s: 30.0,
            every_s: 300.0,
        }
    }
}

/// What the rule remembers of a cgroup's last full sample.
#[derive(Debug, Clone)]
struct LastFull {
    up: f64,
    version: Text,
    counters: (Option<u64>, Option<u64>, Option<u64>),
    /// It was near the limit.
    near: bool,
}

/// The rule applied over time, per cgroup index.
#[derive(Debug, Default)]
pub struct Sampler {
    rule: SampleRule,
    last: BTreeMap<usize, LastFull>,
}

impl Sampler {
    pub fn new(rule: SampleRule) -> Sampler {
        Sampler {
            rule,
            last: BTreeMap::new(),
        }
    }

    /// Whether this snapshot of cgroup `c` is written whole; remembered as
    /// the last full one if so. A snapshot without an uptime is always
    /// written whole (nothing to measure gaps by).
    pub fn full(&mut self, c: usize, s: &Snapshot, compact: &Compact) -> bool {
        let r = self.rule;
        let near = match (s.usage_bytes, s.limit_bytes) {
            (Some(u), Some(l)) => u.saturating_add(r.near_bytes.min(l / 4)) >= l,
            _ => false,
        };
        let full = match (self.last.get(&c), s.uptime_s) {
            (Some(last), Some(up)) if last.version == s.version => {
                let since = up - last.up;
                let moved = compact.counters() != last.counters;
                since >= r.every_s || (near && !last.near) || ((near || moved) && since >= r.near_gap_s)
            }
            _ => true,
        };
        if full {
            self.last.insert(
                c,
                LastFull {
                    up: s.uptime_s.unwrap_or(0.0),
                    version: s.version.clone(),
                    counters: compact.counters(),
                    near,
                },
            );
        }
        full
    }
}

#[cfg(test)]
mod tests;
