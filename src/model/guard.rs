//! What a guard would have done, as the schema carries it: `guard` in
//! `oomctl simulate`'s episodes. Made by `crate::guard`.

use super::Text;
use serde::{Deserialize, Serialize};

/// What the guard does at its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Process,
    Container,
    Noop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Process => "process",
            Policy::Container => "container",
            Policy::Noop => "noop",
        }
    }

    /// oom-guard's spelling in its events (`"policy":"Container"`).
    pub fn event_name(self) -> &'static str {
        match self {
            Policy::Process => "Process",
            Policy::Container => "Container",
            Policy::Noop => "Noop",
        }
    }
}

/// A process named in a guard outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proc {
    pub pid: u32,
    pub comm: Text,
}

/// What a guard would have done before this OOM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardOutcome {
    pub policy: Policy,
    pub margin_bytes: Option<u64>,
    pub threshold_bytes: Option<u64>,
    /// The guard's threshold was crossed (usage reached it).
    pub fired: bool,
    /// The cache rule held it back (clean cache ≥ cache_hold_ratio × limit).
    pub held_back: bool,
    /// `kill_process`, `kill_container` or `none`.
    pub action: Text,
    /// The process the guard would kill (policy process), or whose
    /// container it would kill (policy container).
    pub victim: Option<Proc>,
    /// Every process a container kill would take.
    pub killed: Vec<Proc>,
    pub kernel_victim: Option<Proc>,
    /// The guard's choice is the kernel's victim.
    pub same_victim: Option<bool>,
    /// Why the outcome is what it is, for people.
    pub note: Text,
}

/// What became of one crossing of the guard's threshold in a sampled
/// cgroup's time series, or of one kernel OOM that no crossing came before
/// (`oomctl simulate --over-time`). Made by `crate::guard::timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The guard acted (killed) before a kernel OOM of the cgroup.
    Prevented,
    /// The guard acted, and no kernel OOM followed before usage fell back
    /// below the reclaim mark (or the samples ended).
    FalseKill,
    /// Policy noop: it reported before a kernel OOM.
    Warned,
    /// Policy noop: it reported, and no kernel OOM followed.
    FalseAlarm,
    /// The cache rule held the guard back for the whole crossing
    /// (`oom_at` says whether a kernel OOM followed anyway).
    HeldBack,
    /// A kernel OOM with no crossing before it (`reason`).
    Missed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Prevented => "prevented",
            Verdict::FalseKill => "false_kill",
            Verdict::Warned => "warned",
            Verdict::FalseAlarm => "false_alarm",
            Verdict::HeldBack => "held_back",
            Verdict::Missed => "missed",
        }
    }
}

/// Why a kernel OOM had no crossing before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    /// No sample of the cgroup came before the OOM.
    NoSample,
    /// The last sample was more than two intervals before the OOM.
    SamplingGap,
    /// The last sample, within the interval, was below the threshold:
    /// usage grew from there to the limit faster than the sampling.
    TooFast,
    /// The last sample showed no limit: the guard had no threshold.
    NoLimit,
}

impl MissReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MissReason::NoSample => "no_sample",
            MissReason::SamplingGap => "sampling_gap",
            MissReason::TooFast => "too_fast",
            MissReason::NoLimit => "no_limit",
        }
    }
}

/// Where the process list the guard chose its victim from came from: the
/// nearest whole sample, or the kernel report's task table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VictimFrom {
    Sample,
    Report,
}

/// One outcome of `simulate --over-time`: one row of its jsonl and csv.
/// Times are seconds since boot, the clock of both the samples and the
/// kernel log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineOutcome {
    /// The sampled cgroup (kernel path).
    pub cgroup: Text,
    pub policy: Policy,
    pub margin_ratio: f64,
    pub cache_hold_ratio: f64,
    pub outcome: Verdict,
    /// `missed` only.
    pub reason: Option<MissReason>,
    /// The limit when usage crossed (missed: at the last sample).
    pub limit_bytes: Option<u64>,
    pub margin_bytes: Option<u64>,
    pub threshold_bytes: Option<u64>,
    /// The first sample at or above the threshold.
    pub crossed_at: Option<f64>,
    /// When the guard acted: the first sample of the crossing at which the
    /// cache rule did not hold it back.
    pub fired_at: Option<f64>,
    /// The kernel OOM of the cgroup during the crossing (the first, if
    /// several), or the one missed.
    pub oom_at: Option<f64>,
    /// `oom_at − fired_at`: how much earlier the guard acted.
    pub lead_s: Option<f64>,
    /// The first sample back below the reclaim mark (limit − 2 × margin),
    /// which ends the crossing; null when the samples ended first.
    pub below_at: Option<f64>,
    /// The highest usage sampled during the crossing.
    pub peak_bytes: Option<u64>,
    /// Kernel OOMs of the cgroup during the crossing.
    pub ooms: u32,
    /// Whom the guard would have killed (policy process), or whose
    /// container (container); noop: whom it would have named.
    pub victim: Option<Proc>,
    /// Every process a container kill would take.
    pub killed: Vec<Proc>,
    pub victim_from: Option<VictimFrom>,
    /// The kernel's victim of `oom_at`.
    pub kernel_victim: Option<Proc>,
    /// The guard's victim is the kernel's (both known).
    pub same_victim: Option<bool>,
    /// Wall clock (ISO 8601 UTC) of the outcome's first moment (fired_at,
    /// else crossed_at, else oom_at), when the boot time is known.
    pub wall: Option<Text>,
    /// Why, for people.
    pub note: Text,
}

/// Outcomes of one guard setting over every sampled cgroup: one row of
/// `simulate --over-time --sweep`, and the summary of a run without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineSummary {
    pub policy: Policy,
    pub margin_ratio: f64,
    pub min_margin_bytes: u64,
    pub max_margin_bytes: u64,
    pub cache_hold_ratio: f64,
    pub prevented: u64,
    pub false_kill: u64,
    pub warned: u64,
    pub false_alarm: u64,
    pub held_back: u64,
    /// Of `held_back`: a kernel OOM followed anyway.
    pub held_back_oom: u64,
    pub missed: u64,
    /// Median `lead_s` of `prevented` (noop: `warned`).
    pub median_lead_s: Option<f64>,
    /// Of `prevented`: the guard's victim is the kernel's, or another.
    pub same_victim: u64,
    pub other_victim: u64,
}
