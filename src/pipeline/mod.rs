//! The live pipeline: kmsg records in, episodes out, the same envelope,
//! builder and diagnosis as `analyze`. Pure: it never touches the machine.
//! What the machine adds (cgroup snapshots at emit time) comes through an
//! [`Enrich`] implementation: live cgroupfs for `watch`, the recorded
//! snapshots for `replay`. Both therefore print the same bytes.

mod counts;

use crate::builder::{Builder, BuilderOptions};
use crate::envelope::{Container, Decoder, LogLine};
use crate::model::{Episode, Text};
use crate::output::{Sink, Summary};
use crate::recording::{Entry, HostFacts, Recording};
use crate::snapshot::{self, Snapshot};
use counts::Counts;
use std::collections::HashMap;
use std::io;

/// What a live source adds to an episode when it is emitted.
pub trait Enrich {
    /// `index`: 1-based number of the episode among those emitted.
    fn enrich(&mut self, index: u64, ep: &mut Episode) -> io::Result<()>;
}

/// Records in, episodes out.
pub struct Pipeline<'s> {
    decoder: Decoder,
    builder: Builder,
    facts: HostFacts,
    sink: Box<dyn Sink + 's>,
    summary: Summary,
    /// Records fed so far: the "line number" of a record.
    records: u64,
    /// Records lost to ring-buffer overruns (counted from sequence gaps).
    pub lost: u64,
    /// Overruns seen (a `lost` entry of 0: the kernel said records were
    /// lost, but nothing read before tells how many).
    pub overruns: u64,
    emitted: u64,
    /// Kills counted in cgroups (v2 memory.events.local), matched with the
    /// log's.
    counts: Counts,
    /// The source, for episodes made from a count.
    source: Text,
}

impl<'s> Pipeline<'s> {
    pub fn new(source: &str, facts: HostFacts, sink: Box<dyn Sink + 's>) -> Pipeline<'s> {
        Pipeline {
            decoder: Decoder::new(Container::Kmsg, None),
            builder: Builder::new(
                source,
                BuilderOptions {
                    page_size: facts.page_size,
                },
            ),
            facts,
            sink,
            summary: Summary {
                files: 1,
                ..Summary::default()
            },
            records: 0,
            lost: 0,
            overruns: 0,
            emitted: 0,
            counts: Counts::default(),
            source: Text::new(source),
        }
    }

    /// A cgroup's memory.events.local `oom_kill` counter, read at `at_us`
    /// (`fresh`: a cgroup that appeared after watching began).
    pub fn counter(
        &mut self,
        path: &Text,
        oom_kill: u64,
        at_us: u64,
        fresh: bool,
        enrich: &mut dyn Enrich,
    ) -> io::Result<()> {
        self.counts.counter(path, oom_kill, at_us, fresh);
        let ready = self.counts.ready();
        self.out(ready, enrich)
    }

    /// Counting kills in memory.events.local begins.
    pub fn counting(&mut self) {
        self.counts.start();
    }

    /// A counted cgroup is gone.
    pub fn counter_gone(&mut self, path: &Text) {
        self.counts.forget(path);
    }

    /// A victim's cgroup as /proc showed it when its kill line was read.
    pub fn victim(&mut self, pid: u32, cgroup: &Text) {
        self.counts.victim(pid, cgroup);
    }

    /// True while counted kills and kill lines wait to be matched: the
    /// watcher ticks [`Pipeline::release`] meanwhile.
    pub fn holding(&self) -> bool {
        self.counts.holding()
    }

    /// A tick while matches wait: what waited two ticks goes out as it is
    /// (with `all`, everything), each kill counted that no line explained as
    /// an episode of its own (`printed: nothing`).
    pub fn release(&mut self, all: bool, enrich: &mut dyn Enrich) -> io::Result<()> {
        let (source, records) = (self.source.clone(), self.records);
        let out = self
            .counts
            .release(all, |path, at_us| counted_only(&source, records, path, at_us));
        self.out(out, enrich)
    }

    /// One raw kmsg record (its first line and any continuation lines).
    pub fn record(&mut self, r: &str, enrich: &mut dyn Enrich) -> io::Result<()> {
        self.records += 1;
        self.summary.lines += 1;
        self.summary.bytes += r.len() as u64;
        let mut lines: Vec<LogLine<'_>> = Vec::with_capacity(1);
        for l in r.split('\n') {
            self.decoder.decode(l.as_bytes(), &mut lines);
        }
        for l in &lines {
            self.builder.push(self.records, l);
        }
        self.emit(enrich)
    }

    pub fn lost(&mut self, n: u64) {
        self.lost += n;
        if n == 0 {
            self.overruns += 1;
        }
    }

    /// The source went quiet: finish what can be finished.
    pub fn settle(&mut self, all: bool, enrich: &mut dyn Enrich) -> io::Result<()> {
        self.builder.settle(all);
        self.emit(enrich)
    }

    /// Whether a settle is due: None when nothing is pending, else whether
    /// only reports without their kill are pending.
    pub fn pending(&self) -> Option<bool> {
        self.builder.pending()
    }

    fn emit(&mut self, enrich: &mut dyn Enrich) -> io::Result<()> {
        while let Some(mut ep) = self.builder.pop_ready() {
            crate::diagnose::explain(&mut ep);
            self.counts.episode(ep);
        }
        let ready = self.counts.ready();
        self.out(ready, enrich)
    }

    /// Finish and print episodes, in order.
    fn out(&mut self, eps: Vec<Episode>, enrich: &mut dyn Enrich) -> io::Result<()> {
        for mut ep in eps {
            self.emitted += 1;
            if let (Some(boot), Some(up)) = (self.facts.boot_time_us, ep.time.uptime_s) {
                let us = boot.saturating_add((up * 1e6).round() as i64);
                ep.time.wall = crate::envelope::epoch_us_iso(us).map(Text::from);
                ep.time.wall_year = None;
            }
            ep.host = ep.host.or_else(|| self.facts.hostname.as_deref().map(Text::new));
            // A kill line alone names no kernel; every record came from this one.
            ep.kernel = ep.kernel.or_else(|| self.facts.kernel.as_deref().map(Text::new));
            ep.time.boot_id = ep.time.boot_id.or_else(|| self.facts.boot_id.as_deref().map(Text::new));
            enrich.enrich(self.emitted, &mut ep)?;
            self.summary.count(&ep);
            self.sink.episode(&ep)?;
            self.sink.flush()?;
        }
        Ok(())
    }

    /// One entry of a recording. Snapshots and samples are the enricher's:
    /// they add nothing here (compact samples carry no more than the guard
    /// needs; episodes get the latest whole sample before them through
    /// `Recorded`).
    pub fn entry(&mut self, e: &Entry, enrich: &mut dyn Enrich) -> io::Result<()> {
        match e {
            Entry::Record { r } => self.record(r, enrich)?,
            Entry::Lost { n } => self.lost(*n),
            Entry::Settle { all } => self.settle(*all, enrich)?,
            Entry::Counter {
                path,
                oom_kill,
                at_us,
                fresh,
            } => self.counter(path, *oom_kill, *at_us, *fresh, enrich)?,
            Entry::Victim { pid, cgroup } => self.victim(*pid, cgroup),
            Entry::Counting { .. } => self.counting(),
            Entry::Gone { path } => self.counter_gone(path),
            Entry::Release => self.release(false, enrich)?,
            Entry::Header { .. }
            | Entry::Snap { .. }
            | Entry::Sample { .. }
            | Entry::Sampling { .. }
            | Entry::Compact(_) => {}
        }
        Ok(())
    }

    /// The end: finish everything, print the summary.
    pub fn finish(mut self, enrich: &mut dyn Enrich) -> io::Result<Summary> {
        self.builder.finish();
        self.emit(enrich)?;
        self.release(true, enrich)?;
        let (_, malformed) = self.builder.malformed();
        self.summary.malformed_lines = malformed;
        self.summary.duplicate_lines = self.builder.repeated().0;
        self.sink.finish(&self.summary)?;
        Ok(self.summary)
    }
}

/// An OOM kill counted in `path`'s memory.events.local at `at_us` that no
/// line of the log explained.
fn counted_only(source: &Text, records: u64, path: &Text, at_us: u64) -> Episode {
    let mut ep = Episode::default();
    ep.source.file = source.clone();
    ep.source.first_line = records;
    ep.source.last_line = records;
    ep.time.uptime_s = Some(at_us as f64 / 1e6);
    ep.task_memcg = Some(path.clone());
    ep.printed = crate::model::Printed::Nothing;
    crate::diagnose::explain(&mut ep);
    ep
}

/// Replay enrichment: the snapshots recorded for each episode, and the
/// latest whole samples read before it was emitted (as `watch` joined
/// them).
pub struct Recorded {
    by_episode: HashMap<u64, Vec<Snapshot>>,
    samples: snapshot::Recent,
}

impl Enrich for Recorded {
    fn enrich(&mut self, index: u64, ep: &mut Episode) -> io::Result<()> {
        if let Some(snaps) = self.by_episode.remove(&index) {
            ep.snapshots.extend(snaps);
            ep.diagnosis = Some(crate::diagnose::diagnose(ep));
        }
        self.samples.join(ep);
        Ok(())
    }
}

/// Run a recording through the pipeline into `sink`: the summary, and the
/// records lost to overruns with the overruns of unknown size.
pub fn run_recording(rec: &Recording, sink: Box<dyn Sink + '_>) -> io::Result<(Summary, (u64, u64))> {
    let mut enrich = Recorded {
        by_episode: HashMap::new(),
        samples: snapshot::Recent::default(),
    };
    // A `snap` entry follows the records that made its episode: read first.
    for e in &rec.entries {
        if let Entry::Snap { episode, snapshot } = e {
            enrich.by_episode.entry(*episode).or_default().push(snapshot.clone());
        }
    }
    let mut pipe = Pipeline::new(&rec.source, rec.host.clone(), sink);
    for e in &rec.entries {
        if let Entry::Sample { snapshot } = e {
            enrich.samples.push(snapshot.clone());
        }
        pipe.entry(e, &mut enrich)?;
    }
    let lost = (pipe.lost, pipe.overruns);
    Ok((pipe.finish(&mut enrich)?, lost))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::Compact;

    fn replay(rec: &Recording) -> String {
        let mut out = Vec::new();
        let sink = crate::output::sink(
            crate::output::Format::Jsonl,
            Box::new(&mut out),
            crate::output::Style::default(),
        );
        run_recording(rec, sink).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Compact samples add nothing to episodes: corpus/recordings' version 1
    /// recording (6.18, cgroup v1), written again as version 3 with a
    /// compact sample after every whole one, replays to the same bytes.
    #[test]
    fn compact_samples_leave_episodes_as_they_were() {
        let v1 = include_str!("../../corpus/recordings/6.18-v1-multi.rec");
        let old = crate::recording::read(v1.as_bytes(), "r").unwrap();
        let mut text = v1.lines().next().unwrap().replace("\"version\":1", "\"version\":3");
        let mut line = |e: &Entry| {
            text.push('\n');
            text.push_str(&serde_json::to_string(e).unwrap());
        };
        let mut paths: Vec<Text> = Vec::new();
        for e in &old.entries {
            if let Entry::Sample { snapshot } = e {
                if !paths.contains(&snapshot.path) {
                    paths.push(snapshot.path.clone());
                }
            }
        }
        line(&Entry::Sampling {
            cgroups: paths.clone(),
            interval_s: 0.25,
        });
        let mut compacts = 0;
        for e in &old.entries {
            line(e);
            if let Entry::Sample { snapshot } = e {
                let c = paths.iter().position(|p| *p == snapshot.path).unwrap();
                let mut later = snapshot.clone();
                later.uptime_s = later.uptime_s.map(|u| u + 0.1);
                line(&Entry::Compact(Compact::of(c, &later)));
                compacts += 1;
            }
        }
        text.push('\n');
        let new = crate::recording::read(text.as_bytes(), "r").unwrap();
        assert_eq!(crate::recording::compact_samples(&new.entries).count(), compacts);
        assert!(compacts > 0);
        let got = replay(&new);
        assert!(got.contains("\"snapshots\":[{"), "{got}");
        assert_eq!(got, replay(&old));
    }
}
