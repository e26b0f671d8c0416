//! The `oom_kill` counters of cgroup v2: every memory cgroup's
//! `memory.events.local` (5.2+; the counter of kills of its own processes)
//! under a root, watched with one inotify instance. A walker thread adds
//! cgroups as they appear (every `rescan`); a reader thread reads a file
//! each time the kernel notifies it, and tells the value, with the moment
//! on the clock of kmsg stamps. The first value of each cgroup is its
//! baseline. Like cAdvisor's `container_oom_events_total` on v2, this
//! counts kills the kernel log does not show: the kill line of a
//! rate-limited report has no cgroup, a record lost to an overrun or a
//! log the watcher cannot read has nothing.

use super::sys;
use crate::model::Text;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The file counted.
pub const FILE: &str = "memory.events.local";

/// One reading: the cgroup (its kernel path), `oom_kill`, µs since boot.
pub type Reading = (Text, u64, u64);

pub use super::cgroupfs::v2_root;

/// `oom_kill` in a cgroup's memory.events.local.
fn oom_kill(dir: &Path) -> Option<u64> {
    let text = crate::input::read_lossy(dir.join(FILE)).ok()?;
    crate::cgroup::parse_kv(&text).get("oom_kill").copied()
}

/// Memory cgroups under `root` that have the file.
fn cgroups(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join(FILE).exists() {
            out.push(d.clone());
        }
        if let Ok(subs) = crate::snapshot::subdirs(&d) {
            stack.extend(subs);
        }
    }
    out.sort();
    out
}

/// Start counting under `root`: `tell` gets every reading (baselines
/// first) until it returns false. The number of cgroups found at start.
pub fn spawn(
    root: PathBuf,
    rescan: Duration,
    tell: impl Fn(Reading) -> bool + Send + Sync + 'static,
) -> io::Result<usize> {
    let inotify = Arc::new(sys::Inotify::new()?);
    let watched: Arc<Mutex<HashMap<i32, PathBuf>>> = Arc::default();
    let tell = Arc::new(tell);
    let read = {
        let tell = tell.clone();
        move |dir: &Path| match oom_kill(dir) {
            Some(v) => tell((Text::from(crate::cgroup::kernel_path(dir)), v, sys::monotonic_us())),
            None => true,
        }
    };
    // Add what is not watched yet; false once nobody listens.
    let add_new = {
        let (inotify, watched, read) = (inotify.clone(), watched.clone(), read.clone());
        move || -> bool {
            for dir in cgroups(&root) {
                let known = watched.lock().is_ok_and(|w| w.values().any(|d| *d == dir));
                if known {
                    continue;
                }
                if let Ok(wd) = inotify.add(&dir.join(FILE), sys::IN_MODIFY) {
                    if let Ok(mut w) = watched.lock() {
                        w.insert(wd, dir.clone());
                    }
                    if !read(&dir) {
                        return false;
                    }
                }
            }
            true
        }
    };
    add_new();
    let found = watched.lock().map_or(0, |w| w.len());
    std::thread::spawn(move || {
        while let Ok(events) = inotify.read() {
            for (wd, mask) in events {
                let dir = watched.lock().ok().and_then(|mut w| {
                    if mask & sys::IN_IGNORED != 0 {
                        w.remove(&wd);
                        None
                    } else {
                        w.get(&wd).cloned()
                    }
                });
                if let Some(dir) = dir {
                    if !read(&dir) {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || loop {
        std::thread::sleep(rescan);
        if !add_new() {
            return;
        }
    });
    Ok(found)
}
