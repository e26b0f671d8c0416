//! Cgroup snapshots, as the schema carries them: `snapshots[]`, the lines
//! `oomctl snapshot` writes and `analyze --snapshots` reads. Made by
//! `crate::snapshot` (files, oom-guard events) and `crate::live` (cgroupfs).

use super::Text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One memory cgroup at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The cgroup's path as the kernel names it in OOM reports (relative to
    /// the controller's root), e.g. `/kubepods/burstable/pod…/…`.
    pub path: Text,
    /// `v1` or `v2` (which file names it was read from).
    pub version: Text,
    /// `live`, `dir` (a copied cgroupfs directory) or `oom_guard`.
    pub origin: Text,
    /// Wall clock of the capture (ISO 8601 UTC), when known.
    pub time: Option<Text>,
    /// Seconds since boot at the capture (live only).
    pub uptime_s: Option<f64>,
    /// Host name (live and oom-guard).
    pub host: Option<Text>,
    pub usage_bytes: Option<u64>,
    /// Null when unknown or unlimited (then `unlimited` says so).
    pub limit_bytes: Option<u64>,
    /// The limit file says "no limit" (v2 `max`, v1 the kernel's huge
    /// number: `crate::units::is_unlimited`). Absent from snapshots written
    /// before it existed, whose null limit meant no limit
    /// (`crate::recording::upgrade_snapshot`).
    #[serde(default)]
    pub unlimited: bool,
    /// v1 `memory.max_usage_in_bytes`, v2 `memory.peak`.
    pub peak_bytes: Option<u64>,
    /// v1 `memory.failcnt`.
    pub failcnt: Option<u64>,
    /// v2 `memory.events` (`low high max oom oom_kill …`).
    pub events: BTreeMap<Text, u64>,
    /// v1 `memory.oom_control` (`oom_kill_disable under_oom oom_kill`).
    pub oom_control: BTreeMap<Text, u64>,
    /// `memory.stat`, bytes as the kernel gives them; a `*_limit` key is
    /// null where it is the kernel's "no limit" (as in `memcg_stats`).
    pub stat: BTreeMap<Text, Option<u64>>,
    /// v2 `memory.pressure` lines as read.
    pub pressure: Vec<Text>,
    /// The cgroup's processes (live only).
    pub processes: Vec<Process>,
    /// What oom-guard did (origin `oom_guard`).
    pub guard: Option<GuardAction>,
    /// v2 `memory.events.local`: this cgroup's own events (`oom_kill`
    /// counts kills of its own processes).
    #[serde(default)]
    pub events_local: BTreeMap<Text, u64>,
    /// v2 `memory.min`, `memory.low` (protection), `memory.high` (throttle
    /// point; null when `max`). v1 has `memory.soft_limit_in_bytes` as low.
    #[serde(default)]
    pub min_bytes: Option<u64>,
    #[serde(default)]
    pub low_bytes: Option<u64>,
    #[serde(default)]
    pub high_bytes: Option<u64>,
    /// v2 `memory.oom.group`: the OOM killer kills the whole cgroup.
    #[serde(default)]
    pub oom_group: Option<bool>,
    /// Swap: v2 `memory.swap.{current,max,peak}`; v1 has none apart from
    /// memory+swap.
    #[serde(default)]
    pub swap: Option<Usage>,
    /// v2 `memory.swap.events` (`high max fail`).
    #[serde(default)]
    pub swap_events: BTreeMap<Text, u64>,
    /// v2 `memory.zswap.{current,max}`.
    #[serde(default)]
    pub zswap: Option<Usage>,
    /// v1 `memory.memsw.*`: memory + swap.
    #[serde(default)]
    pub memsw: Option<Usage>,
    /// v1 `memory.kmem.*`: kernel memory.
    #[serde(default)]
    pub kmem: Option<Usage>,
    /// v1 `memory.swappiness`.
    #[serde(default)]
    pub swappiness: Option<u64>,
    /// v2 `memory.swap.high` (swap throttle point; null when `max`).
    #[serde(default)]
    pub swap_high_bytes: Option<u64>,
    /// v1 `memory.kmem.tcp.*`: socket buffers.
    #[serde(default)]
    pub kmem_tcp: Option<Usage>,
    /// v1 `memory.use_hierarchy`: false means children are charged on their
    /// own, not to this cgroup (only on old kernels and configurations).
    #[serde(default)]
    pub use_hierarchy: Option<bool>,
}

/// One memory counter of a cgroup: usage, its limit (null when unknown or
/// unlimited, and then `unlimited` says so), the highest usage seen and,
/// on v1, how often the limit was hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub usage_bytes: Option<u64>,
    pub limit_bytes: Option<u64>,
    #[serde(default)]
    pub unlimited: bool,
    pub peak_bytes: Option<u64>,
    pub failcnt: Option<u64>,
}

/// A process in a snapshotted cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub pid: u32,
    pub comm: Text,
    pub oom_score: Option<i64>,
    pub oom_score_adj: Option<i32>,
    pub rss_bytes: Option<u64>,
}

/// An oom-guard kill, from its event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardAction {
    /// `Process`, `Container` or `Noop`, as the guard wrote it.
    pub policy: Option<Text>,
    pub threshold_bytes: Option<u64>,
    /// The victim's cgroup (`proccgroup`).
    pub proc_cgroup: Option<Text>,
    /// `(pid, comm)` of every process the guard killed.
    pub killed: Vec<(u32, Text)>,
}
