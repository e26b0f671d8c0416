//! What cgroup v1 and v2 give the guard, and how it learns that a cgroup's
//! usage crossed a mark.
//!
//! - **v1** has usage thresholds: an eventfd registered through
//!   `cgroup.event_control` at the reclaim mark and at the threshold fires
//!   on every crossing.
//! - **v2** has none. The guard sets `memory.high` to the threshold (only
//!   where it is `max`, and puts `max` back when it stops): above it the
//!   kernel reclaims and throttles the allocating task, which buys the
//!   guard its reaction time whatever the growth rate, and counts a `high`
//!   event, which notifies `memory.events` (how oomd and systemd-oomd wake
//!   too). Where `memory.high` is set by someone else above the threshold,
//!   the guard polls `memory.current` instead.
//! - A dry run and the `noop` policy write nothing (no threshold, no
//!   `memory.high`, no `cgroup.event_control`): they poll usage every
//!   10 ms.
//!
//! One thread waits for all of it ([`Notifier`]): poll(2) on the v1
//! eventfds and one inotify instance for every v2 `memory.events`, with a
//! 10 ms timeout while any cgroup is polled. A thousand guarded cgroups
//! cost one thread, not a thousand.

use super::super::sys::{self, PollFd};
use super::Msg;
use crate::guard::{GuardPolicy, Policy};
use crate::model::StatsFormat;
use std::collections::HashMap;
use std::ffi::c_int;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How often usage is read where nothing notifies.
pub const POLL: Duration = Duration::from_millis(10);

/// The memory controller's hierarchy a cgroup belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    V1,
    V2,
}

impl Hierarchy {
    /// The hierarchy of the memory cgroup `dir`, if it is one.
    pub fn of(dir: &Path) -> Option<Hierarchy> {
        if dir.join("memory.current").exists() {
            Some(Hierarchy::V2)
        } else if dir.join("memory.usage_in_bytes").exists() {
            Some(Hierarchy::V1)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hierarchy::V1 => "v1",
            Hierarchy::V2 => "v2",
        }
    }

    /// The file that holds usage.
    pub fn usage_file(self) -> &'static str {
        match self {
            Hierarchy::V1 => "memory.usage_in_bytes",
            Hierarchy::V2 => "memory.current",
        }
    }

    pub fn usage(self, dir: &Path) -> Option<u64> {
        read_u64(&dir.join(self.usage_file()))
    }

    /// The limit; None where there is none (`max`, or v1's huge number).
    pub fn limit(self, dir: &Path) -> Option<u64> {
        let file = match self {
            Hierarchy::V1 => "memory.limit_in_bytes",
            Hierarchy::V2 => "memory.max",
        };
        read_u64(&dir.join(file)).filter(|&l| !crate::units::is_unlimited(l))
    }

    /// The kernel's OOM counts of `dir` so far, to tell its kills at this
    /// cgroup's limit (see `kernel_kills`): `[OOMs at this limit, kills
    /// in the subtree]`. v2: `oom` of memory.events.local (5.2+; before,
    /// memory.events, which also counts the OOMs of cgroups below) and
    /// `oom_kill` of memory.events. v1 counts no OOMs, only kills, per
    /// cgroup: both are the `oom_kill` of memory.oom_control (4.13+) summed
    /// over the subtree, which also counts the kills of a child's own limit.
    pub fn kernel_counts(self, dir: &Path) -> [u64; 2] {
        let read = |d: &Path, file: &str, key: &str| {
            let text = crate::input::read_lossy(d.join(file)).unwrap_or_default();
            crate::cgroup::parse_kv(&text).get(key).copied()
        };
        match self {
            Hierarchy::V2 => [
                read(dir, "memory.events.local", "oom")
                    .or_else(|| read(dir, "memory.events", "oom"))
                    .unwrap_or(0),
                read(dir, "memory.events", "oom_kill").unwrap_or(0),
            ],
            Hierarchy::V1 => {
                let kills = super::super::cgroupfs::walk(dir, "memory.oom_control")
                    .iter()
                    .filter_map(|d| read(d, "memory.oom_control", "oom_kill"))
                    .sum();
                [kills, kills]
            }
        }
    }

    pub fn stats_format(self) -> StatsFormat {
        match self {
            Hierarchy::V1 => StatsFormat::V1,
            Hierarchy::V2 => StatsFormat::V2,
        }
    }

    /// Where cgroup paths of this hierarchy are mounted.
    pub fn mount(self) -> &'static str {
        match self {
            Hierarchy::V1 => crate::cgroup::V1_ROOT,
            Hierarchy::V2 => crate::cgroup::V2_ROOT,
        }
    }

    /// Ask the kernel to reclaim `bytes` of `dir` (v1 `memory.force_empty`
    /// reclaims what it can; v2 `memory.reclaim`, 5.19+). On a thread of
    /// its own: reclaim can take a while, and the guard keeps watching.
    pub fn request_reclaim(self, dir: &Path, bytes: u64) {
        let (file, what) = match self {
            Hierarchy::V1 => (dir.join("memory.force_empty"), "0".to_owned()),
            Hierarchy::V2 => (dir.join("memory.reclaim"), bytes.to_string()),
        };
        if file.exists() {
            std::thread::spawn(move || {
                let _ = fs::write(file, what);
            });
        }
    }
}

/// Kills the kernel's OOM killer made at a cgroup's limit between two
/// [`Hierarchy::kernel_counts`]: the subtree's new kills, if the limit was
/// hit meanwhile. An OOM whose victim was already dying (the guard's) kills
/// nothing; a child's OOM at its own limit is not this limit's.
pub fn kernel_kills(before: [u64; 2], now: [u64; 2]) -> u64 {
    if now[0] > before[0] {
        now[1].saturating_sub(before[1])
    } else {
        0
    }
}

fn read_u64(p: &Path) -> Option<u64> {
    crate::input::read_lossy(p).ok()?.trim().parse().ok()
}

/// The guard's mark on a cgroup whose memory.high it set: the value it
/// wrote, and the value it found there (to put back).
const XATTR_HIGH: &str = "user.oomctl.guard.high";
const XATTR_WAS: &str = "user.oomctl.guard.high_was";

fn clear_mark(dir: &Path) {
    sys::remove_xattr(dir, XATTR_HIGH);
    sys::remove_xattr(dir, XATTR_WAS);
}

/// Read a number from the start of an open cgroupfs file.
fn pread_u64(f: &mut File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut b = [0u8; 32];
    f.seek(SeekFrom::Start(0)).ok()?;
    let n = f.read(&mut b).ok()?;
    std::str::from_utf8(&b[..n]).ok()?.trim().parse().ok()
}

/// The memory.high of a v2 cgroup, as written in the file.
fn read_high(file: &Path) -> Option<String> {
    crate::input::read_lossy(file).ok().map(|s| s.trim().to_owned())
}

/// A cgroup as the main loop knows it: crossings name it so.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    dir: PathBuf,
    generation: u64,
}

/// A cgroup whose usage is read every [`POLL`].
struct Polled {
    target: Target,
    usage: File,
    marks: [u64; 2],
    /// How many marks usage was at or above when last read.
    band: Option<usize>,
}

/// What the waiting thread waits on.
#[derive(Default)]
struct Waits {
    /// v2: inotify watch → cgroup.
    by_wd: HashMap<c_int, Target>,
    /// v1: eventfd → (the eventfd, the usage file its thresholds are on,
    /// cgroup). Dropping an entry closes the eventfd, which unregisters its
    /// thresholds.
    by_efd: HashMap<c_int, (File, File, Target)>,
    polled: HashMap<u64, Polled>,
    next_poll_id: u64,
}

struct Shared {
    /// Told once when `pending` stops being empty.
    tx: mpsc::Sender<Msg>,
    /// Cgroups crossed since the main loop last took them: each once, with
    /// its arm generation and its first crossing's moment. However fast the
    /// kernel notifies (every throttling at memory.high does), the main
    /// loop sees one crossing per cgroup per look.
    pending: Mutex<HashMap<PathBuf, (u64, Instant)>>,
    /// Written to wake the thread when the waits change or it must stop.
    control: File,
    inotify: sys::Inotify,
    waits: Mutex<Waits>,
    stop: AtomicBool,
}

impl Shared {
    fn wake(&self) {
        let _ = (&self.control).write_all(&1u64.to_ne_bytes());
    }
}

/// Read an eventfd's count (non-blocking): true if it was not zero.
fn drain(efd: &File) -> bool {
    let mut b = [0u8; 8];
    (&*efd).read_exact(&mut b).is_ok()
}

/// The one thread that waits for every guarded cgroup's crossings and
/// tells the main loop. Dropping it stops the thread.
pub struct Notifier {
    shared: Arc<Shared>,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake();
    }
}

/// Which wait an [`Armed`] holds.
enum Key {
    Wd(c_int),
    Efd(c_int),
    Poll(u64),
}

/// A cgroup armed: dropping it stops its waits and puts back the
/// `memory.high` the guard set.
pub struct Armed {
    /// How this cgroup is watched, for the start-up line and the tests.
    pub how: &'static str,
    /// memory.high was at the guard's threshold already (left by an
    /// earlier run that could not clean up): taken as the guard's own.
    pub adopted: bool,
    key: Key,
    shared: Arc<Shared>,
    /// The memory.high file and its value as arming left it (v2).
    high: Option<(PathBuf, Option<String>)>,
    /// memory.high as it was, where the guard set it, and the guard's value.
    restore_high: Option<(String, u64)>,
}

impl Armed {
    /// True if someone changed memory.high since arming (reset it to
    /// `max`, set their own): the cgroup must be armed again.
    pub fn stale(&self) -> bool {
        self.high
            .as_ref()
            .is_some_and(|(file, seen)| file.exists() && read_high(file) != *seen)
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Ok(mut w) = self.shared.waits.lock() {
            match self.key {
                Key::Wd(wd) => {
                    w.by_wd.remove(&wd);
                    self.shared.inotify.remove(wd);
                }
                Key::Efd(fd) => {
                    w.by_efd.remove(&fd);
                }
                Key::Poll(id) => {
                    w.polled.remove(&id);
                }
            }
        }
        self.shared.wake();
        if let (Some((file, _)), Some((original, ours))) = (&self.high, &self.restore_high) {
            // Only if nobody changed it since (a cgroup gone: nothing to do).
            if read_u64(file) == Some(*ours) {
                let _ = fs::write(file, original);
            }
            if let Some(dir) = file.parent() {
                clear_mark(dir);
            }
        }
    }
}

impl Notifier {
    /// Start the thread; crossings go to `tx`.
    pub fn start(tx: mpsc::Sender<Msg>) -> io::Result<Notifier> {
        let shared = Arc::new(Shared {
            tx,
            pending: Mutex::default(),
            control: sys::new_eventfd()?,
            inotify: sys::Inotify::new()?,
            waits: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("guard-wait".into())
            .spawn(move || serve(&s))?;
        Ok(Notifier { shared })
    }

    /// The cgroups crossed since the last call: (directory, arm generation,
    /// first crossing), oldest first.
    pub fn take(&self) -> Vec<(PathBuf, u64, Instant)> {
        let mut all: Vec<_> = match self.shared.pending.lock() {
            Ok(mut p) => p.drain().map(|(d, (g, at))| (d, g, at)).collect(),
            Err(_) => Vec::new(),
        };
        all.sort_by_key(|(_, _, at)| *at);
        all
    }

    /// Arm `dir` (limit `limit`, the main loop's `generation` of it): from
    /// now on its crossings of the reclaim mark and the threshold reach the
    /// main loop. `dry_run` writes nothing.
    pub fn arm(
        &self,
        h: Hierarchy,
        (dir, generation): (&Path, u64),
        limit: u64,
        (p, page_size): (&GuardPolicy, u64),
        dry_run: bool,
    ) -> io::Result<Armed> {
        let target = Target {
            dir: dir.to_path_buf(),
            generation,
        };
        let marks = [p.reclaim_at(limit), p.threshold(limit)];
        let writes = !dry_run && p.policy != Policy::Noop;
        let usage = File::open(dir.join(h.usage_file()))?;
        let armed = |how, key, high, restore_high, adopted| {
            self.shared.wake();
            Armed {
                how,
                adopted,
                key,
                shared: self.shared.clone(),
                high,
                restore_high,
            }
        };
        let lock = || {
            self.shared
                .waits
                .lock()
                .map_err(|_| io::Error::other("guard thread failed"))
        };
        match h {
            Hierarchy::V1 if writes => {
                let efd = sys::new_eventfd()?;
                for t in marks {
                    // On an error the eventfd closes, and with it what was
                    // registered.
                    fs::write(
                        dir.join("cgroup.event_control"),
                        format!("{} {} {t}", efd.as_raw_fd(), usage.as_raw_fd()),
                    )?;
                }
                let fd = efd.as_raw_fd();
                lock()?.by_efd.insert(fd, (efd, usage, target));
                Ok(armed("usage thresholds (eventfd)", Key::Efd(fd), None, None, false))
            }
            Hierarchy::V2 if writes => {
                let high_file = dir.join("memory.high");
                let high = read_high(&high_file).ok_or_else(|| io::Error::other("memory.high unreadable"))?;
                // The kernel keeps memory.high in pages.
                let page_aligned = marks[1] / page_size.max(1) * page_size.max(1);
                let set = high.parse::<u64>().ok();
                // A memory.high an earlier run set and could not put back
                // (SIGKILL): the cgroup carries the guard's mark saying so
                // (where cgroupfs takes user xattrs, 5.7+); without a mark,
                // a value at this run's own page-aligned threshold is taken
                // for one.
                let mark = sys::get_xattr(dir, XATTR_HIGH);
                let leftover = match &mark {
                    Some(m) => *m == high,
                    None => set == Some(page_aligned),
                };
                let original = match leftover {
                    true => sys::get_xattr(dir, XATTR_WAS).unwrap_or_else(|| "max".to_owned()),
                    false => high.clone(),
                };
                if mark.is_some() && !leftover {
                    clear_mark(dir); // someone else's value since
                }
                if !leftover && high != "max" && set.is_none_or(|v| v > marks[1]) {
                    return self.poll(
                        usage,
                        marks,
                        target,
                        "polling memory.current (memory.high is set above the threshold)",
                        Some(high_file),
                    );
                }
                // Watch first, so no crossing between the write and the
                // watch goes unseen.
                let wd = self.shared.inotify.add(&dir.join("memory.events"), sys::IN_MODIFY)?;
                lock()?.by_wd.insert(wd, target);
                let unwatch = || {
                    if let Ok(mut w) = self.shared.waits.lock() {
                        w.by_wd.remove(&wd);
                    }
                    self.shared.inotify.remove(wd);
                };
                let restore_high = if leftover || high == "max" {
                    if set != Some(page_aligned) {
                        if let Err(e) = fs::write(&high_file, marks[1].to_string()) {
                            unwatch();
                            return Err(e);
                        }
                    }
                    let ours = read_u64(&high_file).unwrap_or(page_aligned);
                    // Best effort: without the mark, only the heuristic above
                    // finds a leftover.
                    let _ = sys::set_xattr(dir, XATTR_WAS, &original)
                        .and_then(|()| sys::set_xattr(dir, XATTR_HIGH, &ours.to_string()));
                    Some((original, ours))
                } else {
                    None
                };
                let seen = read_high(&high_file);
                Ok(armed(
                    "memory.high + memory.events (inotify)",
                    Key::Wd(wd),
                    Some((high_file, seen)),
                    restore_high,
                    leftover,
                ))
            }
            _ => self.poll(usage, marks, target, "polling usage (writes nothing)", None),
        }
    }

    /// Arm by reading usage every [`POLL`]; `high_file`: the memory.high
    /// whose change means arming again.
    fn poll(
        &self,
        usage: File,
        marks: [u64; 2],
        target: Target,
        how: &'static str,
        high_file: Option<PathBuf>,
    ) -> io::Result<Armed> {
        let mut w = self
            .shared
            .waits
            .lock()
            .map_err(|_| io::Error::other("guard thread failed"))?;
        let id = w.next_poll_id;
        w.next_poll_id += 1;
        w.polled.insert(
            id,
            Polled {
                target,
                usage,
                marks,
                band: None,
            },
        );
        drop(w);
        self.shared.wake();
        let high = high_file.map(|f| {
            let seen = read_high(&f);
            (f, seen)
        });
        Ok(Armed {
            how,
            adopted: false,
            key: Key::Poll(id),
            shared: self.shared.clone(),
            high,
            restore_high: None,
        })
    }
}

/// The waiting thread: poll every descriptor, tell each cgroup whose
/// notification fired or whose usage moved across a mark.
fn serve(s: &Shared) {
    let mut next_poll = Instant::now();
    loop {
        let (mut fds, polling) = {
            let Ok(w) = s.waits.lock() else { return };
            let mut fds = vec![
                PollFd::readable(s.control.as_raw_fd()),
                PollFd::readable(s.inotify.fd()),
            ];
            fds.extend(w.by_efd.keys().map(|&fd| PollFd::readable(fd)));
            (fds, !w.polled.is_empty())
        };
        let timeout = polling.then(|| next_poll.saturating_duration_since(Instant::now()));
        if sys::poll_fds(&mut fds, timeout).is_err() || s.stop.load(Ordering::Relaxed) {
            return;
        }
        let mut told: Vec<Target> = Vec::new();
        {
            let Ok(mut w) = s.waits.lock() else { return };
            for f in fds.iter().filter(|f| f.revents != 0) {
                if f.fd == s.control.as_raw_fd() {
                    drain(&s.control);
                } else if f.fd == s.inotify.fd() {
                    for (wd, mask) in s.inotify.read().unwrap_or_default() {
                        if mask & sys::IN_Q_OVERFLOW != 0 {
                            // Events were lost: look at every cgroup.
                            told.extend(w.by_wd.values().cloned());
                        } else if mask & sys::IN_IGNORED != 0 {
                            // The watch was removed, or the cgroup is gone.
                            w.by_wd.remove(&wd);
                        } else if let Some(t) = w.by_wd.get(&wd) {
                            told.push(t.clone());
                        }
                    }
                } else if let Some((efd, _, t)) = w.by_efd.get(&f.fd) {
                    // A crossing, or the cgroup was removed (the kernel
                    // signals its eventfds then).
                    if drain(efd) {
                        told.push(t.clone());
                    }
                }
            }
            if polling && Instant::now() >= next_poll {
                for p in w.polled.values_mut() {
                    let Some(u) = pread_u64(&mut p.usage) else {
                        continue; // the cgroup is gone: the re-walk drops it
                    };
                    let band = p.marks.iter().filter(|&&m| u >= m).count();
                    if p.band.is_some_and(|b| b != band) {
                        told.push(p.target.clone());
                    }
                    p.band = Some(band);
                }
                next_poll = Instant::now() + POLL;
            }
        }
        if told.is_empty() {
            continue;
        }
        let at = Instant::now();
        let Ok(mut pending) = s.pending.lock() else { return };
        let was_empty = pending.is_empty();
        for t in told {
            let e = pending.entry(t.dir).or_insert((t.generation, at));
            e.0 = e.0.max(t.generation);
        }
        drop(pending);
        if was_empty && s.tx.send(Msg::Wake).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kernel_kills;

    #[test]
    fn kernel_kills_are_new_kills_when_the_limit_was_hit() {
        assert_eq!(kernel_kills([1, 1], [2, 2]), 1, "hit and killed");
        assert_eq!(kernel_kills([1, 1], [2, 1]), 0, "hit, the victim was dying already");
        assert_eq!(kernel_kills([1, 1], [1, 3]), 0, "kills of a child's own limit");
        assert_eq!(kernel_kills([0, 0], [1, 3]), 3, "a group kill");
    }
}
