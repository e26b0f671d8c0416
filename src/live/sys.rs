//! The few system calls the live guard needs that std does not wrap:
//! eventfd (cgroup-v1 memory thresholds), inotify (cgroup-v2 `memory.events`
//! notifications), pidfd_open / pidfd_send_signal (killing without racing
//! pid reuse) and kill (the fallback). Declared by hand: a crate for seven
//! calls would not pay for itself.

use std::ffi::{c_int, c_long, c_uint, c_void};
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

const EFD_CLOEXEC: c_int = 0o2_000_000;
/// Same number on x86_64 and aarch64 (the unified syscall table).
const SYS_PIDFD_SEND_SIGNAL: c_long = 424;
const SYS_PIDFD_OPEN: c_long = 434;
pub const SIGKILL: c_int = 9;

const IN_CLOEXEC: c_int = 0o2_000_000;
/// inotify: the file was modified (cgroupfs notifies memory.events so).
pub const IN_MODIFY: u32 = 0x0000_0002;
/// inotify: the watch was removed (by us, or the file is gone).
pub const IN_IGNORED: u32 = 0x0000_8000;

extern "C" {
    fn eventfd(initval: c_uint, flags: c_int) -> c_int;
    fn inotify_init1(flags: c_int) -> c_int;
    fn inotify_add_watch(fd: c_int, path: *const std::ffi::c_char, mask: u32) -> c_int;
    fn inotify_rm_watch(fd: c_int, wd: c_int) -> c_int;
    fn syscall(num: c_long, ...) -> c_long;
    fn kill(pid: c_int, sig: c_int) -> c_int;
}

/// A new eventfd, as a File (8-byte reads and writes).
pub fn new_eventfd() -> io::Result<File> {
    // SAFETY: eventfd takes plain integers and returns a new fd or -1.
    let fd = unsafe { eventfd(0, EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// An inotify instance: watches added from any thread, events read by one.
pub struct Inotify(File);

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: plain flags; returns a new fd or -1.
        let fd = unsafe { inotify_init1(IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(Inotify(unsafe { File::from_raw_fd(fd) }))
    }

    /// Watch `path` for `mask`: the watch descriptor its events carry.
    pub fn add(&self, path: &std::path::Path, mask: u32) -> io::Result<c_int> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // SAFETY: a valid inotify fd, a NUL-terminated path, a mask.
        let wd = unsafe { inotify_add_watch(self.0.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(wd)
    }

    /// Remove a watch: a reader blocked in [`Inotify::read`] wakes with
    /// IN_IGNORED for it.
    pub fn remove(&self, wd: c_int) {
        use std::os::fd::AsRawFd;
        // SAFETY: integers only; an error (the watch already gone) is harmless.
        unsafe { inotify_rm_watch(self.0.as_raw_fd(), wd) };
    }

    /// Block until events come: each as (watch, mask).
    pub fn read(&self) -> io::Result<Vec<(c_int, u32)>> {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let n = (&self.0).read(&mut buf)?;
        Ok(inotify_events(&buf[..n]))
    }
}

/// The events in one read from an inotify fd: each is `wd: i32, mask: u32,
/// cookie: u32, len: u32` and `len` bytes of name.
fn inotify_events(buf: &[u8]) -> Vec<(c_int, u32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = buf.get(at..at + 16) {
        let word = |i: usize| [head[i], head[i + 1], head[i + 2], head[i + 3]];
        out.push((c_int::from_ne_bytes(word(0)), u32::from_ne_bytes(word(4))));
        at += 16 + u32::from_ne_bytes(word(12)) as usize;
    }
    out
}

/// Now on CLOCK_MONOTONIC, microseconds since boot: close to /dev/kmsg's
/// timestamps (local_clock), though not the same clock.
pub fn monotonic_us() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: c_long,
    }
    extern "C" {
        fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    }
    const CLOCK_MONOTONIC: c_int = 1;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    if unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    (ts.sec as u64).saturating_mul(1_000_000) + (ts.nsec as u64) / 1000
}

/// A pidfd for `pid` (Linux 5.3+), or the error (ENOSYS on older kernels,
/// ESRCH if it is gone).
pub fn pidfd_open(pid: u32) -> io::Result<File> {
    // SAFETY: pidfd_open(pid, 0) takes integers and returns a new fd or -1.
    let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid as c_int, 0 as c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as c_int) })
}

/// Signal the process a pidfd refers to (never a reused pid).
pub fn pidfd_send_signal(pidfd: &File, sig: c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        syscall(
            SYS_PIDFD_SEND_SIGNAL,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<c_void>(),
            0 as c_uint,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// kill(2), for kernels without pidfds.
pub fn kill_pid(pid: u32, sig: c_int) -> io::Result<()> {
    // SAFETY: integers only.
    if unsafe { kill(pid as c_int, sig) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
