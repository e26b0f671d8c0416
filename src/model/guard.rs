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
