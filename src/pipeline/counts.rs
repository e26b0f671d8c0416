//! Kills counted in cgroups' `memory.events.local` (cgroup v2: `oom_kill`,
//! counted in the victim's own cgroup) matched with the kills the kernel
//! log reports: the second source of truth of `watch` on v2.
//!
//! - A kill line with nothing before it (the report suppressed by the
//!   kernel's ratelimit) names no cgroup: the count that comes with it does.
//!   Such an episode waits for that count (and holds the episodes after it,
//!   so the output stays in order) and takes its cgroup as `task_memcg`.
//! - A count that no line explains (a record lost to an overrun, a log the
//!   watcher cannot read) becomes an episode of its own, `printed:
//!   nothing`.
//! - A reported kill and its count cancel out, whichever comes first.
//!
//! The watcher decides when to stop waiting ([`Counts::release`]) and
//! records it, so a replay matches exactly as the watcher did.

use crate::model::{Episode, Printed, Text};
use std::collections::{HashMap, VecDeque};

/// Counts and reported kills waiting to be matched, and the episodes held
/// for a count.
#[derive(Debug, Default)]
pub struct Counts {
    /// The last `oom_kill` read per cgroup (the first is a baseline).
    last: HashMap<Text, u64>,
    /// Counted kills that no line explains yet: (cgroup, µs since boot).
    unexplained: VecDeque<(Text, u64)>,
    /// Reported kills that no count explains yet: the victim's cgroup (a
    /// group kill's: the group; None: not said, matches any).
    reported: VecDeque<Option<Text>>,
    /// Episodes in output order; `true`: waiting for a count.
    queue: VecDeque<(Episode, bool)>,
}

/// True if a kill counted in `counted` is the one reported in `reported`:
/// the same cgroup, or one below a group-kill cgroup, or any where the log
/// did not say.
fn explains(reported: &Option<Text>, counted: &str) -> bool {
    match reported {
        None => true,
        Some(r) => counted == r.as_str() || counted.starts_with(&format!("{}/", r.trim_end_matches('/'))),
    }
}

impl Counts {
    /// True once a counter was read: only then are kills matched.
    pub fn active(&self) -> bool {
        !self.last.is_empty()
    }

    /// True while something waits to be matched (the watcher releases it
    /// after a while).
    pub fn holding(&self) -> bool {
        !self.unexplained.is_empty() || !self.reported.is_empty() || self.queue.iter().any(|(_, w)| *w)
    }

    /// A cgroup's `oom_kill` counter read at `at_us`.
    pub fn counter(&mut self, path: &Text, value: u64, at_us: u64) {
        let Some(last) = self.last.insert(path.clone(), value) else {
            return; // the baseline
        };
        // Lower: the cgroup was removed and made again under the same name.
        let new = if value >= last { value - last } else { value };
        for _ in 0..new {
            if let Some(i) = self.reported.iter().position(|r| explains(r, path)) {
                self.reported.remove(i);
            } else if let Some((ep, waiting)) = self.queue.iter_mut().find(|(_, w)| *w) {
                ep.task_memcg = Some(path.clone());
                crate::diagnose::explain(ep);
                *waiting = false;
            } else {
                self.unexplained.push_back((path.clone(), at_us));
            }
        }
    }

    /// An episode from the log, to match and queue.
    pub fn episode(&mut self, mut ep: Episode) {
        if !self.active() || ep.killer != crate::model::Killer::Kernel {
            self.queue.push_back((ep, false));
            return;
        }
        if ep.printed == Printed::KillLine {
            let waiting = match self.unexplained.pop_front() {
                Some((path, _)) => {
                    ep.task_memcg = Some(path);
                    crate::diagnose::explain(&mut ep);
                    false
                }
                None => true,
            };
            self.queue.push_back((ep, waiting));
            return;
        }
        for i in 0..ep.victims.len() {
            let cgroup = if i == 0 {
                ep.task_memcg
                    .clone()
                    .or_else(|| ep.memcg.as_ref().and_then(|m| m.path.clone()))
            } else {
                ep.group_kill.clone().or_else(|| ep.task_memcg.clone())
            };
            match self.unexplained.iter().position(|(p, _)| explains(&cgroup, p)) {
                Some(j) => {
                    self.unexplained.remove(j);
                }
                None => self.reported.push_back(cgroup),
            }
        }
        self.queue.push_back((ep, false));
    }

    /// The episodes that can go out now, in order.
    pub fn ready(&mut self) -> Vec<Episode> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(_, w)| !*w) {
            out.extend(self.queue.pop_front().map(|(ep, _)| ep));
        }
        out
    }

    /// Stop waiting: held kill lines go out as they are, each unexplained
    /// count becomes an episode of its own (made by `nothing`), and
    /// reported kills no count came for are forgotten.
    pub fn release(&mut self, nothing: impl Fn(&Text, u64) -> Episode) -> Vec<Episode> {
        for (_, w) in self.queue.iter_mut() {
            *w = false;
        }
        let mut out = self.ready();
        out.extend(self.unexplained.drain(..).map(|(p, at)| nothing(&p, at)));
        self.reported.clear();
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

    #[test]
    fn a_count_names_the_cgroup_of_a_suppressed_report() {
        let mut c = Counts::default();
        c.counter(&"/pod/a".into(), 0, 1);
        c.episode(kill_line(7));
        c.episode(report(8, "/pod/b"));
        assert!(c.ready().is_empty(), "the kill line waits, and the report after it");
        c.counter(&"/pod/a".into(), 1, 2);
        let out = c.ready();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].task_memcg.as_deref(), Some("/pod/a"));
        assert_eq!(out[1].victims[0].pid, 8);
        assert!(c.holding(), "the report's own count has not come yet");
        c.counter(&"/pod/b".into(), 5, 3);
        assert!(c.holding(), "a first reading is a baseline, not a kill");
        c.counter(&"/pod/b".into(), 6, 4);
        assert!(!c.holding());
        assert!(c.release(nothing).is_empty());
    }

    #[test]
    fn a_count_no_line_explains_is_an_episode_of_its_own() {
        let mut c = Counts::default();
        c.counter(&"/pod/a".into(), 2, 1);
        c.counter(&"/pod/a".into(), 4, 9);
        let out = c.release(nothing);
        assert_eq!(out.len(), 2, "two kills counted, none in the log");
        assert!(out
            .iter()
            .all(|e| e.printed == Printed::Nothing && e.task_memcg.as_deref() == Some("/pod/a")));
    }

    #[test]
    fn counts_before_lines_and_group_kills_cancel_out() {
        let mut c = Counts::default();
        c.counter(&"/pod/g/x".into(), 0, 1);
        c.counter(&"/pod/g/y".into(), 0, 1);
        c.counter(&"/pod/g/x".into(), 1, 2);
        c.counter(&"/pod/g/y".into(), 1, 2);
        let mut g = report(1, "/pod/g/x");
        g.group_kill = Some("/pod/g".into());
        g.victims.push(Victim {
            pid: 2,
            comm: "b".into(),
            ..Victim::default()
        });
        c.episode(g);
        assert_eq!(c.ready().len(), 1);
        assert!(!c.holding(), "both counts explained by the group kill");
    }

    #[test]
    fn a_released_kill_line_goes_out_unnamed() {
        let mut c = Counts::default();
        c.counter(&"/pod/a".into(), 0, 1);
        c.episode(kill_line(7));
        let out = c.release(nothing);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].task_memcg, None);
    }
}
