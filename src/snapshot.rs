//! Cgroup snapshots: the numbers cgroupfs holds about a memory cgroup, which
//! vanish with the container, captured as JSON (`oomctl snapshot`) and joined
//! to episodes by cgroup path (`oomctl analyze --snapshots`), where they stand in
//! for numbers the kernel report lacks.
//!
//! A snapshot comes from a live cgroup (cgroup v1 or v2 file names), from a
//! directory copied out of cgroupfs (the same files, no processes: pids on
//! another machine mean nothing here), or from an oom-guard event (seed 002:
//! the guard's JSON message, whose `stats` is `key value|key value|…`).

use crate::cgroup::{kernel_path, parse_kv, parse_limit, parse_stat};
use crate::model::{Episode, Killer, Memcg, MemcgStats, PageSizeSource, Scope, StatsFormat, Text, Victim};
pub use crate::model::{GuardAction, Process, Snapshot, Usage};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn read_u64(dir: &Path, name: &str) -> Option<u64> {
    crate::input::read_lossy(dir.join(name)).ok()?.trim().parse().ok()
}

/// A limit file: `(limit_bytes, unlimited)` (`cgroup::parse_limit`).
fn read_limit(dir: &Path, name: &str) -> (Option<u64>, bool) {
    crate::input::read_lossy(dir.join(name)).map_or((None, false), |t| parse_limit(&t))
}

/// A throttle point or soft limit (`memory.high`, v1's soft limit): null
/// when there is none (`max`, or v1's huge number).
fn read_mark(dir: &Path, name: &str) -> Option<u64> {
    read_limit(dir, name).0
}

/// Read a cgroup directory's memory files: a directory copied out of
/// cgroupfs (`analyze --snapshots`), or a live one, which `crate::live`
/// stamps with the moment and its processes.
pub fn read_dir(dir: &Path) -> io::Result<Snapshot> {
    let v2 = dir.join("memory.current").exists();
    let v1 = dir.join("memory.usage_in_bytes").exists();
    if !v1 && !v2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a memory cgroup (no memory.current or memory.usage_in_bytes)",
                dir.display()
            ),
        ));
    }
    let text = |name: &str| crate::input::read_lossy(dir.join(name)).unwrap_or_default();
    let mut s = Snapshot {
        path: Text::from(kernel_path(dir)),
        origin: Text::new("dir"),
        stat: parse_stat(&text("memory.stat")),
        ..Snapshot::default()
    };
    // A counter whose files are all missing is None (an older kernel, a
    // disabled feature).
    let usage = |usage: &str, lim: &str, peak: &str, failcnt: Option<&str>| {
        let (limit_bytes, unlimited) = read_limit(dir, lim);
        let u = Usage {
            usage_bytes: read_u64(dir, usage),
            limit_bytes,
            unlimited,
            peak_bytes: read_u64(dir, peak),
            failcnt: failcnt.and_then(|f| read_u64(dir, f)),
        };
        (u.usage_bytes.is_some() || u.limit_bytes.is_some() || u.unlimited).then_some(u)
    };
    if v2 {
        s.version = Text::new("v2");
        s.usage_bytes = read_u64(dir, "memory.current");
        (s.limit_bytes, s.unlimited) = read_limit(dir, "memory.max");
        s.peak_bytes = read_u64(dir, "memory.peak");
        s.events = parse_kv(&text("memory.events"));
        s.events_local = parse_kv(&text("memory.events.local"));
        s.pressure = text("memory.pressure").lines().map(Text::new).collect();
        s.min_bytes = read_u64(dir, "memory.min");
        s.low_bytes = read_u64(dir, "memory.low");
        s.high_bytes = read_mark(dir, "memory.high");
        s.oom_group = read_u64(dir, "memory.oom.group").map(|g| g == 1);
        s.swap = usage("memory.swap.current", "memory.swap.max", "memory.swap.peak", None);
        s.swap_events = parse_kv(&text("memory.swap.events"));
        s.swap_high_bytes = read_mark(dir, "memory.swap.high");
        s.zswap = usage("memory.zswap.current", "memory.zswap.max", "memory.zswap.peak", None);
    } else {
        s.version = Text::new("v1");
        s.usage_bytes = read_u64(dir, "memory.usage_in_bytes");
        (s.limit_bytes, s.unlimited) = read_limit(dir, "memory.limit_in_bytes");
        s.peak_bytes = read_u64(dir, "memory.max_usage_in_bytes");
        s.failcnt = read_u64(dir, "memory.failcnt");
        s.oom_control = parse_kv(&text("memory.oom_control"));
        s.low_bytes = read_mark(dir, "memory.soft_limit_in_bytes");
        s.memsw = usage(
            "memory.memsw.usage_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.memsw.max_usage_in_bytes",
            Some("memory.memsw.failcnt"),
        );
        s.kmem = usage(
            "memory.kmem.usage_in_bytes",
            "memory.kmem.limit_in_bytes",
            "memory.kmem.max_usage_in_bytes",
            Some("memory.kmem.failcnt"),
        );
        s.swappiness = read_u64(dir, "memory.swappiness");
        s.kmem_tcp = usage(
            "memory.kmem.tcp.usage_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
            "memory.kmem.tcp.max_usage_in_bytes",
            Some("memory.kmem.tcp.failcnt"),
        );
        s.use_hierarchy = read_u64(dir, "memory.use_hierarchy").map(|h| h == 1);
    }
    Ok(s)
}

/// An oom-guard event (seed 002): the guard's JSON message, found anywhere
/// in `text` (a `kubectl get events` line carries it at its end).
pub fn parse_guard_event(text: &str) -> Option<Snapshot> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let v: serde_json::Value = serde_json::from_str(text.get(start..=end)?).ok()?;
    let o = v.as_object()?;
    let oomcg = o.get("oomcgroup")?.as_str()?;
    let num = |k: &str| {
        o.get(k)
            .and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.trim().parse().ok())))
    };
    let stat: BTreeMap<Text, Option<u64>> = o
        .get("stats")
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .split('|')
        .filter_map(|kv| crate::cgroup::stat_pair(kv.trim(), ' '))
        .collect();
    let killed = o
        .get("killed")
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|k| {
            let (pid, rest) = k.split_once('(')?;
            Some((pid.parse().ok()?, Text::new(rest.strip_suffix(')')?)))
        })
        .collect();
    let path = kernel_path(Path::new(oomcg));
    // oomctl's own guard writes `limit` and `cgroup_version`; oom-guard
    // (v1 only) has the limit in its stats.
    let (limit_bytes, unlimited) = match (num("limit"), stat.get("hierarchical_memory_limit")) {
        (Some(l), _) => crate::units::limit(l),
        (None, Some(&l)) => (l, l.is_none()),
        (None, None) => (None, false),
    };
    let version = o
        .get("cgroup_version")
        .and_then(|x| x.as_str())
        .filter(|v| *v == "v2")
        .unwrap_or("v1");
    Some(Snapshot {
        path: path.into(),
        version: Text::new(version),
        origin: Text::new("oom_guard"),
        time: o.get("timestamp").and_then(|x| x.as_str()).map(Text::new),
        host: o.get("hostname").and_then(|x| x.as_str()).map(Text::new),
        usage_bytes: num("usage"),
        limit_bytes,
        unlimited,
        stat,
        guard: Some(GuardAction {
            policy: o.get("policy").and_then(|x| x.as_str()).map(Text::new),
            threshold_bytes: num("threshold"),
            proc_cgroup: o
                .get("proccgroup")
                .and_then(|x| x.as_str())
                .map(|p| Text::from(kernel_path(Path::new(p)))),
            killed,
        }),
        ..Snapshot::default()
    })
}

/// The episode an oom-guard event describes: the guard's kill, with the
/// cgroup's usage, limit and stats at that moment.
pub fn guard_episode(s: &Snapshot, file: &str, line: u64) -> Episode {
    let g = s.guard.clone().unwrap_or_default();
    let mut ep = Episode {
        killer: Killer::OomGuard,
        host: s.host.clone(),
        scope: Some(Scope::Memcg),
        scope_inferred: true,
        memcg: Some(Memcg {
            path: Some(s.path.clone()),
            usage_bytes: s.usage_bytes,
            limit_bytes: s.limit_bytes,
            unlimited: s.unlimited,
            failcnt: s.failcnt,
        }),
        task_memcg: g.proc_cgroup.clone(),
        memcg_stats: vec![MemcgStats {
            path: s.path.clone(),
            format: if s.version == "v2" {
                StatsFormat::V2
            } else {
                StatsFormat::V1
            },
            stats: s.stat.clone(),
        }],
        victims: g
            .killed
            .iter()
            .map(|(pid, comm)| Victim {
                pid: *pid,
                comm: comm.clone(),
                reason: Some(format!("oom-guard policy {}", g.policy.as_deref().unwrap_or("?")).into()),
                ..Victim::default()
            })
            .collect(),
        page_size: 4096,
        page_size_source: PageSizeSource::Assumed,
        snapshots: vec![s.clone()],
        ..Episode::default()
    };
    ep.source.file = Text::new(file);
    ep.source.first_line = line;
    ep.source.last_line = line;
    // As the guard wrote it (RFC 3339, often nanoseconds), normalised.
    ep.time.wall = s
        .time
        .as_deref()
        .map(|t| crate::envelope::normalize_iso(t).map_or_else(|| Text::new(t), Text::from));
    ep.time.wall_raw = s.time.clone();
    // An oom-guard event is a whole record of a decision: one that killed
    // nothing (a dry run, noop, held back, the kernel first) ends so
    // explicitly, as a report without a killable process does.
    ep.complete = true;
    crate::diagnose::explain(&mut ep);
    ep
}

/// Attach the snapshots of the episode's cgroups (the latest of each path)
/// and diagnose again with them. True if any was attached.
pub fn join(ep: &mut Episode, snaps: &[Snapshot]) -> bool {
    join_where(ep, snaps, |_| true)
}

/// The latest whole samples of each cgroup (at most [`Recent::PER_CGROUP`]
/// each, the newest last), as `watch` took them and `replay` reads them:
/// both join an episode with the same ones, so they print the same bytes,
/// and a days-long recording does not keep every sample.
#[derive(Debug, Default)]
pub struct Recent {
    by_path: std::collections::HashMap<Text, std::collections::VecDeque<Snapshot>>,
}

impl Recent {
    /// Whole samples kept per cgroup: an episode is emitted within about a
    /// second of its OOM, and whole samples of one cgroup come at most a
    /// few a second (the first, the first near the limit, a moved counter).
    pub const PER_CGROUP: usize = 8;

    pub fn push(&mut self, s: Snapshot) {
        let q = self.by_path.entry(s.path.clone()).or_default();
        if q.len() == Self::PER_CGROUP {
            q.pop_front();
        }
        q.push_back(s);
    }

    /// [`join_before`] with the samples kept.
    pub fn join(&self, ep: &mut Episode) {
        if self.by_path.is_empty() {
            return;
        }
        let snaps: Vec<Snapshot> = self.by_path.values().flatten().cloned().collect();
        join_before(ep, &snaps);
    }
}

/// Like [`join`], but only snapshots taken no later than the episode: the
/// cgroup as it was on the way to the OOM (recorded samples; one taken after
/// a later OOM of the same cgroup says nothing about this one). Compared by
/// uptime when both have one, else by UTC wall clock; unknown: not joined.
pub fn join_before(ep: &mut Episode, snaps: &[Snapshot]) -> bool {
    let (up, wall) = (ep.time.uptime_s, ep.time.wall.clone());
    join_where(ep, snaps, |s| match (s.uptime_s, up) {
        (Some(a), Some(b)) => a <= b,
        _ => match (&s.time, &wall) {
            // Both RFC 3339 UTC with microseconds: comparable as text.
            (Some(a), Some(b)) if a.ends_with('Z') && b.ends_with('Z') && a.len() == b.len() => a <= b,
            _ => false,
        },
    })
}

fn join_where(ep: &mut Episode, snaps: &[Snapshot], keep: impl Fn(&Snapshot) -> bool) -> bool {
    let paths: Vec<Text> = ep
        .memcg
        .as_ref()
        .and_then(|m| m.path.clone())
        .into_iter()
        .chain(ep.task_memcg.clone())
        .collect();
    let mut joined = false;
    for p in &paths {
        let latest = snaps
            .iter()
            .filter(|s| crate::cgroup::same_cgroup(&s.path, p) && keep(s))
            .max_by(|a, b| {
                a.time
                    .cmp(&b.time)
                    .then(a.uptime_s.partial_cmp(&b.uptime_s).unwrap_or(std::cmp::Ordering::Equal))
            });
        if let Some(s) = latest {
            if !ep.snapshots.contains(s) {
                ep.snapshots.push(s.clone());
                joined = true;
            }
        }
    }
    if joined {
        ep.diagnosis = Some(crate::diagnose::diagnose(ep));
    }
    joined
}

/// The subdirectories of `d`, sorted: walks of cgroup trees go in path
/// order, so their output is the same on every run.
pub fn subdirs(d: &Path) -> io::Result<Vec<PathBuf>> {
    let mut subs: Vec<PathBuf> = fs::read_dir(d)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    Ok(subs)
}

/// One line of `oomctl snapshot` output; a line of the builds before
/// `unlimited` existed is upgraded to today's schema.
fn parse_snapshot_line(t: &str) -> Option<Snapshot> {
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    let old = v.get("unlimited").is_none();
    let mut s: Snapshot = serde_json::from_value(v).ok()?;
    if old {
        crate::recording::upgrade_snapshot(&mut s);
    }
    Some(s)
}

/// Read `--snapshots` inputs: snapshot JSON lines (from `oomctl snapshot`),
/// oom-guard events (JSON or a line ending in one), or a directory copied
/// from cgroupfs (read recursively: every memory cgroup below it).
pub fn load(path: &Path) -> io::Result<Vec<Snapshot>> {
    if path.is_dir() {
        let mut out = Vec::new();
        let mut stack = vec![path.to_path_buf()];
        while let Some(d) = stack.pop() {
            if let Ok(s) = read_dir(&d) {
                out.push(s);
            }
            stack.extend(subdirs(&d)?.into_iter().rev());
        }
        if out.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: no memory cgroup files below it", path.display()),
            ));
        }
        return Ok(out);
    }
    let text = crate::input::read_lossy(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(s) = parse_snapshot_line(t) {
            out.push(s);
        } else if let Some(s) = parse_guard_event(t) {
            out.push(s);
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}:{}: neither an oomctl snapshot nor an oom-guard event",
                    path.display(),
                    i + 1
                ),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::same_cgroup;

    /// Seed 002's event, as `kubectl get events` printed it.
    pub const SEED_002: &str = r#"14s         14s          1         172.21.16.23.158b732d352bcc31   Node                                 Warning   OomGuardKillContainer    oom-guard, 172.21.16.23   {"hostname":"172.21.16.23","timestamp":"2019-03-13T07:12:14.561650646Z","oomcgroup":"/sys/fs/cgroup/memory/kubepods/burstable/pod3d6329e5-455f-11e9-a7e5-06925242d7ea/223d4795cc3b33e28e702f72e0497e1153c4a809de6b4363f27acc12a6781cdb","proccgroup":"/sys/fs/cgroup/memory/kubepods/burstable/pod3d6329e5-455f-11e9-a7e5-06925242d7ea/223d4795cc3b33e28e702f72e0497e1153c4a809de6b4363f27acc12a6781cdb","threshold":205520896,"usage":206483456,"killed":"16481(fakeOOM) ","stats":"cache 20480|rss 205938688|rss_huge 199229440|mapped_file 0|dirty 0|writeback 0|pgpgin 1842|pgpgout 104|pgfault 2059|pgmajfault 0|inactive_anon 8192|active_anon 203816960|inactive_file 0|active_file 0|unevictable 0|hierarchical_memory_limit 209715200|total_cache 20480|total_rss 205938688|total_rss_huge 199229440|total_mapped_file 0|total_dirty 0|total_writeback 0|total_pgpgin 1842|total_pgpgout 104|total_pgfault 2059|total_pgmajfault 0|total_inactive_anon 8192|total_active_anon 203816960|total_inactive_file 0|total_active_file 0|total_unevictable 0|","policy":"Container"}"#;

    #[test]
    fn seed_002_guard_event() {
        let s = parse_guard_event(SEED_002).unwrap();
        assert_eq!(
            s.path,
            "/kubepods/burstable/pod3d6329e5-455f-11e9-a7e5-06925242d7ea/223d4795cc3b33e28e702f72e0497e1153c4a809de6b4363f27acc12a6781cdb"
        );
        assert_eq!((s.usage_bytes, s.limit_bytes), (Some(206483456), Some(209715200)));
        assert_eq!(s.stat["total_rss"], Some(205938688));
        assert_eq!(s.stat.len(), 31);
        let g = s.guard.unwrap();
        assert_eq!(g.killed, vec![(16481, Text::new("fakeOOM"))]);
        assert_eq!(
            (g.policy.as_deref(), g.threshold_bytes),
            (Some("Container"), Some(205520896))
        );
        assert_eq!(s.host.as_deref(), Some("172.21.16.23"));
    }

    /// `oomctl snapshot` lines of builds before `unlimited` (corpus/
    /// recordings' first sample, 6.18 v1, as an unlimited cgroup) are read
    /// as they meant; today's lines as they say.
    #[test]
    fn older_snapshot_lines_are_upgraded() {
        let rec = include_str!("../corpus/recordings/6.18-v1-multi.rec");
        let line = rec.lines().nth(1).unwrap();
        let old = &line[line.find("{\"path\"").unwrap()..line.len() - 1];
        let old = old.replace("\"limit_bytes\":100663296", "\"limit_bytes\":null");
        let s = parse_snapshot_line(&old).unwrap();
        assert_eq!((s.limit_bytes, s.unlimited), (None, true));
        assert_eq!(s.stat["hierarchical_memsw_limit"], None);
        // Written today, an unknown limit stays unknown.
        let mut now = serde_json::to_value(&s).unwrap();
        now["unlimited"] = false.into();
        let s = parse_snapshot_line(&now.to_string()).unwrap();
        assert_eq!((s.limit_bytes, s.unlimited), (None, false));
    }

    #[test]
    fn paths_match_by_whole_segments() {
        assert!(same_cgroup(
            "/kubepods/burstable/podX/abc",
            "/kubepods/burstable/podX/abc"
        ));
        assert!(same_cgroup(
            "/tmp/copy/kubepods/burstable/podX/abc",
            "/kubepods/burstable/podX/abc"
        ));
        assert!(!same_cgroup(
            "/kubepods/burstable/podX/abc",
            "/kubepods/burstable/podX/xabc"
        ));
        assert!(!same_cgroup("/", "/a"));
        assert_eq!(kernel_path(Path::new("/sys/fs/cgroup/memory/a/b")), "/a/b");
        assert_eq!(kernel_path(Path::new("/sys/fs/cgroup/system.slice")), "/system.slice");
        assert_eq!(kernel_path(Path::new("/sys/fs/cgroup/memory")), "/");
    }

    #[test]
    fn copied_directories_v1_and_v2() {
        let base = std::env::temp_dir().join(format!("oomctl-snap-{}", std::process::id()));
        let v1 = base.join("kubepods/pod1/c1");
        let v2 = base.join("system.slice/app.service");
        fs::create_dir_all(&v1).unwrap();
        fs::create_dir_all(&v2).unwrap();
        fs::write(v1.join("memory.usage_in_bytes"), "1048576\n").unwrap();
        fs::write(v1.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        fs::write(v1.join("memory.stat"), "cache 4096\nrss 8192\ndirty 4096\n").unwrap();
        fs::write(
            v1.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        fs::write(v2.join("memory.current"), "2097152\n").unwrap();
        fs::write(v2.join("memory.max"), "max\n").unwrap();
        fs::write(v2.join("memory.events"), "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n").unwrap();
        fs::write(v2.join("memory.stat"), "anon 1024\nfile 2048\nfile_dirty 512\n").unwrap();
        let snaps = load(&base).unwrap();
        assert_eq!(snaps.len(), 2);
        let a = snaps.iter().find(|s| s.version == "v1").unwrap();
        assert!(a.path.ends_with("/kubepods/pod1/c1"));
        // No limit: v1's huge number, v2's `max`.
        assert_eq!((a.usage_bytes, a.limit_bytes, a.unlimited), (Some(1048576), None, true));
        assert_eq!(a.oom_control["oom_kill"], 2);
        assert!(a.processes.is_empty() && a.time.is_none());
        let b = snaps.iter().find(|s| s.version == "v2").unwrap();
        assert_eq!(
            (b.usage_bytes, b.limit_bytes, b.unlimited, b.events["oom_kill"]),
            (Some(2097152), None, true, 1)
        );
        assert_eq!(b.stat["file_dirty"], Some(512));
        fs::remove_dir_all(&base).unwrap();
    }
}
