//! The running machine's cgroups: a live snapshot of a cgroup (its memory
//! files, read as a copied directory is, plus the moment, the host and its
//! processes from /proc), this process's own cgroup, and where a cgroup
//! argument lives.

use crate::cgroup::{V1_ROOT, V2_ROOT};
use crate::model::{Process, Snapshot, Text};
use std::io;
use std::path::{Path, PathBuf};

/// A live cgroup's snapshot: its memory files, the wall clock and uptime
/// now, the host name, and the processes in it.
pub fn snapshot(dir: &Path) -> io::Result<Snapshot> {
    let mut s = reading(dir)?;
    add_processes(&mut s, dir);
    Ok(s)
}

/// A live cgroup's memory files, the moment and the host, without its
/// processes (a compact sample needs none: /proc is read only for a whole
/// one).
pub fn reading(dir: &Path) -> io::Result<Snapshot> {
    let mut s = crate::snapshot::read_dir(dir)?;
    s.origin = Text::new("live");
    s.time = super::now_iso().map(Text::from);
    s.uptime_s = crate::input::read_lossy("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse().ok());
    s.host = super::hostname().map(Text::from);
    Ok(s)
}

/// The processes in the cgroup at `dir`, from /proc.
pub fn add_processes(s: &mut Snapshot, dir: &Path) {
    s.processes = crate::input::read_lossy(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter_map(process)
        .collect();
}

/// A process's comm, OOM score and RSS from /proc; None if it has exited.
fn process(pid: u32) -> Option<Process> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let comm = crate::input::read_lossy(dir.join("comm")).ok()?.trim_end().to_owned();
    let rss_bytes = crate::input::read_lossy(dir.join("status")).ok().and_then(|st| {
        st.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    Some(Process {
        pid,
        comm: Text::new(&comm),
        oom_score: crate::input::read_lossy(dir.join("oom_score"))
            .ok()?
            .trim()
            .parse()
            .ok(),
        oom_score_adj: crate::input::read_lossy(dir.join("oom_score_adj"))
            .ok()?
            .trim()
            .parse()
            .ok(),
        rss_bytes,
    })
}

/// The cgroups of a subtree (its root included) that have `file`, in path
/// order.
pub fn walk(root: &Path, file: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join(file).exists() {
            out.push(d.clone());
        }
        if let Ok(subs) = crate::snapshot::subdirs(&d) {
            stack.extend(subs.into_iter().rev());
        }
    }
    out
}

/// A directory's inode: a cgroup removed and made again under the same
/// path is another cgroup, with another inode.
pub fn inode(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| m.ino())
}

/// A process's memory cgroup from /proc/PID/cgroup: the v1 `memory` line,
/// else the v2 `0::` line.
pub fn memcg_of(cgroup_file: &str) -> String {
    let mut v2 = String::new();
    for l in cgroup_file.lines() {
        let mut p = l.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (p.next(), p.next(), p.next()) else {
            continue;
        };
        if ctrl.split(',').any(|c| c == "memory") {
            return path.to_owned();
        }
        if ctrl.is_empty() {
            v2 = path.to_owned();
        }
    }
    v2
}

/// The memory cgroup of process `pid` now, if it is still there: on v2 the
/// nearest cgroup with the memory controller on the way up from its own
/// (the kernel charges and counts it there, and names that one).
pub fn proc_memcg(pid: u32) -> Option<String> {
    let text = crate::input::read_lossy(format!("/proc/{pid}/cgroup")).ok()?;
    let path = Some(memcg_of(&text)).filter(|p| !p.is_empty())?;
    if text
        .lines()
        .any(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|c| c == "memory")))
    {
        return Some(path); // v1: the memory hierarchy's own path
    }
    let root = Path::new(V2_ROOT);
    Some(match memcg_dir(V2_ROOT, &path, root) {
        Some(d) => crate::cgroup::kernel_path(&d),
        None => path,
    })
}

/// The directory of the nearest memory cgroup at or above the cgroup named
/// `path` (a kernel path, under `mount`), not above `within`: v2 cgroups
/// without the memory controller have no `memory.current`, and the kernel
/// charges their processes to the nearest ancestor that has one. None if
/// there is none inside `within` (or the cgroup is gone).
pub fn memcg_dir(mount: &str, path: &str, within: &Path) -> Option<PathBuf> {
    let mut d = Path::new(mount).join(path.trim_start_matches('/'));
    loop {
        if !d.starts_with(within) {
            return None;
        }
        if d.join("memory.current").exists() || d.join("memory.usage_in_bytes").exists() {
            return Some(d);
        }
        if d.as_path() == within || !d.pop() {
            return None;
        }
    }
}

/// The cgroup v2 root, if this machine has one with the memory controller
/// (not a hybrid host's `unified`, which has none).
pub fn v2_root() -> Option<PathBuf> {
    let root = PathBuf::from(V2_ROOT);
    let controllers = crate::input::read_lossy(root.join("cgroup.controllers")).ok()?;
    controllers.split_whitespace().any(|c| c == "memory").then_some(root)
}

/// The cgroupfs directory of a kernel cgroup path, as oom-guard's events
/// name cgroups: where it exists, else under the memory hierarchy this
/// machine has (v2 with the memory controller, else v1).
pub fn full_path(path: &str) -> String {
    if let Ok(d) = resolve(path) {
        return d.display().to_string();
    }
    let root = match v2_root() {
        Some(_) => V2_ROOT,
        None => V1_ROOT,
    };
    format!("{root}{path}")
}

/// This process's memory cgroup, as the kernel names it: the v1 `memory`
/// line of /proc/self/cgroup, else the v2 `0::` line.
pub fn own_cgroup() -> Option<String> {
    let text = crate::input::read_lossy("/proc/self/cgroup").ok()?;
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        if ctrls.split(',').any(|c| c == "memory") {
            return Some(path.to_owned());
        }
        if ctrls.is_empty() {
            v2 = Some(path.to_owned());
        }
    }
    v2
}

/// Resolve a cgroup argument of `oomctl snapshot`: a cgroupfs directory, or
/// a kernel path (`/kubepods/…`) looked up under the v2 root, then v1's.
pub fn resolve(arg: &str) -> io::Result<PathBuf> {
    let p = Path::new(arg);
    if p.join("memory.current").exists() || p.join("memory.usage_in_bytes").exists() {
        return Ok(p.to_path_buf());
    }
    let rel = arg.trim_start_matches('/');
    for root in [V1_ROOT, V2_ROOT] {
        let d = Path::new(root).join(rel);
        if d.join("memory.current").exists() || d.join("memory.usage_in_bytes").exists() {
            return Ok(d);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{arg}: no memory cgroup there or under {V1_ROOT} or {V2_ROOT}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcg_line_v1_then_v2() {
        assert_eq!(memcg_of("12:memory:/a/b\n0::/x\n"), "/a/b");
        assert_eq!(memcg_of("0::/kubepods.slice/x.scope\n"), "/kubepods.slice/x.scope");
        assert_eq!(memcg_of("4:cpu,memory:/c\n"), "/c");
        assert_eq!(memcg_of("garbage"), "");
    }
}
