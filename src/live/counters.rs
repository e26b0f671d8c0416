//! The `oom_kill` counters of cgroup v2: every memory cgroup's
//! `memory.events.local` (5.2+; the counter of kills of its own processes)
//! under a root, watched with one inotify instance. A walker thread adds
//! cgroups as they appear and drops the ones gone (every `rescan`); a
//! reader thread reads a file each time the kernel notifies it, and tells
//! the value with the moment (CLOCK_MONOTONIC). Like cAdvisor's
//! `container_oom_events_total` on v2, this counts kills the kernel log does
//! not show: the kill line of a rate-limited report has no cgroup, a record
//! lost to an overrun or a log the watcher cannot read has nothing.
//!
//! Cgroups are told apart by inode: one removed and made again under the
//! same path (a restarted unit) is a new cgroup, whose count starts at 0.
//! cgroupfs sends no event when a cgroup goes, so the walker notices.

use super::sys;
use crate::model::Text;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The file counted.
pub const FILE: &str = "memory.events.local";

/// What the counting threads tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The cgroup (its kernel path), `oom_kill`, µs since boot, and whether
    /// the cgroup appeared after counting began (its count started at 0
    /// then: all of it is kills to account for).
    Count(Text, u64, u64, bool),
    /// The cgroup is gone: its count is no longer needed.
    Gone(Text),
}

pub use super::cgroupfs::v2_root;

/// `oom_kill` in a cgroup's memory.events.local.
fn oom_kill(dir: &Path) -> Option<u64> {
    let text = crate::input::read_lossy(dir.join(FILE)).ok()?;
    crate::cgroup::parse_kv(&text).get("oom_kill").copied()
}

/// A cgroup being counted.
struct Watched {
    wd: i32,
    inode: u64,
}

/// Start counting under `root`: `tell` gets every reading (baselines
/// first) until it returns false; `warn` what goes wrong. The number of
/// cgroups found at start.
pub fn spawn(
    root: PathBuf,
    rescan: Duration,
    tell: impl Fn(Reading) -> bool + Send + Sync + 'static,
    warn: impl Fn(String) + Send + Sync + 'static,
) -> io::Result<usize> {
    let inotify = Arc::new(sys::Inotify::new()?);
    let by_dir: Arc<Mutex<HashMap<PathBuf, Watched>>> = Arc::default();
    let by_wd: Arc<Mutex<HashMap<i32, PathBuf>>> = Arc::default();
    let tell = Arc::new(tell);
    let read = {
        let tell = tell.clone();
        move |dir: &Path, fresh: bool| match oom_kill(dir) {
            Some(v) => tell(Reading::Count(
                Text::from(crate::cgroup::kernel_path(dir)),
                v,
                sys::monotonic_us(),
                fresh,
            )),
            None => true,
        }
    };
    // Add cgroups not counted yet (`fresh` after the first walk), forget
    // the ones gone; false once nobody listens.
    let walk = {
        let (inotify, by_dir, by_wd, read) = (inotify.clone(), by_dir.clone(), by_wd.clone(), read.clone());
        let tell_gone = tell.clone();
        let mut warned = false;
        move |fresh: bool| -> bool {
            let dirs: Vec<(PathBuf, u64)> = super::cgroupfs::walk(&root, FILE)
                .into_iter()
                .filter_map(|d| super::cgroupfs::inode(&d).map(|i| (d, i)))
                .collect();
            let (Ok(mut dir_map), Ok(mut wd_map)) = (by_dir.lock(), by_wd.lock()) else {
                return false;
            };
            let mut gone = Vec::new();
            dir_map.retain(|d, w| {
                let keep = dirs.iter().any(|(e, i)| e == d && *i == w.inode);
                if !keep {
                    inotify.remove(w.wd);
                    wd_map.remove(&w.wd);
                    gone.push(Text::from(crate::cgroup::kernel_path(d)));
                }
                keep
            });
            let mut new = Vec::new();
            for (d, inode) in dirs {
                if dir_map.contains_key(&d) {
                    continue;
                }
                match inotify.add(&d.join(FILE), sys::IN_MODIFY) {
                    Ok(wd) => {
                        dir_map.insert(d.clone(), Watched { wd, inode });
                        wd_map.insert(wd, d.clone());
                        new.push(d);
                    }
                    Err(e) if !warned => {
                        warned = true;
                        warn(format!(
                            "{}: {e}: its OOM kills (and those of further new cgroups) are not counted; raise fs.inotify.max_user_watches",
                            d.display()
                        ));
                    }
                    Err(_) => {}
                }
            }
            drop((dir_map, wd_map));
            gone.into_iter().all(|p| tell_gone(Reading::Gone(p))) && new.iter().all(|d| read(d, fresh))
        }
    };
    let mut walk = walk;
    walk(false);
    let found = by_dir.lock().map_or(0, |m| m.len());
    std::thread::spawn(move || {
        while let Ok(events) = inotify.read() {
            for (wd, mask) in events {
                if mask & sys::IN_Q_OVERFLOW != 0 {
                    // Events were lost: read every counter again.
                    let all: Vec<PathBuf> = by_wd.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
                    if !all.iter().all(|d| read(d, false)) {
                        return;
                    }
                    continue;
                }
                let dir = by_wd.lock().ok().and_then(|mut m| {
                    if mask & sys::IN_IGNORED != 0 {
                        m.remove(&wd);
                        None
                    } else {
                        m.get(&wd).cloned()
                    }
                });
                if let Some(dir) = dir {
                    if !read(&dir, false) {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || loop {
        std::thread::sleep(rescan);
        if !walk(true) {
            return;
        }
    });
    Ok(found)
}

/// A warning from the counting threads, on stderr through the text gate.
pub fn warn_stderr(msg: String) {
    let _ = writeln!(io::stderr(), "oomctl: warning: {}", Text::from(msg));
}
