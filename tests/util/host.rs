//! Real memcg OOMs on this host, for the tests that cause them
//! (tests/live.rs, tests/image.rs): only in child cgroups a test creates
//! under its own cgroup-v1 memory cgroup, only with processes it starts,
//! and only when asked (`OOMCTL_LIVE_HOST=1`, see [`super::host_oom_allowed`]).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The memory limit of a test's cgroup.
pub const LIMIT: u64 = 32 << 20;

/// This process's cgroup-v1 memory cgroup directory and its path as the
/// kernel prints it, or why not.
pub fn own_memcg() -> Result<(PathBuf, String), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        return Err(format!("not root (euid {uid}): cannot create memory cgroups"));
    }
    if std::fs::File::open("/dev/kmsg").is_err() {
        return Err("/dev/kmsg is not readable".to_owned());
    }
    let cg = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let path = cg
        .lines()
        .find_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrl, path) = (p.next()?, p.next()?, p.next()?);
            ctrl.split(',').any(|c| c == "memory").then(|| path.to_owned())
        })
        .ok_or("no cgroup-v1 memory controller for this process")?;
    let dir = PathBuf::from(format!("/sys/fs/cgroup/memory{path}"));
    if !dir.join("memory.limit_in_bytes").exists() {
        return Err(format!("{} has no memory.limit_in_bytes", dir.display()));
    }
    Ok((dir, path))
}

/// This process's memory cgroup, and with `python` whether python3 (the
/// ~100 MB/s allocator) runs; None, printing why the test skips, if the
/// host live tests were not asked for (`OOMCTL_LIVE_HOST=1`). Under CI a
/// missing component fails the test instead ([`super::need`]).
pub fn lab(python: bool) -> Option<(PathBuf, String)> {
    if !super::host_oom_allowed() {
        return None;
    }
    let lab = super::need(own_memcg())?;
    if python {
        let runs = Command::new("python3").arg("-c").arg("pass").status();
        super::need(match runs {
            Ok(s) if s.success() => Ok(()),
            _ => Err("python3 (the ~100 MB/s allocator) is not installed".to_owned()),
        })?;
    }
    Some(lab)
}

/// The kernel prints at most 10 whole OOM reports per 5 s (oom_kill.c's
/// `oom_rs`: DEFAULT_RATELIMIT_BURST in DEFAULT_RATELIMIT_INTERVAL); past
/// that a report shrinks to its kill line. Every OOM these tests cause
/// waits here first until fewer than 10 were caused in the last 5.25 s, so
/// each one is reported whole: any fixed 5 s window then holds at most 10.
/// The ratelimit is the kernel's, for all processes: the times are kept in
/// a file, so that test binaries run one after another (image, then live)
/// count each other's OOMs.
pub fn within_report_ratelimit() {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    const WINDOW_US: u64 = 5_250_000;
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ledger = std::env::temp_dir().join("oomctl-test-oom-times");
    let now = oomctl::live::sys::monotonic_us();
    let mut caused: Vec<u64> = std::fs::read_to_string(&ledger)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        // A time after now is from an earlier boot.
        .filter(|&t| t <= now && now - t < WINDOW_US)
        .collect();
    caused.sort_unstable();
    if caused.len() >= 10 {
        let oldest = caused[caused.len() - 10];
        std::thread::sleep(Duration::from_micros((oldest + WINDOW_US).saturating_sub(now)));
    }
    caused.push(oomctl::live::sys::monotonic_us());
    let keep = &caused[caused.len().saturating_sub(10)..];
    let text: String = keep.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&ledger, text).expect("write the OOM ledger");
}

/// A child cgroup that removes itself (after killing what is left in it,
/// which can only be the process this test put there).
pub struct Memcg {
    pub dir: PathBuf,
    pub kernel_path: String,
}

impl Memcg {
    pub fn create(parent: &Path, parent_path: &str, name: &str) -> Memcg {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).expect("mkdir memcg");
        std::fs::write(dir.join("memory.limit_in_bytes"), LIMIT.to_string()).expect("set limit");
        Memcg {
            dir,
            kernel_path: format!("{}/{name}", parent_path.trim_end_matches('/')),
        }
    }
}

impl Drop for Memcg {
    fn drop(&mut self) {
        // Children first (a test may create them inside).
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    drop(Memcg {
                        dir: e.path(),
                        kernel_path: String::new(),
                    });
                }
            }
        }
        for _ in 0..50 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("warning: could not remove {}", self.dir.display());
    }
}

/// Each line `out` gives, with when it came, until its end.
pub fn lines_from(out: impl Read + Send + 'static) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), l)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Start `cmd` (a shell command) in the cgroup `dir`: it moves itself
/// there, then execs.
pub fn start_in(dir: &Path, cmd: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("echo $$ > {}/cgroup.procs && exec {cmd}", dir.display()))
        .spawn()
        .expect("start a process in the cgroup")
}

/// Run `tail /dev/zero` in `cg` until the OOM killer kills it; its pid.
pub fn oom_in(cg: &Memcg) -> u32 {
    within_report_ratelimit();
    let mut hog = start_in(&cg.dir, "tail /dev/zero");
    let pid = hog.id();
    let status = hog.wait().expect("allocator ends");
    assert!(!status.success(), "the allocator must be OOM-killed");
    pid
}
