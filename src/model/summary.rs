//! What a run saw: the `summary` object of `-f json` and the last line
//! of the human formats.

use super::{Episode, Scope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a run saw, for the summary line and the `summary` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Inputs read.
    pub files: u64,
    /// Physical lines read.
    pub lines: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Episodes reported.
    pub episodes: u64,
    /// Of which incomplete (no kill line).
    pub incomplete: u64,
    /// Episodes by scope (`unknown` when the scope is null).
    pub by_scope: BTreeMap<String, u64>,
    /// Reports dropped as second captures of one already reported: the same
    /// host (or both unknown), boot where both say, time to the log's
    /// resolution, cgroups, counters, trigger and victims.
    pub duplicates: u64,
    /// Lines read once although captured twice (the same time and text, or
    /// a kill line repeated inside one report).
    pub duplicate_lines: u64,
    /// OOM lines that did not parse.
    pub malformed_lines: u64,
    /// Lines longer than the read block, cut.
    pub long_lines: u64,
    /// Inputs that could not be read (fully).
    pub errors: u64,
}

impl Summary {
    /// Count one reported episode.
    pub fn count(&mut self, ep: &Episode) {
        self.episodes += 1;
        if !ep.complete {
            self.incomplete += 1;
        }
        let scope = ep.scope.map_or("unknown", Scope::as_str);
        *self.by_scope.entry(scope.to_owned()).or_default() += 1;
    }
}
