//! One row of `analyze --group-by`: the episodes of one group (the same
//! pod, cgroup, cause, … as the keys say) counted, their first and last
//! times, causes, most frequent victim and peak usage. Made by
//! `crate::output`'s group sink from finished episodes; an interface like
//! the episode object (README "Grouping"), unknown fields denied.

use super::Text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One group of episodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRow {
    /// The group's value of each `--group-by` key (`null`: the episodes
    /// do not say, e.g. `pod` of a systemd service). Keys in name order.
    pub key: BTreeMap<String, Option<Text>>,
    /// Episodes in the group.
    pub episodes: u64,
    /// The earliest episode's time (see [`GroupTime`]).
    pub first: GroupTime,
    /// The latest episode's time.
    pub last: GroupTime,
    /// Episodes per `diagnosis.cause` (`unknown` where there is none).
    pub causes: BTreeMap<String, u64>,
    /// The process killed most often (ties: the first name in byte order).
    pub victim: Option<GroupVictim>,
    /// The highest memcg usage of the group's episodes.
    pub peak_usage_bytes: Option<u64>,
    /// The memcg limit of the episode with the peak usage (`null` and
    /// `unlimited: true`: no limit; as in episodes).
    pub limit_bytes: Option<u64>,
    /// That limit is the kernel's "no limit".
    pub unlimited: bool,
    /// True for the one row that counts the episodes of every group past
    /// the cap on distinct groups (its key values are all `null`).
    pub rest: bool,
}

/// When: the wall clock where the log gives one, else seconds since boot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTime {
    pub wall: Option<Text>,
    pub uptime_s: Option<f64>,
}

/// The most frequent victim of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupVictim {
    pub comm: Text,
    /// Kills of a process of that name in the group.
    pub kills: u64,
}
