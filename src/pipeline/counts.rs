//! Kills counted in cgroups' `memory.events.local` (cgroup v2: `oom_kill`,
//! counted in the victim's own cgroup) matched with the kills the kernel
//! log reports: the second source of truth of `watch` on v2.
//!
//! - A kill line with nothing before it (a report the kernel's ratelimit
//!   suppressed) names no cgroup. The watcher reads the victim's cgroup from
//!   `/proc/PID/cgroup` when the line comes (a [`Counts::victim`] entry);
//!   where the victim was gone already, the line waits for the counts, and
//!   takes a cgroup only where they leave no doubt (every count waiting is
//!   of one cgroup). It holds the episodes after it, so the output stays in
//!   order.
//! - A count that no line explains (a record lost to an overrun, a log the
//!   watcher cannot read) becomes an episode of its own, `printed:
//!   nothing`.
//! - A reported kill and its count cancel out, whichever comes first; a
//!   `memory.oom.group` kill explains every count under its group (the
//!   kernel may kill and count its first victim twice).
//!
//! Time is the watcher's release ticks ([`Counts::release`], every half a
//! second while something waits, recorded): what has waited two ticks goes
//! out as it is. A replay sees the same entries in the same order, so it
//! matches exactly as the watcher did.

use crate::model::{Episode, Printed, Text};
use std::collections::{HashMap, VecDeque};

/// Ticks something waits before it goes out unmatched.
const WAIT_TICKS: u64 = 2;
/// Ticks a reported kill in a cgroup the counters have not read yet waits
/// for its count: the counters find new cgroups every 2 s, and then count
/// their kills from 0.
const NEW_CGROUP_TICKS: u64 = 8;

/// What a reported kill explains.
#[derive(Debug, Clone, PartialEq)]
enum Explains {
    /// One kill counted in this cgroup.
    One(Text),
    /// Any number of kills counted in this cgroup or below (a group kill).
    Group(Text),
    /// One kill in a cgroup the log does not name.
    Any,
}

impl Explains {
    /// True if this explains a kill counted in `counted`.
    fn explains(&self, counted: &str) -> bool {
        match self {
            Explains::One(c) => c.as_str() == counted,
            Explains::Group(g) => {
                counted == g.as_str()
                    || (g.as_str() != "/" && counted.starts_with(&format!("{}/", g.trim_end_matches('/'))))
            }
            Explains::Any => true,
        }
    }
}

/// Counts and reported kills waiting to be matched, and the episodes held
/// for a count; each with the tick it came at.
#[derive(Debug, Default)]
pub struct Counts {
    /// The last `oom_kill` read per cgroup.
    last: HashMap<Text, u64>,
    /// Counted kills that no line explains yet: cgroup, µs since boot.
    unexplained: VecDeque<(Text, u64, u64)>,
    /// Reported kills that no count explains yet.
    reported: VecDeque<(Explains, u64)>,
    /// Victims' cgroups as the watcher read them from /proc.
    victims: HashMap<u32, (Text, u64)>,
    /// Episodes in output order; Some(tick): waiting for a count since.
    queue: VecDeque<(Episode, Option<u64>)>,
    tick: u64,
    counting: bool,
}

impl Counts {
    /// Counting begins (the watcher started its counters).
    pub fn start(&mut self) {
        self.counting = true;
    }

    /// True once counting began: only then are kills matched.
    pub fn active(&self) -> bool {
        self.counting || !self.last.is_empty()
    }

    /// True while something waits to be matched (the watcher ticks
    /// [`Counts::release`] meanwhile).
    pub fn holding(&self) -> bool {
        !self.unexplained.is_empty()
            || !self.reported.is_empty()
            || !self.victims.is_empty()
            || self.queue.iter().any(|(_, w)| w.is_some())
    }

    /// A cgroup's `oom_kill` counter read at `at_us`. `fresh`: the cgroup
    /// appeared (or was made again) since watching began, so its count
    /// started at 0 and all of it is new kills; else its first reading is
    /// a baseline.
    pub fn counter(&mut self, path: &Text, value: u64, at_us: u64, fresh: bool) {
        let last = match (fresh, self.last.insert(path.clone(), value)) {
            (true, _) => 0,
            (false, Some(last)) => last,
            (false, None) => return, // the baseline
        };
        for _ in 0..value.saturating_sub(last) {
            self.count(path, at_us);
        }
    }

    /// `path` is gone: its last count is no longer needed (a cgroup made
    /// again under its name comes back fresh).
    pub fn forget(&mut self, path: &Text) {
        self.last.remove(path);
    }

    /// One kill counted in `path`.
    fn count(&mut self, path: &Text, at_us: u64) {
        if let Some(i) = self.reported.iter().position(|(e, _)| e.explains(path)) {
            if !matches!(self.reported[i].0, Explains::Group(_)) {
                self.reported.remove(i);
            }
            return;
        }
        self.unexplained.push_back((path.clone(), at_us, self.tick));
    }

    /// The victim `pid` was in `cgroup`, as /proc said when its kill line
    /// came.
    pub fn victim(&mut self, pid: u32, cgroup: &Text) {
        self.victims.insert(pid, (cgroup.clone(), self.tick));
    }

    /// An episode from the log, to match and queue.
    pub fn episode(&mut self, mut ep: Episode) {
        if !self.active() || ep.killer != crate::model::Killer::Kernel {
            self.queue.push_back((ep, None));
            return;
        }
        if ep.printed == Printed::KillLine && ep.task_memcg.is_none() {
            let named = ep.victims.first().and_then(|v| self.victims.remove(&v.pid));
            match named {
                Some((cgroup, _)) => {
                    ep.task_memcg = Some(cgroup);
                    crate::diagnose::explain(&mut ep);
                }
                None => {
                    self.queue.push_back((ep, Some(self.tick)));
                    return;
                }
            }
        }
        // A group kill of one process still counts it twice (see above).
        let group = ep.group_kill.clone();
        for (i, v) in ep.victims.iter().enumerate() {
            self.victims.remove(&v.pid);
            let explains = match (&group, i) {
                (Some(g), 0) => Explains::Group(g.clone()),
                (Some(_), _) => continue,
                (None, _) => match ep
                    .task_memcg
                    .clone()
                    .or_else(|| ep.memcg.as_ref().and_then(|m| m.path.clone()))
                {
                    Some(c) => Explains::One(c),
                    None => Explains::Any,
                },
            };
            // Counts that came before the line.
            let mut consumed = false;
            while let Some(j) = self.unexplained.iter().position(|(p, _, _)| explains.explains(p)) {
                self.unexplained.remove(j);
                consumed = true;
                if !matches!(explains, Explains::Group(_)) {
                    break;
                }
            }
            if !consumed || matches!(explains, Explains::Group(_)) {
                self.reported.push_back((explains, self.tick));
            }
        }
        self.queue.push_back((ep, None));
    }

    /// The episodes that can go out now, in order.
    pub fn ready(&mut self) -> Vec<Episode> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(_, w)| w.is_none()) {
            out.extend(self.queue.pop_front().map(|(ep, _)| ep));
        }
        out
    }

    /// A tick: what has waited [`WAIT_TICKS`] goes out as it is (with
    /// `all`, everything): a kill line takes a cgroup only where the counts
    /// waiting are all of one; each count unexplained becomes an episode of
    /// its own (made by `nothing`); reported kills no count came for, and
    /// victims no line came for, are forgotten. A reported kill in a cgroup
    /// not counted yet waits [`NEW_CGROUP_TICKS`]: its count comes when the
    /// counters find the cgroup.
    pub fn release(&mut self, all: bool, nothing: impl Fn(&Text, u64) -> Episode) -> Vec<Episode> {
        self.tick += 1;
        let due = |since: u64, tick: u64| all || since + WAIT_TICKS <= tick;
        let tick = self.tick;
        for i in 0..self.queue.len() {
            let Some(since) = self.queue[i].1 else { continue };
            if !due(since, tick) {
                continue;
            }
            let mut cgroups = self.unexplained.iter().map(|(p, _, _)| p);
            let only = cgroups.next().filter(|first| cgroups.all(|p| p == *first)).cloned();
            if let Some(p) = only {
                if let Some(j) = self.unexplained.iter().position(|(q, _, _)| *q == p) {
                    self.unexplained.remove(j);
                }
                let ep = &mut self.queue[i].0;
                ep.task_memcg = Some(p);
                crate::diagnose::explain(ep);
            }
            self.queue[i].1 = None;
        }
        let mut out = self.ready();
        let mut left = VecDeque::new();
        for (p, at, since) in self.unexplained.drain(..) {
            if due(since, tick) {
                out.push(nothing(&p, at));
            } else {
                left.push_back((p, at, since));
            }
        }
        self.unexplained = left;
        let last = &self.last;
        let known = |e: &Explains| match e {
            Explains::Any => true,
            Explains::One(c) => last.contains_key(c),
            Explains::Group(_) => last.keys().any(|c| e.explains(c)),
        };
        self.reported
            .retain(|(e, since)| !all && since + if known(e) { WAIT_TICKS } else { NEW_CGROUP_TICKS } > tick);
        self.victims.retain(|_, (_, since)| !due(*since, tick));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Victim;

    fn kill_line(pid: u32) -> Episode {
        Episode {
            victims: vec![Victim {
                pid,
                comm: "a".into(),
                ..Victim::default()
            }],
            printed: Printed::KillLine,
            ..Episode::default()
        }
    }

    fn report(pid: u32, cgroup: &str) -> Episode {
        Episode {
            task_memcg: Some(cgroup.into()),
            printed: Printed::Report,
            ..kill_line(pid)
        }
    }

    fn nothing(p: &Text, at: u64) -> Episode {
        Episode {
            task_memcg: Some(p.clone()),
            printed: Printed::Nothing,
            kill_time: Some(Text::from(format!("{at}"))),
            ..Episode::default()
        }
    }

    fn tick(c: &mut Counts) -> Vec<Episode> {
        c.release(false, nothing)
    }

    #[test]
    fn proc_names_the_cgroup_of_a_suppressed_report() {
        let mut c = Counts::default();
        c.counter(&"/pod/a".into(), 0, 1, false);
        c.counter(&"/pod/b".into(), 0, 1, false);
        // Counts of two cgroups come before the lines, in another order.
        c.counter(&"/pod/b".into(), 1, 2, false);
        c.counter(&"/pod/a".into(), 1, 2, false);
        c.victim(7, &"/pod/a".into());
        c.victim(8, &"/pod/b".into());
        c.episode(kill_line(7));
        c.episode(kill_line(8));
        let out = c.ready();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].task_memcg.as_deref(), Some("/pod/a"));
        assert_eq!(out[1].task_memcg.as_deref(), Some("/pod/b"));
        assert!(!c.holding(), "both counts explained");
    }

    #[test]
    fn without_proc_a_kill_line_takes_a_cgroup_only_without_doubt() {
        let mut c = Counts::default();
        c.counter(&"/a".into(), 0, 1, false);
        c.counter(&"/b".into(), 0, 1, false);
        c.episode(kill_line(7));
        c.episode(report(9, "/c"));
        assert!(c.ready().is_empty(), "the kill line waits, and the report after it");
        c.counter(&"/a".into(), 1, 2, false);
        assert!(tick(&mut c).is_empty(), "one tick is not enough");
        let out = tick(&mut c);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].task_memcg.as_deref(), Some("/a"), "the only cgroup counted");
        // Two cgroups counted, one kill line: no guess.
        c.episode(kill_line(8));
        c.counter(&"/a".into(), 2, 3, false);
        c.counter(&"/b".into(), 1, 3, false);
        tick(&mut c);
        let out = tick(&mut c);
        assert_eq!(out[0].task_memcg, None, "two cgroups: no guess");
        assert_eq!(out.len(), 3, "and the two counts are kills of their own");
    }

    #[test]
    fn a_count_no_line_explains_is_an_episode_of_its_own() {
        let mut c = Counts::default();
        c.counter(&"/pod/a".into(), 2, 1, false);
        c.counter(&"/pod/a".into(), 4, 9, false);
        tick(&mut c);
        let out = tick(&mut c);
        assert_eq!(out.len(), 2, "two kills counted, none in the log");
        assert!(out
            .iter()
            .all(|e| e.printed == Printed::Nothing && e.task_memcg.as_deref() == Some("/pod/a")));
    }

    #[test]
    fn a_fresh_cgroup_counts_from_zero() {
        let mut c = Counts::default();
        c.counter(&"/old".into(), 5, 1, false);
        c.counter(&"/new".into(), 1, 2, true);
        let out = c.release(true, nothing);
        assert_eq!(out.len(), 1, "the new cgroup's first kill, counted before it was seen");
        assert_eq!(out[0].task_memcg.as_deref(), Some("/new"));
    }

    #[test]
    fn a_group_kill_explains_every_count_under_it() {
        let mut c = Counts::default();
        c.counter(&"/g/x".into(), 0, 1, false);
        c.counter(&"/g/y".into(), 0, 1, false);
        // The kernel kills and counts the first victim twice.
        c.counter(&"/g/x".into(), 2, 2, false);
        let mut g = report(1, "/g/x");
        g.group_kill = Some("/g".into());
        g.victims.push(Victim {
            pid: 2,
            comm: "b".into(),
            ..Victim::default()
        });
        c.episode(g);
        c.counter(&"/g/y".into(), 1, 3, false);
        assert_eq!(c.ready().len(), 1);
        assert!(c.release(true, nothing).is_empty(), "no phantom kill");
    }

    #[test]
    fn a_group_kill_of_one_process_counted_twice_is_one_kill() {
        let mut c = Counts::default();
        c.counter(&"/g".into(), 0, 1, false);
        let mut g = report(1, "/g");
        g.group_kill = Some("/g".into());
        c.episode(g);
        c.counter(&"/g".into(), 2, 2, false);
        assert_eq!(c.ready().len(), 1);
        assert!(c.release(true, nothing).is_empty(), "no phantom");
    }

    #[test]
    fn a_victim_in_the_root_cgroup_explains_no_other() {
        let mut c = Counts::default();
        c.counter(&"/a".into(), 0, 1, false);
        c.episode(report(1, "/"));
        c.counter(&"/a".into(), 1, 2, false);
        let out = c.release(true, nothing);
        assert_eq!(out.len(), 2, "the global kill in / and a kill counted in /a");
    }

    #[test]
    fn a_kill_in_a_cgroup_found_late_waits_for_its_count() {
        let mut c = Counts::default();
        c.counter(&"/old".into(), 0, 1, false);
        let mut g = report(1, "/new/x");
        g.group_kill = Some("/new".into());
        g.victims.push(Victim {
            pid: 2,
            comm: "b".into(),
            ..Victim::default()
        });
        c.episode(g);
        assert_eq!(c.ready().len(), 1);
        for _ in 0..4 {
            assert!(tick(&mut c).is_empty());
        }
        // Found 2 s later, with the kernel's three counts of the two kills.
        c.counter(&"/new/x".into(), 3, 9, true);
        assert!(tick(&mut c).is_empty(), "explained, no phantom");
        assert!(c.release(true, nothing).is_empty());
    }

    #[test]
    fn counting_with_no_cgroup_yet_still_matches() {
        let mut c = Counts::default();
        c.start();
        let mut g = report(1, "/g");
        g.group_kill = Some("/g".into());
        g.victims.push(Victim {
            pid: 2,
            comm: "b".into(),
            ..Victim::default()
        });
        c.episode(g);
        assert_eq!(c.ready().len(), 1);
        tick(&mut c);
        c.counter(&"/g".into(), 3, 9, true);
        assert!(c.release(true, nothing).is_empty(), "no phantom");
    }

    #[test]
    fn each_waits_its_own_two_ticks() {
        let mut c = Counts::default();
        c.counter(&"/a".into(), 0, 1, false);
        c.counter(&"/x".into(), 0, 1, false);
        c.episode(report(1, "/x"));
        assert_eq!(tick(&mut c).len(), 1);
        // A count that comes late in the first one's wait still waits.
        c.counter(&"/a".into(), 1, 2, false);
        assert!(tick(&mut c).is_empty());
        c.episode(report(2, "/a"));
        assert_eq!(c.ready().len(), 1);
        assert!(tick(&mut c).is_empty(), "explained before its own two ticks passed");
        assert!(!c.holding());
    }
}
