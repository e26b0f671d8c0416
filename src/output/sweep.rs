//! `oomctl simulate --sweep`: outcomes counted across all episodes for
//! several guard settings (margin ratio × cache hold × policy), so an
//! operator can pick one. One row per setting, as a table, JSON lines, one
//! JSON array, or CSV; the rows' schema is [`SweepRow`] (README "Guard").

use super::{Sink, Summary};
use crate::guard::{simulate, GuardPolicy, Policy};
use crate::units::human_bytes;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// Outcomes of one guard setting across all episodes (stable: a JSON
/// object per row, CSV columns in this order; append only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRow {
    pub policy: String,
    pub margin_ratio: f64,
    pub min_margin_bytes: u64,
    pub max_margin_bytes: u64,
    pub cache_hold_ratio: f64,
    /// Episodes with a memcg limit (the ones a memcg guard can act on).
    pub memcg_episodes: u64,
    /// The threshold was crossed.
    pub fired: u64,
    /// Held back by the cache rule (the kernel's OOM then happens anyway).
    pub held_back: u64,
    /// The guard would have killed before the kernel.
    pub acted: u64,
    /// ...the same process the kernel killed.
    pub same_victim: u64,
    /// ...another process than the kernel's.
    pub other_victim: u64,
    /// The median margin this setting gives over the episodes' limits.
    pub median_margin_bytes: Option<u64>,
    #[serde(skip)]
    margins: Vec<u64>,
}

/// Sweep output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepFormat {
    Table,
    /// One JSON array of the rows.
    Json,
    /// One row object per line.
    Jsonl,
    Csv,
}

/// The policies a sweep covers when `--policy` does not name one: every
/// policy that kills (`noop` never acts, so its rows would only repeat
/// the others' `fired` and `held_back`).
pub const SWEPT_POLICIES: [Policy; 2] = [Policy::Process, Policy::Container];

/// What `simulate --sweep` counts, and how it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One row each, in this order.
    pub settings: Vec<GuardPolicy>,
    pub format: SweepFormat,
    /// `--policy` chose the policy; else [`SWEPT_POLICIES`] were swept.
    pub policy_given: bool,
}

impl Sweep {
    /// The policies swept, in row order, each once.
    fn policies(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for p in &self.settings {
            if !v.contains(&p.policy.as_str()) {
                v.push(p.policy.as_str());
            }
        }
        v
    }

    /// The line under the table that says which policies were swept, and why.
    fn policies_line(&self) -> String {
        let list = self.policies().join(", ");
        if self.policy_given {
            format!("Swept: {list} (--policy).")
        } else {
            format!("Swept: {list}: every policy that kills (--policy picks one).")
        }
    }
}

/// A ratio as the percentage it was meant to be: `0.015` is `1.5%`, and
/// `0.07` is `7%`, not `7.000000000000001%`.
fn percent_of_ratio(r: f64) -> String {
    let s = format!("{:.2}", r * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// Counts outcomes per setting while episodes stream by.
pub struct SweepSink<'w> {
    out: Box<dyn Write + 'w>,
    sweep: Sweep,
    rows: Vec<SweepRow>,
}

impl<'w> SweepSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, sweep: Sweep) -> Self {
        let rows = sweep
            .settings
            .iter()
            .map(|p| SweepRow {
                policy: p.policy.as_str().to_owned(),
                margin_ratio: p.margin_ratio,
                min_margin_bytes: p.min_margin,
                max_margin_bytes: p.max_margin,
                cache_hold_ratio: p.cache_hold_ratio,
                ..SweepRow::default()
            })
            .collect();
        SweepSink { out, sweep, rows }
    }

    fn table(&mut self, s: &Summary) -> io::Result<()> {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header([
            "policy",
            "margin",
            "median margin",
            "cache hold",
            "held back",
            "guard first",
            "same victim",
            "other victim",
        ]);
        // "container" whole (9 and the padding): comfy-table would share
        // the width evenly.
        if let Some(c) = t.column_mut(0) {
            c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(11)));
        }
        for r in &self.rows {
            t.add_row([
                r.policy.clone(),
                percent_of_ratio(r.margin_ratio),
                r.median_margin_bytes.map_or("-".to_owned(), human_bytes),
                percent_of_ratio(r.cache_hold_ratio),
                r.held_back.to_string(),
                r.acted.to_string(),
                r.same_victim.to_string(),
                r.other_victim.to_string(),
            ]);
        }
        writeln!(self.out, "{t}")?;
        writeln!(self.out, "{}", self.sweep.policies_line())?;
        if let Some(p) = self.sweep.settings.first() {
            writeln!(
                self.out,
                "Margin: limit × ratio, within [{}, {}].",
                human_bytes(p.min_margin),
                human_bytes(p.max_margin),
            )?;
        }
        // The same for every row: whether an episode has a limit does not
        // depend on the setting.
        writeln!(
            self.out,
            "Episodes: {}, {} of them memcg OOMs with a known limit.",
            s.episodes,
            self.rows.first().map_or(0, |r| r.memcg_episodes)
        )
    }
}

impl Sink for SweepSink<'_> {
    fn episode(&mut self, ep: &crate::model::Episode) -> io::Result<()> {
        for (p, r) in self.sweep.settings.iter().zip(self.rows.iter_mut()) {
            let g = simulate(ep, p);
            if g.threshold_bytes.is_none() {
                continue;
            }
            r.memcg_episodes += 1;
            r.margins.extend(g.margin_bytes);
            r.fired += u64::from(g.fired);
            r.held_back += u64::from(g.held_back);
            if g.action != "none" {
                r.acted += 1;
                match g.same_victim {
                    Some(true) => r.same_victim += 1,
                    Some(false) => r.other_victim += 1,
                    None => {}
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        for r in &mut self.rows {
            r.margins.sort_unstable();
            r.median_margin_bytes = r.margins.get(r.margins.len() / 2).copied();
        }
        match self.sweep.format {
            SweepFormat::Json => {
                serde_json::to_writer_pretty(&mut self.out, &self.rows)?;
                writeln!(self.out)?;
            }
            SweepFormat::Jsonl => {
                for r in &self.rows {
                    serde_json::to_writer(&mut self.out, r)?;
                    writeln!(self.out)?;
                }
            }
            SweepFormat::Csv => {
                let mut w = csv::Writer::from_writer(&mut self.out);
                for r in &self.rows {
                    w.serialize(r).map_err(io::Error::other)?;
                }
                w.flush()?;
            }
            SweepFormat::Table => self.table(s)?,
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(policies: &[Policy], policy_given: bool) -> Sweep {
        Sweep {
            settings: policies
                .iter()
                .flat_map(|&policy| {
                    [0.01, 0.1].map(|margin_ratio| GuardPolicy {
                        margin_ratio,
                        policy,
                        ..GuardPolicy::default()
                    })
                })
                .collect(),
            format: SweepFormat::Table,
            policy_given,
        }
    }

    #[test]
    fn ratios_read_as_percentages() {
        assert_eq!(percent_of_ratio(0.07), "7%");
        assert_eq!(percent_of_ratio(0.015), "1.5%");
        assert_eq!(percent_of_ratio(0.0), "0%");
        assert_eq!(percent_of_ratio(1.0), "100%");
    }

    #[test]
    fn the_table_says_which_policies_were_swept_and_why() {
        let all = sweep(&SWEPT_POLICIES, false);
        assert_eq!(all.policies(), ["process", "container"]);
        assert_eq!(
            all.policies_line(),
            "Swept: process, container: every policy that kills (--policy picks one)."
        );
        let one = sweep(&[Policy::Container], true);
        assert_eq!(one.policies_line(), "Swept: container (--policy).");
    }
}
