//! What cgroup v1 and v2 give the guard, and how it learns that a cgroup's
//! usage crossed a mark.
//!
//! - **v1** has usage thresholds: an eventfd registered through
//!   `cgroup.event_control` at the reclaim mark and at the threshold fires
//!   on every crossing; a thread per cgroup blocks on it.
//! - **v2** has none. The guard sets `memory.high` to the threshold (only
//!   where it is `max`, and puts `max` back when it stops): above it the
//!   kernel reclaims and throttles the allocating task, which buys the
//!   guard its reaction time whatever the growth rate, and counts a `high`
//!   event, which notifies `memory.events`. A thread per cgroup blocks on
//!   an inotify watch of that file (how oomd and systemd-oomd wake too).
//!   Where `memory.high` is set by someone else above the threshold, the
//!   guard polls `memory.current` instead.
//! - A dry run and the `noop` policy write nothing (no threshold, no
//!   `memory.high`): they poll usage every 10 ms.

use super::super::sys;
use super::Msg;
use crate::guard::{GuardPolicy, Policy};
use crate::model::StatsFormat;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
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

    /// OOM kills the kernel counted in `dir` (and below it): v2
    /// `memory.events`, v1 `memory.oom_control`, `oom_kill`.
    pub fn oom_kills(self, dir: &Path) -> u64 {
        let file = match self {
            Hierarchy::V1 => "memory.oom_control",
            Hierarchy::V2 => "memory.events",
        };
        let text = crate::input::read_lossy(dir.join(file)).unwrap_or_default();
        crate::cgroup::parse_kv(&text).get("oom_kill").copied().unwrap_or(0)
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

fn read_u64(p: &Path) -> Option<u64> {
    crate::input::read_lossy(p).ok()?.trim().parse().ok()
}

/// Read a number from the start of an open cgroupfs file.
fn pread_u64(f: &mut File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut b = [0u8; 32];
    f.seek(SeekFrom::Start(0)).ok()?;
    let n = f.read(&mut b).ok()?;
    std::str::from_utf8(&b[..n]).ok()?.trim().parse().ok()
}

/// How the guard is told of a cgroup's crossings. Dropping it stops the
/// thread that tells, and puts back the `memory.high` it set.
pub struct Armed {
    /// How this cgroup is watched, for the start-up line and the tests.
    pub how: &'static str,
    stop: Arc<AtomicBool>,
    wake: Wake,
    /// `memory.high` as it was, where the guard set it.
    restore_high: Option<(PathBuf, String, u64)>,
}

enum Wake {
    /// v1: the eventfd the waiter blocks on (written to wake it), and the
    /// usage file its thresholds were registered against.
    Eventfd { efd: Arc<File>, _usage: File },
    /// v2: the inotify instance and watch the waiter blocks on.
    Inotify(Arc<sys::Inotify>, std::ffi::c_int),
    /// A poller checks `stop` every [`POLL`].
    Poll,
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        match &self.wake {
            Wake::Eventfd { efd, .. } => {
                use std::io::Write;
                let _ = (&**efd).write_all(&1u64.to_ne_bytes());
            }
            Wake::Inotify(f, wd) => f.remove(*wd),
            Wake::Poll => {}
        }
        if let Some((file, original, ours)) = &self.restore_high {
            // Only if nobody changed it since (a cgroup gone: nothing to do).
            if read_u64(file) == Some(*ours) {
                let _ = fs::write(file, original);
            }
        }
    }
}

/// What arming needs to tell the main loop.
pub struct Teller {
    pub tx: mpsc::Sender<Msg>,
    pub dir: PathBuf,
    pub generation: u64,
}

impl Teller {
    fn tell(&self) -> bool {
        self.tx
            .send(Msg::Crossed(self.dir.clone(), self.generation, Instant::now()))
            .is_ok()
    }
}

/// Arm `dir` (limit `limit`): from now on its crossings of the reclaim mark
/// and the threshold reach the main loop. `dry_run` writes nothing.
pub fn arm(h: Hierarchy, limit: u64, p: &GuardPolicy, dry_run: bool, teller: Teller) -> io::Result<Armed> {
    let dir = teller.dir.clone();
    let marks = [p.reclaim_at(limit), p.threshold(limit)];
    let stop = Arc::new(AtomicBool::new(false));
    let writes = !dry_run && p.policy != Policy::Noop;
    let usage = File::open(dir.join(h.usage_file()))?;
    match h {
        Hierarchy::V1 if !dry_run => {
            use std::os::fd::AsRawFd;
            let efd = Arc::new(sys::new_eventfd()?);
            for t in marks {
                fs::write(
                    dir.join("cgroup.event_control"),
                    format!("{} {} {t}", efd.as_raw_fd(), usage.as_raw_fd()),
                )?;
            }
            spawn_eventfd_waiter(efd.clone(), stop.clone(), teller);
            Ok(Armed {
                how: "usage thresholds (eventfd)",
                stop,
                wake: Wake::Eventfd { efd, _usage: usage },
                restore_high: None,
            })
        }
        Hierarchy::V2 if writes => {
            let high_file = dir.join("memory.high");
            let high = crate::input::read_lossy(&high_file)?;
            let high = high.trim();
            let mut restore_high = None;
            let notified = match high {
                "max" => {
                    fs::write(&high_file, marks[1].to_string())?;
                    // The kernel keeps it in pages: what it shows now is ours.
                    let ours = read_u64(&high_file).unwrap_or(marks[1]);
                    restore_high = Some((high_file, high.to_owned(), ours));
                    true
                }
                set => set.parse::<u64>().is_ok_and(|v| v <= marks[1]),
            };
            if notified {
                let f = Arc::new(sys::Inotify::new()?);
                let wd = f.add(&dir.join("memory.events"), sys::IN_MODIFY)?;
                spawn_inotify_waiter(f.clone(), stop.clone(), teller);
                return Ok(Armed {
                    how: "memory.high + memory.events (inotify)",
                    stop,
                    wake: Wake::Inotify(f, wd),
                    restore_high,
                });
            }
            spawn_poller(usage, marks, stop.clone(), teller);
            Ok(Armed {
                how: "polling memory.current (memory.high is set above the threshold)",
                stop,
                wake: Wake::Poll,
                restore_high,
            })
        }
        _ => {
            spawn_poller(usage, marks, stop.clone(), teller);
            Ok(Armed {
                how: "polling usage (writes nothing)",
                stop,
                wake: Wake::Poll,
                restore_high: None,
            })
        }
    }
}

/// v1: block on the eventfd of the cgroup's thresholds.
fn spawn_eventfd_waiter(efd: Arc<File>, stop: Arc<AtomicBool>, teller: Teller) {
    std::thread::spawn(move || {
        let mut b = [0u8; 8];
        // Blocks until a threshold is crossed, the cgroup is removed (the
        // kernel signals the eventfd) or the guard re-arms it.
        while (&*efd).read_exact(&mut b).is_ok() {
            if stop.load(Ordering::Relaxed) || !teller.tell() || !teller.dir.exists() {
                return;
            }
        }
    });
}

/// v2: block on an inotify watch of `memory.events`.
fn spawn_inotify_waiter(f: Arc<sys::Inotify>, stop: Arc<AtomicBool>, teller: Teller) {
    std::thread::spawn(move || {
        while let Ok(events) = f.read() {
            // IN_IGNORED: the watch was removed, or the cgroup is gone.
            if stop.load(Ordering::Relaxed) || events.iter().any(|(_, m)| m & sys::IN_IGNORED != 0) {
                return;
            }
            if events.iter().any(|(_, m)| m & sys::IN_MODIFY != 0) && !teller.tell() {
                return;
            }
        }
    });
}

/// Read usage every [`POLL`] and tell when it moves across a mark.
fn spawn_poller(mut usage: File, marks: [u64; 2], stop: Arc<AtomicBool>, teller: Teller) {
    std::thread::spawn(move || {
        let band = |u: u64| marks.iter().filter(|&&m| u >= m).count();
        let mut last = None;
        while !stop.load(Ordering::Relaxed) {
            let Some(u) = pread_u64(&mut usage) else {
                return; // the cgroup is gone
            };
            if last.is_some_and(|b| b != band(u)) && !teller.tell() {
                return;
            }
            last = Some(band(u));
            std::thread::sleep(POLL);
        }
    });
}
