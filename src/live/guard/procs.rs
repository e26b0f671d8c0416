//! Processes as the guard sees them in /proc, and killing them without
//! racing pid reuse.

use super::super::sys;
use crate::guard::Candidate;
use crate::model::Text;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for a killed process to be gone.
pub const CONFIRM: Duration = Duration::from_secs(2);
/// PF_KTHREAD in /proc/PID/stat's flags.
const PF_KTHREAD: u64 = 0x0020_0000;

/// A process as /proc shows it now: (candidate, start time, its memory
/// cgroup path as the kernel names it). None if it is gone.
pub fn proc_info(pid: u32) -> Option<(Candidate, u64, Text)> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    // The comm is any bytes: read lossily, never skip the process.
    let stat = crate::input::read_lossy(dir.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ") ": state(0) ppid(1) … flags(6) … starttime(19).
    let flags: u64 = f.get(6)?.parse().ok()?;
    let start: u64 = f.get(19)?.parse().ok()?;
    // A leader that exited before its threads is a zombie without memory:
    // the process's figures are in a live thread's status (as the kernel
    // takes them from any thread that still has the mm).
    let with_mm = |st: &String| st.contains("\nVmRSS:");
    let status = Some(crate::input::read_lossy(dir.join("status")).unwrap_or_default())
        .filter(with_mm)
        .or_else(|| {
            threads(pid)
                .into_iter()
                .filter_map(|t| crate::input::read_lossy(t.join("status")).ok())
                .find(with_mm)
        })
        .unwrap_or_default();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let adj = crate::input::read_lossy(dir.join("oom_score_adj"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cg = crate::input::read_lossy(dir.join("cgroup")).unwrap_or_default();
    let cand = Candidate {
        pid,
        comm: Text::new(&comm),
        rss_swap_bytes: kb("VmRSS:") + kb("VmSwap:"),
        pgtables_bytes: kb("VmPTE:"),
        oom_score_adj: adj,
        protected: pid <= 1 || flags & PF_KTHREAD != 0 || pid == std::process::id(),
    };
    Some((cand, start, Text::new(&super::super::cgroupfs::memcg_of(&cg))))
}

/// The processes of a cgroup subtree, sorted.
pub fn procs(dir: &Path) -> Vec<u32> {
    let mut out: Vec<u32> = super::super::cgroupfs::walk(dir, "cgroup.procs")
        .iter()
        .flat_map(|d| {
            crate::input::read_lossy(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// PF_EXITING in /proc/PID/stat's flags: the process is in do_exit.
const PF_EXITING: u64 = 0x0000_0004;

/// The `/proc/PID/task/TID` directories of a process's threads.
fn threads(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// A thread's state letter and flags from its stat.
fn state_flags(task: &Path) -> Option<(char, u64)> {
    let st = crate::input::read_lossy(task.join("stat")).ok()?;
    let (_, rest) = st.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    Some((state, f.nth(5)?.parse().ok()?))
}

/// True if `pid` is already dying: SIGKILL pending for the process or any
/// of its threads (the kernel's OOM killer signals its victim before the
/// guard can), or every thread exiting. A leader that exited while its
/// other threads run is not dying.
pub fn dying(pid: u32) -> bool {
    let tasks = threads(pid);
    // SIGKILL (9) is bit 8 of the pending masks, thread's or process's.
    let sigkill = tasks.iter().any(|t| {
        crate::input::read_lossy(t.join("status")).ok().is_some_and(|st| {
            st.lines()
                .filter_map(|l| l.strip_prefix("ShdPnd:").or_else(|| l.strip_prefix("SigPnd:")))
                .any(|m| u64::from_str_radix(m.trim(), 16).is_ok_and(|m| m & (1 << 8) != 0))
        })
    });
    let exiting = !tasks.is_empty()
        && tasks
            .iter()
            .all(|t| state_flags(t).is_none_or(|(state, flags)| matches!(state, 'Z' | 'X') || flags & PF_EXITING != 0));
    sigkill || exiting
}

/// What came of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// SIGKILL sent here.
    Signalled,
    /// Already dying when the guard came (the kernel, or someone, killed
    /// it first): left alone, and not claimed.
    Dying,
    /// Gone, another process's pid now, or no longer in the cgroup the
    /// guard acts on: nothing to do.
    Gone,
}

/// True if the memory cgroup `cgroup` is `within` or below it (kernel paths).
pub fn is_within(cgroup: &str, within: &str) -> bool {
    let w = within.trim_end_matches('/');
    w.is_empty() || cgroup == w || cgroup.strip_prefix(w).is_some_and(|r| r.starts_with('/'))
}

/// SIGKILL `pid` only if it is still the process started at `start` (its
/// /proc start time, clock ticks since boot), still in a memory cgroup
/// `within` the one the guard acts on, and not already dying. Does not
/// wait: see [`gone_by`].
pub fn kill_process(pid: u32, start: u64, within: &str) -> io::Result<Kill> {
    let fd = match sys::pidfd_open(pid) {
        Ok(fd) => Some(fd),
        Err(e) if e.raw_os_error() == Some(3) => return Ok(Kill::Gone), // ESRCH
        Err(_) => None,
    };
    // A pidfd pins this process: check it is the chosen one, where it was.
    if !proc_info(pid).is_some_and(|(_, s, cg)| s == start && is_within(&cg, within)) {
        return Ok(Kill::Gone);
    }
    if dying(pid) {
        return Ok(Kill::Dying);
    }
    match fd {
        Some(fd) => sys::pidfd_send_signal(&fd, sys::SIGKILL)?,
        None => sys::kill_pid(pid, sys::SIGKILL)?,
    }
    Ok(Kill::Signalled)
}

/// True once `pid` (started at `start`) is dead, every thread of it a
/// zombie, or its pid another process's, by `deadline`.
pub fn gone_by(pid: u32, start: u64, deadline: Instant) -> bool {
    loop {
        let live = threads(pid)
            .iter()
            .any(|t| state_flags(t).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X')));
        match live {
            false => return true,
            _ if proc_info(pid).is_none_or(|(_, s, _)| s != start) => return true,
            _ if Instant::now() >= deadline => return false,
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_within;

    #[test]
    fn within_is_by_whole_path_components() {
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(is_within("/a", "/a/"));
        assert!(!is_within("/ab", "/a"), "a sibling with a longer name");
        assert!(is_within("/x", "/"), "the root holds everything");
        assert!(!is_within("/", "/a"));
    }
}
