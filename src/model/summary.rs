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
        self.add(Tally::of(ep));
    }

    /// Count one reported episode from what [`Tally::of`] took of it.
    pub fn add(&mut self, t: Tally) {
        self.episodes += 1;
        if !t.complete {
            self.incomplete += 1;
        }
        let scope = t.scope.map_or("unknown", Scope::as_str);
        match self.by_scope.get_mut(scope) {
            Some(n) => *n += 1,
            None => {
                self.by_scope.insert(scope.to_owned(), 1);
            }
        }
    }
}

/// What the summary counts of one episode, taken where the episode was
/// built so that the episode need not travel to where it is counted.
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    complete: bool,
    scope: Option<Scope>,
}

impl Tally {
    pub fn of(ep: &Episode) -> Tally {
        Tally {
            complete: ep.complete,
            scope: ep.scope,
        }
    }
}
