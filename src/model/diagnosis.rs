//! Why an OOM happened, as the schema carries it: `diagnosis.{cause,
//! summary, evidence, advice}`. Made by `crate::diagnose`.

use super::Text;
use serde::{Deserialize, Serialize};

/// Where a breakdown came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    MemcgStats,
    MemInfo,
    TaskTable,
    /// A cgroup snapshot joined by path (`analyze --snapshots`), used when the
    /// report carries no stats of its own.
    Snapshot,
    /// Only the memcg's usage and limit and the victim's kill line (anon-,
    /// file-, shmem-rss) survive: a `dmesg | grep` paste without the stats
    /// and the task table.
    KillLine,
}

/// Why an OOM happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Dirty / writeback page cache filled the limit.
    WriteCache,
    /// Clean, reclaimable page cache dominated, yet the OOM fired.
    PageCache,
    /// Anonymous memory of processes (a leak or an undersized limit).
    Anon,
    /// tmpfs / shared memory.
    Shmem,
    /// Kernel memory (slab, sockets, stacks, page tables).
    Kernel,
    /// A global high-order allocation failed while memory was free.
    Fragmentation,
    /// The memcg's limit was lowered below its usage (memory.max or
    /// limit_in_bytes written by someone outside the workload).
    LimitLowered,
    /// cgroup v1's memory+swap limit was the one hit, memory below its own.
    Memsw,
    /// Unevictable memory (mlocked pages, locked shmem) that neither reclaim
    /// nor swap can take filled most of it.
    Unevictable,
    /// A cpuset or memory policy confined the allocation to full nodes while
    /// the machine had memory elsewhere.
    Constrained,
    /// hugetlbfs reservations held most of RAM, which nothing else can use.
    Hugetlb,
    /// sysrq-f.
    Manual,
    /// The report does not decide.
    Unknown,
}

impl Cause {
    /// Every cause, in the schema's order.
    pub const ALL: [Cause; 13] = [
        Cause::WriteCache,
        Cause::PageCache,
        Cause::Anon,
        Cause::Shmem,
        Cause::Kernel,
        Cause::Fragmentation,
        Cause::LimitLowered,
        Cause::Memsw,
        Cause::Unevictable,
        Cause::Constrained,
        Cause::Hugetlb,
        Cause::Manual,
        Cause::Unknown,
    ];

    /// Whether the cause names a reason memory ran out (not a manual kill,
    /// not `unknown`).
    pub fn names_a_reason(self) -> bool {
        !matches!(self, Cause::Manual | Cause::Unknown)
    }

    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::WriteCache => "write_cache",
            Cause::PageCache => "page_cache",
            Cause::Anon => "anon",
            Cause::Shmem => "shmem",
            Cause::Kernel => "kernel",
            Cause::Fragmentation => "fragmentation",
            Cause::LimitLowered => "limit_lowered",
            Cause::Memsw => "memsw",
            Cause::Unevictable => "unevictable",
            Cause::Hugetlb => "hugetlb",
            Cause::Constrained => "constrained",
            Cause::Manual => "manual",
            Cause::Unknown => "unknown",
        }
    }
}

/// The numbers behind a diagnosis, in bytes and shares of `total_bytes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Where the split came from: `memcg_stats`, `mem_info`, `snapshot`,
    /// `task_table`, `kill_line`.
    pub source: Option<EvidenceSource>,
    /// What the shares are of: memcg usage, or RAM for a global OOM.
    pub total_bytes: Option<u64>,
    /// The memcg's limit, as in `memcg` (null when unknown or unlimited).
    pub limit_bytes: Option<u64>,
    /// The memcg's limit is the kernel's "no limit".
    pub unlimited: bool,
    pub anon_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    pub dirty_bytes: Option<u64>,
    pub writeback_bytes: Option<u64>,
    pub shmem_bytes: Option<u64>,
    pub kernel_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    /// Σ RSS of the task table.
    pub task_rss_bytes: Option<u64>,
    /// usage − Σ task RSS: memory no process accounts for.
    pub unattributed_bytes: Option<u64>,
    /// Share of the total for the cause's own category.
    pub share: Option<f64>,
    /// The process holding the most RSS, with its share of the limit/total.
    pub top_task: Option<TopTask>,
}

/// The largest process by RSS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopTask {
    pub pid: u32,
    pub name: Text,
    /// All of its RSS (anonymous, file and shared memory).
    pub rss_bytes: u64,
    /// The part of it charged to the cgroup as its own: anonymous + shared
    /// memory where the kernel splits RSS (6.8+ task tables, or the kill
    /// line for the victim), else all of RSS. File RSS (binaries,
    /// libraries) is page cache charged to whoever read it first.
    pub charged_bytes: u64,
    /// `charged_bytes` as a share of the total (usage, or RAM for a global
    /// OOM), at most 1.
    pub share: Option<f64>,
}

/// Cause, evidence and advice for one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub cause: Cause,
    /// One sentence for people.
    pub summary: Text,
    pub evidence: Evidence,
    pub advice: Vec<Text>,
}
