//! The episode model: one OOM-killer episode as the kernel reported it, and
//! everything it carries (diagnosis, snapshots, guard outcome), with the
//! run's summary. The ground floor of the house: it imports nothing else of
//! the crate, and every other module may use it (ARCHITECTURE.md).
//!
//! Built by the builder from parsed kernel lines, explained by diagnosis,
//! consumed by the output sinks. Every field here is part of the documented
//! JSON schema (README "Output formats"): sizes are always bytes, pages are
//! converted with the episode's `page_size`, and anything the log does not
//! say is `null` rather than guessed. Every text is a [`Text`], the one text
//! gate. The structs deny unknown fields so that the schema tests fail on
//! any unplanned change.

mod diagnosis;
mod group;
mod guard;
mod snapshot;
mod summary;
mod text;

pub use diagnosis::{Cause, Diagnosis, Evidence, EvidenceSource, TopTask};
pub use group::{GroupRow, GroupTime, GroupVictim};
pub use guard::{GuardOutcome, MissReason, Policy, Proc, TimelineOutcome, TimelineSummary, Verdict, VictimFrom};
pub use snapshot::{GuardAction, Process, Snapshot, Usage};
pub use summary::{Summary, Tally};
pub use text::{first_unsafe_char, Text};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One OOM-killer episode: one kernel report, complete or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Episode {
    /// Where in the input the report was read.
    pub source: Source,
    /// Who killed: the kernel's OOM killer, or oom-guard (from its event).
    pub killer: Killer,
    /// When it happened, as far as the log says.
    pub time: Time,
    /// Host name, when the container records one (syslog, journal).
    pub host: Option<Text>,
    /// Kernel release from the `CPU:`/`Pid:` line.
    pub kernel: Option<Text>,
    /// `memcg`, `global`, `cpuset` or `mempolicy`; null when unknowable.
    pub scope: Option<Scope>,
    /// True when `scope` was inferred from the report's shape rather than
    /// printed by the kernel in the `oom-kill:` line.
    pub scope_inferred: bool,
    /// A manual OOM (sysrq-f, `order=-1`).
    pub manual: bool,
    /// The kernel's `CONSTRAINT_*` string from the `oom-kill:` line.
    pub constraint: Option<Text>,
    /// The allocation that invoked the OOM killer.
    pub trigger: Option<Trigger>,
    /// The filesystem whose functions the call trace shows (`xfs`,
    /// `ext4`, `btrfs`, …; the one nearest the allocation): a page-cache
    /// write or read through it. Null when the trace shows none, or was not
    /// printed.
    pub filesystem: Option<Text>,
    /// The memory cgroup whose limit was hit (memcg OOMs only).
    pub memcg: Option<Memcg>,
    /// The victim's own memory cgroup (`task_memcg=`, or `Task in …`).
    pub task_memcg: Option<Text>,
    /// `memory+swap:` counter (cgroup v1).
    pub memsw: Option<Counter>,
    /// `kmem:` counter (cgroup v1).
    pub kmem: Option<Counter>,
    /// `swap:` counter (cgroup v2).
    pub swap: Option<Counter>,
    /// `Memory cgroup stats for …` blocks, one per cgroup printed.
    pub memcg_stats: Vec<MemcgStats>,
    /// The `Mem-Info:` summary of a global OOM.
    pub mem_info: Option<MemInfo>,
    /// Cgroup whose `memory.oom.group` made this a group kill.
    pub group_kill: Option<Text>,
    /// Every task-table row, in printed order.
    pub tasks: Vec<TaskRow>,
    /// Task-table rows beyond the builder's bound that were counted, not kept.
    pub tasks_omitted: u64,
    /// The processes killed, in printed order.
    pub victims: Vec<Victim>,
    /// The process the kernel selected (`Kill process N (comm) score S or
    /// sacrifice child`, before 5.1) when the log holds no kill line after
    /// it (cut off, or lost); with its kill line it is in the victim's
    /// `selected`.
    #[serde(default)]
    pub selected: Option<Selected>,
    /// `Out of memory and no killable processes...`.
    pub no_killable: bool,
    /// `Kernel panic - not syncing: …` followed the report.
    pub panic: Option<Text>,
    /// Page size used to convert page counts to bytes.
    pub page_size: u64,
    /// `inferred` (victim's kill line against its task row), or `assumed`.
    pub page_size_source: PageSizeSource,
    /// True when the report has its kill (or an explicit no-kill ending).
    pub complete: bool,
    /// What the kernel's log shows of this OOM: its `report`, only its
    /// `kill_line` (the report suppressed by the kernel's ratelimit, or
    /// lost), or `nothing` (a kill counted in a cgroup's memory.events).
    #[serde(default)]
    pub printed: Printed,
    /// Lines inside the report that looked like OOM lines but did not parse.
    pub malformed: Vec<Malformed>,
    /// The Kubernetes pod the OOM hit, from the cgroup paths.
    pub k8s: Option<K8s>,
    /// The container the OOM hit, from the cgroup paths.
    pub container: Option<ContainerRef>,
    /// The systemd unit the OOM hit (`foo.service`, `session-3.scope`) when
    /// it is not a container.
    pub unit: Option<Text>,
    /// Why it happened, with evidence and advice.
    pub diagnosis: Option<Diagnosis>,
    /// Cgroup snapshots joined to this episode by path (`analyze --snapshots`).
    pub snapshots: Vec<Snapshot>,
    /// What an oom-guard would have done (`oomctl simulate` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardOutcome>,
    /// When the first kill line was printed, to the log's resolution
    /// (uptime in microseconds, else the wall clock as printed). Not part
    /// of the JSON: it tells a second capture of a report, whole or cut,
    /// from another report (`analyze`'s de-duplication).
    #[serde(skip)]
    pub kill_time: Option<Text>,
}

/// Who killed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Killer {
    /// The kernel's OOM killer (a kernel report).
    #[default]
    Kernel,
    /// oom-guard, the user-space guard of seed 002 (its event).
    OomGuard,
}

impl Episode {
    /// The cgroup the episode is of, as every output names it: the memcg
    /// whose limit was hit, else the victim's own.
    pub fn cgroup(&self) -> Option<&str> {
        self.memcg
            .as_ref()
            .and_then(|m| m.path.as_deref())
            .or(self.task_memcg.as_deref())
    }
}

/// A Kubernetes pod, as far as the cgroup path (and `--pods`) tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8s {
    /// Pod UID with dashes (static pods: as kubelet wrote it).
    pub pod_uid: Text,
    /// `guaranteed`, `burstable` or `besteffort`.
    pub qos: Option<Text>,
    /// From `--pods`.
    pub namespace: Option<Text>,
    /// From `--pods`.
    pub pod: Option<Text>,
    /// Container name, from `--pods`.
    pub container_name: Option<Text>,
}

impl K8s {
    /// `namespace/pod` when `--pods` named it, else the pod UID.
    pub fn pod_name(&self) -> String {
        match (&self.namespace, &self.pod) {
            (Some(ns), Some(p)) => format!("{ns}/{p}"),
            _ => self.pod_uid.to_string(),
        }
    }
}

/// A container, as far as the cgroup path tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRef {
    /// Container id, as in the cgroup path.
    pub id: Text,
    /// `docker`, `containerd` or `cri-o` when the path names it.
    pub runtime: Option<Text>,
}

impl ContainerRef {
    /// The id as `docker ps` and `crictl ps` show it: its first 12
    /// characters.
    pub fn short_id(&self) -> String {
        self.id.chars().take(12).collect()
    }
}

/// Position of an episode in its input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path as given on the command line (`-` for stdin).
    pub file: Text,
    /// 1-based physical line of the first report line.
    pub first_line: u64,
    /// 1-based physical line of the last report line.
    pub last_line: u64,
}

/// Time of the episode's first report line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Time {
    /// Seconds since boot (printk timestamp), microsecond precision.
    pub uptime_s: Option<f64>,
    /// Wall clock, ISO 8601 (with offset only when the log states one).
    pub wall: Option<Text>,
    /// Wall clock exactly as the log printed it.
    pub wall_raw: Option<Text>,
    /// How the year of `wall` was found where the log printed the time
    /// without one (classic syslog `Jan  3 10:00:00`); None where the log's
    /// time carries its year, or `wall` is null.
    pub wall_year: Option<WallYear>,
    /// `/dev/kmsg` sequence number of the first report record.
    pub seq: Option<u64>,
    /// journal `_BOOT_ID`.
    pub boot_id: Option<Text>,
}

/// How the year of a wall clock printed without one was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WallYear {
    /// `--year`.
    Given,
    /// From the date an earlier line of the same input printed with its
    /// year, carried forward across the new year.
    InferredLine,
    /// From the input file's modification time: the latest year that does
    /// not put the time after it.
    InferredMtime,
}

impl WallYear {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            WallYear::Given => "given",
            WallYear::InferredLine => "inferred_line",
            WallYear::InferredMtime => "inferred_mtime",
        }
    }
}

/// The scope of an OOM: which limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Memcg,
    Global,
    Cpuset,
    Mempolicy,
}

impl Scope {
    /// The schema's name for the scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Memcg => "memcg",
            Scope::Global => "global",
            Scope::Cpuset => "cpuset",
            Scope::Mempolicy => "mempolicy",
        }
    }

    /// Scope named by a kernel `CONSTRAINT_*` string.
    pub fn from_constraint(c: &str) -> Option<Scope> {
        match c {
            "CONSTRAINT_MEMCG" => Some(Scope::Memcg),
            "CONSTRAINT_NONE" => Some(Scope::Global),
            "CONSTRAINT_CPUSET" => Some(Scope::Cpuset),
            "CONSTRAINT_MEMORY_POLICY" => Some(Scope::Mempolicy),
            _ => None,
        }
    }
}

/// What the kernel's log shows of an OOM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Printed {
    /// Its report, whole or in part: more than the kill line.
    #[default]
    Report,
    /// Only the kill line (with the selection and oom_reaper lines): the
    /// kernel prints at most 10 whole reports per 5 s and shrinks the rest
    /// to their kill line, or the log kept only that.
    KillLine,
    /// Nothing read: a kill counted in a cgroup's `memory.events.local`
    /// (cgroup v2) that no line of the log shows.
    Nothing,
}

impl Printed {
    pub fn as_str(self) -> &'static str {
        match self {
            Printed::Report => "report",
            Printed::KillLine => "kill_line",
            Printed::Nothing => "nothing",
        }
    }
}

/// How the page size was established.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageSizeSource {
    /// Derived from the victim's kill line (kB) against its task row (pages).
    Inferred,
    /// Given with `--page-size`.
    Given,
    /// Not derivable: 4096 assumed.
    #[default]
    Assumed,
}

/// The allocation that invoked the OOM killer (header and `CPU:` line).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub comm: Option<Text>,
    pub pid: Option<u32>,
    /// `gfp_mask` as printed, e.g. `0xcc0`.
    pub gfp_mask: Option<Text>,
    /// The decoded flags the kernel printed beside the mask.
    pub gfp_flags: Vec<Text>,
    /// Allocation order; `-1` is a manual (sysrq) OOM.
    pub order: Option<i32>,
    pub oom_score_adj: Option<i32>,
    /// `nodemask=` when printed and not `(null)`.
    pub nodemask: Option<Text>,
    /// `cpuset=` from the old cpuset line or the `oom-kill:` line.
    pub cpuset: Option<Text>,
    pub mems_allowed: Option<Text>,
}

/// The memory cgroup whose limit was hit, with its `memory:` counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memcg {
    pub path: Option<Text>,
    pub usage_bytes: Option<u64>,
    /// Null when unknown or unlimited (then `unlimited` says so).
    pub limit_bytes: Option<u64>,
    /// The kernel printed its "no limit" (`crate::units::is_unlimited`).
    pub unlimited: bool,
    pub failcnt: Option<u64>,
}

/// A `usage NkB, limit NkB, failcnt N` counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    pub usage_bytes: u64,
    /// Null exactly when `unlimited`: every limit in the schema is a
    /// number JSON consumers hold exactly (below 2^53), or null.
    pub limit_bytes: Option<u64>,
    /// The kernel printed its "no limit" (`crate::units::is_unlimited`).
    pub unlimited: bool,
    pub failcnt: u64,
}

/// Which of the kernel's three memcg stats layouts a block was printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsFormat {
    /// One `key value` line each with v1 keys (`cache`, `rss`, `total_*`).
    V1,
    /// One `key value` line each with v2 keys (`anon`, `file`, …), 5.3+.
    V2,
    /// Pre-5.3 single line `cache:NKB rss:NKB …`, one per descendant.
    V1Oneline,
}

/// One `Memory cgroup stats for <path>` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemcgStats {
    pub path: Text,
    pub format: StatsFormat,
    /// Values as printed, except `NKB` values of the one-line form, which are
    /// converted to bytes. Event counters (`pgfault`, …) stay counts. A
    /// `*_limit` key (v1's `hierarchical_memory_limit`,
    /// `hierarchical_memsw_limit`) is null where the kernel printed its "no
    /// limit", as every limit of the schema is.
    pub stats: BTreeMap<Text, Option<u64>>,
}

/// The system-wide `Mem-Info:` block of a global OOM, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemInfo {
    /// The first block's `key:pages` counters, converted to bytes.
    pub counters_bytes: BTreeMap<Text, u64>,
    /// `N total pagecache pages`, in bytes.
    pub pagecache_bytes: Option<u64>,
    /// `N pages RAM`, in bytes.
    pub ram_bytes: Option<u64>,
    /// `Free swap  = NkB`.
    pub free_swap_bytes: Option<u64>,
    /// `Total swap = NkB`.
    pub total_swap_bytes: Option<u64>,
    /// Each zone's line, reserve and buddy lists, in printed order (empty
    /// where the report has no zone lines).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// hugetlbfs pages reserved (`hugepages_total` × `hugepages_size`,
    /// summed over the nodes' `Node N hugepages_total=…` lines): memory
    /// nothing else can use. Null when the report prints no such line.
    #[serde(default)]
    pub hugetlb_bytes: Option<u64>,
    /// Of those, the free ones (`hugepages_free`).
    #[serde(default)]
    pub hugetlb_free_bytes: Option<u64>,
}

/// One memory zone of a Mem-Info block: its free memory against its
/// watermarks, and its free blocks by size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// `Node N`; null on a kernel built without NUMA (no node printed).
    pub node: Option<u32>,
    /// `DMA`, `DMA32`, `Normal`, `HighMem`, `Movable`, …
    pub name: Text,
    pub free_bytes: Option<u64>,
    /// The `min:`, `low:` and `high:` watermarks.
    pub min_bytes: Option<u64>,
    pub low_bytes: Option<u64>,
    pub high_bytes: Option<u64>,
    /// `managed:` (3.11+), else `present:`.
    pub managed_bytes: Option<u64>,
    /// `lowmem_reserve[]`, in pages: what the zone keeps back from an
    /// allocation that could have used the zone at that index.
    pub lowmem_reserve_pages: Vec<u64>,
    /// The buddy lists: free blocks by size, smallest first; empty where
    /// the report does not print them.
    pub free_blocks: Vec<FreeBlocks>,
}

/// `C*SkB` of a buddy list: `count` free blocks of `size_bytes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeBlocks {
    pub size_bytes: u64,
    pub count: u64,
}

/// One row of the task table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRow {
    pub pid: u32,
    pub uid: Option<u32>,
    pub tgid: Option<u32>,
    pub total_vm_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub rss_anon_bytes: Option<u64>,
    pub rss_file_bytes: Option<u64>,
    pub rss_shmem_bytes: Option<u64>,
    pub nr_ptes: Option<u64>,
    pub nr_pmds: Option<u64>,
    pub pgtables_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub cpu: Option<u32>,
    pub oom_adj: Option<i32>,
    pub oom_score_adj: Option<i32>,
    pub name: Text,
}

/// A killed process, from its kill line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Victim {
    pub pid: u32,
    pub comm: Text,
    pub uid: Option<u32>,
    pub total_vm_bytes: Option<u64>,
    pub anon_rss_bytes: Option<u64>,
    pub file_rss_bytes: Option<u64>,
    pub shmem_rss_bytes: Option<u64>,
    pub pgtables_bytes: Option<u64>,
    pub oom_score_adj: Option<i32>,
    /// Kill-line prefix: `Out of memory`, `Memory cgroup out of memory`, …
    pub reason: Option<Text>,
    /// The process the kernel selected when it differs or was printed
    /// separately (`Kill process N (comm) score S or sacrifice child`).
    pub selected: Option<Selected>,
    /// What the oom_reaper reported after reaping it.
    pub reaped: Option<Reaped>,
}

/// The kernel's selection line before 5.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selected {
    pub pid: u32,
    pub comm: Text,
    pub score: Option<i64>,
}

/// `oom_reaper: reaped process N (comm), now anon-rss:…`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reaped {
    pub anon_rss_bytes: u64,
    pub file_rss_bytes: u64,
    pub shmem_rss_bytes: u64,
}

/// A line that looked like part of an OOM report but did not parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Malformed {
    pub line: u64,
    pub reason: Text,
}
